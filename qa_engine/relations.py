"""Relationships: what the text says connects two entities, with the sentence as evidence.

Two entities that are arguments of one verb ("BigBird combines random attention ...": subject
and object) are related by that predicate, weight 1.0 a sentence, and the description says it
("BigBird combines Random Attention.") before the sentence. Where the parse shows no such
structure, entities named in one sentence co-occur (CO_OCCURRENCE_WEIGHT), in adjacent sentences
of a paragraph less (ADJACENT_WEIGHT), and so do those of a heading and of the first sentence under
it (a heading says what its section is about); their description is the sentences alone. An
entity still unrelated is joined to the entity its document names most (DOCUMENT_WEIGHT): named
in a paper about X, it is part of what the graph knows of X, and graphrag's readers drop an entity
that no community holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import pandas as pd
from spacy.tokens import Doc, Span
from spacy.tokens import Token as SpacyToken

from qa_engine.descriptions import pick
from qa_engine.prose import Sentence
from qa_engine.terms import Entity

RELATIONSHIP_COLUMNS = ["source", "target", "description", "weight", "text_unit_ids"]
MAX_EVIDENCE_CHARS = 500
PREDICATE_WEIGHT = 1.0
CO_OCCURRENCE_WEIGHT = 0.5
ADJACENT_WEIGHT = 0.25
DOCUMENT_WEIGHT = 0.1

_SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj"})
_CLAUSES = frozenset({"relcl", "acl", "advcl", "ccomp", "xcomp", "parataxis"})
_OBJECTS = frozenset({"dobj", "attr", "oprd", "dative", "prep", "agent", "acomp", "npadvmod"})


@dataclass
class _Evidence:
    weight: float
    sentence: int  # the (first) sentence
    pair: tuple[str, str]  # (source, target): subject and object, or the order the text names them
    units: set[int]
    predicate: str = ""  # the verb phrase that joins them, if the parse shows one


def _argument_of(token: SpacyToken) -> tuple[SpacyToken, SpacyToken] | None:
    """The verb the mention is an argument of, and the verb's child on the way there; None when
    the mention is a verb itself or sits in a clause of its own ("BERT, which is pretrained ...")."""
    child = token
    while child.head.i != child.i and child.pos_ not in {"VERB", "AUX"} and child.dep_ not in _CLAUSES:
        if child.head.pos_ in {"VERB", "AUX"}:
            return child.head, child
        child = child.head
    return None


def predicate(doc: Doc, a: Span, b: Span) -> tuple[bool, str] | None:
    """(a is the subject, the verb phrase) when a and b are subject and object of one verb."""
    first, second = _argument_of(a.root), _argument_of(b.root)
    if not first or not second or first[0].i != second[0].i or first[1].i == second[1].i:
        return None
    verb, roles = first[0], (first[1].dep_, second[1].dep_)
    if roles[0] in _SUBJECTS and roles[1] in _OBJECTS:
        subject_first, via = True, second[1]
    elif roles[1] in _SUBJECTS and roles[0] in _OBJECTS:
        subject_first, via = False, first[1]
    else:
        return None
    if via.lower_ in {"unlike", "except", "without"} or via.i and doc[via.i - 1].lower_ in {"instead", "rather"}:
        return None  # "uses ALiBi instead of positional embeddings" says the opposite
    words = [t for t in verb.children if t.dep_ in {"aux", "auxpass", "neg"} and t.i < verb.i]
    words += [verb, *(t for t in verb.children if t.dep_ == "prt")]
    words = sorted(words, key=lambda t: t.i) + ([via] if via.dep_ in {"prep", "agent"} else [])
    return subject_first, " ".join(t.text for t in words)


def relationships_of(
    entities: list[Entity],
    sentences: list[Sentence],
    docs: list[Doc | None],
    quality: list[float],
    unit_ids: list[str],
    documents: list[str] | None = None,
) -> pd.DataFrame:
    """Graph edges as the module docstring says, one row per pair of entities."""
    in_sentence: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)  # sentence -> title -> first mention
    in_heading: dict[int, set[str]] = defaultdict(set)
    for entity in entities:
        for sid, start, end in entity.mentions:
            if sentences[sid].prose:
                in_sentence[sid].setdefault(entity.title, (start, end))
            elif sentences[sid].heading:
                in_heading[sid].add(entity.title)

    # A sentence that overlapping text units repeat is one piece of evidence, found in both units.
    evidence: dict[frozenset[str], dict[str, _Evidence]] = defaultdict(dict)

    def add(a: str, b: str, text: str, weight: float, sid: int, units: set[int], verb: str = "") -> None:
        if a == b or len(text) > MAX_EVIDENCE_CHARS:
            return
        support = evidence[frozenset((a, b))]
        if text in support:
            support[text].units.update(units)
        else:
            support[text] = _Evidence(weight, sid, (a, b), units, verb)

    for sid in sorted(in_sentence):
        named = in_sentence[sid]
        titles = sorted(named, key=lambda t: (named[t], t))
        sentence, doc = sentences[sid], docs[sid]
        for i, a in enumerate(titles):
            for b in titles[i + 1 :]:
                spans = [doc.char_span(*named[t], alignment_mode="expand") for t in (a, b)] if doc else []
                found = predicate(doc, *spans) if doc and all(s is not None and len(s) for s in spans) else None
                if found:
                    subject, obj = (a, b) if found[0] else (b, a)
                    add(subject, obj, sentence.text, PREDICATE_WEIGHT, sid, set(sentence.units), found[1])
                else:
                    add(a, b, sentence.text, CO_OCCURRENCE_WEIGHT, sid, set(sentence.units))
        following = in_sentence.get(sid + 1)
        if following and sentences[sid + 1].block == sentence.block:
            text = f"{sentence.text} {sentences[sid + 1].text}"
            for a in titles:
                for b in following:
                    if b not in named and a not in following:
                        add(a, b, text, ADJACENT_WEIGHT, sid, {*sentence.units, *sentences[sid + 1].units})

    for sid, titles in in_heading.items():
        under = in_sentence.get(sid + 1)
        if under and sentences[sid + 1].block == sentences[sid].block + 1:
            text = f"{sentences[sid].text.rstrip('.:')}: {sentences[sid + 1].text}"
            for a in sorted(titles):
                for b in under:
                    add(a, b, text, ADJACENT_WEIGHT, sid, {*sentences[sid].units, *sentences[sid + 1].units})

    linked = {title for pair in evidence for title in pair}
    by_document: dict[str, Counter[str]] = defaultdict(Counter)
    home: dict[str, str] = {}
    for entity in entities:
        units = Counter((documents or [""] * len(unit_ids))[u] for sid, _, _ in entity.mentions for u in sentences[sid].units)
        for document, n in units.items():
            by_document[document][entity.title] += n
        home[entity.title] = units.most_common(1)[0][0] if units else ""
    for entity in entities:
        if entity.title not in linked and entity.mentions:
            main = next((t for t, _ in by_document[home[entity.title]].most_common() if t != entity.title), None)
            sid = entity.mentions[0][0]
            if main:
                add(entity.title, main, sentences[sid].text, DOCUMENT_WEIGHT, sid, set(sentences[sid].units))

    rows = []
    for support in evidence.values():
        ranked = sorted(
            support, key=lambda t: (-support[t].weight, -quality[support[t].sentence], len(t), support[t].sentence)
        )
        stated = [support[t] for t in ranked if support[t].predicate]
        first = stated[0] if stated else min(support.values(), key=lambda e: e.sentence)
        statement = f"{first.pair[0]} {first.predicate} {first.pair[1]}. " if stated else ""
        description = statement + pick(ranked, MAX_EVIDENCE_CHARS - len(statement), 2)
        units = sorted({u for e in support.values() for u in e.units})
        weight = sum(e.weight for e in support.values())
        start = min(e.sentence for e in support.values())
        rows.append((start, *first.pair, description, weight, [unit_ids[u] for u in units]))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return pd.DataFrame([r[1:] for r in rows], columns=RELATIONSHIP_COLUMNS)
