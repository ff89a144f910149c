"""The late-interaction reranker's effect on retrieval: gold source in the top 5 with it and
without it (reranker `none`: candidates in cosine order), plus recall@1 and MRR, per
question, on the dev set. Same local search, same loaded index, one run: the eval's
`local+rerank` against its `local`.

    .venv/bin/python bench/bench_rerank.py [--index index/default] [--questions bench/dev_questions.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import DEV_QUESTIONS, ROOT, Timer, git_head, machine, now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index" / "default")
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    args = parser.parse_args()

    from qa_engine.engine import QAEngine
    from qa_engine.evaluate import evaluate, read_questions

    report = {"started": now(), "machine_before": machine(), "commit": git_head(), "index": str(args.index.resolve())}
    engine = QAEngine.load(args.index)
    with Timer() as run:
        result = evaluate(engine, read_questions(args.questions))
    pick = ("recall@1", "recall@5", "mrr", "must_mention", "p50_ms")
    report["with_reranker"] = {k: result["methods"]["local+rerank"][k] for k in pick}
    report["without_reranker"] = {k: result["methods"]["local"][k] for k in pick}
    per_question, better, worse = [], 0, 0
    for d in result["details"]:
        if not d["answerable"]:
            continue
        a, b = d["local+rerank"]["first_hit"], d["local"]["first_hit"]
        ra, rb = a or 99, b or 99
        better += ra < rb
        worse += ra > rb
        per_question.append(f"{d['id']}: {a} vs {b}")
    report["first_hit_rank_with_vs_without"] = per_question
    report["questions_rank_better_worse_same"] = [better, worse, len(per_question) - better - worse]
    report["load_during_run"] = f"{run.load_before} -> {run.load_after}"
    report["finished"] = now()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
