"""SmolLM2-135M-Instruct's answers for the claim calibration set (bench/claims/).

Dev questions: evidence from the engine over an index of the shipped corpus (context budget
1200 tokens: ~4 min a question on a busy 2-core machine). External questions: the evidence
records of evidence_external.jsonl. Greedy decoding, the answerer's own messages; appends
one JSON line per question: key, question, answer, evidence.

    python bench/claims/smollm2_answers.py dev QUESTIONS.jsonl INDEX OUT.jsonl
    python bench/claims/smollm2_answers.py external bench/claims/evidence_external.jsonl OUT.jsonl
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qa_engine.answer import llm_messages  # noqa: E402
from qa_engine.llm import load_local_chat_model, smollm2_path  # noqa: E402
from qa_engine.results import Evidence  # noqa: E402

MAX_NEW_TOKENS = 80


def main(kind: str, source: str, *rest: str) -> None:
    generate = load_local_chat_model(str(smollm2_path()))
    if kind == "dev":
        from qa_engine.engine import QAEngine

        index, out = rest
        engine = QAEngine.load(index)
        engine.settings = replace(engine.settings, qa=replace(engine.settings.qa, max_context_tokens=1200))
        asked = [json.loads(line) for line in open(source, encoding="utf-8")]
        cases = [(q["id"], q["question"], engine.ask(q["question"]).evidence) for q in asked]
    else:
        (out,) = rest
        rows = [json.loads(line) for line in open(source, encoding="utf-8")]
        cases = [(r["key"], r["question"], [Evidence(**e) for e in r["evidence"]]) for r in rows]
    with open(out, "a", encoding="utf-8") as sink:
        for key, question, evidence in cases:
            answer = "".join(generate(llm_messages(question, evidence), MAX_NEW_TOKENS)).strip()
            sink.write(json.dumps({"key": key, "question": question, "answer": answer, "evidence": [asdict(e) for e in evidence]}) + "\n")
            sink.flush()
            print(key, repr(answer[:100]), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
