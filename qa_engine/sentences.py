"""Sentences of indexed text: where they are, which ones state something, which follows which.

The extractive answerer quotes sentences; tutorials also hold exercises, questions and
fragments, which are not answers to anything. Sentences are whole as their document has
them: the chunker cuts passages anywhere, a quote never ends where a chunk does.
"""

from __future__ import annotations

import bisect
import itertools
import re

# a sentence ends at a stop before a capital or a bracketed date ("[2024.06.07]: ..."), or where a list
# item that is not lowercase (not the rest of a lead-in: "... contains:\n- pre_trained/ ...") starts a line
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z$\\]|\[\d)|\s*\n[ \t]*(?=(?:[-*•+]|\d{1,2}[.)])[ \t]+(?![a-z]))")
# a name's initial ("Markus N. Rabe", "J. R. Smith") ends no sentence; a capital after a word ends one ("... than Q. Note that ...")
_INITIAL = re.compile(r"(?:^|\b[A-Z][\w-]*\s+|\b[A-Z]\.\s*)[A-Z]\.$")
_DISPLAY_MATH = re.compile(r"\$\$.*\$\$\s*", re.DOTALL)
# a lowercase start is a fragment cut mid-sentence, unless it is a name written as code ("block_size is used to ...")
_NOT_A_CLAIM = re.compile(
    r"^(?:(?![a-z][a-z\d]*_\w+\s)[a-z\d]|(?:Modify|Suppose|Implement|Try|Design|Prove|Visualize|Compare|Replace|Can|Could|What|How|Why|Which|Recall(?! that)|Let's|Hint)\b)"
)
# A README's words to its reader, not about the subject: requests and pointers (unless they state a value),
# and to-do checklists
_TO_THE_READER = re.compile(
    r"^(?:Please|Click|Visit|Download|Install|See|Check out|Go to)\b|\bplease (?:cite|see|refer|check|read|visit|contact|open|use|note)\b"
    r"|\b(?:go|click) here\b"
)
_CHECKLIST = re.compile(r"(?:^|\s)-?\s*\[[ xX]\]\s")
# a decimal, and the word before it when that word makes it a reference ("See section 3.2"), not a value
_DECIMAL = re.compile(r"(?:\b(section|chapter|figure|table|appendix|version|sec\.|fig\.|eq\.)\s+)?(?<![\w./-])\d+\.\d+(?![\w.]*\.\w)", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^(?:[-*•+]|\d{1,2}[.)])\s+")
_TABLE_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*\|")  # a markdown table's rule under its header: "-- | --", "|:---|---|"


# a line that ends in a function word goes on in the next one ("... the causal mask is aligned to the")
_OPEN_END = re.compile(r"\b(?:the|an?|of|to|and|or|in|on|at|with|for|by|from|is|are|was|were|that|as|its|their)\s*$", re.IGNORECASE)


def sentence_spans(text: str, start_at: int = 0) -> list[tuple[int, int]]:
    """Sentences as character spans; blank lines and headings (short unpunctuated lines) end one.

    A displayed formula ($$...$$ on its own lines) belongs to the unfinished sentence before it
    ("... computed as follows:"), as it does in the writer's grammar."""
    spans: list[tuple[int, int]] = []
    for block in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text[start_at:]):
        offset = start_at + block.start()
        body = block.group(0)
        if _DISPLAY_MATH.fullmatch(body):
            last = spans[-1] if spans else None
            if last and text[last[1] - 1] not in ".!?" and not text[last[1] : offset].strip():
                spans[-1] = (last[0], offset + len(body))
            continue
        first, _, rest = body.partition("\n")
        wrapped = _OPEN_END.search(first) or rest.lstrip()[:1].islower()  # prose wrapped at a line end, not a heading
        table = _TABLE_RULE.match(rest) is not None  # a table's header row names its columns: the table's words, not a heading
        if rest and len(first) < 80 and not first.rstrip().endswith((".", ":", "?", "!", ",")) and not wrapped and not table:
            offset += len(first) + 1
            body = rest  # a heading line: context for chunks, not a sentence
        cut, kept = 0, False  # kept: the piece before this one in the block is a sentence
        for match in [*_SENTENCE_END.finditer(body), None]:
            end = match.start() if match else len(body)
            if match and "\n" not in match.group(0) and _INITIAL.search(body[max(cut, end - 40) : end]):
                continue
            piece = body[cut:end]
            words = len(piece.split())
            if kept and words < 6:  # "Tune 0.2 first.": too short to stand alone, it ends the sentence before
                spans[-1] = (spans[-1][0], offset + end)
            elif 6 <= words <= 90:
                lead = len(piece) - len(piece.lstrip())
                spans.append((offset + cut + lead, offset + end))
            elif piece.strip()[:-1].isalpha() and match and "\n" not in match.group(0):
                continue  # "No. The context window remains unchanged.": a one-word answer opens the sentence after it on its line
            kept = 6 <= words <= 90 or (kept and words < 6)
            cut = match.end() if match else cut
    return spans


def unit_sentences(document: str, units: list[str]) -> list[list[tuple[int, int, str]]] | None:
    """For each chunk of `document`: the sentences it holds part of, as (start, end) of that
    part in the chunk and the whole sentence. None when a chunk is not a verbatim piece of
    the document (an index chunked another way): then chunks stand on their own."""
    spans = sentence_spans(document)
    starts = [a for a, _ in spans]
    found, at = [], 0
    for unit in units:
        offset = document.find(unit, at)
        if offset < 0 and (offset := document.find(unit)) < 0:
            return None
        at, end = offset + 1, offset + len(unit)
        first = max(bisect.bisect_right(starts, offset) - 1, 0)
        held = itertools.takewhile(lambda span: span[0] < end, spans[first:])
        found.append([(max(a, offset) - offset, min(b, end) - offset, normalize(document[a:b])) for a, b in held if b > offset])
    return found


def document_unit_sentences(documents, text_units) -> list[list[tuple[int, int, str]]]:
    """`unit_sentences` for every text unit of an index, in table order (the tables are
    graphrag's `documents` and `text_units`)."""
    texts = text_units["text"].fillna("").tolist()
    document_text = dict(zip(documents["id"], documents["text"].fillna(""), strict=True))
    rows_of: dict[str, list[int]] = {}
    for row, document in enumerate(text_units["document_id"]):
        rows_of.setdefault(document, []).append(row)
    found = {}
    for document, rows in rows_of.items():
        whole = unit_sentences(document_text.get(document, ""), [texts[r] for r in rows])
        # not verbatim pieces of their document: each unit's own sentences, as cut
        whole = whole or [[(a, b, normalize(texts[r][a:b])) for a, b in sentence_spans(texts[r])] for r in rows]
        found.update(zip(rows, whole, strict=True))
    return [found[r] for r in range(len(texts))]


def whole_sentences(text: str, sentences: list[tuple[int, int, str]]) -> str:
    """A chunk with the sentences cut at its two ends made whole again (`sentences` is its
    `unit_sentences`): token chunking cuts mid-sentence, and a quote or a citation needs the
    whole sentence ("... quadratic in the sequence length, and the | memory pressure is ...")."""
    if not sentences:
        return text
    (a, b, first), (c, d, last) = sentences[0], sentences[-1]
    held = normalize(text[a:b])
    at = first.rfind(held) if a == 0 and held else -1  # the cut sentence ends with what the chunk holds of it
    before = first[:at] if at > 0 else ""
    held = normalize(text[c:d])
    at = last.find(held) if d == len(text) and held else -1
    after = last[at + len(held) :] if at >= 0 else ""
    body = text.lstrip() if before else text
    return f"{before}{body.rstrip() if after else body}{after}"


def normalize(sentence: str) -> str:
    return " ".join(sentence.split())


def unmarked(sentence: str) -> str:
    """The sentence without its list item's marker: as an entity's description quotes it."""
    return _LIST_MARKER.sub("", sentence, count=1)


def is_claim(sentence: str) -> bool:
    """A statement, not an exercise, a question, a request to the reader, a fragment cut
    mid-sentence or mid-formula, struck-out text, nor a lead-in ("... as follows:") whose code or table the corpus text no longer has."""
    dollars = sentence.replace("\\$", "")
    display = dollars.count("$$")
    unbalanced_math = display % 2 == 1 or (dollars.count("$") - 2 * display) % 2 == 1
    struck = "~~" in sentence  # markdown strike-through: text its writer withdrew
    return (
        not sentence.endswith(("?", ":"))
        and not _NOT_A_CLAIM.match(sentence)
        and (not _TO_THE_READER.search(sentence) or _states_a_value(sentence))
        and not _CHECKLIST.search(sentence)
        and not unbalanced_math
        and not struck
    )


def _states_a_value(sentence: str) -> bool:
    """A pointer that states a result is a claim: "See the release for a 27M params model on
    enwik8 with 0.72 BPC" reports 0.72; "See section 3.2 for details" reports nothing."""
    return any(m.group(1) is None for m in _DECIMAL.finditer(sentence))


def successors(texts: list[str]) -> dict[str, str]:
    """Each sentence of the corpus mapped to the one right after it in the same passage."""
    following = {}
    for text in texts:
        spans = sentence_spans(text)
        for (start, end), (next_start, next_end) in zip(spans, spans[1:]):
            if next_start - end < 3:  # adjacent, not across a heading or a dropped fragment
                following.setdefault(normalize(text[start:end]), normalize(text[next_start:next_end]))
    return following
