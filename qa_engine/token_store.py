"""Token vectors of every retrievable text, for late-interaction (cross-attention) scoring.

For each kind (text units, entities, community reports) two files beside
graphrag's tables: `<kind>_tokens.faiss` (all token vectors, fp16) and
`<kind>_tokens.parquet` (per row: its slice of the FAISS rows, each token's character
span, the pooled vector). A rebuild reuses the previous index's rows for unchanged text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from qa_engine import embeddings
from qa_engine.vector_store import read_faiss

KINDS = ("text_units", "entities", "community_reports")  # relationships: scored by their entities


@dataclass(frozen=True)
class TokenStore:
    """Row-aligned with its table: `tokens[starts[i]:starts[i]+counts[i]]` belong to row i."""

    ids: list[str]
    pooled: np.ndarray  # (rows, d) float32, unit rows
    tokens: np.ndarray  # (n_tokens, d) float16, unit rows
    starts: np.ndarray
    counts: np.ndarray
    spans: list[np.ndarray]  # per row: (count, 2) character offsets of its tokens

    def unit(self, i: int) -> np.ndarray:
        return self.tokens[self.starts[i] : self.starts[i] + self.counts[i]]

    def encoding(self, i: int) -> embeddings.TokenEncoding:
        return embeddings.TokenEncoding(self.pooled[i], self.unit(i).astype(np.float32), self.spans[i])

    @classmethod
    def from_encodings(cls, ids: list[str], encodings: list[embeddings.TokenEncoding], dim: int = 384) -> TokenStore:
        counts = np.asarray([len(e.tokens) for e in encodings], dtype=np.int64)
        dim = encodings[0].vector.shape[0] if encodings else dim
        return cls(
            ids=list(ids),
            pooled=np.asarray([e.vector for e in encodings], dtype=np.float32).reshape(-1, dim),
            tokens=np.concatenate([e.tokens for e in encodings]).astype(np.float16) if counts.sum() else np.zeros((0, dim), np.float16),
            starts=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else counts,
            counts=counts,
            spans=[np.asarray(e.spans, dtype=np.int32).reshape(-1, 2) for e in encodings],
        )

    def save(self, folder: Path, kind: str, text_hashes: list[str]) -> None:
        index = faiss.IndexScalarQuantizer(self.pooled.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        if len(self.tokens):
            index.add(self.tokens.astype(np.float32))
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(index, str(folder / f"{kind}_tokens.faiss"))
        pd.DataFrame(
            {
                "id": self.ids,
                "text_sha256": text_hashes,
                "start": self.starts,
                "count": self.counts,
                "span_start": [s[:, 0].tolist() for s in self.spans],
                "span_end": [s[:, 1].tolist() for s in self.spans],
                "vector": [v.tolist() for v in self.pooled],
            }
        ).to_parquet(folder / f"{kind}_tokens.parquet", index=False)

    @classmethod
    def load(cls, folder: Path, kind: str) -> TokenStore:
        index = read_faiss(folder / f"{kind}_tokens.faiss")
        rows = pd.read_parquet(folder / f"{kind}_tokens.parquet")
        tokens = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
        return cls(
            ids=rows["id"].tolist(),
            pooled=np.asarray(rows["vector"].tolist(), dtype=np.float32).reshape(-1, index.d),
            tokens=tokens.astype(np.float16),
            starts=rows["start"].to_numpy(),
            counts=rows["count"].to_numpy(),
            spans=[np.stack([np.asarray(a, np.int32), np.asarray(b, np.int32)], axis=1) for a, b in zip(rows["span_start"], rows["span_end"], strict=True)],
        )


def record_texts(kind: str, table: pd.DataFrame) -> list[str]:
    """The exact text embedded for each row; for entities graphrag's own "title:description",
    so the pooled vectors we seed into the cache are the ones graphrag asks for."""
    if kind == "entities":
        return (table["title"].fillna("") + ":" + table["description"].fillna("")).tolist()
    if kind == "relationships":
        return (table["source"] + " -> " + table["target"] + ": " + table["description"].fillna("")).tolist()
    if kind == "community_reports":
        return table["full_content"].fillna("").tolist()
    return table["text"].fillna("").tolist()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build(
    kind: str,
    texts: list[str],
    ids: list[str],
    model_name: str,
    folder: Path,
    previous: Path | None = None,
    progress: Callable | None = None,
    batch_size: int = 32,
) -> TokenStore:
    """Encode every text once (reusing `previous` where the text is unchanged) and save."""
    from graphrag.logger.progress import progress_ticker

    known = _previous_encodings(previous, kind) if previous else {}
    hashes = [text_hash(t) for t in texts]
    # by length, so each batch pads to similar lengths (sentence-transformers sorts only within a call)
    todo = sorted((i for i, h in enumerate(hashes) if h not in known), key=lambda i: len(texts[i]))
    tick = progress_ticker(progress, len(todo), description=f"{kind} token embeddings: ")
    for b in range(0, len(todo), batch_size):
        batch = todo[b : b + batch_size]
        model = embeddings.load_sentence_transformer(model_name)
        for i, enc in zip(batch, embeddings.encode_tokens(model, [texts[i] for i in batch]), strict=True):
            known[hashes[i]] = enc
        tick(len(batch))
    store = TokenStore.from_encodings(ids, [known[h] for h in hashes])
    store.save(folder, kind, hashes)
    return store


def _previous_encodings(folder: Path, kind: str) -> dict[str, embeddings.TokenEncoding]:
    """Encodings of the last index by text hash; an unreadable previous index is just no cache."""
    try:
        store = TokenStore.load(folder, kind)
        hashes = pd.read_parquet(folder / f"{kind}_tokens.parquet", columns=["text_sha256"])["text_sha256"]
    except Exception:  # noqa: BLE001 - a cache miss, never an error
        return {}
    return {sha: store.encoding(i) for i, sha in enumerate(hashes)}
