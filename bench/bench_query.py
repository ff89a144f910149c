"""Warm query latency of `engine.ask` beside graphrag's own LocalSearchMixedContext.build_context.

Same index, same process, questions interleaved (ours, then graphrag's, per question) so
load on a shared machine hits both alike. Ours: retrieve + rerank + extractive answer
(the `timings_ms` parts too). graphrag's: its read_indexer_* adapters over our parquet
tables, our FaissVectorStore on `entity_description` as its entity_text_embeddings, its
text embedder = our sentence-transformer (graphrag_llm `sentence_transformer`), tiktoken
cl100k from graphrag_llm; build_context with graphrag's local_search settings, and again
with our context budget (qa.max_context_tokens). It builds a context only: no answer.
Then the peak RSS of one cold `qa-engine ask` process.

    .venv/bin/python bench/bench_query.py [--index index/default] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, Timer, git_head, machine, now, pct, questions


def graphrag_context_builder(index: Path, settings):
    import pandas as pd
    from graphrag.query.indexer_adapters import (
        read_indexer_entities,
        read_indexer_relationships,
        read_indexer_reports,
        read_indexer_text_units,
    )
    from graphrag.query.structured_search.local_search.mixed_context import LocalSearchMixedContext
    from graphrag_llm.config.tokenizer_config import TokenizerConfig
    from graphrag_llm.embedding import create_embedding
    from graphrag_llm.tokenizer.tokenizer_factory import create_tokenizer

    from qa_engine.vector_store import FaissVectorStore
    from qa_engine.workflows import register_all

    tables = {n: pd.read_parquet(index / f"{n}.parquet") for n in ("entities", "relationships", "communities", "community_reports", "text_units")}
    level = int(tables["communities"]["level"].max())
    store = FaissVectorStore(db_uri=str(index), index_name="entity_description", vector_size=384)
    store.connect()
    register_all()
    tokenizer = create_tokenizer(TokenizerConfig(type="tiktoken", encoding_name="cl100k_base"))
    model_config = settings.graphrag.get_embedding_model_config(settings.graphrag.embed_text.embedding_model_id)
    return LocalSearchMixedContext(
        entities=read_indexer_entities(tables["entities"], tables["communities"], community_level=level),
        entity_text_embeddings=store,
        text_embedder=create_embedding(model_config, tokenizer=tokenizer),
        text_units=read_indexer_text_units(tables["text_units"]),
        community_reports=read_indexer_reports(tables["community_reports"], tables["communities"], community_level=level),
        relationships=read_indexer_relationships(tables["relationships"]),
        tokenizer=tokenizer,
    )


def cold_ask_rss(index: Path, question: str) -> dict:
    """One `qa-engine ask` process: its wall time and peak resident memory (getrusage of the child)."""
    exe = Path(sys.executable).parent / "qa-engine"
    started = time.perf_counter()
    done = subprocess.run([str(exe), "ask", question, "--index", str(index)], capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rc": done.returncode, "wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index" / "default")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from qa_engine.engine import QAEngine

    index = args.index.resolve()
    report = {"started": now(), "machine_before": machine(), "commit": git_head(), "index": str(index), "rounds": args.rounds}
    engine = QAEngine.load(index)
    builder = graphrag_context_builder(index, engine.settings)
    local = engine.settings.graphrag.local_search
    budgets = {"graphrag": local.max_context_tokens, "graphrag@ours": engine.settings.qa.max_context_tokens}

    def graphrag(question: str, max_tokens: int):
        return builder.build_context(
            question,
            text_unit_prop=local.text_unit_prop,
            community_prop=local.community_prop,
            top_k_mapped_entities=local.top_k_entities,
            top_k_relationships=local.top_k_relationships,
            include_entity_rank=True,
            include_relationship_weight=True,
            include_community_rank=False,
            max_context_tokens=max_tokens,
        )

    dev = questions()
    engine.ask(dev[0])  # warm-up: tokenizers, caches
    for budget in budgets.values():
        graphrag(dev[0], budget)

    ours = {"total": [], "retrieve": [], "rerank": [], "answer": [], "wall": []}
    theirs = {name: [] for name in budgets}
    with Timer() as run:
        for _ in range(args.rounds):
            for q in dev:
                t0 = time.perf_counter()
                timings = engine.ask(q).timings_ms
                ours["wall"].append((time.perf_counter() - t0) * 1000)
                for k in ("total", "retrieve", "rerank", "answer"):
                    ours[k].append(timings[k])
                for name, budget in budgets.items():
                    t0 = time.perf_counter()
                    graphrag(q, budget)
                    theirs[name].append((time.perf_counter() - t0) * 1000)

    summary = lambda v: {"p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)}  # noqa: E731
    report["ours"] = {k: summary(v) for k, v in ours.items()}
    ours_context = [r + k for r, k in zip(ours["retrieve"], ours["rerank"], strict=True)]  # retrieve + rerank + pack
    report["ours"]["retrieve+rerank"] = summary(ours_context)
    report["graphrag_build_context"] = {f"{name} (max_context_tokens={budgets[name]})": summary(v) for name, v in theirs.items()}
    report["ratio_p50_graphrag_over_ours_ask"] = {name: round(pct(v, 50) / pct(ours["wall"], 50), 2) for name, v in theirs.items()}
    report["ratio_p50_graphrag_over_ours_retrieve+rerank"] = {name: round(pct(v, 50) / pct(ours_context, 50), 2) for name, v in theirs.items()}
    report["load_during_queries"] = f"{run.load_before} -> {run.load_after}"
    del engine, builder
    report["cold_ask_process"] = cold_ask_rss(index, dev[0])
    report["finished"], report["machine_after"] = now(), machine()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
