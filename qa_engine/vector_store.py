"""A FAISS vector store for graphrag (it ships none), registered with graphrag_vectors as `faiss`.

Each index is two files in `db_uri`: `<index_name>.faiss` (inner product over unit
vectors, i.e. cosine) and `<index_name>.parquet` (the ids and data fields, row-aligned).
No pickle anywhere. Searches run on the GPU when faiss sees one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
from graphrag_vectors import VectorStore, VectorStoreDocument, VectorStoreSearchResult

from qa_engine.errors import IndexNotFoundError


def to_gpu_if_available(index: faiss.Index) -> faiss.Index:
    """Move a CPU index onto every visible GPU; unchanged on CPU-only builds."""
    if hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0:
        return faiss.index_cpu_to_all_gpus(index)
    return index


def to_cpu(index: faiss.Index) -> faiss.Index:
    """FAISS writes CPU indexes only."""
    return faiss.index_gpu_to_cpu(index) if hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0 else index


def read_faiss(path: Path) -> faiss.Index:
    """Read a FAISS file; a damaged one is an error that says how to rebuild."""
    try:
        return faiss.read_index(str(path))
    except RuntimeError as err:
        raise IndexNotFoundError(
            f"{path} is damaged or unreadable ({str(err).splitlines()[0]}): rebuild with `qa-engine index`"
        ) from None


class FaissVectorStore(VectorStore):
    """graphrag VectorStore over a flat FAISS index (exact search: corpora here are small)."""

    def __init__(self, db_uri: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.folder = Path(db_uri or ".")
        self._lock = threading.Lock()
        self._index: faiss.Index | None = None
        self._rows = pd.DataFrame(columns=["id"])

    @property
    def _paths(self) -> tuple[Path, Path]:
        return self.folder / f"{self.index_name}.faiss", self.folder / f"{self.index_name}.parquet"

    def connect(self) -> None:
        index_path, rows_path = self._paths
        if index_path.exists() and rows_path.exists():
            self._index = to_gpu_if_available(read_faiss(index_path))
            self._rows = pd.read_parquet(rows_path)
        else:
            self.create_index()

    def create_index(self) -> None:
        self._index = to_gpu_if_available(faiss.IndexFlatIP(self.vector_size))
        self._rows = pd.DataFrame(columns=["id"])

    def load_documents(self, documents: list[VectorStoreDocument]) -> None:
        documents = [d for d in documents if d.vector is not None]
        if not documents:
            return
        vectors = np.asarray([d.vector for d in documents], dtype=np.float32)
        faiss.normalize_L2(vectors)
        rows = pd.DataFrame([{"id": str(d.id), **(d.data or {})} for d in documents])
        with self._lock:
            if self._index is None:
                self.create_index()
            self._index.add(vectors)
            self._rows = rows if self._rows.empty else pd.concat([self._rows, rows], ignore_index=True)
            self._save()

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        index_path, rows_path = self._paths
        faiss.write_index(to_cpu(self._index), str(index_path))
        self._rows.to_parquet(rows_path, index=False)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw batched search: (scores, row positions); the fast path for our own queries."""
        k = min(k, self.count())
        if k == 0:
            return np.zeros((len(vectors), 0), np.float32), np.zeros((len(vectors), 0), np.int64)
        return self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)

    def ids(self) -> list[str]:
        return self._rows["id"].tolist()

    def similarity_search_by_vector(
        self, query_embedding, k: int = 10, select=None, filters=None, include_vectors: bool = True
    ) -> list[VectorStoreSearchResult]:
        query = np.asarray([query_embedding], dtype=np.float32)
        faiss.normalize_L2(query)
        scores, positions = self.search(query, k)
        results = []
        for score, pos in zip(scores[0], positions[0], strict=True):
            if pos < 0:
                continue
            results.append(VectorStoreSearchResult(document=self._document(int(pos), include_vectors), score=float(score)))
        return results

    def _document(self, pos: int, include_vector: bool) -> VectorStoreDocument:
        row = self._rows.iloc[pos].to_dict()
        vector = self._index.reconstruct(pos).tolist() if include_vector else None
        return VectorStoreDocument(id=row.pop("id"), vector=vector, data=row)

    def search_by_id(self, id: str, select=None, include_vectors: bool = True) -> VectorStoreDocument:
        matches = np.flatnonzero(self._rows["id"].to_numpy() == str(id))
        if len(matches) == 0:
            return VectorStoreDocument(id=id, vector=None)
        return self._document(int(matches[0]), include_vectors)

    def count(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def remove(self, ids: list[str]) -> None:
        with self._lock:
            keep = np.flatnonzero(~self._rows["id"].isin([str(i) for i in ids]).to_numpy())
            vectors = np.asarray([self._index.reconstruct(int(i)) for i in keep], dtype=np.float32)
            rows = self._rows.iloc[keep].reset_index(drop=True)
            self.create_index()
            self._rows = rows
            if len(vectors):
                self._index.add(vectors)
            self._save()

    def update(self, document: VectorStoreDocument) -> None:
        self.remove([str(document.id)])
        self.load_documents([document])
