"""PDF papers to clean prose: reading order, no page furniture, pages kept, references apart.

The reader is PDFium (pypdfium2): measured in bench/bench_pdf.py it never runs words together
and gives every character's box and font size, which the layout steps need. From those:
characters -> lines -> columns and blocks -> running text, with
- running headers, footers and page numbers removed (lines at a page's top or bottom that
  recur on other pages, digits aside, or are a bare page number),
- line-end hyphens undone unless the document spells the word with a hyphen elsewhere,
- headings and paragraphs as blocks, footnotes, captions and float contents (small type,
  `Figure 3:`-style starts, short label lines) set apart after the paragraph they interrupt,
- the references section split into entries and kept out of the text,
- title, authors and abstract read from the first page.
"""

from __future__ import annotations

import bisect
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

_SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a hyphen it saw at a line end
_HYPHENS = ("-", "\u2010", "\xad", _SOFT_HYPHEN)
_PAGE_NUMBER = re.compile(r"(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:/|of)\s*\d{1,4})?", re.I)
_REFERENCES = re.compile(r"(?:\d+\.?\s*)?(?:references|bibliography|works cited|literature cited)", re.I)
_AFTER_REFERENCES = re.compile(r"(?i:appendix|appendices|supplementary)\b|[A-Z](?:\.\d+)*\s+[A-Z][a-z]")  # "A Proofs"
_ABSTRACT = re.compile(r"abstract[.:—–-]?\s*", re.I)
_CAPTION = re.compile(r"(?:fig\.|figure|table|algorithm|listing)\s*[A-Z]?\d+[.:]", re.I)
_NUMBERED_HEADING = re.compile(r"(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z]\.(?:\d{1,2}\.?)*)\s+[A-Z]\S*(?:\s+\S+){0,8}")
_ENTRY_LABEL = re.compile(r"\[[^\[\]]{1,40}\]\s")
_ENTRY_START = re.compile(r"(?:^|\s)(?=\[[^\[\]]{1,40}\]\s[A-Z])")
_AFFILIATION = re.compile(
    r"@|\d|https?:|universit|institut|department|school|college|laborator|\blab\b|research|inc\.|corp|ltd",
    re.I,
)
_LINE_END_WORD = re.compile(r"[\w-]*[-\u2010\xad\ufffe]$")
_SENTENCE_END = (".", "!", "?", ":", '."', ".”")


class UnreadablePDF(Exception):
    """The reason a PDF gives us no text, worded for the user."""


@dataclass(frozen=True)
class Paper:
    """A PDF read as a paper: the running text and what is kept beside it."""

    title: str
    text: str
    pages: tuple[tuple[int, int], ...]  # (offset in text, page number from 1) where each page's text starts
    authors: tuple[str, ...] = ()
    abstract: str = ""
    references: tuple[str, ...] = ()
    damage: str = ""  # a repaired defect the user should hear about, "" when none


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    base: float
    size: float
    cells: list[str]  # the text split at wide gaps: table cells, author names
    page: int = 0
    column: str = "full"  # "left", "right" or "full"


@dataclass
class _Block:
    kind: str  # "body", "heading" or "aside"
    lines: list[_Line] = field(default_factory=list)
    indented: bool = False  # its first line starts a paragraph by indentation
    column_top: bool = False  # its first line is the first of its column on the page

    @property
    def page(self) -> int:
        return self.lines[0].page


# ---------------------------------------------------------------- reading


def read_pdf(raw: bytes, clean: Callable[[str], str] = str) -> Paper:
    """The paper in a PDF's bytes, `clean` applied to each line; UnreadablePDF says why there is none."""
    if b"%PDF-" not in raw[:1024]:
        raise UnreadablePDF("not a valid PDF (no %PDF header)")
    try:
        document = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadablePDF("encrypted PDF: needs a password; save an unencrypted copy to index it") from exc
        raise UnreadablePDF(f"not a valid PDF ({exc}): the file is damaged; re-save or re-download it") from exc
    try:
        pages = [_page_lines(document[i], i + 1, clean) for i in range(len(document))]
        meta_title = " ".join(str(document.get_metadata_value("Title") or "").split())
    except Exception as exc:  # a damaged page can fail in many ways; all mean the same to the user
        raise UnreadablePDF(f"not a valid PDF ({exc}): the file is damaged; re-save or re-download it") from exc
    finally:
        document.close()
    if not any(pages):
        raise UnreadablePDF("PDF has no extractable text (scanned or image-only pages): run OCR on it first")
    paper = _assemble(pages, meta_title)
    if not paper.text:
        raise UnreadablePDF("PDF has no extractable text (scanned or image-only pages): run OCR on it first")
    damage = "broken cross-reference table (xref), read by PDFium's repair; re-save the PDF to fix it"
    return paper if _xref_ok(raw) else replace(paper, damage=damage)


def _xref_ok(raw: bytes) -> bool:
    """Does the last `startxref` point at an xref table or an xref stream object?
    (Offsets count from the %PDF header: some files have bytes before it.)"""
    found = re.findall(rb"startxref\s+(\d+)", raw[-4096:])
    if not found:
        return False
    start = int(found[-1]) + raw.find(b"%PDF-")
    return raw[start : start + 4] == b"xref" or re.match(rb"\s*\d+\s+\d+\s+obj", raw[start : start + 40]) is not None


def _page_lines(page, number: int, clean: Callable[[str], str]) -> list[_Line]:
    """Characters grouped into lines, in PDFium's order (content stream order): a glyph whose
    baseline is off the line's by most of a line, or that jumps far back left, starts a new one."""
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        lines: list[_Line] = []
        chars: list[tuple[str, tuple[float, float, float, float], float]] = []
        base = line_size = 0.0
        last = None  # the line's last glyph box
        for i in range(min(count, len(text))):
            char = text[i]
            if char in "\r\n" or pdfium_c.FPDFText_IsGenerated(textpage, i) and char != " ":
                continue
            box = textpage.get_charbox(i)
            size = pdfium_c.FPDFText_GetFontSize(textpage, i)
            if char != " ":
                if last is not None and (
                    abs(box[1] - base) > 0.6 * max(size, line_size) and abs(box[3] - last[3]) > 0.3 * size
                    or box[0] < last[0] - 4 * size
                ):
                    lines.extend(_line(chars, number, clean))
                    chars, line_size = [], 0.0
                if size >= 0.85 * line_size:  # not a superscript or subscript: the line's baseline
                    base, line_size = box[1], max(size, line_size)
                last = box
            chars.append((char, box, size))
        lines.extend(_line(chars, number, clean))
    finally:
        textpage.close()
        page.close()
    return lines


def _line(chars, page: int, clean: Callable[[str], str]) -> list[_Line]:
    """One line from its characters; superscript footnote marks after punctuation dropped."""
    glyphs = [c for c in chars if c[0] != " "]
    if not glyphs:
        return []
    size = Counter(round(c[2], 1) for c in glyphs).most_common(1)[0][0]
    base = statistics.median(c[1][1] for c in glyphs if round(c[2], 1) == size)
    text, cells, cell, previous = [], [], [], None
    for char, box, char_size in chars:
        if char == " ":
            text.append(" ")
            cell.append(" ")
            continue
        raised = char_size < 0.85 * size and box[1] > base + 0.2 * size
        before = "".join(text).rstrip()[-1:]
        if raised and (char.isdigit() or char in "*†‡§¶") and (not before or before in ".,;:)!?"):
            continue
        if previous is not None and box[0] - previous[2] > 1.5 * size:
            cells.append("".join(cell).strip())
            cell = []
            text.append(" ")
        text.append(char)
        cell.append(char)
        previous = box
    cells.append("".join(cell).strip())
    line_text = _normalize(clean("".join(text)))
    if not line_text:
        return []
    return [_Line(
        line_text,
        min(c[1][0] for c in glyphs),
        max(c[1][2] for c in glyphs),
        base,
        size,
        [_normalize(clean(c)) for c in cells if c.strip()],
        page,
    )]


def _normalize(text: str) -> str:
    """Ligatures (ﬁ), full-width and compatibility forms to plain characters; spaces collapsed."""
    text = unicodedata.normalize("NFKC", text.replace(_SOFT_HYPHEN, "\x00")).replace("\x00", _SOFT_HYPHEN)
    return " ".join(text.split())


# ---------------------------------------------------------------- layout


def _assemble(pages: list[list[_Line]], meta_title: str) -> Paper:
    sizes: Counter = Counter()
    for line in (line for page in pages for line in page):
        sizes[round(line.size, 1)] += len(line.text)
    body_size = sizes.most_common(1)[0][0]  # of most characters
    pages = _without_furniture(pages)
    blocks = [block for page in pages for block in _blocks(page, body_size)]
    words = Counter(  # the document's spelling, from words not broken at a line end
        w.lower() for b in blocks for line in b.lines for w in re.findall(r"[\w-]+", _LINE_END_WORD.sub("", line.text))
    )
    title, authors, abstract = _front_matter(pages[0] if pages else [], blocks, body_size, words)
    text, offsets, references = _running_text(blocks, words)
    title = meta_title if _is_real_title(meta_title) else title
    return Paper(title, text, offsets, authors, abstract, references)


def _without_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Drop running headers/footers (a page's top or bottom lines seen, digits aside, on other
    pages' tops or bottoms) and page numbers."""

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    def edges(page: list[_Line]) -> list[_Line]:
        ordered = sorted(page, key=lambda line: -line.base)
        return ordered[:2] + ordered[-2:]

    seen = Counter(k for page in pages for k in {key(line) for line in edges(page)})
    recurring = max(2, len(pages) * 2 // 5)
    cleaned = []
    for page in pages:
        furniture = {
            id(line) for line in edges(page) if seen[key(line)] >= recurring or _PAGE_NUMBER.fullmatch(line.text)
        }
        cleaned.append([line for line in page if id(line) not in furniture])
    return cleaned


def _blocks(page: list[_Line], body_size: float) -> list[_Block]:
    """A page's lines in reading order (columns top to bottom, left then right, between
    full-width lines), grouped into blocks at gaps, size changes and indented first lines."""
    if not page:
        return []
    left_edge, right_edge = min(line.x0 for line in page), max(line.x1 for line in page)
    middle = (left_edge + right_edge) / 2
    for line in page:
        line.column = "left" if line.x1 < middle + 2 else "right" if line.x0 > middle - 2 else "full"
    sides = Counter(line.column for line in page)
    if min(sides["left"], sides["right"]) < 0.2 * len(page):
        for line in page:
            line.column = "full"
    by_height = sorted(page, key=lambda line: -line.base)
    for above, line in zip(by_height, by_height[1:]):  # a wide paragraph's short last line is wide too
        if above.column == "full" and abs(line.x0 - above.x0) < line.size and above.base - line.base < 1.6 * line.size:
            line.column = "full"
    ordered: list[_Line] = []
    segment: list[_Line] = []
    for line in by_height:
        if line.column == "full":
            ordered += sorted(segment, key=lambda l: (l.column != "left", -l.base))
            ordered.append(line)
            segment = []
        else:
            segment.append(line)
    ordered += sorted(segment, key=lambda l: (l.column != "left", -l.base))

    columns = {line.column for line in ordered}
    column_edge = {c: min(line.x0 for line in ordered if line.column == c) for c in columns}
    column_right = {c: max(line.x1 for line in ordered if line.column == c) for c in columns}
    blocks: list[_Block] = []
    previous: _Line | None = None
    for line in ordered:
        indented = 0.6 * line.size < line.x0 - column_edge[line.column] < 4 * line.size
        starts = (
            previous is None
            or line.column != previous.column
            or abs(line.size - previous.size) > 0.08 * body_size
            or previous.base - line.base > 1.6 * max(line.size, previous.size)
            or previous.base < line.base
            or (indented and (previous.x1 < column_right[line.column] - 2 * line.size
                              or previous.text.endswith(_SENTENCE_END)))
            or _is_heading_line(line, body_size, column_edge[line.column], column_right[line.column])
            or _is_heading_line(previous, body_size, column_edge[previous.column], column_right[previous.column])
        )
        if starts:
            top = previous is None or line.column != previous.column
            blocks.append(_Block("body", indented=indented, column_top=top))
        blocks[-1].lines.append(line)
        previous = line
    for block in blocks:
        column = block.lines[0].column
        block.kind = _kind(block, body_size, column_edge[column], column_right[column])
    return blocks


def _is_heading_line(line: _Line, body_size: float, left: float, right: float) -> bool:
    """Larger type, a section number, or (in body type) a short capitalized line at the
    column's edge that ends no sentence ("Acknowledgments")."""
    text = line.text
    if _REFERENCES.fullmatch(text) or _ABSTRACT.fullmatch(text):
        return True
    if text.endswith((".", ",", ";", "-", _SOFT_HYPHEN)) or len(text) > 90:
        return False
    short = line.x1 - line.x0 < 0.6 * (right - left) and abs(line.x0 - left) < 0.5 * line.size
    return (
        line.size > 1.1 * body_size
        or bool(_NUMBERED_HEADING.fullmatch(text))
        or short and text[0].isupper() and len(text.split()) <= 8 and not text.endswith(_SENTENCE_END)
    )


def _kind(block: _Block, body_size: float, left: float, right: float) -> str:
    first = block.lines[0]
    if len(block.lines) <= 2 and all(_is_heading_line(line, body_size, left, right) for line in block.lines):
        return "heading"
    if first.size < 0.92 * body_size or _CAPTION.match(first.text):
        return "aside"  # footnotes, captions, small print
    if all(len(line.cells) > 2 for line in block.lines):
        return "aside"  # a table
    short = all(line.x1 - line.x0 < 0.6 * (right - left) for line in block.lines)
    if short and not block.lines[-1].text.endswith(_SENTENCE_END):
        return "aside"  # figure labels, display math
    return "body"


# ---------------------------------------------------------------- front matter and text


def _front_matter(first_page: list[_Line], blocks: list[_Block], body_size: float, words: Counter):
    """Title (the largest type on the first page, two words at least), abstract (the text
    under `Abstract`, or after `Abstract:`), and, for a paper (both found), the authors: the
    name-like cells between the two."""
    if not first_page:
        return "", (), ""
    top_size = max(line.size for line in first_page)
    title_lines = [line for line in first_page if top_size > 1.15 * body_size and abs(line.size - top_size) < 0.05]
    title = " ".join(line.text for line in sorted(title_lines, key=lambda line: -line.base))
    if len(title.split()) < 2:  # a drop cap, a logo's letters
        title, title_lines = "", []
    abstract: list[str] = []
    below: float | None = None  # the baseline the front matter ends at
    for block in (b for b in blocks if b.page == 1):
        text = _joined(block.lines, words)
        if below is not None and block.kind == "heading":
            break
        if below is not None:
            abstract.append(text)
        elif block.kind == "heading" and _ABSTRACT.fullmatch(text):
            below = block.lines[0].base
        elif block.kind == "body" and (inline := re.match(r"abstract\s*[.:—–-]\s*", text, re.I)):
            below = block.lines[0].base + 1
            abstract.append(text[inline.end():])
    if below is None or not title_lines:
        return title, (), " ".join(abstract)
    above = min(line.base for line in title_lines)
    authors = [
        name.strip()
        for line in first_page
        if below < line.base < above
        for cell in line.cells
        for name in re.split(r",|\band\b|;|&", cell)
        if _is_name(name)
    ]
    return title, tuple(dict.fromkeys(authors)), " ".join(abstract)


def _is_name(text: str) -> bool:
    words = text.strip().split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not _AFFILIATION.search(text)


def _running_text(blocks: list[_Block], words: Counter):
    """Blocks to text: a paragraph continues across columns and pages while it has not ended
    a sentence; asides wait until the paragraph they interrupt is done; references apart."""
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    references: list[str] = []
    paragraph: list[_Line] = []
    waiting: list[_Block] = []
    in_references = False
    length = 0

    def emit(text: str, page_starts: list[tuple[int, int]]) -> None:
        nonlocal length
        for offset, page in page_starts:
            if not offsets or offsets[-1][1] != page:
                offsets.append((length + offset, page))
        parts.append(text)
        length += len(text) + 2

    def close() -> None:
        if paragraph:
            emit(*_joined_with_pages(paragraph, words))
            paragraph.clear()
        for block in waiting:
            table = all(len(line.cells) > 2 for line in block.lines)
            text = "\n".join(" | ".join(line.cells) for line in block.lines) if table else _joined(block.lines, words)
            emit(text, [(0, block.page)])
        waiting.clear()

    for block in blocks:
        text = _joined(block.lines, words)
        if block.kind == "heading" and _REFERENCES.fullmatch(text):
            close()
            in_references = True
        elif in_references and not (block.kind == "heading" and _AFTER_REFERENCES.match(text)):
            references.append(text)  # an entry's line can look like a heading
        elif block.kind == "heading":
            close()
            in_references = False
            emit(text, [(0, block.page)])
        elif block.kind == "aside":
            waiting.append(block)
        else:
            interrupted = block.column_top or bool(waiting)  # by a column or page end, a float, a footnote
            ended = paragraph and paragraph[-1].text.endswith(_SENTENCE_END) and block.indented
            continues = paragraph and interrupted and not ended
            if not continues:
                close()
            paragraph.extend(block.lines)
    close()
    return "\n\n".join(parts), tuple(offsets), _entries(references)


def _entries(blocks: list[str]) -> tuple[str, ...]:
    """Reference entries: split at their labels ([3], [Vaswani 2017]) where the list has
    them, so an entry broken by a column or page end is whole again; else one per block."""
    if not any(_ENTRY_LABEL.match(b) for b in blocks):
        return tuple(blocks)
    return tuple(e.strip() for e in _ENTRY_START.split(" ".join(blocks)) if e.strip())


def _joined(lines: list[_Line], words: Counter) -> str:
    return _joined_with_pages(lines, words)[0]


def _joined_with_pages(lines: list[_Line], words: Counter) -> tuple[str, list[tuple[int, int]]]:
    """Lines as one paragraph, with the offset where each page's part starts. A line-end
    hyphen goes unless the document writes the word with one more often than without."""
    out = ""
    page_starts: list[tuple[int, int]] = []
    for line in lines:
        text = line.text
        if out.endswith(_HYPHENS) and re.match(r"[A-Za-z]", text) and re.search(r"\w.$", out):
            head = re.search(r"[\w-]*$", out[:-1])[0]
            tail = re.match(r"[\w-]*", text)[0]
            keep = text[0].isupper() or words[f"{head}-{tail}".lower()] > words[f"{head}{tail}".lower()]
            out = out[:-1] + ("-" if keep else "")
        elif out:
            out += " "
        if not page_starts or page_starts[-1][1] != line.page:
            page_starts.append((len(out), line.page))
        out += text
    return out.replace(_SOFT_HYPHEN, "-"), page_starts


def _is_real_title(title: str) -> bool:
    """Metadata titles are often empty, 'untitled' or the name of the file that made the PDF."""
    lowered = title.lower()
    return (
        len(title) >= 3
        and lowered not in {"untitled", "title", "no title"}
        and not lowered.startswith("microsoft word")
        and not re.search(r"\.(pdf|docx?|tex|dvi|odt)$", lowered)
    )


# ---------------------------------------------------------------- pages of text units


def text_unit_pages(documents, text_units) -> dict[str, tuple[int, ...]]:
    """Text unit id -> the pages it spans, for documents whose raw_data has page offsets
    (PDFs): each chunk is found verbatim in its document, in chunk order (graphrag's chunker
    cuts the text without changing it). A chunk not found (another chunker) has no entry."""
    pages: dict[str, tuple[int, ...]] = {}
    starts = {
        doc_id: (list(raw["page_offsets"]), list(raw["page_numbers"]), text)
        for doc_id, raw, text in zip(documents["id"], documents["raw_data"], documents["text"], strict=True)
        if isinstance(raw, dict) and raw.get("page_offsets") is not None and len(raw["page_offsets"])
    }
    units = text_units[text_units["document_id"].isin(starts)].sort_values("human_readable_id")
    at: dict[str, int] = {}
    for unit_id, doc_id, chunk in zip(units["id"], units["document_id"], units["text"], strict=True):
        offsets, numbers, text = starts[doc_id]
        begin = text.find(chunk, at.get(doc_id, 0))
        if begin < 0 and (begin := text.find(chunk)) < 0:
            continue
        at[doc_id] = begin + 1
        first = max(bisect.bisect_right(offsets, begin) - 1, 0)
        last = max(bisect.bisect_right(offsets, begin + len(chunk) - 1) - 1, first)
        pages[unit_id] = tuple(dict.fromkeys(int(n) for n in numbers[first : last + 1]))
    return pages
