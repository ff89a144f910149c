"""Build time and warm query latency as the corpus grows: x1, x2, x4, x8 its size.

The corpus grows by real, distinct text (bench/scale_corpus.py: de-duplicated docstrings
of the installed transformers, torch.nn, sentence_transformers and graphrag packages,
as markdown), not by copies, and by what the pipeline reads: x_k holds k x the cl100k_base
tokens of the text ingest makes of x1 (within one added document), not k x its file
characters (the shipped tutorials are ~40% code and markup that ingest leaves out, the added
docstrings nearly all prose). Each size is built from scratch into its own temporary
index with its own empty embedding cache, then loaded and asked the dev questions
(one warm-up, then --rounds rounds; then the same with one thread for torch and BLAS,
threadpoolctl). Growth exponents are least-squares slopes on log-log: of build time (wall
and CPU) against tokens, the primary size, and also against prose characters, file
characters and text units; of query p50 against tokens.

    .venv/bin/python bench/bench_scale.py [--factors 1 2 4 8] [--rounds 2] [--out FILE]

Results are written to --out after every size, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from _common import ROOT, Timer, git_head, machine, now, pct, questions
from scale_corpus import grow


def fit_exponent(sizes: list[float], times: list[float]) -> float | None:
    if len(sizes) < 2:
        return None
    slope, _ = np.polyfit(np.log(sizes), np.log(times), 1)
    return round(float(slope), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=float, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_scale.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpora and indexes")
    args = parser.parse_args()

    from qa_engine import embeddings
    from qa_engine.config import load_settings
    from qa_engine.engine import QAEngine
    from qa_engine.indexer import build_index

    dev = questions()
    work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    base = load_settings(ROOT / "settings.yaml")
    model_name = base.graphrag.get_embedding_model_config(base.graphrag.embed_text.embedding_model_id).model
    embeddings.load_sentence_transformer(model_name)  # loaded once, outside every timing
    report = {"started": now(), "machine_before": machine(), "commit": git_head(), "rounds": args.rounds, "sizes": []}

    for factor in args.factors:
        tag = f"x{factor:g}"
        corpus = work / f"corpus_{tag}"
        grown = grow(corpus, factor)
        settings = load_settings(ROOT / "settings.yaml").with_paths(corpus=corpus, index=work / f"index_{tag}" / "default")
        settings.graphrag.cache.storage.base_dir = str(work / f"cache_{tag}")
        with Timer() as build:
            result = build_index(settings, progress=False)
        engine = QAEngine.load(result.index_dir, settings)
        engine.ask(dev[0])  # warm-up
        totals, parts = [], {"retrieve": [], "rerank": [], "answer": []}
        with Timer() as asking:
            for _ in range(args.rounds):
                for q in dev:
                    timings = engine.ask(q).timings_ms
                    totals.append(timings["total"])
                    for k in parts:
                        parts[k].append(timings[k])
        # the same questions with one thread for torch and BLAS: on a machine loaded past its
        # cores, multi-threaded small matrix products mostly wait, and that noise hides scale
        single = []
        with threadpool_limits(limits=1), Timer() as asking_single:
            for _ in range(args.rounds):
                for q in dev:
                    single.append(engine.ask(q).timings_ms["total"])
        entry = {
            **grown,
            "counts": result.manifest["counts"],
            "text_units": result.manifest["counts"]["text_units"],
            "entities": result.manifest["counts"]["entities"],
            # chunked tokens, overlap included: near `tokens`, a check of what the chunker was given
            "text_unit_tokens": int(engine.index.text_units["n_tokens"].sum()),
            "build_wall_s": round(build.wall, 2),
            "build_cpu_s": round(build.cpu, 2),
            "load_during_build": f"{build.load_before} -> {build.load_after}",
            "stage_s": result.manifest["timings_s"],
            "query_p50_ms": round(pct(totals, 50), 1),
            "query_p95_ms": round(pct(totals, 95), 1),
            "query_parts_p50_ms": {k: round(pct(v, 50), 1) for k, v in parts.items()},
            "load_during_queries": f"{asking.load_before} -> {asking.load_after}",
            "query_1thread_p50_ms": round(pct(single, 50), 1),
            "query_1thread_p95_ms": round(pct(single, 95), 1),
            "load_during_1thread_queries": f"{asking_single.load_before} -> {asking_single.load_after}",
            "index_dir": str(result.index_dir) if args.keep else None,
        }
        report["sizes"].append(entry)
        report["exponents"] = exponents(report["sizes"])
        report["finished"], report["machine_after"] = now(), machine()
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"{tag}: {grown['tokens']} tokens ({grown['tokens'] / grown['base_tokens']:.3f}x), "
              f"{grown['prose_chars']} prose chars, {grown['chars']} file chars, {entry['text_units']} text units, "
              f"{entry['entities']} entities; build {build.wall:.1f} s wall / {build.cpu:.1f} s CPU, "
              f"query p50 {entry['query_p50_ms']} ms (load {machine()})", flush=True)
        del engine, result
        gc.collect()
        if not args.keep:
            shutil.rmtree(corpus, ignore_errors=True)
            shutil.rmtree(work / f"index_{tag}", ignore_errors=True)
            shutil.rmtree(work / f"cache_{tag}", ignore_errors=True)

    print(json.dumps(report, indent=2))
    print(table(report))


SIZES = {"tokens": "tokens", "prose chars": "prose_chars", "file chars": "chars", "text units": "text_units"}


def exponents(sizes: list[dict]) -> dict:
    """Growth exponents of build wall and CPU time (and query p50) against each measure of size."""
    out = {}
    for label, key in SIZES.items():
        x = [s[key] for s in sizes]
        out[f"build_wall_vs_{key}"] = fit_exponent(x, [s["build_wall_s"] for s in sizes])
        out[f"build_cpu_vs_{key}"] = fit_exponent(x, [s["build_cpu_s"] for s in sizes])
    x = [s["tokens"] for s in sizes]
    out["query_p50_vs_tokens"] = fit_exponent(x, [s["query_p50_ms"] for s in sizes])
    out["query_1thread_p50_vs_tokens"] = fit_exponent(x, [s["query_1thread_p50_ms"] for s in sizes])
    return out


def table(report: dict) -> str:
    """The sizes and exponents as markdown, for bench/RESULTS.md."""
    rows = ["| size | tokens (cl100k) | prose chars | file chars | text units | entities | build wall s | build CPU s "
            "| query p50 ms | load during build |", "| --- |" + " ---: |" * 8 + " --- |"]
    for s in report["sizes"]:
        rows.append(f"| x{s['factor']:g} | {s['tokens']:,} | {s['prose_chars']:,} | {s['chars']:,} | {s['text_units']:,} "
                    f"| {s['entities']:,} | {s['build_wall_s']:.1f} | {s['build_cpu_s']:.1f} | {s['query_p50_ms']:.0f} "
                    f"| {s['load_during_build']} |")
    e = report["exponents"]
    rows += ["", "| growth exponent of build time | wall | CPU |", "| --- | ---: | ---: |"]
    for label, key in SIZES.items():
        rows.append(f"| against {label} | {e[f'build_wall_vs_{key}']} | {e[f'build_cpu_vs_{key}']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
