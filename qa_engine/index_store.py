"""Load a built index: graphrag's parquet tables, our FAISS stores and token stores.

An index written by `graphrag index` itself has the tables but neither our FAISS files
nor token stores: those are computed once on load, in memory, from the same tables.
Every failure names the file and the command that rebuilds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pyarrow

from qa_engine import embeddings
from qa_engine.errors import IndexNotFoundError
from qa_engine.pdf import text_unit_pages
from qa_engine.sentences import document_unit_sentences
from qa_engine.token_store import KINDS, DamagedFile, TokenStore, record_texts
from qa_engine.vector_store import read_faiss, to_gpu_if_available

TABLES = ("documents", "text_units", "entities", "relationships", "communities", "community_reports")
REBUILD = "build it with `qa-engine index` (or `make index`)"


@dataclass(frozen=True)
class IndexData:
    """Everything a query needs, in memory; tables are read-only after load."""

    folder: Path
    manifest: dict
    tables: dict[str, pd.DataFrame]
    vectors: dict[str, faiss.Index]  # kind -> FAISS index, row-aligned with tables[kind] (not relationships)
    tokens: dict[str, TokenStore]  # kind -> token store, row-aligned with tables[kind]
    warnings: list[str]
    document_of: dict[str, tuple[str, str]]  # document id -> (title, corpus path or title)
    pages_of: dict[str, tuple[int, ...]] = field(default_factory=dict)  # text unit id -> its pages (PDFs)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (entity title, alias): the optional entity_aliases side table
    # per text unit: (start, end) in it and the whole sentence, for each sentence it holds part of
    unit_sentences: list[list[tuple[int, int, str]]] = field(default_factory=list)

    def record_text(self, kind: str, row: int) -> str:
        return record_texts(kind, self.tables[kind].iloc[[row]])[0]

    @property
    def entities(self) -> pd.DataFrame:
        return self.tables["entities"]

    @property
    def relationships(self) -> pd.DataFrame:
        return self.tables["relationships"]

    @property
    def text_units(self) -> pd.DataFrame:
        return self.tables["text_units"]

    @property
    def reports(self) -> pd.DataFrame:
        return self.tables["community_reports"]

    @property
    def documents(self) -> pd.DataFrame:
        return self.tables["documents"]


def load_index(folder: Path, model_name: str = embeddings.DEFAULT_MODEL) -> IndexData:
    folder = Path(folder)
    if not folder.is_dir():
        raise IndexNotFoundError(f"no index at {folder}: {REBUILD}")
    folder = folder.resolve()  # through the index link once: a swap mid-load cannot mix two builds
    tables = {name: _read_table(folder, name) for name in TABLES}
    manifest = _read_manifest(folder)
    warnings: list[str] = []
    vectors, tokens = {}, {}
    for kind in KINDS:
        if TokenStore.saved(folder, kind):
            try:
                tokens[kind] = TokenStore.load(folder, kind)
            except DamagedFile as err:
                raise _damaged(err.path, err.error) from None
            if len(tokens[kind].ids) != len(tables[kind]) or tokens[kind].ids != tables[kind]["id"].tolist():
                raise IndexNotFoundError(f"{folder / f'{kind}_tokens.parquet'} does not match {kind}.parquet: {REBUILD}")
        else:
            tokens[kind] = _compute_tokens(kind, tables[kind], model_name)
            warnings.append(f"{kind}: no token store in {folder} (an index from `graphrag index`?): computed on load")
        vectors[kind] = _vector_index(folder, kind, tables[kind], tokens[kind])
    docs = tables["documents"]
    paths = [raw.get("path", "") if isinstance(raw, dict) else "" for raw in docs["raw_data"]]
    document_of = {d: (t, p or t) for d, t, p in zip(docs["id"], docs["title"], paths, strict=True)}
    pages_of = text_unit_pages(docs, tables["text_units"])
    sentences = document_unit_sentences(docs, tables["text_units"])
    return IndexData(folder, manifest, tables, vectors, tokens, warnings, document_of, pages_of, read_aliases(folder), sentences)


def read_aliases(folder: Path) -> list[tuple[str, str]]:
    """The extractor's side table `entity_aliases` (title, alias); indexes built before it have none."""
    path = folder / "entity_aliases.parquet"
    if not path.exists():
        return []
    try:
        table = pd.read_parquet(path)
    except _UNREADABLE as err:
        raise _damaged(path, err) from None
    if not {"title", "alias"} <= set(table.columns):
        raise IndexNotFoundError(f"{path} needs the columns title and alias, has {', '.join(map(str, table.columns))}: {REBUILD}")
    pairs = table[["title", "alias"]].dropna()
    return [(str(t), str(a)) for t, a in zip(pairs["title"], pairs["alias"], strict=True)]


def _read_table(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.parquet"
    if not path.exists():
        raise IndexNotFoundError(f"{path} is missing, so {folder} is not a complete index: {REBUILD}")
    try:
        return pd.read_parquet(path)
    except _UNREADABLE as err:
        raise _damaged(path, err) from None


_UNREADABLE = (pyarrow.ArrowException, OSError, ValueError)


def _damaged(path: Path, err: Exception) -> IndexNotFoundError:
    return IndexNotFoundError(f"{path} is damaged ({str(err).splitlines()[0][:120]}): {REBUILD}")


def _read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise IndexNotFoundError(f"{path} is damaged ({err}): {REBUILD}") from None


# graphrag's own vector store names for the kinds it embeds
_GRAPHRAG_STORES = {
    "text_units": "text_unit_text",
    "entities": "entity_description",
    "community_reports": "community_full_content",
}


def _vector_index(folder: Path, kind: str, table: pd.DataFrame, tokens: TokenStore) -> faiss.Index:
    """graphrag's FAISS store for the kind, re-ordered to table rows; else the pooled vectors."""
    store = _GRAPHRAG_STORES[kind]
    if (folder / f"{store}.faiss").exists():
        index = read_faiss(folder / f"{store}.faiss")
        try:
            ids = pd.read_parquet(folder / f"{store}.parquet", columns=["id"])["id"].tolist()
        except _UNREADABLE as err:
            raise _damaged(folder / f"{store}.parquet", err) from None
        if ids == table["id"].tolist():
            return to_gpu_if_available(index)
        position = {i: p for p, i in enumerate(ids)}
        if set(position) >= set(table["id"]):
            matrix = np.stack([index.reconstruct(position[i]) for i in table["id"]])
            return _flat(matrix)
        raise IndexNotFoundError(f"{folder / f'{store}.faiss'} does not match {kind}.parquet: {REBUILD}")
    return _flat(tokens.pooled)


def _flat(matrix: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(matrix.shape[1])
    if len(matrix):
        index.add(np.ascontiguousarray(matrix, dtype=np.float32))
    return to_gpu_if_available(index)


def _compute_tokens(kind: str, table: pd.DataFrame, model_name: str) -> TokenStore:
    model = embeddings.load_sentence_transformer(model_name)
    return TokenStore.from_encodings(table["id"].tolist(), embeddings.encode_tokens(model, record_texts(kind, table)))
