"""Calibrate the claim check's threshold on the labelled claims of bench/claims/.

Each claim is scored against the evidence its question was given, as the engine scores it
(qa_engine.claims.sentence_scores: the best evidence sentence). A claim is flagged
unsupported below the threshold. The threshold is chosen on the dev claims alone (highest
F1 of the "unsupported" flag, recall first on ties) and then applied unchanged to the
external ones, which were not looked at for the choice.

    python bench/calibrate_claims.py            # sweep, chosen threshold, precision/recall per set
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_engine import embeddings  # noqa: E402
from qa_engine.claims import SUPPORTED_AT, claim_vectors, evidence_sentences, sentence_scores  # noqa: E402
from qa_engine.results import Evidence  # noqa: E402

DATA = ROOT / "bench" / "claims"


def load() -> tuple[list[dict], dict[str, list[Evidence]]]:
    claims = [json.loads(line) for line in open(DATA / "claims.jsonl", encoding="utf-8")]
    evidence = {}
    for name in ("evidence_external.jsonl", "answers.jsonl"):  # an answer's evidence is what its model saw
        for line in open(DATA / name, encoding="utf-8"):
            row = json.loads(line)
            evidence[row["key"]] = [Evidence(**e) for e in row["evidence"]]
    return claims, evidence


def flags_quality(scores: np.ndarray, unsupported: np.ndarray, threshold: float) -> tuple[float, float, int]:
    flagged = scores < threshold
    hits = int((flagged & unsupported).sum())
    precision = hits / flagged.sum() if flagged.sum() else 1.0
    recall = hits / unsupported.sum() if unsupported.sum() else 1.0
    return precision, recall, int(flagged.sum())


def main() -> None:
    claims, evidence = load()
    model = embeddings.load_sentence_transformer()
    scores = []
    for c in claims:
        records = evidence[c["key"]]
        sentences = evidence_sentences(records)
        vectors = claim_vectors(model, [c["claim"]], sentences, records)
        scores.append(float(sentence_scores(c["claim"], sentences, records, vectors).max(initial=0.0)))
    scores = np.array(scores)
    unsupported = np.array([not c["supported"] for c in claims])
    sets = {name: np.array([c["set"] == name for c in claims]) for name in ("dev", "external")}

    def f1(t: float) -> tuple[float, float]:
        p, r, _ = flags_quality(scores[sets["dev"]], unsupported[sets["dev"]], t)
        return (2 * p * r / (p + r) if p + r else 0.0), r

    grid = np.round(np.arange(0.20, 0.80, 0.01), 2)
    chosen = max(grid, key=f1)
    print(f"{len(claims)} claims: " + ", ".join(f"{n} {int(m.sum())} ({int((m & unsupported).sum())} unsupported)" for n, m in sets.items()))
    print("threshold  dev P/R           external P/R")
    for t in grid[::5]:
        row = [flags_quality(scores[m], unsupported[m], t) for m in sets.values()]
        print(f"  {t:.2f}     " + "     ".join(f"{p:.2f}/{r:.2f} ({n:2d})" for p, r, n in row))
    print(f"chosen on dev: {chosen:.2f} (qa_engine.claims.SUPPORTED_AT = {SUPPORTED_AT})")
    for name, m in {**sets, "all": np.ones(len(claims), bool)}.items():
        p, r, n = flags_quality(scores[m], unsupported[m], SUPPORTED_AT)
        print(f"  {name:8s} at {SUPPORTED_AT}: precision {p:.2f}, recall {r:.2f} of 'unsupported' ({n} flagged of {int(m.sum())})")
    for c, s in zip(claims, scores, strict=True):
        if (s < SUPPORTED_AT) != (not c["supported"]):
            print(f"  wrong: {c['id']} {c['set']} {c['origin']} labelled {'supported' if c['supported'] else 'unsupported'}, "
                  f"score {s:.2f}: {c['claim'][:100]}")


if __name__ == "__main__":
    main()
