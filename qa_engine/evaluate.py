"""`qa-engine eval`: score retrieval and answers on a questions file, five ways on one index.

Methods, all on the same loaded index in one run:

  graph+rerank  `engine.ask` with graph search (entities the question names, PageRank, vector
                and BM25 fused), the configured reranker and answerer: the default
  local+rerank  the same with graphrag's local search instead
  local         local search with reranker `none` (candidates in cosine order)
  vector        naive vector RAG: FAISS over text units alone, top-k
  bm25          BM25 (rank_bm25.BM25Okapi) over text-unit texts, top-k

The two baselines hand their text units, scored by their own retrieval scores, to the
same packer and extractive answerer, so must-mention and abstention compare like for like.
For every method the ranked list is the text units the answerer was given, best first
(`pack` keeps each kind's order); a hit is one whose document is among the question's
`sources`. all@10 is fast-graphrag's "all evidence retrieved": every one of the question's
sources among the documents of the first 10 text units. With a `kind` field in the
questions file (compare, multi-hop, ...), all@10 and must-mention are also given per kind.

Caveat on bm25's answer metrics: the extractive answerer adds half the record's score to
each sentence's and abstains below a threshold calibrated for cosine-scale scores; raw
BM25 scores (about 5 to 45 here) lift every sentence over it, so bm25 never abstains and
its sentence choice follows the BM25 score. Its recall and MRR are unaffected.

Questions file (jsonl): id, question, reference_answer, must_mention (groups of
alternatives, case-insensitive substrings, every group must match), sources
(corpus-relative paths), answerable, optionally kind.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.errors import QAEngineError

METHODS = ("graph+rerank", "local+rerank", "local", "vector", "bm25")
METRICS = ("recall@1", "recall@5", "all@10", "mrr", "must_mention", "abstention", "p50_ms", "p95_ms")
_CITATION = re.compile(r"\[Data:[^\]]*\]?")


class EvalError(QAEngineError):
    """The questions file cannot be used for evaluation."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    must_mention: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    answerable: bool = True
    reference_answer: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Outcome:
    """One method on one question: the documents of its ranked text units and its answer."""

    documents: list[str]
    text: str
    abstained: bool
    ms: float


def read_questions(path: str | Path) -> list[EvalQuestion]:
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"questions file {path} not found")
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("question"), str) or not raw["question"].strip():
            raise EvalError(f"{path}:{n}: needs a non-empty `question` field")
        groups = raw.get("must_mention") or []
        if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
            raise EvalError(f"{path}:{n}: `must_mention` must be a list of non-empty lists of alternatives")
        questions.append(
            EvalQuestion(
                id=str(raw.get("id", f"q{n}")),
                question=raw["question"],
                must_mention=[[str(a) for a in g] for g in groups],
                sources=[str(s) for s in raw.get("sources") or []],
                answerable=bool(raw.get("answerable", True)),
                reference_answer=str(raw.get("reference_answer", "")),
                kind=str(raw.get("kind") or ""),
            )
        )
    if not questions:
        raise EvalError(f"{path} holds no questions")
    return questions


def mentions_all(text: str, groups: list[list[str]]) -> bool:
    """Every group has an alternative in `text` (case-insensitive substring); citations ignored."""
    lowered = _CITATION.sub(" ", text).lower()
    return all(any(alt.lower() in lowered for alt in group) for group in groups)


def first_hit(documents: list[str], sources: list[str]) -> int | None:
    """1-based rank of the first text unit from one of `sources`; None if none is."""
    wanted = set(sources)
    return next((i for i, d in enumerate(documents, 1) if d in wanted), None)


def all_found(documents: list[str], sources: list[str], k: int = 10) -> bool:
    """Every source among the documents of the first k text units."""
    return bool(sources) and set(sources) <= set(documents[:k])


# --- methods -------------------------------------------------------------------------------


def _engine_method(engine) -> Callable[[str], Outcome]:
    def run(question: str) -> Outcome:
        started = time.perf_counter()
        answer = engine.ask(question)
        ms = (time.perf_counter() - started) * 1000
        documents = [e.document for e in answer.evidence if e.kind == "sources"]
        return Outcome(documents, answer.text, answer.abstained, ms)

    return run


def baseline_answer(engine, query, rows: np.ndarray, scores: np.ndarray) -> Outcome:
    """Text units `rows` (scored by their retriever) through the engine's packer and answerer."""
    from qa_engine.answer import extractive_answer
    from qa_engine.citations import verify
    from qa_engine.context import allowed_citations, pack
    from qa_engine.search import Candidate

    candidates = [Candidate("text_units", int(r), float(s)) for r, s in zip(rows, scores, strict=True)]
    packed = pack(engine.index, candidates, np.asarray(scores, dtype=np.float32), engine.settings.qa.max_context_tokens)
    draft = extractive_answer(engine.index, engine.graph, query, packed)
    text, _, _ = verify(draft.text, allowed_citations([p.evidence for p in packed]))
    return Outcome([p.evidence.document for p in packed], text, draft.abstained, 0.0)


def _vector_method(engine, k: int) -> Callable[[str], Outcome]:
    store = engine.index.vectors["text_units"]

    def run(question: str) -> Outcome:
        started = time.perf_counter()
        query = engine.encode_question(question)
        sims, rows = store.search(query.encoding.vector[None, :].astype(np.float32), min(k, store.ntotal))
        keep = rows[0] >= 0
        outcome = baseline_answer(engine, query, rows[0][keep], sims[0][keep])
        return replace(outcome, ms=(time.perf_counter() - started) * 1000)

    return run


def _bm25_method(engine, k: int) -> Callable[[str], Outcome]:
    """BM25 over text units: the statistics graph search uses (rank_bm25.BM25Okapi)."""
    from qa_engine.search import tokenize

    def run(question: str) -> Outcome:
        started = time.perf_counter()
        scores = engine.graph.bm25.get_scores(tokenize(question))
        rows = np.argsort(-scores, kind="stable")[:k]
        rows = rows[scores[rows] > 0]  # no shared word: not retrieved
        query = engine.encode_question(question)  # the answerer attends with the question's token vectors
        outcome = baseline_answer(engine, query, rows, scores[rows])
        return replace(outcome, ms=(time.perf_counter() - started) * 1000)

    return run


def variant(engine, search: str, reranker: str | None = None):
    """The engine itself, or a second one on the same loaded index with another search or reranker."""
    from qa_engine.engine import QAEngine

    qa = engine.settings.qa
    reranker = qa.reranker if reranker is None else reranker
    if (qa.search, qa.reranker) == (search, reranker):
        return engine
    return QAEngine(replace(engine.settings, qa=replace(qa, search=search, reranker=reranker)), engine.index)


def make_methods(engine, k: int | None = None) -> dict[str, Callable[[str], Outcome]]:
    k = k or engine.settings.qa.top_k_text_units
    return {
        "graph+rerank": _engine_method(variant(engine, "graph")),
        "local+rerank": _engine_method(variant(engine, "local")),
        "local": _engine_method(variant(engine, "local", "none")),
        "vector": _vector_method(engine, k),
        "bm25": _bm25_method(engine, k),
    }


# --- scoring -------------------------------------------------------------------------------


def evaluate(engine, questions: list[EvalQuestion], k: int | None = None, warmup: bool = True) -> dict[str, Any]:
    """Every method on every question (interleaved, so load drift hits all alike); the report."""
    setup_started = time.perf_counter()
    methods = make_methods(engine, k)
    setup_s = time.perf_counter() - setup_started
    if warmup:  # first calls load tokenizers and warm caches: not a question's latency
        for run in methods.values():
            run(_normalized(questions[0].question))
    outcomes: dict[str, list[Outcome]] = {name: [] for name in methods}
    for q in questions:
        for name, run in methods.items():
            outcomes[name].append(run(_normalized(q.question)))
    kinds = sorted({q.kind for q in questions if q.kind and q.answerable})
    return {
        "methods": {name: _summary(questions, outcomes[name]) for name in methods},
        "kinds": {kind: {name: _kind_summary(questions, outcomes[name], kind) for name in methods} for kind in kinds},
        "questions": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "index": str(engine.index.folder),
        "setup_s": round(setup_s, 2),
        "units_given_mean": {name: round(float(np.mean([len(o.documents) for o in outcomes[name]])), 1) for name in methods},
        "details": [
            {
                "id": q.id,
                "answerable": q.answerable,
                **{name: _detail(q, outcomes[name][i]) for name in methods},
            }
            for i, q in enumerate(questions)
        ],
    }


def _normalized(question: str) -> str:
    """What `engine.ask` searches for (its own validation), so the baselines see the same text."""
    from qa_engine.engine import _validated

    return _validated(question)[0]


def _detail(q: EvalQuestion, o: Outcome) -> dict[str, Any]:
    rank = first_hit(o.documents, q.sources) if q.answerable else None
    return {
        "first_hit": rank,
        "all@10": all_found(o.documents, q.sources) if q.answerable else None,
        "must_mention": (not o.abstained and mentions_all(o.text, q.must_mention)) if q.answerable else None,
        "abstained": o.abstained,
        "ms": round(o.ms, 1),
        "documents": list(o.documents),  # ranked, one per text unit: first_hit indexes it
        "answer": o.text,
    }


def _summary(questions: list[EvalQuestion], outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [(q, o) for q, o in zip(questions, outcomes, strict=True) if q.answerable]
    ranks = [first_hit(o.documents, q.sources) for q, o in answerable]
    n = max(1, len(answerable))
    ms = np.asarray([o.ms for o in outcomes], dtype=np.float64)
    return {
        "recall@1": round(sum(r is not None and r <= 1 for r in ranks) / n, 4),
        "recall@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        "all@10": round(sum(all_found(o.documents, q.sources) for q, o in answerable) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r is not None) / n, 4),
        "must_mention": round(sum(not o.abstained and mentions_all(o.text, q.must_mention) for q, o in answerable) / n, 4),
        "abstention": round(sum(o.abstained == (not q.answerable) for q, o in zip(questions, outcomes, strict=True)) / len(questions), 4),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
    }


def _kind_summary(questions: list[EvalQuestion], outcomes: list[Outcome], kind: str) -> dict[str, float]:
    pairs = [(q, o) for q, o in zip(questions, outcomes, strict=True) if q.answerable and q.kind == kind]
    return {
        "questions": len(pairs),
        "all@10": round(sum(all_found(o.documents, q.sources) for q, o in pairs) / len(pairs), 4),
        "must_mention": round(sum(not o.abstained and mentions_all(o.text, q.must_mention) for q, o in pairs) / len(pairs), 4),
    }


def format_table(report: dict[str, Any]) -> str:
    headers = ("method", "recall@1", "recall@5", "all@10", "MRR", "must-mention", "abstention", "p50 ms", "p95 ms")
    rows = [
        (name, f"{m['recall@1']:.2f}", f"{m['recall@5']:.2f}", f"{m['all@10']:.2f}", f"{m['mrr']:.3f}", f"{m['must_mention']:.2f}",
         f"{m['abstention']:.2f}", f"{m['p50_ms']:.0f}", f"{m['p95_ms']:.0f}")
        for name, m in report["methods"].items()
    ]
    out = _aligned(headers, rows)
    if report.get("kinds"):
        names = list(report["methods"])
        kind_rows = [
            (kind, str(next(iter(by.values()))["questions"]), *(f"{by[n]['all@10']:.2f} / {by[n]['must_mention']:.2f}" for n in names))
            for kind, by in report["kinds"].items()
        ]
        out += ["", "per kind: all@10 / must-mention", *_aligned(("kind", "n", *names), kind_rows)]
    out.append(
        f"\n{report['questions']} questions ({report['answerable']} answerable; recall, MRR and must-mention over those, "
        f"abstention over all) on {report['index']}"
    )
    return "\n".join(out)


def _aligned(headers: tuple, rows: list[tuple]) -> list[str]:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return [line(headers), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]
