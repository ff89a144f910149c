"""Extractive community reports in graphrag's report schema.

graphrag asks a chat model to write one JSON report per community. Offline there is
no model, so each report is assembled from the community's own entities and
relationships: every sentence of a finding is copied from a description in the graph,
and the frame around it (title, summary, rank) is derived from counts and weights.
The output has exactly the columns graphrag's summarize step yields, so that
``finalize_community_reports`` and graphrag's local search consume it unchanged.
"""

import json
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

REPORT_COLUMNS = [
    "community",
    "level",
    "title",
    "summary",
    "full_content",
    "rank",
    "rating_explanation",
    "findings",
    "full_content_json",
]

MAX_TITLE_CHARS = 80
TITLE_ENTITIES = 3
MAX_FINDINGS = 6
ENTITY_FINDINGS = 3
MAX_EXPLANATION_CHARS = 400
MAX_SUMMARY_SENTENCE_CHARS = 300

# Sentence ends: terminal punctuation followed by whitespace and an upper-case start,
# so "et al. (2017)" or "e.g. softmax" do not split a sentence.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")


def build_community_reports(
    communities: pd.DataFrame, entities: pd.DataFrame, relationships: pd.DataFrame
) -> pd.DataFrame:
    """One report per community row, in the shape graphrag's summarize step produces BEFORE
    graphrag.index.operations.finalize_community_reports.finalize_community_reports(reports, communities)
    is applied (that function then adds id, human_readable_id, parent, children, size, period). Columns:
      community (int), level (int), title (str), summary (str), full_content (str), rank (float, 0-10),
      rating_explanation (str), findings (list of {"summary": str, "explanation": str}), full_content_json (str, JSON)
    """
    entity_by_id = {row["id"]: row for row in entities.to_dict("records")}
    relationship_by_id = {row["id"]: row for row in relationships.to_dict("records")}
    seen_titles: set[str] = set()
    reports = []
    for community in communities.to_dict("records"):
        members = [
            entity_by_id[i] for i in _as_list(community["entity_ids"]) if i in entity_by_id
        ]
        links = [
            relationship_by_id[i]
            for i in _as_list(community["relationship_ids"])
            if i in relationship_by_id
        ]
        report = _build_report(community, members, links)
        # Parent and child communities can share their hubs; graphrag lists reports by
        # title, so a repeated title is made distinct with the community number.
        if report["title"] in seen_titles:
            report["title"] = f"{report['title']} (Community {report['community']})"
        seen_titles.add(report["title"])
        reports.append(_with_rendered_content(report))
    return pd.DataFrame(reports, columns=REPORT_COLUMNS)


def _build_report(
    community: dict[str, Any], members: list[dict[str, Any]], links: list[dict[str, Any]]
) -> dict[str, Any]:
    """Title, summary, findings and rating of one community, before rendering."""
    local_degree: Counter[str] = Counter()
    for link in links:
        local_degree[link["source"]] += 1
        local_degree[link["target"]] += 1
    central = sorted(
        members,
        key=lambda e: (
            -local_degree[e["title"]],
            -_number(e.get("frequency")),
            -_number(e.get("degree")),
            str(e["title"]),
        ),
    )
    strongest = sorted(
        links,
        key=lambda r: (
            -_number(r.get("weight")),
            -_number(r.get("combined_degree")),
            str(r["source"]),
            str(r["target"]),
        ),
    )
    total_weight = sum(_number(link.get("weight")) for link in links)
    rank = _rank(len(members), total_weight)
    return {
        "community": int(community["community"]),
        "level": int(community["level"]),
        "title": _title(central) or str(community.get("title") or ""),
        "summary": _summary(central, len(links)),
        "rank": rank,
        "rating_explanation": (
            f"The rank of {rank} is a log-scaled score of the community's size "
            f"({_count(len(members), 'entity', 'entities')}) and the total weight "
            f"({total_weight:g}) of its {_count(len(links), 'internal relationship')}."
        ),
        "findings": _findings(central, strongest),
    }


def _with_rendered_content(report: dict[str, Any]) -> dict[str, Any]:
    """Render full_content and full_content_json as graphrag does from a model response."""
    sections = "\n\n".join(
        f"## {f['summary']}\n\n{f['explanation']}" for f in report["findings"]
    )
    report["full_content"] = f"# {report['title']}\n\n{report['summary']}\n\n{sections}"
    report["full_content_json"] = json.dumps(
        {
            "title": report["title"],
            "summary": report["summary"],
            "findings": report["findings"],
            "rating": report["rank"],
            "rating_explanation": report["rating_explanation"],
        },
        indent=4,
        ensure_ascii=False,
    )
    return report


def _title(central: list[dict[str, Any]]) -> str:
    """Name the community after its hubs, dropping trailing names to stay short."""
    names = [str(e["title"]) for e in central[:TITLE_ENTITIES]]
    if not names:
        return ""
    while len(names) > 1 and len(_join_names(names)) > MAX_TITLE_CHARS:
        names.pop()
    return _clip(_join_names(names), MAX_TITLE_CHARS)


def _summary(central: list[dict[str, Any]], n_links: int) -> str:
    """Size, dominant types and hubs of the community, then its hub's own first sentence."""
    if not central:
        return "This community has no entities in the graph."
    n = len(central)
    sentence = (
        f"This community groups {_count(n, 'entity', 'entities')} and "
        f"{_count(n_links, 'internal relationship')}"
    )
    types = Counter(str(e.get("type") or "").strip().lower() for e in central)
    types.pop("", None)
    if len(types) == 1:
        sentence += f", all of type {next(iter(types))}"
    elif types:
        top = sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        sentence += ", mostly of type " + " and ".join(f"{t} ({c})" for t, c in top)
    hubs = [str(e["title"]) for e in central[:TITLE_ENTITIES]]
    parts = [
        sentence + ".",
        f"Its most central {'entity is' if len(hubs) == 1 else 'entities are'} "
        f"{_join_names(hubs)}.",
    ]
    first = _sentences(central[0].get("description"), MAX_SUMMARY_SENTENCE_CHARS, 1)
    if first:
        parts.append(first)
    return " ".join(parts)


def _findings(
    central: list[dict[str, Any]], strongest: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Hub entities first, then the heaviest relationships, then further entities to fill."""
    entity_findings = [
        {"summary": _entity_headline(e), "explanation": text}
        for e in central
        if (text := _sentences(e.get("description"), MAX_EXPLANATION_CHARS))
    ]
    relationship_findings = [
        {"summary": f"{r['source']} and {r['target']}", "explanation": text}
        for r in strongest
        if (text := _sentences(r.get("description"), MAX_EXPLANATION_CHARS))
    ]
    findings = entity_findings[:ENTITY_FINDINGS]
    findings += relationship_findings[: MAX_FINDINGS - len(findings)]
    findings += entity_findings[ENTITY_FINDINGS:][: MAX_FINDINGS - len(findings)]
    return findings


def _entity_headline(entity: dict[str, Any]) -> str:
    """Entity title with its lower-cased type, e.g. "Softmax (concept)"."""
    kind = str(entity.get("type") or "").strip().lower()
    return f"{entity['title']} ({kind})" if kind else str(entity["title"])


def _rank(n_entities: int, total_weight: float) -> float:
    """Importance 0-10, log-scaled: singletons ~1.8, a few dozen heavy entities ~8-10."""
    score = 1.0 + 1.2 * math.log1p(n_entities) + 0.6 * math.log1p(max(total_weight, 0.0))
    return round(min(score, 10.0), 1)


def _sentences(text: Any, limit: int, max_sentences: int | None = None) -> str:
    """Leading whole sentences of a description within limit chars (whitespace collapsed).

    A first sentence longer than the limit is cut at a word boundary and marked with "…".
    """
    if not isinstance(text, str):
        return ""
    sentences = _SENTENCE_BREAK.split(" ".join(text.split()))
    if max_sentences is not None:
        sentences = sentences[:max_sentences]
    kept: list[str] = []
    for sentence in sentences:
        if len(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    return _clip(sentences[0], limit) if sentences[0] else ""


def _clip(text: str, limit: int) -> str:
    """Cut text to limit chars at a word boundary, marking the cut with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    """"1 entity", "3 entities"."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _join_names(names: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _as_list(value: Any) -> list[Any]:
    """List columns arrive as Python lists or, from parquet, numpy arrays (or null)."""
    return list(value) if isinstance(value, list | tuple | np.ndarray) else []


def _number(value: Any) -> float:
    """Numeric cell as float, with null/NaN as 0 so sorting and sums stay total."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number
