"""Where the extractive answerer's abstention threshold comes from.

For every dev and held-out question, the score of the best evidence sentence (see
`qa_engine.answer._match`): answerable questions must land above
`qa_engine.answer.ABSTAIN_BELOW`, off-corpus ones below.

    .venv/bin/python bench/calibrate_abstention.py [INDEX_DIR] [QUESTIONS.jsonl ...]
"""

import json
import sys
from pathlib import Path

from qa_engine import QAEngine
from qa_engine.answer import ABSTAIN_BELOW, best_sentence_score
from qa_engine.context import pack
from qa_engine.search import cover_terms

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    index = sys.argv[1] if len(sys.argv) > 1 else ROOT / "index" / "default"
    files = [Path(f) for f in sys.argv[2:]] or [ROOT / "bench" / "dev_questions.jsonl", ROOT / "bench" / "heldout_questions.jsonl"]
    engine = QAEngine.load(index)
    qa = engine.settings.qa
    scores = {True: [], False: []}
    for q in (json.loads(line) for f in files for line in f.read_text().splitlines()):
        query = engine.encode_question(q["question"])
        known = query.without(query.unknown)  # as engine.ask searches
        candidates = engine.search(engine.index, engine.graph, known, qa.top_k_entities, qa.top_k_text_units)
        scores_ = cover_terms(engine.graph, query, candidates, engine.reranker.scores(engine.index, engine.graph, known, candidates))
        packed = pack(engine.index, candidates, scores_, qa.max_context_tokens)
        score = best_sentence_score(engine.index, engine.graph, query, packed)
        scores[q["answerable"]].append(score)
        print(f"{q['id']}\tanswerable={q['answerable']}\tbest={score:.3f}")
    print(f"answerable: min {min(scores[True]):.3f}; off-corpus: max {max(scores[False], default=0):.3f}; threshold {ABSTAIN_BELOW}")


if __name__ == "__main__":
    main()
