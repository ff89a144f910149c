"""Terms of the corpus: vocabulary terms wherever named, open-vocabulary phrases that recur.

A phrase is a term when it ends in a domain head noun, joins two known terms ("RNN encoder"),
or is a capitalized name or acronym, and recurs in MIN_UNITS text units in distinct contexts.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from qa_engine.aliases import MAIN, NESTED, Token, singularize, tokenize, words_of
from qa_engine.entity_types import COMPOSABLE, HEADS, TYPES
from qa_engine.prose import Sentence

MIN_UNITS = 2  # an open-vocabulary candidate must recur in this many text units


@dataclass
class Entity:
    title: str
    type: str
    mentions: list[tuple[int, int, int]]  # (sentence, start, end)


_STOPWORDS = frozenset(
    """a an the this that these those it its they them their there here we our us you your i he she his her
    my me who whom whose which what when where why how whether if then than so such as at by for from in into
    of on onto off out over under up down to with without within via per about above below across after
    before between through during along around among against toward towards upon behind beyond and or nor
    but not no yes is are was were be been being am do does did done has have had can could may might must
    shall should will would also only just very too quite rather much many more most less least few fewer
    several some any all each every both either neither other others another same different such own new old
    following previous next last first second third fourth final given entire whole single simple small large
    larger smaller big bigger huge tiny good better best great bad worse worst high higher highest low lower
    lowest long longer short shorter wide wider deep deeper main key important popular common standard typical
    usual general specific particular certain various actual current overall full corresponding respective
    additional extra further original modern recent early earlier late later novel multiple identical existing
    traditional right efficient dominant minimal random likely past future subsequent preceding scalar
    while since because although though unless until whereas whenever once beat enough encodes initialize
    one two three four five six seven eight nine ten hundred thousand million billion trillion
    n k d m h t x y z e g ie eg et al etc vs use uses make makes take takes give gives get gets see show shows
    let lets need needs want wants call calls like allow allows require requires solve solves perform performs
    include includes discuss affect train training test testing validation plotting pay art
    way ways thing things part parts kind kinds type types lot lots example examples case cases instance
    instances number numbers amount set sets step steps time times figure fig section chapter table equation
    eq exercise exercises summary note tip hint paper papers book course tutorial notebook blog post code
    implementation version versions term terms idea ideas approach approaches method methods result results
    output outputs input inputs data information order form level levels side sides end ends
    still even now well already often always never again once twice thus hence therefore however moreover
    furthermore instead otherwise indeed
    """.split()
)
_DETERMINERS = frozenset("a an the this that these those its their our your each every any some no".split())
# -ing words that are nouns here, not verbs ("text processing", not "using attention").
_ING_NOUNS = frozenset("processing understanding reasoning computing labeling labelling hashing scaling".split())

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_ACRONYM = re.compile(r"[A-Z](?=[a-z0-9]{0,3}[A-Z0-9])[A-Za-z0-9]{1,8}")
_NOT_NAMES = frozenset(
    "TIP WARNING NOTE TL DR GB MB KB CPU API URL PDF HTML CSV JSON ID IDs OK FAQ TODO II III IV RAIL NN RTD QK "
    "YouTube GitHub Github GoogleColab GoogleDrive Numpy NumPy".split()
)


@dataclass(frozen=True)
class _Candidate:
    """One occurrence of an open-vocabulary phrase: its forms, longest first, as (key, start, end)."""

    sentence: int
    forms: tuple[tuple[str, int, int], ...]
    type: str


def _content_word(word: str, after_determiner: bool = False) -> bool:
    """A word that can be part of a term: not a function word, participle or adverb.

    An -ing word is a verb ("using attention") unless a determiner says it is a modifier ("a gating network").
    """
    lower = word.lower()
    if not _WORD.fullmatch(word) or lower in _STOPWORDS:
        return False
    if word[1:].islower() and len(word) > 4:
        if lower.endswith(("ed", "ly")):
            return False
        if lower.endswith("ing") and lower not in _ING_NOUNS and lower not in HEADS and not after_determiner:
            return False
    return True


def _groups(tokens: list[Token], text: str) -> list[tuple[int, int]]:
    """Token ranges that read as one word: 'sequence-to-sequence', 'multi-head', 'GPT-2'."""
    groups, start = [], 0
    for k in range(len(tokens)):
        gap = text[tokens[k].end : tokens[k + 1].start] if k + 1 < len(tokens) else ""
        if not gap or gap.strip("-–—"):
            groups.append((start, k + 1))
            start = k + 1
    return groups


def _singular(word: str) -> str:
    """Plural to singular for common nouns, capitalized heads ('Transformers') and acronyms ('CNNs')."""
    if word.islower() or (word[:-1].isupper() and word.endswith("s")) or singularize(word).lower() in HEADS:
        return singularize(word)
    return word


def _key(words: list[str]) -> str:
    """What makes two surfaces one phrase: case and the plural of the last word do not matter."""
    return " ".join([*(w.lower() for w in words[:-1]), _singular(words[-1]).lower()])


_Spans = tuple[tuple[int, int], ...]  # token ranges of one phrase, longest first


def _candidates(
    sid: int, text: str, tokens: list[Token], matches: list[tuple[int, int, tuple[str, ...]]], named: set[int]
) -> Iterator[_Candidate]:
    """Noun phrases ending in a head noun, pairs of known terms, capitalized names and acronyms.

    `matches` are the vocabulary's (nested people and organizations aside); `named` is every
    token any vocabulary match covers.
    """
    match_of = {k: m for m in matches for k in range(m[0], m[1])}
    found = [*_noun_phrases(text, tokens, match_of), *_compositions(text, tokens, matches), *_names(tokens, named)]
    for spans, type_ in found:
        forms = [(_key([t.text for t in tokens[a:b]]), tokens[a].start, tokens[b - 1].end) for a, b in spans]
        yield _Candidate(sid, tuple(forms), type_)


def _noun_phrases(
    text: str, tokens: list[Token], match_of: dict[int, tuple[int, int, tuple[str, ...]]]
) -> Iterator[tuple[_Spans, str]]:
    """Runs of content words ending in a head noun: 'gating network', 'identity matrix'."""
    runs: list[list[tuple[int, int]]] = [[]]
    for a, b in _groups(tokens, text):
        possessive = text[tokens[b - 1].end - 2 : tokens[b - 1].end] in ("'s", "’s")
        after_determiner = a > 0 and tokens[a - 1].text.lower() in _DETERMINERS
        content = _content_word(tokens[a].text, after_determiner) and not possessive
        content = content and _content_word(tokens[b - 1].text, after_determiner or b - a > 1)
        content = content and all(_WORD.fullmatch(t.text) for t in tokens[a:b])
        joined = runs[-1] and not text[tokens[runs[-1][-1][1] - 1].end : tokens[a].start].strip()
        if content and (joined or not runs[-1]):
            runs[-1].append((a, b))
        else:
            runs.append([(a, b)] if content else [])

    def head(group: tuple[int, int]) -> str | None:
        """The singular head noun this one-word group is, if it is one the vocabulary does not cut."""
        word, covering = tokens[group[0]].text, match_of.get(group[0])
        lemma = singularize(word)
        if group[1] - group[0] == 1 and word.islower() and lemma in HEADS:
            return None if covering and covering[1] - covering[0] > 1 else lemma
        return None

    for run in runs:
        for h in range(1, len(run)):  # a phrase ends at a head noun that no other head follows
            lemma = head(run[h])
            if not lemma or (h + 1 < len(run) and singularize(tokens[run[h + 1][0]].text.lower()) in HEADS):
                continue
            spans = []
            for g in range(max(0, h - 3), h):  # modifiers before the head, longest first
                first = run[g][0]
                modifier = match_of.get(first)
                starts_inside = modifier and modifier[0] != first
                # "ResNet model", "greedy search strategy": the known term alone, said at length
                restated = modifier and modifier[1] == run[h][0] and TYPES[modifier[2][0]] == HEADS[lemma]
                if not starts_inside and not restated:
                    spans.append((first, run[h][1]))
            if spans:
                yield tuple(spans), HEADS[lemma]


def _compositions(
    text: str, tokens: list[Token], matches: list[tuple[int, int, tuple[str, ...]]]
) -> Iterator[tuple[_Spans, str]]:
    """Two known terms side by side that name a third: 'RNN encoder', 'decoder self-attention'."""
    for (a, b, first), (c, d, second) in zip(matches, matches[1:]):
        if b != c or len(first) != 1 or len(second) != 1 or first == second:
            continue
        if text[tokens[b - 1].end : tokens[c].start].strip("-–— "):
            continue
        if not all(_WORD.fullmatch(t.text) for t in tokens[a:d]):
            continue
        if TYPES[first[0]] in COMPOSABLE[0] and TYPES[second[0]] in COMPOSABLE[1]:
            yield ((a, d),), TYPES[second[0]]


def _names(tokens: list[Token], named: set[int]) -> Iterator[tuple[_Spans, str]]:
    """Capitalized multi-word names and acronyms that the vocabulary does not know."""

    def name(k: int) -> bool:
        word = tokens[k].text
        return k not in named and word not in _NOT_NAMES and word[:1].isupper() and bool(_WORD.fullmatch(word))

    i = 1  # a capital at the very start of a sentence says nothing
    while i < len(tokens):
        j = i
        while name(j) and j + 1 < len(tokens) and name(j + 1):
            j += 1
        words = [t.text for t in tokens[i : j + 1]]
        if not name(i):
            pass
        elif 0 < j - i < 5 and not any(w.lower() in _STOPWORDS for w in words):
            yield ((i, j + 1),), HEADS.get(_singular(words[-1]).lower(), "CONCEPT")
        elif j == i and _ACRONYM.fullmatch(words[0]) and sum(c.isalpha() for c in words[0]) >= 2:
            if not re.search(r"[a-z]{4}", words[0]):  # 'ViT', 'GLPN'; not CamelCase code names
                yield ((i, i + 1),), "CONCEPT"
        i = j + 1


def _title(surface: str) -> str:
    """'positionwise feed-forward networks' -> 'Positionwise Feed-Forward Network'."""
    parts = re.split(r"(\s+|-+|–|—)", " ".join(re.sub(r"['’]s\b", "", surface).split()))
    words = [i for i, p in enumerate(parts) if _WORD.fullmatch(p)]
    if words:
        parts[words[-1]] = _singular(parts[words[-1]])
    small = {"of", "and", "for", "from", "to", "in", "on", "the", "a", "with", "by"}
    for n, i in enumerate(words):
        word = parts[i]
        if word.islower() and not (n and word in small):
            parts[i] = word[0].upper() + word[1:]
    return "".join(parts)


def find_entities(sentences: list[Sentence]) -> list[Entity]:
    """Vocabulary terms wherever named; open-vocabulary phrases that recur in MIN_UNITS text units."""
    found: dict[str, Entity] = {}
    candidates: list[_Candidate] = []
    for sid, sentence in enumerate(sentences):
        tokens = tokenize(sentence.text)
        matches = list(MAIN.match(tokens))
        named: set[int] = set()
        for first, end, titles in matches + list(NESTED.match(tokens, nested=True)):
            named.update(range(first, end))
            for title in titles:
                entity = found.setdefault(title, Entity(title, TYPES[title], []))
                entity.mentions.append((sid, tokens[first].start, tokens[end - 1].end))
        if sentence.prose:
            candidates.extend(_candidates(sid, sentence.text, tokens, matches, named))

    # Recurrence counts distinct contexts, so text units that overlap do not repeat a phrase into a term.
    units: dict[str, set[int]] = defaultdict(set)
    contexts: dict[str, set[str]] = defaultdict(set)
    for candidate in candidates:
        text = sentences[candidate.sentence].text
        for key, start, end in candidate.forms:
            units[key].update(sentences[candidate.sentence].units)
            contexts[key].add(" ".join(text[max(0, start - 40) : end + 40].split()))
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    open_mentions: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    open_types: dict[str, str] = {}
    for candidate in candidates:
        for key, start, end in candidate.forms:
            if len(units[key]) >= MIN_UNITS and len(contexts[key]) >= MIN_UNITS:
                surfaces[key][sentences[candidate.sentence].text[start:end]] += 1
                open_mentions[key].append((candidate.sentence, start, end))
                open_types.setdefault(key, candidate.type)
                break

    by_title = {title.lower(): entity for title, entity in found.items()}
    for key, mentions in open_mentions.items():
        title = _title(max(surfaces[key].items(), key=lambda item: (item[1], item[0]))[0])
        known = MAIN.lookup(words_of(title)) or NESTED.lookup(words_of(title))
        if known and len(known) == 1:
            title = known[0]
        entity = by_title.setdefault(title.lower(), Entity(title, TYPES.get(title, open_types[key]), []))
        entity.mentions.extend(mentions)
    ordered = sorted(by_title.values(), key=lambda e: min(e.mentions))
    for entity in ordered:
        entity.mentions = sorted(set(entity.mentions))
    return ordered
