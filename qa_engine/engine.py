"""`QAEngine`: the facade that wires index, search, reranker and answerer together.

Models and the index load once; `ask` only reads shared state (the embedding model is
behind a lock), so one engine serves many threads.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from qa_engine import embeddings
from qa_engine.answer import Draft, extractive_answer, llm_answer
from qa_engine.citations import verify
from qa_engine.claims import Checked, check_claims
from qa_engine.config import Settings, load_settings
from qa_engine.context import allowed_citations, pack, to_evidence
from qa_engine.errors import IndexNotFoundError, QuestionError
from qa_engine.index_store import REBUILD, IndexData, load_index
from qa_engine.rerank import make_reranker
from qa_engine.results import Answer, Evidence
from qa_engine.question import Question, Reader
from qa_engine.search import Candidate, Graph, cover_terms, graph_search, local_search, passage, prefer_answer_forms

MAX_QUESTION_CHARS = 2000
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # NUL, ESC (terminal escapes), DEL, C1


class QAEngine:
    def __init__(self, settings: Settings, index: IndexData):
        self.settings = settings
        self.index = index
        self.graph = Graph(index)
        model_name = settings.graphrag.get_embedding_model_config(settings.graphrag.embed_text.embedding_model_id).model
        self.model = embeddings.load_sentence_transformer(model_name)
        texts = index.text_units["text"].fillna("").tolist()
        self.reader = Reader(texts, index.entities["title"].tolist(), index.aliases, embeddings.whole_words(self.model))
        self.search = graph_search if settings.qa.search == "graph" else local_search
        self.reranker = make_reranker(settings.qa.reranker)
        # questions multiply small matrices: BLAS threads only contend (21 ms vs 330 ms p50 beside a busy process)
        threadpool_limits(1, user_api="blas")
        self.llm = _chat_model(settings) if settings.qa.answerer != "extractive" else None

    @classmethod
    def from_settings(cls, path: str | Path | None = None, index_dir: str | Path | None = None) -> QAEngine:
        settings = load_settings(path)
        if index_dir:
            settings = settings.with_paths(index=Path(index_dir))
        return cls(settings, _load(settings))

    @classmethod
    def load(cls, index_dir: str | Path, settings: Settings | None = None) -> QAEngine:
        settings = (settings or load_settings()).with_paths(index=Path(index_dir))
        return cls(settings, _load(settings))

    @property
    def mode(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    def encode_question(self, question: str) -> Question:
        """The question read: encoding, token weights, kind, linked entities, compared terms."""
        return self.reader.read(self.model, question)

    def ask(self, question: str, on_token=None) -> Answer:
        """The answer; with `on_token`, an LLM answer is also passed on piece by piece as it is written."""
        started = time.perf_counter()
        question, warnings = _validated(question)
        query = self.encode_question(question)
        qa = self.settings.qa
        known = query.without(query.unknown)  # words the corpus never uses match nothing: search on the rest
        candidates = self.search(self.index, self.graph, known, qa.top_k_entities, qa.top_k_text_units)
        retrieved = time.perf_counter()
        scores = self.reranker.scores(self.index, self.graph, known, candidates) if candidates else np.zeros(0)
        scores = cover_terms(self.graph, query, candidates, prefer_answer_forms(self.graph, query, candidates, scores))
        packed = pack(self.index, candidates, scores, qa.max_context_tokens)
        reranked = time.perf_counter()
        evidence = [p.evidence for p in packed]
        draft, mode = self._draft(query, packed, warnings, on_token)
        evidence = self._with_quoted(known, evidence, candidates, scores, draft.quoted)
        text, citations, citation_warnings = verify(draft.text, allowed_citations(evidence))
        checked = Checked(text, [], []) if draft.abstained else check_claims(text, evidence, self.model)
        done = time.perf_counter()
        return Answer(
            question=question,
            text=checked.text,
            citations=citations,
            evidence=evidence,
            abstained=draft.abstained,
            mode=mode,
            warnings=warnings + citation_warnings + checked.warnings,
            timings_ms={
                "retrieve": _ms(started, retrieved),
                "rerank": _ms(retrieved, reranked),
                "answer": _ms(reranked, done),
                "total": _ms(started, done),
            },
            claims=checked.claims,
        )

    def _with_quoted(self, question: Question, evidence: list[Evidence], candidates: list[Candidate], scores: np.ndarray, rows: tuple[int, ...]) -> list[Evidence]:
        """The evidence with the passages the answer quotes beyond the context, scored as the
        context's are and placed among its sources by score."""
        if not rows:
            return evidence
        ranked = {c.row: float(s) for c, s in zip(candidates, scores, strict=True) if c.kind == "text_units"}
        unranked = [passage(self.index, question, row) for row in rows if row not in ranked]
        if unranked:
            ranked.update(zip((c.row for c in unranked), self.reranker.scores(self.index, self.graph, question, unranked).tolist(), strict=True))
        evidence = list(evidence)
        for row in rows:
            quoted = to_evidence(self.index, Candidate("text_units", row, 0.0), ranked[row])
            sources = [i for i, e in enumerate(evidence) if e.kind == "sources"]
            at = next((i for i in sources if evidence[i].score < quoted.score), sources[-1] + 1 if sources else len(evidence))
            evidence.insert(at, quoted)
        return evidence

    def _draft(self, query: Question, packed, warnings: list[str], on_token=None) -> tuple[Draft, str]:
        """The LLM when configured; on any failure of the endpoint, the extractive answer."""
        if self.llm is not None:
            try:
                return llm_answer(self.llm, query.text, [p.evidence for p in packed], self.settings.qa.llm_max_tokens, on_token), "llm"
            except Exception as err:  # noqa: BLE001 - endpoint down, slow or garbled: fall back, say so
                warnings.append(f"LLM answerer failed ({err.__class__.__name__}: {str(err)[:160]}); extractive answer instead")
        return extractive_answer(self.index, self.graph, query, packed), "extractive"


def _load(settings: Settings) -> IndexData:
    model = settings.graphrag.get_embedding_model_config(settings.graphrag.embed_text.embedding_model_id).model
    if not settings.qa.index.exists():
        raise IndexNotFoundError(f"no index at {settings.qa.index}: {REBUILD}")
    return load_index(settings.qa.index, model)


def _chat_model(settings: Settings):
    from qa_engine.llm import chat_model

    return chat_model(settings.graphrag, settings.qa.llm_timeout_s)


def _validated(question: str) -> tuple[str, list[str]]:
    if isinstance(question, str):  # control characters are never part of a question, nor echoed back
        question = " ".join(_CONTROL_CHARS.sub(" ", question).split())
    if not isinstance(question, str) or not question:
        raise QuestionError("the question is empty: ask something about attention or Transformers")
    if len(question) > MAX_QUESTION_CHARS:
        return question[:MAX_QUESTION_CHARS], [f"question truncated to {MAX_QUESTION_CHARS} characters"]
    return question, []


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 2)
