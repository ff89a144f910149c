"""graphrag-style citations, `[Data: Entities (5, 7); Relationships (23, +more); Sources (15)]`:
written, parsed, and checked against the evidence the answerer was given.

graphrag leaves citations to the prompt and never checks them; we remove every id that
was not in the evidence and say so.
"""

from __future__ import annotations

import re

from qa_engine.results import KINDS, Citations

MAX_IDS = 5  # graphrag's rule: at most 5 ids per kind, then "+more"
_LABELS = {"entities": "Entities", "relationships": "Relationships", "reports": "Reports", "sources": "Sources"}
_KIND_OF = {label.lower(): kind for kind, label in _LABELS.items()}
# A block ends at "]"; one left open (a reply cut at max tokens) ends at a blank line or the end.
# Group 1 is the blank before the block, dropped with it when nothing in it survives.
_BLOCK = re.compile(r"([ \t]*)\[Data:\s*([^\]]*?)(?:\]|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE)
_PART = re.compile(r"([A-Za-z]+)\s*\(([^)]*)\)?")  # ")" optional: a cut-off block still parses


def format_citation(citations: Citations) -> str:
    parts = []
    for kind in KINDS:
        ids = [str(i) for i in getattr(citations, kind)]
        if ids:
            shown = ids[:MAX_IDS] + (["+more"] if len(ids) > MAX_IDS else [])
            parts.append(f"{_LABELS[kind]} ({', '.join(shown)})")
    return f"[Data: {'; '.join(parts)}]" if parts else ""


def parse_block(body: str) -> tuple[Citations, list[str]]:
    """Ids per kind in one `[Data: ...]` body, and the parts that are not citations."""
    found: dict[str, list[int]] = {k: [] for k in KINDS}
    unreadable = []
    for label, ids in _PART.findall(body):
        kind = _KIND_OF.get(label.lower())
        if kind is None:
            unreadable.append(f"{label} ({ids})")
            continue
        for token in (t.strip() for t in ids.split(",")):
            if token.isdigit():
                found[kind].append(int(token))
            elif token and token.lower() != "+more":
                unreadable.append(f"{label} ({token})")
    return Citations(**{k: tuple(v) for k, v in found.items()}), unreadable


def verify(text: str, allowed: Citations) -> tuple[str, Citations, list[str]]:
    """Rewrite every `[Data: ...]` in `text` keeping only ids present in `allowed`.

    Returns the cleaned text, what it cites, and a warning per removed id.
    """
    warnings: list[str] = []
    cited = Citations()

    def clean(match: re.Match) -> str:
        nonlocal cited
        found, unreadable = parse_block(match.group(2))
        kept = {}
        for kind in KINDS:
            ok = set(getattr(allowed, kind))
            ids = getattr(found, kind)
            kept[kind] = tuple(i for i in ids if i in ok)
            warnings.extend(f"removed citation {_LABELS[kind]} ({i}): not in the evidence given" for i in ids if i not in ok)
        warnings.extend(f"removed citation {u}: not a known kind" for u in unreadable)
        block = Citations(**kept)
        cited = cited.merge(block)
        kept_block = format_citation(block)
        return match.group(1) + kept_block if kept_block else ""

    return _BLOCK.sub(clean, text).strip(), cited, warnings
