"""Warm `ask` latency with graph search (the default) against local search, on one index in one
process, questions interleaved so load drift hits both alike; plus the cost of graph search's own
parts (BM25 scores, one Personalized PageRank) on the same questions.

    .venv/bin/python bench/bench_search.py [--index index/default] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index" / "default")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "dev_questions.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from qa_engine import QAEngine

    graph = QAEngine.load(args.index)
    local = QAEngine(replace(graph.settings, qa=replace(graph.settings.qa, search="local")), graph.index)
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    load_before = os.getloadavg()
    for engine in (graph, local):
        engine.ask(questions[0])  # warm-up
    ms: dict[str, list[float]] = {"graph": [], "local": [], "bm25": [], "pagerank": []}
    for _ in range(args.rounds):
        for question in questions:
            for name, engine in (("graph", graph), ("local", local)):
                started = time.perf_counter()
                engine.ask(question)
                ms[name].append((time.perf_counter() - started) * 1000)
            read = graph.encode_question(question)
            started = time.perf_counter()
            graph.graph.bm25_ranking(question, graph.settings.qa.top_k_text_units)
            ms["bm25"].append((time.perf_counter() - started) * 1000)
            seeds = list(read.entities) or [0]
            started = time.perf_counter()
            graph.graph.walk(seeds, {}, graph.settings.qa.top_k_text_units)
            ms["pagerank"].append((time.perf_counter() - started) * 1000)
    report = {
        name: {"p50_ms": round(float(np.percentile(v, 50)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1)} for name, v in ms.items()
    }
    report["ratio_p50_graph_over_local"] = round(report["graph"]["p50_ms"] / report["local"]["p50_ms"], 2)
    report["index"] = str(graph.index.folder)
    report["asks_per_search"] = len(ms["graph"])
    report["load"] = f"{', '.join(f'{x:.2f}' for x in load_before)} -> {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
