"""Our steps inside graphrag's pipeline, plugged in through graphrag's own extension points.

- `sentence_transformer` embeddings (graphrag_llm.embedding.register_embedding)
- `faiss` vector store (graphrag_vectors.register_vector_store)
- `transformers` completion for local chat models (graphrag_llm.completion.register_completion)
- workflows `drop_duplicate_text_units`, `extract_graph_offline`,
  `create_community_reports_offline`, `embed_text_tokens` and the pipelines `qa-fast` / `qa-standard` (PipelineFactory)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from graphrag.index.operations.finalize_community_reports import finalize_community_reports
from graphrag.index.run import run_pipeline
from graphrag.index.run.profiling import WorkflowProfiler
from graphrag.index.typing.workflow import WorkflowFunctionOutput
from graphrag.index.workflows.factory import PipelineFactory
from graphrag_llm.embedding import LLMEmbedding, register_embedding

from qa_engine import embeddings, token_store
from qa_engine.authors import add_authors
from qa_engine.extract import extract_graph
from qa_engine.isolation import DocumentsFailed, per_document, reason, touching
from qa_engine.reports import build_community_reports
from qa_engine.vector_store import FaissVectorStore

PIPELINES = {
    "fast": [
        "create_base_text_units",
        "drop_duplicate_text_units",
        "create_final_documents",
        "extract_graph_offline",
        "finalize_graph",
        "create_communities",
        "create_final_text_units",
        "create_community_reports_offline",
        "embed_text_tokens",
        "generate_text_embeddings",
    ],
    "standard": [
        "create_base_text_units",
        "drop_duplicate_text_units",
        "create_final_documents",
        "extract_graph",
        "finalize_graph",
        "create_communities",
        "create_final_text_units",
        "create_community_reports",
        "embed_text_tokens",
        "generate_text_embeddings",
    ],
}


class SentenceTransformerEmbedding(LLMEmbedding):
    """graphrag LLMEmbedding backed by an in-process sentence-transformers model.

    graphrag caches whole requests; we cache each text by content hash instead, so adding
    one document re-embeds only its own text, not every batch after it.
    """

    def __init__(self, *, model_config, tokenizer, metrics_store, cache=None, **kwargs: Any):
        self._name = model_config.model
        self._tokenizer = tokenizer
        self._metrics_store = metrics_store
        self._cache = cache
        self._model = embeddings.load_sentence_transformer(self._name)

    def embedding(self, /, **kwargs):
        return _response(embeddings.encode(self._model, list(kwargs["input"])))

    async def embedding_async(self, /, **kwargs):
        texts = list(kwargs["input"])
        if self._cache is None:
            return _response(embeddings.encode(self._model, texts))
        keys = [embeddings.text_key(self._name, t) for t in texts]
        found = {k: v for k in keys if (v := await self._cache.get(k)) is not None}
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = embeddings.encode(self._model, [texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                found[keys[i]] = vector.tolist()
                await self._cache.set(keys[i], found[keys[i]])
        return _response(np.asarray([found[k] for k in keys], dtype=np.float32))

    @property
    def metrics_store(self):
        return self._metrics_store

    @property
    def tokenizer(self):
        return self._tokenizer


def _response(vectors: np.ndarray):
    from graphrag_llm.types import LLMEmbeddingResponse, LLMEmbeddingUsage
    from graphrag_llm.types import LLMEmbedding as EmbeddingItem

    data = [EmbeddingItem(object="embedding", embedding=v.tolist(), index=i) for i, v in enumerate(vectors)]
    usage = LLMEmbeddingUsage(prompt_tokens=0, total_tokens=0)
    return LLMEmbeddingResponse(object="list", data=data, model="sentence-transformers", usage=usage)


async def run_drop_duplicate_text_units(config, context) -> WorkflowFunctionOutput:
    """Each text once, where it first occurs. graphrag names a text unit by the hash of its
    text, so a document that repeats itself (or two that share a passage) gives one id to many
    rows, and every join on the id multiplies them: 2 million repetitions of a word made 11k
    rows of one id and a text_units.entity_ids column over Arrow's 2 GB limit."""
    tables = context.output_table_provider
    units = await tables.read_dataframe("text_units")
    unique = units.drop_duplicates("id")
    if len(unique) < len(units):
        await tables.write_dataframe("text_units", unique.reset_index(drop=True))
    return WorkflowFunctionOutput(result={"duplicates": len(units) - len(unique)})


def _units(text_units, ids: set[str] | None):
    return text_units if ids is None else text_units[text_units["id"].isin(ids)]


async def run_extract_graph_offline(config, context) -> WorkflowFunctionOutput:
    """Replaces graphrag's noun-phrase step with our offline extractor; also writes the
    `entity_aliases` side table (title, alias) that question linking reads."""
    text_units = await context.output_table_provider.read_dataframe("text_units")
    documents = await context.output_table_provider.read_dataframe("documents")

    def extract(ids: set[str] | None):
        units = _units(text_units, ids)
        graph = extract_graph(units)
        return (*add_authors(graph.entities, graph.relationships, documents, units), graph.aliases)

    entities, relationships, aliases = per_document("extract_graph_offline", text_units, extract)
    # graphrag's convention (its LLM prompts, and cluster_graph, which upper-cases node names)
    entities["title"] = entities["title"].str.upper()
    relationships["source"] = relationships["source"].str.upper()
    relationships["target"] = relationships["target"].str.upper()
    aliases["title"] = aliases["title"].str.upper()
    if entities.empty:
        raise ValueError("no entities found in the corpus: is it about attention and Transformers?")
    await context.output_table_provider.write_dataframe("entities", entities)
    await context.output_table_provider.write_dataframe("relationships", relationships)
    await context.output_table_provider.write_dataframe("entity_aliases", aliases)
    return WorkflowFunctionOutput(
        result={"entities": len(entities), "relationships": len(relationships), "aliases": len(aliases)}
    )


async def run_create_community_reports_offline(config, context) -> WorkflowFunctionOutput:
    """A report per community, written extractively from its entities and relationships."""
    tables = context.output_table_provider
    communities = await tables.read_dataframe("communities")
    entities, relationships = await tables.read_dataframe("entities"), await tables.read_dataframe("relationships")
    reports = per_document(
        "create_community_reports_offline",
        await tables.read_dataframe("text_units"),
        lambda ids: build_community_reports(touching(communities, ids), entities, relationships),
    )
    output = finalize_community_reports(reports, communities)
    await tables.write_dataframe("community_reports", output)
    return WorkflowFunctionOutput(result=len(output))


async def run_embed_text_tokens(config, context) -> WorkflowFunctionOutput:
    """Token vectors of every retrievable text for the reranker and the extractive answerer,
    from the same forward pass whose pooled vectors graphrag then takes from the cache."""
    tables = context.output_table_provider
    model_name = config.get_embedding_model_config(config.embed_text.embedding_model_id).model
    cache = context.cache.child(config.embed_text.model_instance_name)
    previous = tuple(Path(p) for p in (context.state.get("additional_context") or {}).get("previous_indexes", ()))
    for kind in token_store.KINDS:
        table = await tables.read_dataframe(kind)
        texts = token_store.record_texts(kind, table)
        try:
            store = token_store.build(
                kind,
                texts=texts,
                ids=table["id"].tolist(),
                model_name=model_name,
                folder=Path(config.vector_store.db_uri),
                previous=previous,
                progress=context.callbacks.progress,
            )
        except token_store.RowFailed as failed:
            if kind != "text_units":  # entities and reports are ours, not one document's
                raise failed.error from None
            document = str(table["document_id"].iloc[failed.row])
            raise DocumentsFailed("embed_text_tokens", {document: reason(failed.error)}) from failed.error
        for text, vector in zip(texts, store.pooled, strict=True):
            await cache.set(embeddings.text_key(model_name, text), vector.tolist())
    return WorkflowFunctionOutput(result=None)


class TimingProfiler(WorkflowProfiler):
    """graphrag's WorkflowProfiler with its timings and without tracemalloc.

    graphrag turns tracemalloc on around every workflow. With it on, a pyarrow I/O thread
    that releases a Python buffer creates a thread state that tracemalloc traces, and
    CPython 3.11 crashes there (SIGSEGV in `traceback_new`, seen in index builds); every
    allocation of our own workflows is also traced, which slows them. Peak memory is
    reported as 0 (bench/bench_large.py measures a build's peak RSS instead)."""

    def __enter__(self) -> TimingProfiler:
        self._start_time = time.time()
        return self

    def __exit__(self, *exc_info) -> None:
        self._elapsed = time.time() - self._start_time


def register_all() -> None:
    """Idempotent: safe to call from every entry point."""
    run_pipeline.WorkflowProfiler = TimingProfiler
    from graphrag_vectors import register_vector_store

    from qa_engine.llm import register_completions

    register_embedding("sentence_transformer", SentenceTransformerEmbedding, scope="singleton")
    register_vector_store("faiss", FaissVectorStore)
    register_completions()
    PipelineFactory.register_all(
        {
            "drop_duplicate_text_units": run_drop_duplicate_text_units,
            "extract_graph_offline": run_extract_graph_offline,
            "create_community_reports_offline": run_create_community_reports_offline,
            "embed_text_tokens": run_embed_text_tokens,
        }
    )
    for method, names in PIPELINES.items():
        PipelineFactory.register_pipeline(f"qa-{method}", names)
