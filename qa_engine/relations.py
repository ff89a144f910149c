"""Relationships: entities named in one sentence, or in adjacent sentences of a paragraph."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from qa_engine.descriptions import pick
from qa_engine.prose import Sentence
from qa_engine.terms import Entity

RELATIONSHIP_COLUMNS = ["source", "target", "description", "weight", "text_unit_ids"]
MAX_EVIDENCE_CHARS = 500
ADJACENT_WEIGHT = 0.5


@dataclass
class _Evidence:
    weight: float  # 1.0 for one sentence, ADJACENT_WEIGHT for two adjacent ones
    sentence: int  # the (first) sentence
    pair: tuple[str, str]  # (source, target), in the order the text names them
    units: set[int]


def relationships_of(
    entities: list[Entity], sentences: list[Sentence], quality: list[float], unit_ids: list[str]
) -> pd.DataFrame:
    """Pairs named in one sentence (1.0 each) or in adjacent sentences of a paragraph (0.5 each)."""
    in_sentence: dict[int, dict[str, int]] = defaultdict(dict)  # sentence -> title -> first offset
    for entity in entities:
        for sid, start, _ in entity.mentions:
            if sentences[sid].prose:
                in_sentence[sid].setdefault(entity.title, start)

    # A sentence that overlapping text units repeat is one piece of evidence, found in both units.
    evidence: dict[frozenset[str], dict[str, _Evidence]] = defaultdict(dict)

    def add(a: str, b: str, text: str, weight: float, sid: int, units: set[int]) -> None:
        if a == b or len(text) > MAX_EVIDENCE_CHARS:
            return
        support = evidence[frozenset((a, b))]
        if text in support:
            support[text].units.update(units)
        else:
            support[text] = _Evidence(weight, sid, (a, b), units)

    for sid in sorted(in_sentence):
        titles = sorted(in_sentence[sid], key=lambda t: (in_sentence[sid][t], t))
        sentence = sentences[sid]
        for i, a in enumerate(titles):
            for b in titles[i + 1 :]:
                add(a, b, sentence.text, 1.0, sid, set(sentence.units))
        following = in_sentence.get(sid + 1)
        if following and sentences[sid + 1].block == sentence.block:
            text = f"{sentence.text} {sentences[sid + 1].text}"
            for a in titles:
                for b in following:
                    if b not in in_sentence[sid] and a not in following:
                        add(a, b, text, ADJACENT_WEIGHT, sid, {*sentence.units, *sentences[sid + 1].units})

    rows = []
    for support in evidence.values():
        ranked = sorted(
            support, key=lambda t: (-support[t].weight, -quality[support[t].sentence], len(t), support[t].sentence)
        )
        first = min(support.values(), key=lambda e: e.sentence)
        units = sorted({u for e in support.values() for u in e.units})
        description = pick(ranked, MAX_EVIDENCE_CHARS, 2)
        weight = sum(e.weight for e in support.values())
        rows.append((first.sentence, *first.pair, description, weight, [unit_ids[u] for u in units]))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return pd.DataFrame([r[1:] for r in rows], columns=RELATIONSHIP_COLUMNS)
