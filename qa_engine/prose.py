"""Readable sentences of text units: markup out, math kept, sentences that chunking cut made whole.

graphrag's chunker cuts text every 200 tokens, mid-sentence and mid-markup; entities are
described and related by whole sentences, so the extractor reads text units as the document
had them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 500  # longer "sentences" are run-on transcripts or tables, not evidence


@dataclass(frozen=True)
class Sentence:
    text: str  # readable: markup out, math kept
    units: tuple[int, ...]  # positions of its text units in the input: two where a chunk cut it
    block: int  # paragraph number, corpus-wide: adjacency never crosses paragraphs
    prose: bool  # a real sentence: evidence for descriptions and relationships
    heading: bool = False  # a title or heading line: it introduces what it names


MATH_OR_CODE = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$\n]+\$|\\\\?\(.+?\\\\?\)|`[^`\n]+`", re.S)
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
    return _outside(MATH_OR_CODE, text, lambda prose: html.unescape(_apply(_INLINE_MARKUP, prose)))


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
    shadow = MATH_OR_CODE.sub(lambda m: "X" * len(m[0]), paragraph)
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
        words = MATH_OR_CODE.sub(" ", self.text).split()  # a display equation is not a sentence
        prose = self.kind == "prose" and len(words) >= 5 and len(self.text) <= MAX_SENTENCE_CHARS
        prose = prose and not _HTML_LEFTOVER.search(self.text)  # a tag that a chunk boundary cut in two
        heading = self.kind in ("short", "markup") and "|" not in self.text and 0 < len(words) <= 12
        return Sentence(self.text, self.units, self.block, prose, heading)


def text_unit_sentences(texts: list[str], documents: list[str] | None = None) -> list[Sentence]:
    """Every sentence of every text unit, with the sentences that chunking cut in two made whole;
    never across `documents` (each unit's document id): one text's last words do not go on in
    the next one's title."""
    sentences: list[Sentence] = []
    carried: _Piece | None = None  # the last piece of the previous unit: it may go on in this one
    block = 0
    for k, text in enumerate(texts):
        if carried and documents and documents[k] != documents[k - 1]:
            sentences.append(carried.sentence())
            carried = None
        pieces = []
        for paragraph, kind in _paragraphs(_strip_markup(text)):
            block += 1
            pieces += [_Piece(p, block, kind, (k,)) for p in split_sentences(" ".join(paragraph.split()))]
        overlapping = k > 0 and (not documents or documents[k] == documents[k - 1]) and _overlapping(texts[k - 1], text)
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

