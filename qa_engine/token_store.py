"""Token vectors of every text unit, for late-interaction (cross-attention) scoring.

Two files beside graphrag's tables: `text_unit_tokens.faiss` (all token vectors, fp16)
and `text_unit_tokens.parquet` (per text unit: its slice of the FAISS rows, the
character span of each token, and the pooled vector). A rebuild reuses the rows of the
previous index for text it has already seen.
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

NAME = "text_unit_tokens"


@dataclass(frozen=True)
class TokenStore:
    """Row-aligned with text_units: `tokens[starts[i]:starts[i]+counts[i]]` belong to unit i."""

    ids: list[str]
    tokens: np.ndarray  # (n_tokens, d) float16, unit rows
    starts: np.ndarray
    counts: np.ndarray
    span_starts: list[np.ndarray]
    span_ends: list[np.ndarray]

    @classmethod
    def load(cls, folder: Path) -> TokenStore:
        index = read_faiss(folder / f"{NAME}.faiss")
        rows = pd.read_parquet(folder / f"{NAME}.parquet", columns=["id", "start", "count", "span_start", "span_end"])
        tokens = index.reconstruct_n(0, index.ntotal).astype(np.float16) if index.ntotal else np.zeros((0, index.d), np.float16)
        return cls(
            ids=rows["id"].tolist(),
            tokens=tokens,
            starts=rows["start"].to_numpy(),
            counts=rows["count"].to_numpy(),
            span_starts=[np.asarray(s, dtype=np.int32) for s in rows["span_start"]],
            span_ends=[np.asarray(s, dtype=np.int32) for s in rows["span_end"]],
        )

    def unit(self, i: int) -> np.ndarray:
        return self.tokens[self.starts[i] : self.starts[i] + self.counts[i]]


def build(
    texts: list[str],
    ids: list[str],
    model_name: str,
    folder: Path,
    previous: Path | None = None,
    progress: Callable | None = None,
    batch_size: int = 16,
) -> np.ndarray:
    """Encode every text unit once (reusing `previous` where the text is unchanged), write
    the store, and return the pooled vectors so graphrag need not compute them again."""
    from graphrag.logger.progress import progress_ticker

    known = _previous_encodings(previous) if previous else {}
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    todo = [i for i, h in enumerate(hashes) if h not in known]
    model = embeddings.load_sentence_transformer(model_name) if todo else None
    tick = progress_ticker(progress, len(todo), description="token embeddings: ")
    fresh: dict[str, embeddings.TokenEncoding] = {}
    for b in range(0, len(todo), batch_size):
        batch = todo[b : b + batch_size]
        for i, enc in zip(batch, embeddings.encode_tokens(model, [texts[i] for i in batch]), strict=True):
            fresh[hashes[i]] = enc
        tick(len(batch))
    encodings = [fresh.get(h) or known[h] for h in hashes]

    index = faiss.IndexScalarQuantizer(len(encodings[0].vector), faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    counts = np.asarray([len(e.tokens) for e in encodings])
    if counts.sum():
        index.add(np.concatenate([e.tokens for e in encodings]).astype(np.float32))
    folder.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(folder / f"{NAME}.faiss"))
    pd.DataFrame(
        {
            "id": ids,
            "text_sha256": hashes,
            "start": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            "count": counts,
            "span_start": [e.spans[:, 0].tolist() for e in encodings],
            "span_end": [e.spans[:, 1].tolist() for e in encodings],
            "vector": [e.vector.tolist() for e in encodings],
        }
    ).to_parquet(folder / f"{NAME}.parquet", index=False)
    return np.asarray([e.vector for e in encodings], dtype=np.float32)


def _previous_encodings(folder: Path) -> dict[str, embeddings.TokenEncoding]:
    """Encodings of the last index by text hash; an unreadable previous index is just no cache."""
    try:
        store = TokenStore.load(folder)
        rows = pd.read_parquet(folder / f"{NAME}.parquet", columns=["text_sha256", "vector"])
    except Exception:  # noqa: BLE001 - a cache miss, never an error
        return {}
    return {
        sha: embeddings.TokenEncoding(
            vector=np.asarray(vector, dtype=np.float32),
            tokens=store.unit(i).astype(np.float32),
            spans=np.stack([store.span_starts[i], store.span_ends[i]], axis=1),
        )
        for i, (sha, vector) in enumerate(zip(rows["text_sha256"], rows["vector"], strict=True))
    }
