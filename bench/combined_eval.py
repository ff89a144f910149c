"""Every evaluation set at once, on one index of all their documents together.

A user's own corpus is not 11 or 22 documents on one theme: it mixes sources, and its terms
recur across documents that say different things of them. This indexes the shipped corpus and
both external sets' documents as one corpus (`dev/`, `ext/`, `ext2/` folders, 55 documents),
asks the dev, held-out, external and external2 questions on it (their `sources` prefixed with
their folder), and reports `qa-engine eval`'s five methods over all of them, then per set:
must-mention, abstention, and on compare and multi-hop questions must-mention and all@10.

    .venv/bin/python bench/combined_eval.py [--work DIR] [--keep]

The corpus and index go under --work (default: a temporary folder, removed unless --keep); an
index already there is reused (delete it to rebuild after a code change).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from _common import ROOT, Timer, machine, now

SETS = {  # folder in the combined corpus: (documents, question files)
    "dev": (ROOT / "corpus", {"dev": ROOT / "bench" / "dev_questions.jsonl", "held-out": ROOT / "bench" / "heldout_questions.jsonl"}),
    "ext": (ROOT / "bench" / "external" / "docs", {"external": ROOT / "bench" / "external" / "questions.jsonl"}),
    "ext2": (ROOT / "bench" / "external2" / "docs", {"external2": ROOT / "bench" / "external2" / "questions.jsonl"}),
}
MULTI = ("compare", "multihop")


def assemble(work: Path) -> tuple[Path, Path, dict[str, str]]:
    """The combined corpus folder, its questions file, and each question's set."""
    corpus, questions = work / "corpus", work / "questions.jsonl"
    set_of: dict[str, str] = {}
    if not corpus.exists():
        for folder, (documents, _) in SETS.items():
            shutil.copytree(documents, corpus / folder)
    lines = []
    for folder, (_, files) in SETS.items():
        for name, path in files.items():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    q = json.loads(line)
                    q["sources"] = [f"{folder}/{s}" for s in q.get("sources") or []]
                    set_of[q["id"]] = name
                    lines.append(json.dumps(q, ensure_ascii=False))
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus, questions, set_of


def summary(report: dict, questions, set_of: dict[str, str]) -> list[str]:
    """Must-mention and abstention per set, all@10 on multi-document questions, per method."""
    kinds = {q.id: q.kind for q in questions}
    methods = list(report["methods"])
    by_set: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for d in report["details"]:
        name = set_of[d["id"]]
        for m in methods:
            if d["answerable"]:
                by_set[name][f"{m} mm"].append(d[m]["must_mention"])
                if kinds[d["id"]] in MULTI:
                    by_set[name][f"{m} all10"].append(d[m]["all@10"])
                    by_set[name][f"{m} multi mm"].append(d[m]["must_mention"])
            by_set[name][f"{m} abst"].append(d[m]["abstained"] != d["answerable"])
    out = ["| set | method | must-mention | compare + multi-hop must-mention | compare + multi-hop all@10 | abstention |", "| --- | --- | --- | --- | --- | --- |"]
    for name in ("dev", "held-out", "external", "external2"):
        for m in methods:
            cells = [by_set[name][f"{m} {k}"] for k in ("mm", "multi mm", "all10", "abst")]
            out.append(f"| {name} | {m} | " + " | ".join(f"{sum(c) / len(c):.2f} ({sum(c)}/{len(c)})" if c else "-" for c in cells) + " |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="folder for the combined corpus and its index (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep a temporary --work folder")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-combined-"))
    work.mkdir(parents=True, exist_ok=True)
    from qa_engine.config import load_settings
    from qa_engine.engine import QAEngine
    from qa_engine.evaluate import evaluate, format_table, read_questions
    from qa_engine.indexer import build_index

    try:
        corpus, questions_file, set_of = assemble(work)
        settings = load_settings().with_paths(corpus=corpus, index=work / "index")
        print(f"# combined evaluation, {now()}; {machine()}")
        if not (work / "index").exists():
            with Timer() as t:
                build_index(settings, progress=False)
            print(f"index of {corpus} built in {t.wall:.0f} s")
        questions = read_questions(questions_file)
        report = evaluate(QAEngine.load(work / "index", settings), questions)
        print(format_table(report))
        print()
        print("\n".join(summary(report, questions, set_of)))
        (work / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nfull report: {work / 'report.json'}")
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
