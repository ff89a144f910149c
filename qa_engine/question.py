"""Reading the question, once, for every later stage: its encoding and token weights, its
kind, the entities it names (linked to the graph by title and alias), the terms it compares,
the words the corpus never uses, and what kind of sentence would answer it. The token-level
matching that the reranker and the answerer share lives here too: both match the question.

The rules come from English question grammar (interrogatives, auxiliaries, "how many",
"difference between", "X and Y", connectives of cause), never from words of one corpus: a
user's own papers are read the same way.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from qa_engine import embeddings
from qa_engine.embeddings import TokenEncoding

KINDS = ("compare", "number", "who", "why", "use", "condition", "place", "definition", "list", "formula", "how", "yes/no", "other")
STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be been by with as at from that this these those what which who whom "
    "whose why how when where does do did can could should would will it its into about than then there their them they "
    "used use using between difference explain describe each both".split()
)
TEMPERATURE = 0.02  # softmax temperature over cosine similarities: sharp, close to ColBERT's MaxSim
FORM_WITHIN = 0.9  # a sentence (or passage) with the form of an answer goes before those scoring up to 1/0.9 of it
STRICT_FORMS = ("number", "who", "list", "definition", "formula", "place")  # kinds only a sentence of that form answers

_WORDS = re.compile(r"[\w-]+")
NAME = re.compile(r"\b[A-Z][\w-]*[A-Z0-9][\w-]*\b|\b[A-Z][a-z][\w-]*\b")  # acronyms, CamelCase, capitalized words
_IDENTIFIER = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+(?![\w-])")
_SENTENCE_START = re.compile(r"(?:^|[.!?])\s*$")  # what comes before a sentence's first word
_TOKEN = re.compile(r"[\w][\w'-]*|,")
_KIND_OF = r"(?:what|which) (?:kind|type|sort|class|family) of [\w-]+(?: [\w-]+)? (?:is|are|was|were)\s+"
_AUXILIARY = r"(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|may|might|must|shall)"
_ELSE = re.compile(r"\bwhat else\b|\b(?:what|which) other\b", re.IGNORECASE)
# a quantity asked by what it measures: "What block size ...?", "What learning rate ...?"
_MEASURE = re.compile(r"\bwhat ((?:[\w-]+ )?(?:size|length|width|depth|dimension|rate|ratio|speedup|score|accuracy|perplexity)s?)\b", re.IGNORECASE)
_RULES = (  # first match wins: a "how many" question is a number question before it is a "how" one
    ("compare", re.compile(r"\b(?:differen(?:ce|ces|t)|differs?|compar(?:e|ed|es|ing|ison)|versus|vs\b\.?|contrasts?|distinguish(?:es)?)\b")),
    ("number", re.compile(rf"\bhow (?:many|much|long|large|big|small|often|fast|far|deep|wide)\b|^(?:when (?:was|were|did|had)|in (?:what|which) year)\b|\bwhat (?:year|number|percentage|fraction)\b|{_MEASURE.pattern}"
                         r"|^what (?:is|are|was|were) the (?:maximum|minimum|average|total|typical|largest|smallest)\b")),
    ("who", re.compile(r"^(?:who|whom|whose)\b|\bby whom\b")),
    ("why", re.compile(r"\bwhy\b|\bwhat (?:is|are) the (?:purpose|reason|motivation|point)s? (?:of|for|behind)\b|\bfor what (?:purpose|reason)\b")),
    ("use", re.compile(r"^what (?:is|are|was|were) .+ (?:used|good|useful|suited) for\b")),  # a purpose, answered by a use
    ("condition", re.compile(rf"^when {_AUXILIARY}\b")),  # present tense: "when is X used?" asks when, not what date
    ("place", re.compile(r"^where\b|\bat what (?:point|stage|step)\b")),
    ("list", re.compile(
        r"^(?:list|name|enumerate)\b|^(?:what|which) (?:are|were) (?:the )?(?:\w+'s )?(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\b"
        r"|^what (?:do|does|did) .+ (?:include|contain|comprise|consist of)\b|^what(?:'s| is| are) inside\b"
        rf"|{_ELSE.pattern}"  # "Apart from X, what else does Y implement?": the rest, several
    )),
    ("definition", re.compile(
        r"^(?:what(?:'s| is| are)(?! (?:the )?(?:difference|in|inside|on|at|for|of|between)\b)|define|what is meant by|what does .+ (?:mean|stand for))\b"
        rf"|^{_KIND_OF}"  # "What kind of model is Mamba?" asks what Mamba is
    )),
    ("formula", re.compile(r"^how (?:is|are|was|were|do|does|did|can) .+ (?:computed|calculated|derived|obtained|compute|calculate|derive)\b")),
    ("how", re.compile(r"^how\b|\bin what way\b")),
    ("yes/no", re.compile(rf"^{_AUXILIARY}\b|,\s*(?:right|correct|true|isn't it|aren't they|doesn't it|don't they)\s*\??$")),  # or a tag question
)
# what a whole is made of: "X has two sublayers", "X consists of ..."
_COMPOSITION = r"\b(?:consists? of|(?:is |are )?composed of|comprises?|contains?|includes?|(?:is |are )?made (?:up )?of|(?:has|have) (?:two|three|four|five|six|\d+))\b"
# What a sentence needs to answer a question of a kind: English connectives and number forms.
_SATISFIES = {
    "why": re.compile(
        r"\b(?:because|since|so that|in order to|so as to|thus|therefore|hence|as a result|due to|leads? to|causes?|"
        r"prevents?|avoids?|ensures?|otherwise|the reason|this is why|which is why)\b"
        r"|^To [a-z]+\b[^.;]*?,\s",  # a purpose before the clause it explains: "To alleviate this issue, we use ..."
        re.IGNORECASE,
    ),
    # a quantity, not a date ("2019", "[2024/01]"): "16K tokens", "0.99", "eight heads"
    "number": re.compile(
        r"(?<![\w./])(?!(?:19|20)\d\d\b)\d[\d,.]*(?!st\b|nd\b|rd\b|th\b)|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
        r"eleven|twelve|twenty|hundred|thousand|million|billion|dozen|half|twice|double)\b",
        re.IGNORECASE,
    ),
    # manner: "by adding ...", "using ...", "instead of ...": what answers "how does X do Y"; not a gerund
    # a preposition makes a noun ("the possibility of using a larger cache")
    "how": re.compile(r"\bby (?:\w+ )?\w+ing\b|(?<!\bof )(?<!\bfor )(?<!\bin )(?<!\babout )\busing\b|\b(?:via|instead of|rather than|in place of)\b", re.IGNORECASE),
    "date": re.compile(r"\b(?:1[5-9]|20)\d\d\b"),
    "who": re.compile(
        r"\bet al\b|\b(?:by|from) (?:[A-Z][\w-]+ ){0,3}[A-Z][\w-]+|[A-Z][a-z]+ (?:and|&) [A-Z][a-z]+|\((?:19|20)\d\d\)"
        r"|[A-Z][a-z]+ [A-Z][a-z]+\W{0,2}, [A-Z][a-z]+ [A-Z][a-z]+"  # an author list: "Albert Gu*, Tri Dao*"
        r"|\b(?:is|are|was|were) (?:an? |the )?(?:co-?)?authors?\b"  # "Markus N. Rabe is an author, with ..., of the paper ..."
    ),
    "composition": re.compile(_COMPOSITION),
    "addition": re.compile(r"\b(?:also|in addition|additionally|as well|moreover|furthermore)\b"),  # what "what else" asks for
    # how a quantity is computed: its formula ("$$PE = \sin(...)$$", "x = W q") or how it is given
    "formula": re.compile(r"\$\$|\$[^$]*=[^$]*\$|\w\s?=\s?[\w\\(]|\b(?:computed|calculated|given|defined|obtained) (?:as|by)\b"),
    "list": re.compile(rf"\w+(?:[ -]\w+){{0,3}}, (?:\w+(?:[ -]\w+){{0,3}}, )*\w+(?:[ -]\w+){{0,3}},? (?:and|or) \w+|{_COMPOSITION}"),  # "A, B(,) and C"
    "use": re.compile(
        r"\b(?:used (?:for|to|in)|(?:best |well )?suited (?:for|to)|(?:good|useful|ideal|perfect) for|designed (?:for|to)|for tasks|excels? at|applied to|such as)\b",
        re.IGNORECASE,
    ),
    "condition": re.compile(r"\b(?:when|whenever|if|unless|in case)\b", re.IGNORECASE),
    "place": re.compile(r"\b(?:after|before|prior to|inside|within|between|on top of|at the (?:start|end|bottom|top|beginning))\b", re.IGNORECASE),
}
# "What is inside X?", "What does X consist of?" ask its parts: an enumeration of anything ("keys and values") does not answer
_ASKS_PARTS = re.compile(r"^what(?:'s| is| are) inside\b|^what (?:do|does|did) .+ (?:contain|comprise|consist of)\b", re.IGNORECASE)
_DATE = re.compile(r"\s*(?:when (?:was|were|did|had)|in (?:what|which) year|what year)\b", re.IGNORECASE)
_COUNT = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|\d+)\b", re.IGNORECASE)
_DEFINES = (
    # "X is a/the ...", not "X is implemented below": the copula with what names a kind
    r"(?:(?:\s*\([^)]*\))?,?\s+(?:(?:is|are|was|were)\s+(?:an?|the|one|called|known|defined|given|essentially|simply|basically)"
    r"|refers? to|means?|denotes?|describes?|stands? for|(?:can|may) be (?:seen|viewed|defined|described|thought of))\b"
    r"|(?:\s+\w+){1,2}\s+(?:is|are) (?:given|defined|computed|calculated|written) (?:by|as)\b)"  # "the X scoring function is given by"
)
_NAMED_AS = r"\b(?:called|known as|termed|referred to as|named|dubbed)(?:\s+the)?\s+[\"'“*_]"  # a name given in quotes or emphasis
# between conjuncts of a coordination: "A, B and C", "A or B", "A vs. B", "A differs from B", "A rather than B"
_JOIN_WORDS = frozenset("or vs versus rather instead than".split())
_JOINS = re.compile(
    r"^(?:(?:,|and|or|, and|, or)(?: (?:for|of|in|on|with|to|from|by|at))?|vs\.?|versus"  # "for A and for B": a repeated preposition
    r"|(?:differs?|different|compared?|contrasted) (?:from|with|to)|rather than|than|instead of)$"
)


@dataclass(frozen=True)
class Mention:
    """An entity named in the question: its row in `entities` and where the question names it."""

    entity: int
    start: int
    end: int


@dataclass(frozen=True)
class Term:
    """One side of a comparison: how to label it, and the words that tell it from the others."""

    label: str
    words: tuple[str, ...]  # normalized distinctive words: a sentence about this term has all of them
    entities: tuple[int, ...]  # entity rows named inside it
    asked: str = ""  # the question asked of this term alone: the coordination replaced by the term


@dataclass(frozen=True)
class Question:
    text: str
    encoding: TokenEncoding
    weights: np.ndarray  # per question token: its word's IDF, 0 for stopwords, punctuation and set-aside words
    kind: str = "other"
    mentions: tuple[Mention, ...] = ()
    terms: tuple[Term, ...] = ()  # compared terms, two or more, or none
    unknown: tuple[str, ...] = ()  # content words the indexed corpus never uses
    unknown_terms: tuple[str, ...] = ()  # of those, the ones general English lacks: what a premise names
    subject: str = ""  # what a definition question asks about
    parts: tuple[Question, ...] = ()  # what it asks of each compared term (in the order of `terms`), or each of its clauses

    @property
    def entities(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(m.entity for m in self.mentions))

    def asked_of_terms(self) -> list[tuple[Term, Question]]:
        """Each compared term with the question asked of it alone (the whole one when not read apart)."""
        parts = self.parts if len(self.parts) == len(self.terms) else (self,) * len(self.terms)
        return list(zip(self.terms, parts, strict=True))

    def without(self, words: Iterable[str]) -> Question:
        """The same question with `words` weighing nothing: what is left of it to match."""
        drop = {w.lower() for w in words}
        spans = self.encoding.spans
        words_at = [(m.start(), m.end(), m.group(0).lower()) for m in _WORDS.finditer(self.text)]
        keep = np.asarray([next((w for s, e, w in words_at if s <= a < e), "") not in drop for a, _ in spans], dtype=bool)
        return replace(self, weights=np.where(keep, self.weights, 0).astype(np.float32))

    @property
    def names(self) -> list[tuple[str, int]]:
        """Acronyms, CamelCase, words with digits, capitalized words inside a sentence of the
        question: what it names, each with where it starts."""
        text = self.text
        return [
            (m.group(0), m.start()) for m in NAME.finditer(text)
            if m.group(0).lower() not in STOPWORDS
            and (not _SENTENCE_START.search(text[: m.start()]) or any(c.isupper() or c.isdigit() for c in m.group(0)[1:]))
        ]

    @property
    def identifiers(self) -> list[str]:
        """Kebab- and snake-case words ("memory-efficient-attention-pytorch"): how a repository
        or package is named."""
        return _IDENTIFIER.findall(self.text)

    @property
    def named_entities(self) -> tuple[int, ...]:
        """The linked entities the question names as names ("Mistral's", "YaRN"), not as words
        ("models", "context length")."""
        starts = [(start, start + len(name)) for name, start in self.names]
        return tuple(dict.fromkeys(m.entity for m in self.mentions if any(a < m.end and m.start < b for a, b in starts)))

    @property
    def form(self) -> str:
        """The form of an answer: its kind's, a date's, a whole's parts ("What does X contain?"),
        or additions ("What else does X do?": "It also ...")."""
        if _DATE.match(self.text):
            return "date"
        if self.kind == "list" and _ELSE.search(self.text):
            return "addition"
        return "composition" if self.kind == "list" and _ASKS_PARTS.match(self.text) else self.kind

    def satisfied_by(self, sentence: str) -> bool:
        """Whether a sentence has the form of an answer to this kind of question."""
        if self.kind == "definition" and self.subject:
            subject = rf"(?<![\w-]){_phrase_pattern(self.subject)}(?![\w-])"
            # the subject as the sentence's own ("In ML, self-attention is ..."), not inside another's
            # ("The core concept behind self-attention is ..."), or a name given it ('... is called "X"')
            own = rf"^\W*(?:[^,;:]{{0,160}},\s+)?(?:(?:the|an?)\s+)?{subject}{_DEFINES}"
            return re.search(rf"{own}|{_NAMED_AS}{subject}", sentence, re.IGNORECASE) is not None
        count = _COUNT.search(self.text) if self.kind == "list" else None
        if count and re.search(rf"(?<![\w-]){count.group(1)}(?![\w-])", sentence, re.IGNORECASE) and re.search(r"\b(?:and|or)\b", sentence):
            return True  # "What are the two phases ...?": "... two main phases: prefill and decode."
        rule = _SATISFIES.get(self.form)
        if rule is None or rule.search(sentence) is None:
            return False
        measure = _MEASURE.search(self.text) if self.form == "number" else None
        # a quantity of what was asked, named by its qualifier where it has one ("blocks of 16 tokens"
        # give a block size; "2/4 bit for KV Cache" and "a cache size of 4096" do not)
        return measure is None or _normal(_name_words(measure.group(1))[0]) in word_set(sentence)


class Reader:
    """What reading a question needs from the index, prepared once per engine."""

    def __init__(self, texts: list[str], titles: list[str], aliases: Iterable[tuple[str, str]] = (), common: Iterable[str] = ()):
        self.idf = inverse_document_frequency(texts)
        self.vocabulary = {form for word in self.idf for form in _forms(word)}
        self.linker = EntityLinker(titles, aliases)
        self.common = frozenset(common)  # general English (`embeddings.whole_words`)

    def is_common(self, word: str) -> bool:
        """A general English word, in some inflection: a small corpus never uses many of them
        ("restrict", "outgrows", "wrote"), and saying so tells nothing of what it covers."""
        lowered = word.lower()
        return any(f in self.common for f in {lowered, *(lowered[: -len(a)] + b for a, b in _INFLECTIONS if lowered.endswith(a) and len(lowered) - len(a) > 2)})

    def knows(self, word: str) -> bool:
        """The corpus uses the word, in some inflection, or every part of a hyphenated one."""
        parts = [p for p in word.split("-") if p]
        return bool(_forms(word) & self.vocabulary) or (len(parts) > 1 and all(_forms(p) & self.vocabulary for p in parts))

    def read(self, model, text: str) -> Question:
        encoding = embeddings.encode_tokens(model, [text], threads=1)[0]
        question = self.parse(text, encoding)
        # "How do A and B differ in X?" is two questions, "How do A differ in X?" and "How do B ...";
        # "What is A and how does it work?" too: each part's evidence is what answers its own
        # question (decomposition, as multi-hop QA does)
        asked = [t.asked for t in question.terms] or clauses(text)
        if len(asked) < 2:
            return question
        parts = [self.part(t, e, question) for t, e in zip(asked, embeddings.encode_tokens(model, asked, threads=1), strict=True)]
        return replace(question, parts=tuple(parts))

    def part(self, text: str, encoding: TokenEncoding, whole: Question) -> Question:
        """One side of a comparison or one clause, read as a question of its own kind (that of
        its last sentence: "Zorbs spin. How does Zorbs stop?" asks how)."""
        kind = question_kind(_ASKED_AFTER.split(text.strip())[-1], skip="compare")
        weights = query_weights(text, encoding.spans, self.idf)
        for m in _COMPARING.finditer(text):  # "How does ALiBi differ in ...": one side alone differs from nothing
            weights[(encoding.spans[:, 0] >= m.start()) & (encoding.spans[:, 1] <= m.end())] = 0
        return Question(
            text=text,
            encoding=encoding,
            weights=weights,
            kind=kind,
            mentions=tuple(self.linker.mentions(text)),
            unknown=whole.unknown,
            unknown_terms=whole.unknown_terms,
            subject=definition_subject(text) if kind == "definition" else "",
        )

    def parse(self, text: str, encoding: TokenEncoding) -> Question:
        mentions = self.linker.mentions(text)
        main = _SUBORDINATE.sub("", text)  # "... when the query and key lengths differ?" compares nothing
        kind = question_kind(main)
        terms = compared_terms(main, mentions)
        per_term = kind in ("how", "other", "definition", "use", "condition", "place") or kind == "why" and _EACH.search(main)
        if terms and (per_term or kind == "yes/no" and all(t.entities for t in terms)):
            # "How do A and B each ...", "Why do A and B each ...", "Do KIVI and StreamingLLM ...?": one part per term
            kind = "compare"
        elif kind == "compare" and not terms:  # "... when the lengths differ": nothing is compared with anything
            kind = question_kind(text, skip="compare")
        unknown = tuple(
            dict.fromkeys(w for w in _WORDS.findall(_POSSESSIVE.sub("", text)) if w.lower() not in STOPWORDS and not w.isdigit() and not self.knows(w))
        )
        weights = query_weights(text, encoding.spans, self.idf)
        if excluded := _EXCLUSION.match(text):  # "Apart from ring attention itself, what else ...": not what is asked
            a, b = excluded.span(1)
            weights[(encoding.spans[:, 0] >= a) & (encoding.spans[:, 1] <= b)] = 0
        return Question(
            text=text,
            encoding=encoding,
            weights=weights,
            kind=kind,
            mentions=tuple(mentions),
            terms=terms if kind == "compare" else (),
            unknown=unknown,
            unknown_terms=tuple(w for w in unknown if not self.is_common(w)),
            subject=definition_subject(text) if kind == "definition" else "",
        )


_COMPARING = re.compile(_RULES[0][1].pattern, re.IGNORECASE)  # the words that ask for a comparison
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")  # "Wuzzle's models": no word "s"
_EXCLUSION = re.compile(r"\s*(?:apart from|aside from|besides|other than|except(?: for)?)\s+([^,]+?)(?:\s+itself)?\s*,", re.IGNORECASE)
_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", ""), ("ing", ""), ("ing", "e"), ("ly", ""))
_SUBORDINATE = re.compile(r"\s+(?:when|whenever|if|unless|while|once)\b[^,;:]*\??\s*$", re.IGNORECASE)  # a closing condition
_NEXT_CLAUSE = re.compile(r",?\s+and\s+(?=(?:how|why|when|where|what|which|who|whom|whose)\b)", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:it|they|them|its|their)\b", re.IGNORECASE)
_NOT_A_SUBJECT = re.compile(rf"[,.;:!?]|\b(?:{_AUXILIARY}|what|which|who|how|why|when|where)\b", re.IGNORECASE)
_INVERTED_SUBJECT = re.compile(rf"\b{_AUXILIARY}\s+([\w-]*[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)")  # "does StreamingLLM report"
_FRAME_WORDS = re.compile(rf"^(?:what|which|who|how|why|when|where)\s+(?:{_AUXILIARY}\s+)?(?:an?\s+|the\s+)?", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The questions a coordination of questions asks, each on its own: "What is A and how does
    it work?" -> "What is A?", "how does A work?" (a pronoun of a later one stands for the
    first one's subject). One clause, or none to split: []."""
    parts = [p.strip(" ?") for p in _NEXT_CLAUSE.split(text.strip())]
    if len(parts) < 2 or any(len([w for w in _WORDS.findall(p) if w.lower() not in STOPWORDS]) < 1 for p in parts):
        return []
    subject = re.sub(r"^(?:in|inside|of|on|about|for)\s+", "", _FRAME_WORDS.sub("", parts[0]), flags=re.IGNORECASE)
    if _NOT_A_SUBJECT.search(subject):  # "method is that built on": a clause, not a noun phrase a pronoun stands for
        named = _INVERTED_SUBJECT.search(parts[0])  # "How big a speedup does StreamingLLM report ...": the name after the auxiliary
        if named is None:
            return [parts[0] + "?"] + [p + "?" for p in parts[1:]]
        subject = named.group(1)
    return [parts[0] + "?"] + [_PRONOUN.sub(lambda m: subject + ("'s" if m.group(0).lower() in ("its", "their") else ""), p) + "?" for p in parts[1:]]


def refers_back(clause: str) -> bool:
    """A later clause about what an earlier one's answer names: "what does that method keep
    in its cache?" after "Which method is it built on?"."""
    return _BACK_REFERENCE.search(clause) is not None


_BACK_REFERENCE = re.compile(r"\b(?:it|its|they|them|their|both|(?:that|this|these|those)\s+(?!is\b|are\b|was\b|were\b)[a-z]+)\b", re.IGNORECASE)


def question_kind(text: str, skip: str = "") -> str:
    lowered = " ".join(text.lower().split())
    return next((kind for kind, rule in _RULES if kind != skip and rule.search(lowered)), "other")


def definition_subject(text: str) -> str:
    """"What is in-context learning in GPT-3?" asks about "in-context learning"."""
    match = re.match(rf"\s*(?:{_KIND_OF}|(?:what(?:'s| is| are)|define|what is meant by|what does)\s+)(?:an? |the )?(.+?)(?:\s+(?:mean|stand for))?\s*[?.]?\s*$", text, re.IGNORECASE)
    if not match:
        return ""
    return re.split(r"\s+(?:in|of|for|and|when|with|used|that|which)\s+|,", match.group(1), maxsplit=1)[0].strip()


def compared_terms(text: str, mentions: list[Mention]) -> tuple[Term, ...]:
    """The conjuncts of the question's longest coordination ("A, B and C", "A differs from B").

    A conjunct is a run of content words; in "soft and hard attention weights" the first
    conjunct shares the head of the last ("soft attention weights"), as English elides it."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    runs: list[list[int]] = []
    for i, (word, _, _) in enumerate(tokens):
        lowered = word.lower()
        content = word != "," and lowered not in STOPWORDS | _JOIN_WORDS and not _RULES[0][1].search(lowered)
        if content and runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        elif content:
            runs.append([i])
    best: list[list[int]] = []
    chain: list[list[int]] = []
    closed = False  # "A and B" is complete: ", the two X" after it is an apposition, not a third term
    for run in runs:
        joint = _between(tokens, chain[-1], run) if chain else ""
        comparative = joint == "than" and len(chain[-1]) == 1 and not _named(chain[-1][0], tokens, mentions)
        if chain and _JOINS.match(joint) and not (closed and joint == ",") and not comparative:  # "it faster than B": "faster" is no term
            chain, closed = [*chain, run], closed or joint != ","
        else:
            chain, closed = [run], False
        if len(chain) > len(best):
            best = chain
    if len(best) < 2 or len(best) == 2 and _between(tokens, best[0], best[1]) == ",":  # "..., right?" joins nothing
        return ()
    parallel = [k + 1 < len(best) and _parallel(tokens[run[-1]][0], tokens[best[k + 1][0]][0]) for k, run in enumerate(best)]
    best = [_to_mentions([run[-1]] if alike else run, tokens, mentions) for run, alike in zip(best, parallel, strict=True)]
    words = [[tokens[i][0] for i in run] for run in best]
    if _of_one_thing(text, tokens, best, words, mentions):
        return ()
    spans = [(tokens[run[0]][1], tokens[run[-1]][2]) for run in best]
    last = words[-1]
    for k in range(len(words) - 2, -1, -1):  # elided heads, in the and/or group that ends the coordination
        joined = " ".join(w for w, _, _ in tokens[best[k][-1] + 1 : best[k + 1][0]]).lower()
        # a proper name is whole: "ALiBi and rotary embeddings", but "encoder-only and decoder-only models"
        named = not words[k][0].islower() and any(m.start == spans[k][0] and m.end == spans[k][1] for m in mentions)
        named = named or words[k][0].count("-") >= 2  # "memory-efficient-attention-pytorch": a package's name is whole
        if not re.fullmatch(r",|and|or|, and|, or", joined) or len(words[k]) != 1 or len(last) < 2 or named:
            break
        words[k] = words[k] + last[1:]
    normalized = [[_normal(p) for w in ws for p in _name_words(w)] for ws in words]  # as `word_set` reads passages
    terms = []
    shared = set.intersection(*map(set, normalized))  # "encoder-only, decoder-only and encoder-decoder models"
    for k, ws in enumerate(normalized):
        distinct = tuple(w for w in ws if w not in shared) or tuple(ws)
        inside = tuple(m.entity for m in mentions if m.start < spans[k][1] and m.end > spans[k][0])
        label = " ".join(words[k])
        rest = _BOTH.sub("", text[spans[-1][1] :], count=1)  # "A and B each restrict X" says of A: "A restrict X"
        _, mark, question = (*_ASKED_AFTER.split(rest, maxsplit=1), "", "")[:3]
        # "A and B both do X: what does each use?" asks "A does X: what does A use?"; "..., and what does each one do?" too
        apart = bool(mark) and _EACH.search(question) is not None
        rest = (_EACH if apart else _EACH_ONE).sub(lambda m: label + ("'s" if m.group(0).lower() == "their" else ""), rest)
        asked = " ".join(f"{'' if apart else text[: spans[0][0]]}{label}{rest}".split())
        terms.append(Term(label, distinct, inside, asked))
    return tuple(terms)


_ASKS_APART = re.compile(rf"{_RULES[0][1].pattern}|\b(?:each|both|respectively)\b", re.IGNORECASE)  # a comparison said in words
_EACH = re.compile(r"\b(?:each of them|both of them|each(?: one)?|they|their)\b", re.IGNORECASE)
_EACH_ONE = re.compile(r"\b(?:each of them|both of them|each one|they|their)\b", re.IGNORECASE)  # not "each" of "each token"
_BOTH = re.compile(r"^\s*(?:both|each|all|alike)\b", re.IGNORECASE)  # a floating quantifier, right after the coordination
_ASKED_AFTER = re.compile(r"(:|[.!?])\s+")  # "A and B both do X: what ...?", "A and B both do X. How ...?"


def _named(i: int, tokens: list[tuple[str, int, int]], mentions: list[Mention]) -> bool:
    """Token i is part of a linked entity's name."""
    return any(m.start < tokens[i][2] and tokens[i][1] < m.end for m in mentions)


def _of_one_thing(text: str, tokens: list[tuple[str, int, int]], conjuncts: list[list[int]], words: list[list[str]], mentions: list[Mention]) -> bool:
    """The coordination is what one thing has or does, not things compared: "GPT-3's layer count,
    head count and model width" (a possessive first, no other possessor or name after it); "How does
    FlashAttention support multi-query and grouped-query attention?" (after a name the question is
    about, joined by "and", with no comparison said in words)."""
    if _owned(words[0][0]) and not any(_owned(w) or w[:1].isupper() for ws in words[1:] for w in ws):
        return True
    start = tokens[conjuncts[0][0]][1]
    joints = {_between(tokens, a, b) for a, b in itertools.pairwise(conjuncts)}
    named_before = any(m.end <= start and text[m.start].isupper() for m in mentions)
    return named_before and joints <= {",", "and", ", and"} and not _ASKS_APART.search(text)


def _parallel(left: str, right: str) -> bool:
    """Compounds that differ in their first part: "multi-query and grouped-query attention" joins
    the two modifiers, whatever came before the first ("FlashAttention support multi-query")."""
    a, b = left.lower().rpartition("-"), right.lower().rpartition("-")
    return bool(a[0] and b[0]) and a[2] == b[2] and a[0] != b[0]


def _owned(word: str) -> bool:
    """A possessive: "GPT-3's", "Mistral’s"."""
    return word.endswith(("'s", "’s"))


def _between(tokens: list[tuple[str, int, int]], left: list[int], right: list[int]) -> str:
    """The words joining two runs, articles left out: "between the A and the B"."""
    joined = " ".join(w for w, _, _ in tokens[left[-1] + 1 : right[0]]).lower()
    return " ".join(re.sub(r"\b(?:the|an?)\b", "", joined).split())


def _to_mentions(run: list[int], tokens: list[tuple[str, int, int]], mentions: list[Mention]) -> list[int]:
    """A conjunct ends where its first entity name ends, or the names right after it: "Routing
    Transformer choose" -> "Routing Transformer"; "Swin Transformer keep attention" -> "Swin Transformer"."""
    inside = sorted((m for m in mentions if tokens[run[0]][1] <= m.start and m.end <= tokens[run[-1]][2]), key=lambda m: m.start)
    if not inside:
        return run
    end = inside[0].end
    if next(w for w, a, b in (tokens[i] for i in run) if b >= end).lower().endswith("'s"):
        return run  # "Mistral's rolling buffer cache": the name owns the words after it
    for m in inside[1:]:
        if m.start > end + 1:  # a word between: the name is over
            break
        end = max(end, m.end)
    return [i for i in run if tokens[i][1] < end]


class EntityLinker:
    """Names of the graph's entities (titles and aliases) found in a question, longest first."""

    def __init__(self, titles: list[str], aliases: Iterable[tuple[str, str]] = ()):
        row = {t: i for i, t in enumerate(titles)}
        self.forms: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for name, entity in [*((t, i) for t, i in row.items()), *((a, row[t]) for t, a in aliases if t in row)]:
            form = tuple(_normal(w) for w in _name_words(str(name)))
            if form and len("".join(form)) > 1 and not all(w in STOPWORDS for w in form):
                self.forms[form].add(entity)
        self.longest = max((len(f) for f in self.forms), default=0)

    def mentions(self, text: str) -> list[Mention]:
        words = [(m.start(), m.end(), _normal(m.group(0))) for m in re.finditer(r"[^\W_]+(?:'s)?", text)]
        found, i = [], 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                entities = self.forms.get(tuple(w for _, _, w in words[i : i + n]))
                if entities:
                    found += [Mention(e, words[i][0], words[i + n - 1][1]) for e in sorted(entities)]
                    i += n
                    break
            else:
                i += 1
        return found


def word_set(text: str) -> set[str]:
    """Normalized words of a text, hyphenated parts included: what term matching compares."""
    return {_normal(w) for w in _name_words(text)}


def _name_words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def _normal(word: str) -> str:
    """Lower case, no possessive, no plural s: "Transformers'", "transformer's" -> "transformer"."""
    word = word.lower().removesuffix("'s").strip("'")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


def _forms(word: str) -> set[str]:
    """Spellings under which a corpus may use the word: lenient, so that a word is called
    unknown only when no inflection of it occurs ("scores" is known where "scoring" is)."""
    lowered = word.lower()
    forms = {lowered, lowered.replace("-", "")}
    return forms | {re.sub(r"(?<=\w{3})(?:ations?|ing|ed|es|s|e)$", "", f) for f in forms}  # "configured": "configuration"


def _phrase_pattern(phrase: str) -> str:
    return r"[\s-]*".join(re.escape(w) + r"s?" for w in _name_words(phrase.lower()))


def query_weights(text: str, spans: np.ndarray, idf: dict[str, float]) -> np.ndarray:
    """Rare words carry the question: each token weighs its word's inverse document frequency
    (stopwords nothing; words the corpus never uses the most). A word piece takes the weight
    of the whole word it belongs to."""
    words = [(m.start(), m.end(), m.group(0).lower()) for m in _WORDS.finditer(text)]
    top = max(idf.values(), default=1.0)
    weights = np.zeros(len(spans), dtype=np.float32)
    for i, (start, _) in enumerate(spans):
        word = next((w for s, e, w in words if s <= start < e), None)
        if word is not None and word not in STOPWORDS:
            weights[i] = idf.get(word, top)
    return weights  # all zero for a question of stopwords only ("a"): nothing in it to match


def inverse_document_frequency(texts: list[str]) -> dict[str, float]:
    df = Counter(w for text in texts for w in set(_WORDS.findall(text.lower())))
    n = len(texts)
    return {w: float(np.log((n + 1) / (c + 0.5))) for w, c in df.items()}


def cross_attention_many(question: Question, records: list[np.ndarray]) -> np.ndarray:
    """Per record: the weighted mean over question tokens of their attention-pooled similarity
    to the record's tokens (softmax over each record's tokens on their own), all records from
    one matrix product."""
    scores = np.zeros(len(records), dtype=np.float32)
    lengths = np.asarray([len(r) for r in records], dtype=np.int64)
    held = lengths > 0
    if not held.any() or not question.weights.sum():  # a question with no tokens (only zero-width or control characters)
        return scores
    tokens = np.concatenate([r for r in records if len(r)]).astype(np.float32)  # float16 stores widened
    sims = question.encoding.tokens @ tokens.T  # (question tokens, all records' tokens)
    logits = sims / TEMPERATURE
    starts = np.concatenate([[0], np.cumsum(lengths[held])[:-1]])
    attention = np.exp(logits - np.repeat(np.maximum.reduceat(logits, starts, axis=1), lengths[held], axis=1))
    attended = np.add.reduceat(attention * sims, starts, axis=1) / np.add.reduceat(attention, starts, axis=1)  # (question tokens, records)
    scores[held] = question.weights @ attended / question.weights.sum()
    return scores


def sentence_matches(question: Question, views: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per token set (a sentence, or a sentence with its context): the mean of word-level
    cross-attention and the cosine of its mean-pooled vector, and that pooled vector (unit
    length): which words answer, and what the sentence is about. One matrix product for all."""
    pooled = np.stack([v.mean(axis=0) for v in views]).astype(np.float32)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True) + 1e-12
    return (cross_attention_many(question, views) + pooled @ question.encoding.vector) / 2, pooled
