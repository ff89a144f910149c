"""Peak memory and time of `qa-engine index` on large documents, each build its own process.

Corpora (each built into a fresh index and cache under --work):
  shipped   the shipped corpus
  repeated  the Wikipedia article + a 19 MB .txt of one word repeated 2 million times
  book      the Wikipedia article + one markdown "book" of --book-mb MB of distinct real text
            (docstrings of installed packages, as bench/scale_corpus.py), only with --book-mb

Peak RSS is the child's own (os.wait4), so builds do not mask each other. `--baseline DIR`
runs the same builds with the code of another checkout (e.g. /work/main) in the same run.

    .venv/bin/python bench/bench_large.py [--book-mb 2] [--baseline /work/main [--baseline-only]] [--only repeated]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine, now
from scale_corpus import documents

ARTICLE = ROOT / "corpus" / "wikipedia" / "attention_machine_learning.md"


def corpus(kind: str, folder: Path, book_mb: float) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    if kind == "shipped":
        shutil.copytree(ROOT / "corpus", folder)
        return folder
    folder.mkdir(parents=True)
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    if kind == "repeated":
        (folder / "repeated.txt").write_text("attention " * 2_000_000, encoding="utf-8")
    else:
        parts, size = [], 0
        for _, text in documents():
            if size >= book_mb * 1e6:
                break
            parts.append(text)
            size += len(text.encode())
        (folder / "book.md").write_text("\n\n".join(parts), encoding="utf-8")
    return folder


def build(code: Path, corpus_dir: Path, work: Path) -> dict:
    """One `qa-engine index` in its own process with `code` first on the path."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    settings = work / "settings.yaml"
    text = (ROOT / "settings.yaml").read_text(encoding="utf-8")
    settings.write_text(text.replace("base_dir: index/.cache", f"base_dir: {work / 'cache'}"), encoding="utf-8")
    command = [sys.executable, "-m", "qa_engine", "--settings", str(settings), "index", "--corpus", str(corpus_dir),
               "--output", str(work / "index"), "--quiet"]
    started = time.perf_counter()
    with (work / "build.log").open("wb") as log:
        # cwd too: `python -m` puts the working directory first on the path
        child = subprocess.Popen(command, cwd=code, env={**os.environ, "PYTHONPATH": str(code)}, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    log_text = (work / "build.log").read_text(errors="replace")
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "traceback": "Traceback" in log_text,
        "last_line": log_text.strip().splitlines()[-1][:300] if log_text.strip() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_large"))
    parser.add_argument("--book-mb", type=float, default=0, help="also build a corpus with one book of this many MB")
    parser.add_argument("--baseline", type=Path, help="a checkout whose code builds the same corpora, for comparison")
    parser.add_argument("--only", nargs="*", choices=["shipped", "repeated", "book"], help="run only these corpora")
    parser.add_argument("--baseline-only", action="store_true", help="build with the --baseline code only")
    args = parser.parse_args()
    kinds = args.only or ["shipped", "repeated"] + (["book"] if args.book_mb else [])
    print(f"# bench_large {now()}, {machine()}")
    for kind in kinds:
        folder = corpus(kind, args.work / "corpus" / kind, args.book_mb)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        codes = ([] if args.baseline_only else [("this", ROOT)]) + ([("baseline", args.baseline.resolve())] if args.baseline else [])
        for name, code in codes:
            result = build(code, folder, args.work / f"{kind}-{name}")
            print(json.dumps({"corpus": kind, "corpus_mb": round(size / 1e6, 1), "code": name, **result}), flush=True)
    print(f"# done {now()}, load average now {machine().split('load average ')[1]}")


if __name__ == "__main__":
    main()
