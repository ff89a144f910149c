"""Offline graph extraction for attention literature: entities and relationships without an LLM.

graphrag's "fast" method finds noun phrases with NLTK/spaCy, which need downloads. This finds
entities with the curated vocabulary of qa_engine.domain plus a regex noun-phrase finder, relates
entities named in the same (or the next) sentence, and describes both with sentences taken from
the corpus itself, so local search has real text to embed.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from qa_engine.domain import COMPOUNDS, NESTED_TYPES, VOCABULARY

ENTITY_COLUMNS = ["title", "type", "description", "text_unit_ids", "frequency"]
RELATIONSHIP_COLUMNS = ["source", "target", "description", "weight", "text_unit_ids"]

MIN_UNITS = 2  # an open-vocabulary candidate must recur in this many text units
MAX_DESCRIPTION_CHARS = 600
MAX_EVIDENCE_CHARS = 500
MAX_SENTENCE_CHARS = 500  # longer "sentences" are run-on transcripts or tables, not evidence
MIN_DESCRIPTION_SCORE = -1.5  # an entity whose best sentence reads worse than this is left out
ADJACENT_WEIGHT = 0.5


# ---------------------------------------------------------------- text units to sentences


@dataclass(frozen=True)
class Sentence:
    text: str  # readable: markup out, math kept
    units: tuple[int, ...]  # positions of its text units in the input: two where a chunk cut it
    block: int  # paragraph number, corpus-wide: adjacency never crosses paragraphs
    prose: bool  # a real sentence: evidence for descriptions and relationships


_MATH_OR_CODE = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$\n]+\$|\\\\?\(.+?\\\\?\)|`[^`\n]+`", re.S)
_URL = r"\((?:[^()\s]|\([^()\s]*\))*\)"
_HTML_NAMES = "div|span|img|center|code|pre|p|br|hr|a|b|i|em|strong|sup|sub|table|tr|td|th|ul|ol|li|iframe"
_Rules = list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]]
# On whole text units, before math and code are set aside.
_BLOCK_MARKUP: _Rules = [
    (re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$", re.S | re.M), ""),  # fenced code
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(rf"</[A-Za-z][\w.:-]*\s*>|<[A-Za-z][\w.:-]*\s[^<>]*>|<[A-Za-z][\w.:-]*/>|<(?:{_HTML_NAMES})>"), ""),
    (re.compile(r":[a-z_]+:(?:`[^`]*`)?"), ""),  # d2l roles: :label:`x`, :cite:`x`, :end_tab:
]
# On prose only, never inside $math$ or `code`.
_INLINE_MARKUP: _Rules = [
    (re.compile(r"\[\[[^\]\n]*\]\]|\[![A-Z]+\]"), ""),  # heading anchors, > [!TIP]
    (re.compile(r"\[!\[[^\]]*\]" + _URL + r"\]" + _URL), ""),  # linked badges
    (re.compile(r"!\[([^\]]*)\]" + _URL), lambda m: f"\n\n{m[1].strip()}\n\n"),  # image: its caption
    (re.compile(r"\[\*\*(.+?)\*\*\]", re.S), r"\1"),  # d2l [**marked text**]
    (re.compile(r"\[([^\]]*)\]" + _URL), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.S), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"), r"\1"),
]
_HTML_LEFTOVER = re.compile(r"</?[A-Za-z][\w-]*\s+[\w:-]+=")
_LIST_MARK = re.compile(r"^\s*(?:[-*+>]|\d+[.)])(?:\s+|$)")
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+>](?:\s|$)|\d+[.)]\s|\|)")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|et al|cf|vs|Fig|Figs|Eq|Eqs|Sec|No|approx|resp)\.$")


def _outside(pattern: re.Pattern[str], text: str, clean: Callable[[str], str]) -> str:
    """Run `clean` with every match of `pattern` (math, code) set aside, then put them back."""
    kept: list[str] = []

    def stash(match: re.Match[str]) -> str:
        kept.append(match[0])
        return f"\ue000{len(kept) - 1}\ue001"

    return re.sub("\ue000(\\d+)\ue001", lambda m: kept[int(m[1])], clean(pattern.sub(stash, text)))


def _apply(rules: _Rules, text: str) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def _strip_markup(text: str) -> str:
    """Raw markdown or cleaned prose alike: code, tags and d2l roles out, emphasis off, math kept."""
    text = _apply(_BLOCK_MARKUP, text.replace("\r\n", "\n"))
    return _outside(_MATH_OR_CODE, text, lambda prose: html.unescape(_apply(_INLINE_MARKUP, prose)))


def _paragraphs(text: str) -> Iterator[tuple[str, str]]:
    """(paragraph, kind): kind is "prose", "short" (a title-like line) or "markup" (heading, table)."""
    lines: list[str] = []

    def flush() -> Iterator[tuple[str, str]]:
        if lines:
            first = lines[0].lstrip()
            joined = _LIST_MARK.sub("", " ".join(line.strip() for line in lines)).strip()
            short = len(lines) == 1 and not _LIST_MARK.match(first) and len(joined.split()) <= 10
            if first.startswith(("#", "|")) or joined.count(" | ") >= 2:
                kind = "markup"
            else:
                kind = "short" if short and not joined.endswith((".", "!", "?", ":")) else "prose"
            yield joined.lstrip("# "), kind
            lines.clear()

    for line in text.split("\n"):
        if not line.strip() or _BLOCK_START.match(line):
            yield from flush()
        if line.strip():
            lines.append(line)
            if line.lstrip().startswith(("#", "|")):
                yield from flush()
    yield from flush()


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph; never split inside $math$, or after e.g., i.e., et al., Fig."""
    shadow = _MATH_OR_CODE.sub(lambda m: "X" * len(m[0]), paragraph)
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(shadow):
        if _ABBREVIATION.search(shadow, 0, match.start() + 1):
            continue
        pieces.append(paragraph[start : match.end()].strip())
        start = match.end()
    pieces.append(paragraph[start:].strip())
    return [p for p in pieces if p]


@dataclass
class _Piece:
    """A sentence on its way to being a Sentence: chunk boundaries may still join or cut it."""

    text: str
    block: int
    kind: str  # "prose", "short" (a title-like line), "markup" (heading, table) or "cut"
    units: tuple[int, ...]

    def sentence(self) -> Sentence:
        words = _MATH_OR_CODE.sub(" ", self.text).split()  # a display equation is not a sentence
        prose = self.kind == "prose" and len(words) >= 5 and len(self.text) <= MAX_SENTENCE_CHARS
        prose = prose and not _HTML_LEFTOVER.search(self.text)  # a tag that a chunk boundary cut in two
        return Sentence(self.text, self.units, self.block, prose)


def _sentences(texts: list[str]) -> list[Sentence]:
    """Every sentence of every text unit, with the sentences that chunking cut in two made whole."""
    sentences: list[Sentence] = []
    carried: _Piece | None = None  # the last piece of the previous unit: it may go on in this one
    block = 0
    for k, text in enumerate(texts):
        pieces = []
        for paragraph, kind in _paragraphs(_strip_markup(text)):
            block += 1
            pieces += [_Piece(p, block, kind, (k,)) for p in split_sentences(" ".join(paragraph.split()))]
        overlapping = k > 0 and _overlapping(texts[k - 1], text)
        if pieces and carried:
            first = pieces[0]
            if overlapping:
                joined = _mend(carried.text, first.text)
            elif _cut_start(first.text) or (carried.kind == "prose" and not _BLOCK_START.match(text.lstrip())):
                joined = f"{carried.text} {first.text}"
            else:
                joined = ""
            if joined:
                kind = "markup" if "markup" in (carried.kind, first.kind) else "prose"
                pieces[0] = _Piece(joined, carried.block, kind, (*carried.units, k))
                carried = None
            elif overlapping:  # the two halves do not fit: each is part of a sentence seen whole elsewhere
                carried.kind = first.kind = "cut"
        elif pieces and overlapping and _cut_start(pieces[0].text):
            pieces[0].kind = "cut"  # the end of a sentence that the previous unit holds whole
        if carried:
            sentences.append(carried.sentence())
        carried = pieces.pop() if pieces and not re.search(r"[.!?:\"'”’)\]]$", pieces[-1].text) else None
        sentences.extend(piece.sentence() for piece in pieces)
    if carried:
        sentences.append(carried.sentence())
    return sentences


def _cut_start(piece: str) -> bool:
    """Whether a unit's first sentence looks like the rest of one that began in the previous unit."""
    return bool(re.match(r"[a-z0-9,;:)\]]", piece))


def _overlapping(previous: str, text: str) -> bool:
    """Whether this unit starts by repeating the end of the previous one (chunk overlap)."""
    head = " ".join(text.split())[:40]
    return bool(head) and head in " ".join(previous[-2000:].split())


def _mend(first: str, second: str) -> str:
    """The sentence that overlapping units cut: `second` repeats the end of `first`; '' if it does not."""
    for size in range(min(len(first), len(second)), 9, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return ""


# ---------------------------------------------------------------- tokens and the vocabulary

# Math, code and snake_case identifiers are one opaque token; hyphens, dashes, '&' and spaces
# separate words without breaking a phrase; other punctuation is a token of its own.
_TOKEN = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|`[^`]*`|\w*_\w*|[^\W_]+(?:['’][^\W_]+)*|[^\w\s\-–—&'’]", re.S)
_OPAQUE = "\x00"


@dataclass(frozen=True)
class Token:
    text: str  # the word as written, possessive 's dropped; _OPAQUE or the punctuation mark otherwise
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words with their offsets; math, code and punctuation stay as tokens so no phrase spans them."""
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match[0]
        if word[0] in "$`" or "_" in word:
            word = _OPAQUE
        elif word[-2:] in ("'s", "’s"):
            word = word[:-2]
        tokens.append(Token(word, match.start(), match.end()))
    return tokens


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(text))


def pluralize(word: str) -> str:
    """The plural the vocabulary also matches: a form lists the singular only."""
    if word.endswith("s") and singularize(word) != word:
        return word
    if word.lower().endswith("matrix"):
        return word[:-1] + "ces"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def singularize(word: str) -> str:
    """Rules enough for this field's nouns ('matrices', 'queries', 'heads'), so plurals merge."""
    lower = word.lower()
    if lower.endswith("matrices"):
        return word[:-3] + "x"
    if lower.endswith("ies") and len(word) > 4 and lower not in {"series", "species"}:
        return word[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if lower.endswith("s") and len(word) > 3 and not lower.endswith(("ss", "us", "is", "ics", "ous")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Lexicon:
    """Surface forms as word tuples: `exact` is case-sensitive, `folded` is keyed in lowercase."""

    exact: dict[tuple[str, ...], tuple[str, ...]]
    folded: dict[tuple[str, ...], tuple[str, ...]]
    starts: frozenset[str]  # first words of all forms: most words start none, which skips their lookups
    longest: int

    def lookup(self, words: tuple[str, ...]) -> tuple[str, ...] | None:
        return self.exact.get(words) or self.folded.get(tuple(w.lower() for w in words))

    def match(self, tokens: list[Token], nested: bool = False) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        """(first, end, titles): longest match first; nested=True also looks inside earlier matches."""
        words = [t.text for t in tokens]
        lowered = [w.lower() for w in words]
        i = 0
        while i < len(words):
            size, titles = 0, None
            if words[i] in self.starts or lowered[i] in self.starts:
                for size in range(min(self.longest, len(words) - i), 0, -1):
                    titles = self.exact.get(tuple(words[i : i + size])) or self.folded.get(tuple(lowered[i : i + size]))
                    if titles:
                        yield i, i + size, titles
                        break
            i += size if titles and not nested else 1


def _lexicon(entries: Iterable[tuple[str, tuple[str, ...]]]) -> Lexicon:
    exact: dict[tuple[str, ...], tuple[str, ...]] = {}
    folded: dict[tuple[str, ...], tuple[str, ...]] = {}
    for form, titles in entries:
        words = _words(form)
        variants = [words]
        if words[-1].isalpha():
            variants.append((*words[:-1], pluralize(words[-1])))
        for variant in variants:
            if form == form.lower():
                folded.setdefault(tuple(w.lower() for w in variant), titles)
            else:
                exact.setdefault(variant, titles)
    keys = [*exact, *folded]
    return Lexicon(exact, folded, frozenset(k[0] for k in keys), max(map(len, keys)))


TYPES: dict[str, str] = {term.title: term.type for term in VOCABULARY}
_MAIN = _lexicon(
    [(form, titles) for form, titles in COMPOUNDS.items()]
    + [(form, (t.title,)) for t in VOCABULARY if t.type not in NESTED_TYPES for form in t.forms]
)
_NESTED = _lexicon([(form, (t.title,)) for t in VOCABULARY if t.type in NESTED_TYPES for form in t.forms])


# ---------------------------------------------------------------- open vocabulary

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

# Head nouns of open-vocabulary phrases, singular, with the type a phrase ending in them gets.
_HEADS: dict[str, str] = {
    **dict.fromkeys(["model", "network", "net", "perceptron", "autoencoder", "estimator"], "MODEL"),
    **dict.fromkeys(
        ["layer", "sublayer", "encoding", "embedding", "normalization", "encoder", "decoder", "head", "block",
         "connection", "matrix", "vector", "unit", "mask", "state", "kernel"],
        "ARCHITECTURE_COMPONENT",
    ),
    **dict.fromkeys(
        ["search", "learning", "pooling", "regression", "decoding", "tuning", "prompting", "optimization",
         "initialization", "estimation", "sampling", "distillation", "scheduler", "clipping", "masking",
         "objective", "strategy", "trick"],
        "TECHNIQUE",
    ),
    **dict.fromkeys(["loss", "metric"], "METRIC"),
    **dict.fromkeys(
        ["classification", "translation", "recognition", "detection", "segmentation", "generation",
         "answering", "summarization", "tagging", "modeling"],
        "TASK",
    ),
    **dict.fromkeys(["dataset", "corpus", "benchmark"], "DATASET"),
    **dict.fromkeys(["function", "distribution", "problem"], "CONCEPT"),
}
_COMPOSABLE = (  # "RNN encoder", "decoder self-attention": two known terms that name a third
    {"MODEL", "ARCHITECTURE_COMPONENT", "ATTENTION_MECHANISM"},
    {"ARCHITECTURE_COMPONENT", "ATTENTION_MECHANISM"},
)
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
        if lower.endswith("ing") and lower not in _ING_NOUNS and lower not in _HEADS and not after_determiner:
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
    if word.islower() or (word[:-1].isupper() and word.endswith("s")) or singularize(word).lower() in _HEADS:
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
        if group[1] - group[0] == 1 and word.islower() and lemma in _HEADS:
            return None if covering and covering[1] - covering[0] > 1 else lemma
        return None

    for run in runs:
        for h in range(1, len(run)):  # a phrase ends at a head noun that no other head follows
            lemma = head(run[h])
            if not lemma or (h + 1 < len(run) and singularize(tokens[run[h + 1][0]].text.lower()) in _HEADS):
                continue
            spans = []
            for g in range(max(0, h - 3), h):  # modifiers before the head, longest first
                first = run[g][0]
                modifier = match_of.get(first)
                starts_inside = modifier and modifier[0] != first
                # "ResNet model", "greedy search strategy": the known term alone, said at length
                restated = modifier and modifier[1] == run[h][0] and TYPES[modifier[2][0]] == _HEADS[lemma]
                if not starts_inside and not restated:
                    spans.append((first, run[h][1]))
            if spans:
                yield tuple(spans), _HEADS[lemma]


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
        if TYPES[first[0]] in _COMPOSABLE[0] and TYPES[second[0]] in _COMPOSABLE[1]:
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
            yield ((i, j + 1),), _HEADS.get(_singular(words[-1]).lower(), "CONCEPT")
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


# ---------------------------------------------------------------- descriptions

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
    r"(?:called|known as|referred to as|termed|named|dubbed|denoted as|i\.e\.,?)\s+(?:the\s+|a\s+|an\s+)?[\"“*_]*$"
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
_PERSONAL = re.compile(r"\b(?:we|our|us|you|your|let's|i)\b", re.I)
_REFERENCE = re.compile(r"\b(?:the figure|the section|the table|the equation|below|above)\b", re.I)
_CODE_NAME = re.compile(r"\b\w+_\w+\b|\b[A-Z][a-z]+[A-Z]\w*[A-Z][a-z]\w*|\w\.\w+\(")


def _sentence_quality(text: str) -> float:
    """How well a sentence reads on its own, whatever entity it is about."""
    words = len(text.split())
    math = sum(len(m[0]) for m in _MATH_OR_CODE.finditer(text))
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


def _definition_score(text: str, start: int, end: int) -> float:
    """How much a sentence reads as a definition of the mention at text[start:end]."""
    before, after = text[:start], text[end:]
    if _SUBJECT_START.match(before):
        if after.lstrip().startswith(":"):
            return 4  # a glossary entry, "Query: the query is ..."
        if _DEFINES.match(after):
            return 4
        if _ACTS.match(after):
            return 2
        if re.match(r"^\s*(?:,\s*(?:which|a|an|the)\b|\()", after):
            return 1.5
    if _NAMED_BEFORE.search(before):
        return 3
    if _PREDICATE_BEFORE.search(before) and re.match(r"^[\"”*_]*\s*[.!]?$", after):
        return 2.5  # "One commonly used technique ... is learning rate warm-up."
    return 0.5 if re.match(r"^\s*(?:,\s*which|\(|,\s*(?:a|an)\s)", after) else 0


def _near_duplicate(a: str, b: str) -> bool:
    """Summaries restate their section: two sentences sharing most words say one thing."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) > 0.7 * min(len(wa), len(wb))


def _pick(ranked: list[str], limit: int, most: int) -> str:
    """Best sentences first, distinct, whole, within `limit` characters."""
    chosen: list[str] = []
    for text in ranked:
        if len(chosen) == most:
            break
        if sum(len(c) + 1 for c in chosen) + len(text) > limit:
            continue
        if not any(_near_duplicate(text, c) for c in chosen):
            chosen.append(text)
    return " ".join(chosen)


def _describe(mentions: list[tuple[int, int, int]], sentences: list[Sentence], quality: list[float]) -> str:
    """Up to three distinct sentences naming the entity, definitions first; '' if none reads well."""
    scored: dict[str, tuple[float, int]] = {}
    for sid, start, end in mentions:
        sentence = sentences[sid]
        if sentence.prose and len(sentence.text) > 20:
            score = quality[sid] + _definition_score(sentence.text, start, end)
            if sentence.text not in scored or scored[sentence.text][0] < score:
                scored[sentence.text] = (score, sid)
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[1][1]))
    if not ranked or ranked[0][1][0] < MIN_DESCRIPTION_SCORE:
        return ""
    best = ranked[0][1][0]
    return _pick([text for text, (score, _) in ranked if score >= min(best, 0)], MAX_DESCRIPTION_CHARS, 3)


# ---------------------------------------------------------------- the graph


@dataclass
class _Evidence:
    weight: float  # 1.0 for one sentence, ADJACENT_WEIGHT for two adjacent ones
    sentence: int  # the (first) sentence
    pair: tuple[str, str]  # (source, target), in the order the text names them
    units: set[int]


@dataclass
class _Entity:
    title: str
    type: str
    mentions: list[tuple[int, int, int]]  # (sentence, start, end)


def extract_graph(text_units: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entities and relationships of the text units, shaped as graphrag's extract_graph writes them.

    text_units needs `id` and `text`. Entities: title, type, description, text_unit_ids, frequency
    (number of text units naming it). Relationships: source, target, description, weight,
    text_unit_ids; a pair named in one sentence weighs 1.0 per sentence, in adjacent sentences 0.5.
    """
    unit_ids = [str(i) for i in text_units["id"]]
    texts = [t if isinstance(t, str) else "" for t in text_units["text"]]
    sentences = _sentences(texts)
    entities = _find_entities(sentences)
    quality = [_sentence_quality(s.text) for s in sentences]

    rows = []
    for entity in entities:
        description = _describe(entity.mentions, sentences, quality)
        if len(description) > 20:
            units = sorted({u for sid, _, _ in entity.mentions for u in sentences[sid].units})
            rows.append((entity, [unit_ids[u] for u in units], description))
    kept = [entity for entity, _, _ in rows]
    entities_df = pd.DataFrame([(e.title, e.type, d, ids, len(ids)) for e, ids, d in rows], columns=ENTITY_COLUMNS)
    return entities_df, _relationships(kept, sentences, quality, unit_ids)


def _find_entities(sentences: list[Sentence]) -> list[_Entity]:
    """Vocabulary terms wherever named; open-vocabulary phrases that recur in MIN_UNITS text units."""
    found: dict[str, _Entity] = {}
    candidates: list[_Candidate] = []
    for sid, sentence in enumerate(sentences):
        tokens = tokenize(sentence.text)
        matches = list(_MAIN.match(tokens))
        named: set[int] = set()
        for first, end, titles in matches + list(_NESTED.match(tokens, nested=True)):
            named.update(range(first, end))
            for title in titles:
                entity = found.setdefault(title, _Entity(title, TYPES[title], []))
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
        known = _MAIN.lookup(_words(title)) or _NESTED.lookup(_words(title))
        if known and len(known) == 1:
            title = known[0]
        entity = by_title.setdefault(title.lower(), _Entity(title, TYPES.get(title, open_types[key]), []))
        entity.mentions.extend(mentions)
    ordered = sorted(by_title.values(), key=lambda e: min(e.mentions))
    for entity in ordered:
        entity.mentions = sorted(set(entity.mentions))
    return ordered


def _relationships(
    entities: list[_Entity], sentences: list[Sentence], quality: list[float], unit_ids: list[str]
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
        description = _pick(ranked, MAX_EVIDENCE_CHARS, 2)
        weight = sum(e.weight for e in support.values())
        rows.append((first.sentence, *first.pair, description, weight, [unit_ids[u] for u in units]))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return pd.DataFrame([r[1:] for r in rows], columns=RELATIONSHIP_COLUMNS)
