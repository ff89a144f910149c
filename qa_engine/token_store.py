"""Token vectors of every retrievable text, for late-interaction (cross-attention) scoring.

For each kind (text units, entities, community reports) two files beside graphrag's
tables: `<kind>_tokens.npy` (every token vector, fp16, in table order; memory-mapped on
load, so only the rows a question touches are read) and `<kind>_tokens.parquet` (per row:
its slice of the array, each token's character span, the pooled vector), written in row
groups. Both are written as the rows are encoded, so a build holds one window of
encodings, not the corpus. A rebuild reuses the previous index's rows for unchanged text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qa_engine import embeddings

KINDS = ("text_units", "entities", "community_reports")  # relationships: scored by their entities
ROW_GROUP = 2048  # rows per parquet row group: one group's lists stay far below Arrow's 2 GB chunk limit
WINDOW = 256  # rows encoded before they are written: a build holds at most ~256 x 256 x 384 float32 (100 MB)

_ROWS = pa.schema(
    [
        ("id", pa.string()),
        ("text_sha256", pa.string()),
        ("start", pa.int64()),
        ("count", pa.int64()),
        ("span_start", pa.list_(pa.int32())),
        ("span_end", pa.list_(pa.int32())),
        ("vector", pa.list_(pa.float32())),
    ]
)


@dataclass(frozen=True)
class TokenStore:
    """Row-aligned with its table: `tokens[starts[i]:starts[i]+counts[i]]` belong to row i."""

    ids: list[str]
    pooled: np.ndarray  # (rows, d) float32, unit rows
    tokens: np.ndarray  # (n_tokens, d) float16, unit rows; a read-only memory map once saved
    starts: np.ndarray
    counts: np.ndarray
    spans: list[np.ndarray]  # per row: (count, 2) character offsets of its tokens

    def unit(self, i: int) -> np.ndarray:
        return self.tokens[self.starts[i] : self.starts[i] + self.counts[i]]

    def encoding(self, i: int) -> embeddings.TokenEncoding:
        return embeddings.TokenEncoding(self.pooled[i], self.unit(i).astype(np.float32), self.spans[i])

    @classmethod
    def from_encodings(cls, ids: list[str], encodings: list[embeddings.TokenEncoding], dim: int = 384) -> TokenStore:
        """In memory, for an index without token files (one written by `graphrag index`)."""
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

    @staticmethod
    def saved(folder: Path, kind: str) -> bool:
        return (folder / f"{kind}_tokens.npy").exists() or (folder / f"{kind}_tokens.faiss").exists()

    @classmethod
    def load(cls, folder: Path, kind: str) -> TokenStore:
        """The array memory-mapped, the rows read one row group at a time."""
        array, table = folder / f"{kind}_tokens.npy", folder / f"{kind}_tokens.parquet"
        legacy = folder / f"{kind}_tokens.faiss"  # indexes built before the .npy: read whole, as then
        if not array.exists() and legacy.exists():
            array = legacy
            with _reading(array):
                index = faiss.read_index(str(array))
                tokens = index.reconstruct_n(0, index.ntotal).astype(np.float16) if index.ntotal else np.zeros((0, index.d), np.float16)
        else:
            with _reading(array):
                tokens = np.load(array, mmap_mode="r")
        ids, starts, counts, pooled, spans = [], [], [], [], []
        with _reading(table), pq.ParquetFile(table) as rows:
            for g in range(rows.num_row_groups):
                group = rows.read_row_group(g, columns=["id", "start", "count", "span_start", "span_end", "vector"])
                ids += group["id"].to_pylist()
                starts.append(group["start"].to_numpy())
                counts.append(group["count"].to_numpy())
                pooled.append(_values(group["vector"]).astype(np.float32).reshape(-1, tokens.shape[1]))
                pairs = np.stack([_values(group["span_start"]), _values(group["span_end"])], axis=1).astype(np.int32)
                spans += np.split(pairs, np.cumsum(counts[-1])[:-1])
        counts_all = np.concatenate(counts) if counts else np.zeros(0, np.int64)
        if int(counts_all.sum()) != len(tokens):
            raise DamagedFile(array, ValueError(f"{len(tokens)} token vectors for rows that have {int(counts_all.sum())}"))
        return cls(
            ids=ids,
            pooled=np.concatenate(pooled) if pooled else np.zeros((0, tokens.shape[1]), np.float32),
            tokens=tokens,
            starts=np.concatenate(starts) if starts else counts_all,
            counts=counts_all,
            spans=spans,
        )


class DamagedFile(ValueError):
    """A token file that cannot be read as written; `path` names it."""

    def __init__(self, path: Path, error: Exception):
        super().__init__(f"{path}: {error}")
        self.path, self.error = path, error


@contextmanager
def _reading(path: Path):
    try:
        yield
    except (OSError, ValueError, pa.ArrowException) as err:
        raise DamagedFile(path, err) from err


def _values(column: pa.ChunkedArray) -> np.ndarray:
    """The flat values of a list column (all rows' items, in order)."""
    return column.combine_chunks().flatten().to_numpy()


class _Writer:
    """Appends rows to a store: token vectors to the .npy as they come (its header, of fixed
    length, is rewritten with the final shape on close), row records a row group at a time."""

    def __init__(self, folder: Path, kind: str, dim: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.dim, self.n_tokens, self.pending = dim, 0, []
        self.array = open(folder / f"{kind}_tokens.npy", "wb")  # noqa: SIM115 - closed in close()
        self._header()
        self.rows = pq.ParquetWriter(folder / f"{kind}_tokens.parquet", _ROWS)

    def _header(self) -> None:
        header = {"descr": "<f2", "fortran_order": False, "shape": (self.n_tokens, self.dim)}
        np.lib.format.write_array_header_1_0(self.array, header)  # same length for any row count

    def add(self, row_id: str, sha: str, encoding: embeddings.TokenEncoding) -> None:
        self.array.write(np.ascontiguousarray(encoding.tokens, dtype="<f2").tobytes())
        spans = np.asarray(encoding.spans, dtype=np.int32).reshape(-1, 2)
        self.pending.append((row_id, sha, self.n_tokens, len(spans), spans[:, 0], spans[:, 1], encoding.vector))
        self.n_tokens += len(spans)
        if len(self.pending) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            columns = list(zip(*self.pending, strict=True))
            self.rows.write_table(pa.Table.from_arrays([pa.array(list(c), type=f.type) for c, f in zip(columns, _ROWS, strict=True)], schema=_ROWS))
            self.pending = []

    def close(self) -> None:
        self._flush()
        self.rows.close()
        self.array.seek(0)
        self._header()
        self.array.close()


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
    previous: tuple[Path, ...] = (),
    progress: Callable | None = None,
    batch_size: int = 32,
) -> TokenStore:
    """Encode every text once (reusing the stores in `previous` folders where the text is
    unchanged) and save, a window of rows at a time; returns the saved store."""
    from graphrag.logger.progress import progress_ticker

    old_rows = _previous(previous, kind)
    hashes = [text_hash(t) for t in texts]
    tick = progress_ticker(progress, sum(h not in old_rows for h in hashes), description=f"{kind} token embeddings: ")
    model = embeddings.load_sentence_transformer(model_name)
    writer = _Writer(folder, kind, model.get_embedding_dimension())
    try:
        for w in range(0, len(texts), WINDOW):
            window = range(w, min(w + WINDOW, len(texts)))
            fresh: dict[str, embeddings.TokenEncoding] = {}
            # by length, so each batch pads to similar lengths (sentence-transformers sorts only within a call)
            todo = sorted({hashes[i]: i for i in window if hashes[i] not in old_rows}.values(), key=lambda i: len(texts[i]))
            for b in range(0, len(todo), batch_size):
                batch = todo[b : b + batch_size]
                for i, enc in zip(batch, _encode(model, texts, batch), strict=True):
                    fresh[hashes[i]] = enc
                tick(len(batch))
            for i in window:
                writer.add(ids[i], hashes[i], fresh[hashes[i]] if hashes[i] in fresh else _reused(old_rows[hashes[i]]))
    finally:
        writer.close()
    return TokenStore.load(folder, kind)


class RowFailed(Exception):
    """The text of `row` cannot be encoded, even alone."""

    def __init__(self, row: int, error: Exception):
        super().__init__(f"row {row}: {error}")
        self.row, self.error = row, error


def _encode(model, texts: list[str], batch: list[int]) -> list[embeddings.TokenEncoding]:
    """A batch at once; if that fails, each text alone, so a failure names its row."""
    try:
        return embeddings.encode_tokens(model, [texts[i] for i in batch])
    except Exception:  # noqa: BLE001 - retried one by one below, where it is named
        encodings = []
        for i in batch:
            try:
                encodings += embeddings.encode_tokens(model, [texts[i]])
            except Exception as error:  # noqa: BLE001
                raise RowFailed(i, error) from error
        return encodings


def _previous(folders: tuple[Path, ...], kind: str) -> dict[str, tuple[TokenStore, int]]:
    """Each text hash of earlier stores with its store and row; an unreadable store is just no cache."""
    rows: dict[str, tuple[TokenStore, int]] = {}
    for folder in folders:
        try:
            store = TokenStore.load(folder, kind)
            hashes = pd.read_parquet(folder / f"{kind}_tokens.parquet", columns=["text_sha256"])["text_sha256"]
        except Exception:  # noqa: BLE001 - a cache miss, never an error
            continue
        rows.update({sha: (store, i) for i, sha in enumerate(hashes) if sha not in rows})
    return rows


def _reused(found: tuple[TokenStore, int]) -> embeddings.TokenEncoding:
    store, row = found
    return store.encoding(row)
