"""Sentences of indexed text: where they are, which ones state something, which follows which.

The extractive answerer quotes sentences; tutorials also hold exercises, questions and
fragments cut at chunk borders, which are not answers to anything.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z$\\])")
_NOT_A_CLAIM = re.compile(
    r"^(?:[a-z\d]|(?:Modify|Suppose|Implement|Try|Design|Prove|Visualize|Compare|Replace|Can|Could|What|How|Why|Which|Recall|Let's|Note that)\b)"
)


def sentence_spans(text: str, start_at: int = 0) -> list[tuple[int, int]]:
    """Sentences as character spans; blank lines and headings (short unpunctuated lines) end one."""
    spans = []
    for block in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text[start_at:]):
        offset = start_at + block.start()
        body = block.group(0)
        first, _, rest = body.partition("\n")
        if rest and len(first) < 80 and not first.rstrip().endswith((".", ":", "?", "!", ",")):
            offset += len(first) + 1
            body = rest  # a heading line: context for chunks, not a sentence
        cut = 0
        for match in [*_SENTENCE_END.finditer(body), None]:
            end = match.start() if match else len(body)
            piece = body[cut:end]
            if 6 <= len(piece.split()) <= 90:
                lead = len(piece) - len(piece.lstrip())
                spans.append((offset + cut + lead, offset + end))
            cut = match.end() if match else cut
    return spans


def normalize(sentence: str) -> str:
    return " ".join(sentence.split())


def is_claim(sentence: str) -> bool:
    """A statement, not an exercise, a question, a fragment cut mid-sentence or mid-formula."""
    dollars = sentence.replace("\\$", "")
    display = dollars.count("$$")
    unbalanced_math = display % 2 == 1 or (dollars.count("$") - 2 * display) % 2 == 1
    return not sentence.endswith("?") and not _NOT_A_CLAIM.match(sentence) and not unbalanced_math


def successors(texts: list[str]) -> dict[str, str]:
    """Each sentence of the corpus mapped to the one right after it in the same passage."""
    following = {}
    for text in texts:
        spans = sentence_spans(text)
        for (start, end), (next_start, next_end) in zip(spans, spans[1:]):
            if next_start - end < 3:  # adjacent, not across a heading or a dropped fragment
                following.setdefault(normalize(text[start:end]), normalize(text[next_start:next_end]))
    return following
