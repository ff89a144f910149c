"""Surface forms and the vocabulary prior: which spellings name one entity.

Tokens keep math and code opaque so no phrase spans them; hyphens, dashes and spaces separate
words without breaking a phrase; the plural of a form's last word matches too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from qa_engine.domain import COMPOUNDS, NESTED_TYPES, VOCABULARY


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


def words_of(text: str) -> tuple[str, ...]:
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
        words = words_of(form)
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


MAIN = _lexicon(
    [(form, titles) for form, titles in COMPOUNDS.items()]
    + [(form, (t.title,)) for t in VOCABULARY if t.type not in NESTED_TYPES for form in t.forms]
)
NESTED = _lexicon([(form, (t.title,)) for t in VOCABULARY if t.type in NESTED_TYPES for form in t.forms])
