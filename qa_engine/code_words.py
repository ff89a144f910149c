"""What a code block says in words: its comments and docstrings as prose, its BibTeX as citations.

A README documents its settings in the usage block ("pinv_iterations = 6,  # number of
Moore-Penrose iterations ...; 6 was recommended by the paper") and cites its papers in BibTeX.
The code itself is not prose, so only the comments are indexed; a setting keeps its assignment
as inline code inside its comment's first sentence, and a comment repeated within one document
(the same one in every framework's version of a snippet) is said once. BibTeX entries are the
document's references: ingestion keeps them apart from the text, as it does a PDF's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_BIBTEX_ENTRY = re.compile(r"@(\w+)\s*\{\s*[^,\s]*\s*,(.*?)\n?\s*\}\s*(?=@|\Z)", re.S)
_BIBTEX_FIELD = re.compile(r"(\w+)\s*=\s*(\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}|\"[^\"]*\"|\w+)", re.S)
# Not a shebang or d2l's '#@save'. '//' starts a comment in C-like languages only: in Python it divides.
_HASH_COMMENT = re.compile(r"(?:^|[ \t])#+(?![!@])[ \t]*(.*)$")
_SLASH_COMMENT = re.compile(r"(?:^|[ \t])//+[ \t]*(.*)$")
_SLASH_LANGUAGES = frozenset("c cpp c++ cc cu cuda h hpp java javascript js jsx ts tsx typescript go rust rs swift kotlin scala dart".split())
_DOCSTRING = re.compile(r"(\"\"\"|''')(.*?)\1", re.S)
_SETTING = re.compile(r"[A-Za-z_][\w.]*\s*[:=]\s*[^=].*")  # "pinv_iterations = 6", "causal: true"
_PLAIN_WORD = re.compile(r"[(\"'“]?[A-Za-z][A-Za-z'’-]*[.,:;!?)\"”]*")
_LATEX_ACCENT = re.compile(r"\\([\"'`^~=.uvHc])\s*\{?([A-Za-z])\}?")  # {\"o}, \v{c}: BibTeX's accents
_COMBINING = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
              ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327"}
_MAX_SETTING_CHARS = 60  # longer code beside a comment is a statement, not a setting


@dataclass(frozen=True)
class Citation:
    title: str
    authors: tuple[str, ...]  # "First Last"
    venue: str
    year: str
    et_al: bool = False  # the entry ends its authors with "and others"

    @property
    def text(self) -> str:
        """'Reformer: The Efficient Transformer, by Nikita Kitaev and Lukasz Kaiser (ICLR, 2020).'"""
        *others, last = self.authors or ("",)
        names = f"{', '.join(self.authors)} et al." if self.et_al else f"{', '.join(others)} and {last}" if others else last
        where = ", ".join(part for part in (self.venue, self.year) if part)
        return _sentence(self.title.rstrip(".") + (f", by {names}" if names else "") + (f" ({where})" if where else ""))


def is_bibtex(block: str, language: str) -> bool:
    return language.lower() in {"bibtex", "bib"} or block.lstrip().startswith("@")


def citations(block: str) -> list[Citation]:
    """The entries of a BibTeX block that have a title."""
    found = []
    for _, fields_text in _BIBTEX_ENTRY.findall(block):
        fields = {name.lower(): _plain(value) for name, value in _BIBTEX_FIELD.findall(fields_text)}
        authors = [_person(a) for a in re.split(r"\s+and\s+", fields.get("author", "")) if a.strip()]
        if fields.get("title"):
            venue = fields.get("booktitle") or fields.get("journal") or ""
            named = tuple(a for a in authors if a.lower() != "others")
            found.append(Citation(fields["title"], named, venue, fields.get("year", ""), len(named) < len(authors)))
    return found


def code_words(block: str, language: str, seen: set[str]) -> list[str]:
    """The paragraphs of prose in one fenced code block of `language` (its fence's word, or ''),
    less those already in `seen` (which grows)."""
    marker = _SLASH_COMMENT if language.lower() in _SLASH_LANGUAGES else _HASH_COMMENT
    paragraphs = [*_comments(_DOCSTRING.sub("", block), marker), *_docstrings(block)]
    new = [p for p in paragraphs if p and p not in seen]
    seen.update(new)
    return new


def _wordy(text: str) -> bool:
    """Words a reader would read: at least three plain words, and mostly plain words."""
    words = text.split()
    plain = sum(bool(_PLAIN_WORD.fullmatch(w)) for w in words)
    return plain >= 3 and plain >= 0.6 * len(words)


def _sentence(text: str) -> str:
    """One line, a capital first ('number of landmarks' reads as a statement) and a full stop."""
    text = " ".join(text.split())
    if re.match(r"[a-z]+\b(?![_.(])", text):
        text = text[0].upper() + text[1:]
    return text if not text or text[-1] in ".!?" else text + "."


def _with_setting(comment: str, setting: str) -> str:
    """'Number of landmarks (`num_landmarks = 256`).': the setting inside the comment's first sentence."""
    end = re.search(r"[.!?](?=\s|$)", comment)
    at = end.start() if end else len(comment)
    return _sentence(f"{comment[:at]} (`{setting}`){comment[at:]}")


def _comments(code: str, marker: re.Pattern[str]) -> list[str]:
    """Comments in code order; a run of comment lines is one paragraph, a setting is quoted in its comment."""
    paragraphs: list[str] = []
    run: list[str] = []
    for line in code.splitlines():
        match = marker.search(line)
        if match and not _outside_quotes(line[: match.start()]):
            match = None  # a '#' inside a string: "#ff0000"
        statement = line[: match.start()].strip().rstrip(",;") if match else line.strip()
        comment = match[1].strip() if match else ""
        if match and not statement:
            run.append(comment)
            continue
        if run:
            paragraphs.append(_sentence(" ".join(run)) if _wordy(" ".join(run)) else "")
            run = []
        if comment and _wordy(comment):
            setting = _SETTING.fullmatch(statement) and len(statement) <= _MAX_SETTING_CHARS
            paragraphs.append(_with_setting(comment, statement) if setting else _sentence(comment))
    if run and _wordy(" ".join(run)):
        paragraphs.append(_sentence(" ".join(run)))
    return paragraphs


def _outside_quotes(before: str) -> bool:
    """Whether code ending here is outside a string literal: a rough count of quotes."""
    return before.count('"') % 2 == 0 and before.count("'") % 2 == 0


def _docstrings(code: str) -> list[str]:
    return [_sentence(text) for _, text in _DOCSTRING.findall(code) if _wordy(text)]


def _plain(value: str) -> str:
    """A BibTeX value as text: accents as letters ('Veli{\\v{c}}kovi{\\'c}' -> 'Veličković'), braces
    and math delimiters off ('$O(n^2)$' -> 'O(n^2)')."""
    value = _LATEX_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m[2] + _COMBINING[m[1]]), value)
    return " ".join(re.sub(r"[{}\"]|(?<!\\)\$", "", value).split())


def _person(name: str) -> str:
    """'Kitaev, Nikita' -> 'Nikita Kitaev'."""
    last, _, first = name.partition(",")
    return " ".join(f"{first} {last}".split()) if first else " ".join(name.split())
