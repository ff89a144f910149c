"""Rerankers: order search candidates by how well each answers the question.

The embedded default is a late-interaction cross-attention: every content token of the
question attends (softmax over scaled dot products) over the record's token vectors,
stored at index time, and the attended similarities are averaged (`question.cross_attention_many`,
which the extractive answerer shares). It reads the
question and each passage jointly at the token level, like a cross-encoder's attention
layer, at the cost of a few small matrix products: no pretrained cross-encoder exists
offline here. Any sentence-transformers CrossEncoder (a name in the local cache or a
path) can replace it via `qa.reranker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa_engine.errors import SettingsError
from qa_engine.index_store import IndexData
from qa_engine.question import Question, cross_attention_many
from qa_engine.search import Candidate, Graph

class Reranker(Protocol):
    name: str

    def scores(self, index: IndexData, graph: Graph, question: Question, candidates: list[Candidate]) -> np.ndarray: ...


@dataclass(frozen=True)
class NoReranker:
    """Keep retrieval's own order signal: the cosine of pooled vectors."""

    name: str = "none"

    def scores(self, index: IndexData, graph: Graph, question: Question, candidates: list[Candidate]) -> np.ndarray:
        return np.asarray([c.similarity for c in candidates], dtype=np.float32)


@dataclass(frozen=True)
class LateInteractionReranker:
    name: str = "late-interaction"

    def scores(self, index: IndexData, graph: Graph, question: Question, candidates: list[Candidate]) -> np.ndarray:
        # a relationship has no token store: it is as relevant as the entities it joins
        ends = {c.row: [e for e in graph.ends[c.row] if e >= 0] for c in candidates if c.kind == "relationships"}
        records = list(dict.fromkeys(
            [(c.kind, c.row) for c in candidates if c.kind != "relationships"] + [("entities", e) for es in ends.values() for e in es]
        ))
        attended = cross_attention_many(question, [index.tokens[kind].unit(row) for kind, row in records])
        score = dict(zip(records, attended.tolist(), strict=True))

        def of(c: Candidate) -> float:
            if c.kind == "relationships":
                return float(np.mean([score["entities", e] for e in ends[c.row]])) if ends[c.row] else 0.0
            return score[c.kind, c.row]

        return np.asarray([of(c) for c in candidates], dtype=np.float32)


class CrossEncoderReranker:
    """Any sentence-transformers CrossEncoder, loaded from local files only."""

    def __init__(self, name_or_path: str):
        from sentence_transformers import CrossEncoder

        self.name = name_or_path
        try:
            self.model = CrossEncoder(name_or_path, local_files_only=True)
        except Exception as err:  # noqa: BLE001 - any load failure means the setting is wrong
            raise SettingsError(
                f"qa.reranker: cross-encoder {name_or_path!r} could not be loaded offline "
                f"({err.__class__.__name__}); use late-interaction, none, or a local model folder"
            ) from None

    def scores(self, index: IndexData, graph: Graph, question: Question, candidates: list[Candidate]) -> np.ndarray:
        pairs = [(question.text, index.record_text(c.kind, c.row)) for c in candidates]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float32).reshape(-1)


def make_reranker(spec: str) -> Reranker:
    if spec in ("", "none"):
        return NoReranker()
    if spec == "late-interaction":
        return LateInteractionReranker()
    return CrossEncoderReranker(spec)
