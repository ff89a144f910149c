"""Entity descriptions from corpus sentences: definitions first, sentences that read well alone."""

from __future__ import annotations

import re
from collections import Counter

from qa_engine.prose import MATH_OR_CODE, Sentence

MAX_DESCRIPTION_CHARS = 600
MIN_DESCRIPTION_SCORE = -1.5  # an entity whose best sentence reads worse than this is left out, unless it is a name
OWN_MARGIN = 1.0  # ... unless the sentence is of the entity's own document and reads at most this much worse


_DEFINES = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:,[^,]{1,80},\s*)?(?:is|are|was|were|refers? to|denotes?|means|describes?|"
    r"represents?|consists? of|is defined as|can be (?:seen|viewed|thought of|described) as)\b"
)
_ACTS = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:has|have|had|(?:use|compute|take|allow|involve|combine|provide|transform|encode|"
    r"map|generate|predict|achieve|enable|produce|learn|reduce|improve|introduce|propose|replace|extend|apply|"
    r"attend|focus|operate|convert|assign)(?:s|d|ed|es)?)\b"
)
_NAMED_BEFORE = re.compile(
    r"(?:called|known as|referred to as|termed|(?<!\ba )(?<!\ban )(?<!\bthe )named|dubbed|denoted as|i\.e\.,?|"
    r"(?:we|they|authors?|paper|work)\s+(?:propose|introduce|present)[sd]?)\s+(?:the\s+|a\s+|an\s+)?[\"“*_]*$",
    re.I,
)
# A name given outright: "called X", "known as X", "they named this technique X", "we can call R "X"".
_NAMES_BEFORE = re.compile(
    r"(?:\b(?:called|known as|referred to as|termed|(?<!\ba )(?<!\ban )(?<!\bthe )named|dubbed)\s+(?:(?:this|these)\s+\w+\s+|(?:the|a|an)\s+(?:\w+\s+)?|(?:it|them)\s+)?"
    r"|\bcall(?:s|ed)?\s+\S+\s+(?=[\"“]))[\"“*_]*$",
    re.I,
)
_PREDICATE_BEFORE = re.compile(r"\b(?:is|are|was)\s+(?:the\s+|a\s+|an\s+)?[\"“*_]*$")
_SUBJECT_START = re.compile(r"^\W*(?:[^,.;:]{1,50},\s+)?(?:(?:the|a|an)\s+)?$", re.I)
_POOR_START = re.compile(
    r"^\W*(?:implement|modify|prove|design|train|rerun|replace|visualize|suppose|consider|recall|let|can|could|"
    r"how|what|why|which|is|are|do|does|check|ready|remember|assume|apply|compare|try|imagine|say|denote|give|"
    r"see|below|explore|install|summarize|click|read|share)\b",
    re.I,
)
_DEICTIC_START = re.compile(
    r"^\W*(?:this|these|it|they|that|those|such|here|there|its|their|both|then|thus|hence|so)\b", re.I
)
_ENDED = re.compile(r"[.!?:;][\"'”’)\]]*$")
_PERSONAL = re.compile(r"\b(?:we|our|us|you|your|let's|i)\b", re.I)
_REFERENCE = re.compile(r"\b(?:the figure|the section|the table|the equation|below|above)\b", re.I)
_CODE_NAME = re.compile(r"\b\w+_\w+\b|\b[A-Z][a-z]+[A-Z]\w*[A-Z][a-z]\w*|\w\.\w+\(")


def sentence_quality(text: str) -> float:
    """How well a sentence reads on its own, whatever entity it is about."""
    words = len(text.split())
    math = sum(len(m[0]) for m in MATH_OR_CODE.finditer(text))
    score = min(words, 25) / 25
    score -= 4 if text.endswith("?") else 0
    score -= 3 if _POOR_START.match(text) else 0
    score -= 1 if text[:1].islower() else 0
    score -= 1.5 if _DEICTIC_START.match(text) else 0
    score -= 1 if _PERSONAL.search(text) else 0
    score -= 1 if _REFERENCE.search(text) else 0
    score -= 2 if words < 8 else 0
    score -= 1 if words > 60 else 0
    score -= 2 if math > 0.4 * len(text) else 0
    score -= 1.5 if text.endswith(":") else 0
    score -= 4 if text.endswith((",", ";")) else 0  # a list item cut short
    score -= 1 if _CODE_NAME.search(text) else 0
    score -= 2 if sum(w[:1].isupper() for w in text.split()) > 0.5 * words else 0  # a title or a menu, not prose
    return score


_INTRODUCES = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:(?:is|are|was|were)\s+(?:a|an|one)\s|(?:refers? to|denotes?|stands? for|is defined as)\b"
    r"|,\s*(?:a|an)\s|:\s)"
)


def introduces(text: str, start: int, end: int) -> bool:
    """Whether the sentence introduces the mention at text[start:end]: "X is a ...", "X, a ...",
    "X: ...", "called X", "we propose X" (not "X is rapidly evolving")."""
    before = text[:start]
    return bool(
        _SUBJECT_START.match(before) and _INTRODUCES.match(text[end:]) or _NAMED_BEFORE.search(before) or names(text, start)
    )


def names(text: str, start: int) -> bool:
    """Whether the sentence gives the mention starting at text[start] as a name: "a method called X",
    "they named this technique X", "we call R "X"". A word named so is a term the first time."""
    return bool(_NAMES_BEFORE.search(text[:start]))


def definition_score(text: str, start: int, end: int) -> float:
    """How much a sentence reads as a definition of the mention at text[start:end]."""
    before, after = text[:start], text[end:]
    if _SUBJECT_START.match(before):
        if after.lstrip().startswith(":"):
            return 4  # a glossary entry, "Query: the query is ..."
        if _DEFINES.match(after):
            return 4
        if _ACTS.match(after):
            return 2
        if re.match(r"^\s*,\s*(?:a|an)\s", after):
            return 3  # "Mamba, a selective state space model, ..."
        if re.match(r"^\s*(?:,\s*(?:which|the)\b|\()", after):
            return 1.5
    if _NAMED_BEFORE.search(before) or _NAMES_BEFORE.search(before):
        return 3
    if _PREDICATE_BEFORE.search(before) and re.match(r"^[\"”*_]*\s*[.!]?$", after):
        return 2.5  # "One commonly used technique ... is learning rate warm-up."
    return 0.5 if re.match(r"^\s*(?:,\s*which|\(|,\s*(?:a|an)\s)", after) else 0


def _near_duplicate(a: str, b: str) -> bool:
    """Summaries restate their section: two sentences sharing most words say one thing."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) > 0.7 * min(len(wa), len(wb))


def pick(ranked: list[str], limit: int, most: int) -> str:
    """Best sentences first, distinct, whole, within `limit` characters."""
    chosen: list[str] = []
    for text in ranked:
        if len(chosen) == most:
            break
        if sum(len(c) + 1 for c in chosen) + len(text) > limit:
            continue
        if not any(_near_duplicate(text, c) for c in chosen):
            chosen.append(text)
    return joined(chosen)


def joined(sentences: list[str]) -> str:
    """Sentences in a row, as written; one that ends without a stop (a title, a list item) ends
    its paragraph, so that nothing reads it into the next ("... State Spaces The paper ...")."""
    text = ""
    for sentence in filter(None, sentences):
        text += ("" if not text else " " if _ENDED.search(text) else "\n\n") + sentence
    return text


def describe(
    mentions: list[tuple[int, int, int]],
    sentences: list[Sentence],
    quality: list[float],
    documents: list[str],
    named: bool = False,
) -> str:
    """Up to three distinct sentences naming the entity, definitions first; between sentences that
    score alike, those of the document that names it most (its own: a paper about X before one
    citing it). '' if none reads well, unless the entity is `named` (a name, or a term its text
    introduces): a name exists however poorly its sentences read, so it gets its best one, or the
    heading that names it with the first sentence under it. `documents` holds the document of each
    text unit.

    The own document breaks ties and may read OWN_MARGIN worse and still describe the entity (a
    model's README names it in plain lines); as a bonus in the ranking it cost a dev-set question."""
    home = Counter(documents[sentences[sid].units[0]] for sid, _, _ in mentions).most_common(1)[0][0]
    scored: dict[str, tuple[float, bool, int]] = {}
    for sid, start, end in mentions:
        sentence = sentences[sid]
        if sentence.prose and len(sentence.text) > 20:
            score = quality[sid] + definition_score(sentence.text, start, end)
            if sentence.text not in scored or scored[sentence.text][0] < score:
                scored[sentence.text] = (score, documents[sentence.units[0]] != home, sid)
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[1][1], item[1][2]))
    if not ranked or max(score + OWN_MARGIN * (not other) for score, other, _ in scored.values()) < MIN_DESCRIPTION_SCORE:
        return _best_mention(mentions, sentences, ranked) if named else ""
    best = ranked[0][1][0]
    return pick([text for text, (score, _, _) in ranked if score >= min(best, 0)], MAX_DESCRIPTION_CHARS, 3)


def _best_mention(
    mentions: list[tuple[int, int, int]], sentences: list[Sentence], ranked: list[tuple[str, tuple[float, bool, int]]]
) -> str:
    """The best-reading prose sentence naming it; else its first heading and the sentence under it."""
    if ranked:
        return ranked[0][0]
    for sid, _, _ in mentions:
        if sentences[sid].heading:
            under = sentences[sid + 1] if sid + 1 < len(sentences) else None
            follows = under is not None and under.prose and under.block == sentences[sid].block + 1
            text = sentences[sid].text.rstrip(".:") + (f". {under.text}" if follows else ".")
            return text[:MAX_DESCRIPTION_CHARS]
    return ""
