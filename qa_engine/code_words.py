"""What a code block says in words: its comments, docstrings and BibTeX entries, as prose.

A README documents its settings in the usage block ("pinv_iterations = 6,  # number of
Moore-Penrose iterations ...; 6 was recommended by the paper") and cites its papers in BibTeX;
the code itself is not prose, so only these words are indexed. A setting keeps its assignment
as inline code inside its comment's first sentence. A line repeated within one document (the same comment in
every framework's version of a snippet) is said once.
"""

from __future__ import annotations

import re
import unicodedata

_BIBTEX_ENTRY = re.compile(r"@(\w+)\s*\{\s*[^,\s]*\s*,(.*?)\n?\s*\}\s*(?=@|\Z)", re.S)
_BIBTEX_FIELD = re.compile(r"(\w+)\s*=\s*(\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}|\"[^\"]*\"|\w+)", re.S)
_COMMENT = re.compile(r"(?:^|[ \t])(?:#+|//+)(?![!@])[ \t]*(.*)$")  # not a shebang or d2l's '#@save'
_DOCSTRING = re.compile(r"(\"\"\"|''')(.*?)\1", re.S)
_SETTING = re.compile(r"[A-Za-z_][\w.]*\s*[:=]\s*[^=].*")  # "pinv_iterations = 6", "causal: true"
_PLAIN_WORD = re.compile(r"[(\"'“]?[A-Za-z][A-Za-z'’-]*[.,:;!?)\"”]*")
_LATEX_ACCENT = re.compile(r"\\([\"'`^~=.uvHc])\s*\{?([A-Za-z])\}?")  # {\"o}, \v{c}: BibTeX's accents
_COMBINING = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
              ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327"}
_MAX_SETTING_CHARS = 60  # longer code beside a comment is a statement, not a setting


def code_words(block: str, language: str, seen: set[str]) -> list[str]:
    """The paragraphs of prose in one fenced block, less those already in `seen` (which grows)."""
    if language.lower() in {"bibtex", "bib"} or block.lstrip().startswith("@"):
        paragraphs = [_citation(fields) for _, fields in _BIBTEX_ENTRY.findall(block)]
    else:
        paragraphs = [*_comments(_DOCSTRING.sub("", block)), *_docstrings(block)]
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


def _comments(code: str) -> list[str]:
    """Comments in code order; a run of comment lines is one paragraph, a setting is quoted in its comment."""
    paragraphs: list[str] = []
    run: list[str] = []
    for line in code.splitlines():
        match = _COMMENT.search(line)
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


def _citation(fields_text: str) -> str:
    """'Reformer: The Efficient Transformer, by Nikita Kitaev, Lukasz Kaiser and Anselm Levskaya (ICLR, 2020).'"""
    fields = {name.lower(): _plain(value) for name, value in _BIBTEX_FIELD.findall(fields_text)}
    title = fields.get("title", "")
    if not title:
        return ""
    authors = [_person(a) for a in re.split(r"\s+and\s+", fields.get("author", "")) if a.strip()]
    if authors and authors[-1].lower() == "others":
        names = ", ".join(authors[:-1]) + " et al."
    else:
        names = ", ".join(authors[:-1]) + " and " + authors[-1] if len(authors) > 1 else "".join(authors)
    venue = fields.get("booktitle") or fields.get("journal") or ""
    where = ", ".join(part for part in (venue, fields.get("year", "")) if part)
    return _sentence(title.rstrip(".") + (f", by {names}" if names else "") + (f" ({where})" if where else ""))


def _plain(value: str) -> str:
    """A BibTeX value as text: accents as letters ('Veli{\\v{c}}kovi{\\'c}' -> 'Veličković'), braces off."""
    value = _LATEX_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m[2] + _COMBINING[m[1]]), value)
    return " ".join(re.sub(r"[{}\"]", "", value).split())


def _person(name: str) -> str:
    """'Kitaev, Nikita' -> 'Nikita Kitaev'."""
    last, _, first = name.partition(",")
    return " ".join(f"{first} {last}".split()) if first else " ".join(name.split())
