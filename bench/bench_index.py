"""Index build time of the shipped corpus beside the pure embedding floor.

Build: `qa_engine.indexer.build_index` (what `qa-engine index --corpus corpus --output TMP`
runs) into a temporary folder with a fresh, empty embedding cache. Floor: encoding the
same texts the pipeline embeds (text units, entity "title:description", report
full_content: `token_store.record_texts`) with the same sentence-transformers model, in
the same process, through `embeddings.encode_tokens`, batched as `token_store.build`
batches them (per kind, by text length, its default batch size).

Sequence: build (cold process: gives the texts), floor, build again (fresh cache, no
previous index: everything embedded again), floor again. The ratio is the second build
over the cheaper floor, so neither side pays first-call costs the other does not. Wall
and CPU time of this process (CPU time is less sensitive to other processes on a shared
machine).

    .venv/bin/python bench/bench_index.py [--corpus corpus]
"""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import tempfile
from pathlib import Path

from _common import ROOT, Timer, git_head, machine, now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--keep", action="store_true", help="keep the temporary index")
    args = parser.parse_args()

    import pandas as pd

    from qa_engine import embeddings
    from qa_engine.config import load_settings
    from qa_engine.indexer import build_index
    from qa_engine import token_store
    from qa_engine.token_store import KINDS, record_texts

    started_at, machine_before, commit = now(), machine(), git_head()
    work = Path(tempfile.mkdtemp(prefix="bench_index_"))
    settings = load_settings(ROOT / "settings.yaml").with_paths(corpus=args.corpus.resolve(), index=work / "index" / "default")
    settings.graphrag.cache.storage.base_dir = str(work / "cache")  # fresh, empty: every text is embedded
    model_name = settings.graphrag.get_embedding_model_config(settings.graphrag.embed_text.embedding_model_id).model

    with Timer() as load_t:
        model = embeddings.load_sentence_transformer(model_name)
    # the texts the pipeline embeds, from a first (untimed-for-the-ratio) build of the same corpus
    with Timer() as build_t:
        result = build_index(settings, progress=False)
    index_dir = result.index_dir.resolve()
    batch_size = inspect.signature(token_store.build).parameters["batch_size"].default
    batches, per_kind, chars = [], {}, 0
    for kind in KINDS:
        kind_texts = sorted(record_texts(kind, pd.read_parquet(index_dir / f"{kind}.parquet")), key=len)
        per_kind[kind] = len(kind_texts)
        chars += sum(len(t) for t in kind_texts)
        batches += [kind_texts[b : b + batch_size] for b in range(0, len(kind_texts), batch_size)]

    def floor() -> Timer:
        with Timer() as t:
            for batch in batches:
                embeddings.encode_tokens(model, batch)
        return t

    # floor, build, floor: the model has seen every batch shape before the second floor, and
    # the second build has a fresh cache and no previous index, so it embeds everything again
    floor_1 = floor()
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "index", ignore_errors=True)
    with Timer() as build_t2:
        result = build_index(settings, progress=False)
    floor_2 = floor()
    floor_t = min(floor_1, floor_2, key=lambda t: t.cpu)

    manifest = result.manifest
    report = {
        "started": started_at,
        "finished": now(),
        "machine_before": machine_before,
        "machine_after": machine(),
        "commit": commit,
        "corpus": str(args.corpus),
        "counts": manifest["counts"],
        "texts_embedded": per_kind,
        "chars_embedded": chars,
        "floor_batching": f"per kind, sorted by length, batches of {batch_size}",
        "model_load_s": round(load_t.wall, 2),
        "first_build_wall_s": round(build_t.wall, 2),
        "first_build_cpu_s": round(build_t.cpu, 2),
        "load_during_first_build": f"{build_t.load_before} -> {build_t.load_after}",
        "floor_before_wall_s": round(floor_1.wall, 2),
        "floor_before_cpu_s": round(floor_1.cpu, 2),
        "load_during_floor_before": f"{floor_1.load_before} -> {floor_1.load_after}",
        "build_wall_s": round(build_t2.wall, 2),
        "build_cpu_s": round(build_t2.cpu, 2),
        "load_during_build": f"{build_t2.load_before} -> {build_t2.load_after}",
        "floor_after_wall_s": round(floor_2.wall, 2),
        "floor_after_cpu_s": round(floor_2.cpu, 2),
        "load_during_floor_after": f"{floor_2.load_before} -> {floor_2.load_after}",
        "ratio_wall": round(build_t2.wall / floor_t.wall, 2),
        "ratio_cpu": round(build_t2.cpu / floor_t.cpu, 2),
        "ratio_of": "second build / the floor run with less CPU time",
        "manifest_timings_s": manifest["timings_s"],
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
