"""Papers' authors as graph entities, so "who proposed X" is answered from papers.

Ingestion reads each PDF's authors, title and abstract (documents.raw_data), and those of the
paper a README presents (its BibTeX entry, with the README's sentence naming it). An author
becomes a PERSON entity, linked to the paper's main contributions: the extracted entities
that its title or abstract name. Nothing is added for documents without authors.
"""

from __future__ import annotations

import re

import pandas as pd

from qa_engine.descriptions import joined

MAX_CONTRIBUTIONS = 8  # the ones the paper's own text names most often
MAX_COAUTHORS = 3  # named in each author's sentence; more are counted
# the sentences written here: they say who wrote a paper and nothing of how its method works
AUTHORSHIP = re.compile(r'^The paper ".+" is by |^[^,.]+ is an author\b')


def add_authors(
    entities: pd.DataFrame, relationships: pd.DataFrame, documents: pd.DataFrame, text_units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """entities and relationships (graphrag's extract_graph shape) with the papers' authors added."""
    unit_text = dict(zip(text_units["id"], text_units["text"], strict=True))
    known = {str(t).lower(): str(t) for t in entities["title"]}  # a person the text already names keeps that entity
    people: dict[str, dict] = {}
    links: list[dict] = []
    bylines: dict[str, str] = {}  # the paper's main contribution -> who wrote the paper, in one sentence
    for title, raw, unit_ids in zip(documents["title"], documents["raw_data"], documents["text_unit_ids"], strict=True):
        authors = [str(a) for a in raw.get("authors", [])] if isinstance(raw, dict) and raw.get("authors") is not None else []
        if not authors:
            continue
        units = [str(u) for u in unit_ids]
        title = raw.get("paper") or title  # a README presenting a paper: that paper's title
        front = f"{title} {raw.get('abstract') or ''}".lower()
        contributions = _contributions(entities, set(units), front)
        presents = f", which presents {', '.join(contributions)}" if contributions else ""
        if contributions:  # "Who wrote the KIVI paper?" is answered by every author at once
            bylines[contributions[0]] = f'The paper "{title}" is by {_listing(authors)}.'
        for author in authors:
            named_in = [u for u in units if author in unit_text.get(u, "")] or units[:1]
            name = known.get(author.lower(), author)
            person = people.setdefault(name, {"title": name, "type": "PERSON", "description": [], "text_unit_ids": []})
            person["description"].append(f'{author} is an author{_with(author, authors)} of the paper "{title}"{presents}.')
            person["text_unit_ids"] += [u for u in named_in if u not in person["text_unit_ids"]]
            links += [
                {"source": name, "target": contribution, "weight": 1.0, "text_unit_ids": units[:1],
                 "description": f'{author} is an author of "{title}", whose title and abstract present {contribution}.'}
                for contribution in contributions
            ]
    if not people:
        return entities, relationships
    entities = entities.copy()
    for i, title in zip(entities.index, entities["title"], strict=True):
        if title in bylines:
            entities.at[i, "description"] = joined([entities.at[i, "description"], bylines[title]])
    rows = {t: i for i, t in zip(entities.index, entities["title"], strict=True)}
    for name, person in people.items():
        if name in rows:  # named in the text too: its authorship joins what the text says of it
            i = rows[name]
            entities.at[i, "description"] = joined([entities.at[i, "description"], *person["description"]])
            entities.at[i, "text_unit_ids"] = list(dict.fromkeys([*entities.at[i, "text_unit_ids"], *person["text_unit_ids"]]))
            entities.at[i, "frequency"] = len(entities.at[i, "text_unit_ids"])
            entities.at[i, "type"] = "PERSON"  # an author is a person, whatever the text's wording suggested
    added = pd.DataFrame(
        [{**p, "description": " ".join(p["description"]), "frequency": len(p["text_unit_ids"])} for n, p in people.items() if n not in rows]
    )
    return pd.concat([entities, added], ignore_index=True), pd.concat([relationships, pd.DataFrame(links)], ignore_index=True)


def _contributions(entities: pd.DataFrame, units: set[str], front: str) -> list[str]:
    """Entities of this paper that its title or abstract names, most frequent first."""
    found = []
    for title, unit_ids in zip(entities["title"], entities["text_unit_ids"], strict=True):
        mine = units.intersection(str(u) for u in unit_ids)
        # "head" inside "multi-head" names no HEAD
        if mine and re.search(rf"(?<![\w-]){re.escape(str(title).lower())}(?![\w-])", front):
            found.append((len(mine), str(title)))
    return [title for _, title in sorted(found, key=lambda f: (-f[0], f[1]))[:MAX_CONTRIBUTIONS]]


def _with(author: str, authors: list[str]) -> str:
    """', with Charles Staats,': "whose paper ...?" is answered with every author by each one's sentence."""
    others = [a for a in authors if a != author]
    if not others:
        return ""
    named = others[:MAX_COAUTHORS] + ([f"{len(others) - MAX_COAUTHORS} others"] if len(others) > MAX_COAUTHORS else [])
    return f", with {_listing(named)},"


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
