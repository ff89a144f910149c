"""Pack reranked candidates into a token budget, as graphrag's local context does: a share
for community reports, a share for source text, the rest for entities and relationships.
The packed records are the evidence: what the answerer sees and all it may cite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa_engine.index_store import IndexData
from qa_engine.results import Citations, Evidence
from qa_engine.search import KIND_OF_TABLE, Candidate
from qa_engine.sentences import whole_sentences

SHARES = {"community_reports": 0.15, "text_units": 0.5, "entities": 0.15, "relationships": 0.2}


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken  # offline: TIKTOKEN_CACHE_DIR points at litellm's bundled files

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Packed:
    """A record chosen for the context, with its reranker score."""

    candidate: Candidate
    score: float
    evidence: Evidence


def pack(index: IndexData, candidates: list[Candidate], scores: np.ndarray, max_tokens: int) -> list[Packed]:
    """Best-first within each kind until that kind's share of the budget is spent."""
    packed: list[Packed] = []
    for kind, share in SHARES.items():
        budget = int(max_tokens * share)
        ranked = sorted(
            ((c, float(s)) for c, s in zip(candidates, scores, strict=True) if c.kind == kind), key=lambda cs: -cs[1]
        )
        for candidate, score in ranked:
            evidence = to_evidence(index, candidate, score)
            own = index.text_units["text"].iat[candidate.row] if kind == "text_units" else evidence.text
            cost = count_tokens(own)  # a chunk's own tokens: its sentence ends made whole come on top
            if cost > budget and any(p.candidate.kind == kind for p in packed):
                break
            budget -= cost
            packed.append(Packed(candidate, score, evidence))
    return packed


def to_evidence(index: IndexData, candidate: Candidate, score: float) -> Evidence:
    row = index.tables[candidate.kind].iloc[candidate.row]
    kind = KIND_OF_TABLE[candidate.kind]
    if kind == "entities":
        return Evidence(kind, int(row["human_readable_id"]), row["title"], row["description"] or "", "", score)
    if kind == "relationships":
        title = f"{row['source']} – {row['target']}"
        return Evidence(kind, int(row["human_readable_id"]), title, row["description"] or "", "", score)
    if kind == "reports":
        return Evidence(kind, int(row["community"]), row["title"], row["summary"] or "", "", score)
    title, path = index.document_of.get(row["document_id"], ("", ""))
    pages = index.pages_of.get(row["id"])
    text = whole_sentences(row["text"], index.unit_sentences[candidate.row]) if index.unit_sentences else row["text"]
    return Evidence(kind, int(row["human_readable_id"]), title, text, path, score, pages[0] if pages else None)


def allowed_citations(evidence: list[Evidence]) -> Citations:
    return Citations(**{k: tuple(e.id for e in evidence if e.kind == k) for k in ("entities", "relationships", "reports", "sources")})


def context_tables(evidence: list[Evidence]) -> str:
    """graphrag's context layout: one pipe-separated table per kind, headed -----Kind-----."""
    headers = {
        "reports": ("Reports", "id|title|content"),
        "entities": ("Entities", "id|entity|description"),
        "relationships": ("Relationships", "id|source – target|description"),
        "sources": ("Sources", "id|document|text"),
    }
    blocks = []
    for kind, (label, header) in headers.items():
        rows = [f"{e.id}|{e.title}|{_cell(e.text)}" for e in evidence if e.kind == kind]
        if rows:
            blocks.append(f"-----{label}-----\n{header}\n" + "\n".join(rows))
    return "\n\n".join(blocks)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")
