"""Local search, graphrag's way: entities found through their description vectors, then
their relationships, their communities' reports and their text units; plus direct vector
hits on text units. Ids are graphrag's human_readable_id (reports: the community number).

graphrag's LocalSearchMixedContext does this over DataFrames on every call; we precompute
the graph's adjacency once, so a query costs a few dictionary lookups after FAISS.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa_engine.embeddings import TokenEncoding
from qa_engine.index_store import IndexData
from qa_engine.sentences import normalize, sentence_spans, successors, unit_sentences

KIND_OF_TABLE = {"entities": "entities", "relationships": "relationships", "community_reports": "reports", "text_units": "sources"}
_STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be been by with as at from that this these those what which who whom "
    "whose why how when where does do did can could should would will it its into about than then there their them they "
    "used use using between difference explain describe".split()
)


_WORDS = re.compile(r"[\w-]+")


@dataclass(frozen=True)
class Query:
    text: str
    encoding: TokenEncoding
    weights: np.ndarray  # per query token: its word's IDF, 0 for stopwords and punctuation


def query_weights(text: str, spans: np.ndarray, idf: dict[str, float]) -> np.ndarray:
    """Rare words carry the question: each token weighs its word's inverse document frequency
    (stopwords nothing; words the corpus never uses the most). A word piece takes the weight
    of the whole word it belongs to."""
    words = [(m.start(), m.end(), m.group(0).lower()) for m in _WORDS.finditer(text)]
    top = max(idf.values(), default=1.0)
    weights = np.zeros(len(spans), dtype=np.float32)
    for i, (start, _) in enumerate(spans):
        word = next((w for s, e, w in words if s <= start < e), None)
        if word is not None and word not in _STOPWORDS:
            weights[i] = idf.get(word, top)
    return weights  # all zero for a question of stopwords only ("a"): nothing in it to match


def inverse_document_frequency(texts: list[str]) -> dict[str, float]:
    df = Counter(w for text in texts for w in set(_WORDS.findall(text.lower())))
    n = len(texts)
    return {w: float(np.log((n + 1) / (c + 0.5))) for w, c in df.items()}


@dataclass(frozen=True)
class Candidate:
    """A retrievable record: `kind` names its table, `row` its position there."""

    kind: str
    row: int
    similarity: float  # cosine of the question and the record's pooled vector


class Graph:
    """Adjacency of the index, built once per engine."""

    def __init__(self, index: IndexData):
        entities, relationships = index.entities, index.relationships
        self.entity_row = {t: i for i, t in enumerate(entities["title"])}
        entity_row_by_id = {e: i for i, e in enumerate(entities["id"])}
        self.relationships_of: dict[int, list[int]] = defaultdict(list)
        self.ends: list[tuple[int, int]] = []
        for r, (s, t) in enumerate(zip(relationships["source"], relationships["target"], strict=True)):
            ends = (self.entity_row.get(s, -1), self.entity_row.get(t, -1))
            self.ends.append(ends)
            for e in ends:
                if e >= 0:
                    self.relationships_of[e].append(r)
        report_row = {c: i for i, c in enumerate(index.reports["community"])}
        self.reports_of: dict[int, list[int]] = defaultdict(list)
        for community, ids in zip(index.tables["communities"]["community"], index.tables["communities"]["entity_ids"], strict=True):
            if community in report_row:
                for entity_id in ids:
                    if entity_id in entity_row_by_id:
                        self.reports_of[entity_row_by_id[entity_id]].append(report_row[community])
        unit_row = {u: i for i, u in enumerate(index.text_units["id"])}
        self.units_of = [[unit_row[u] for u in ids if u in unit_row] for ids in entities["text_unit_ids"]]
        self.relationship_row = {int(h): r for r, h in enumerate(relationships["human_readable_id"])}
        self.idf = inverse_document_frequency(index.text_units["text"].tolist())
        documents = index.documents["text"].fillna("").tolist()
        self.next_sentence = successors(documents)
        self.unit_sentences = _unit_sentences(index.text_units, dict(zip(index.documents["id"], documents, strict=True)))
        self.rel_weight = relationships["weight"].to_numpy(dtype=np.float32)
        self.rel_degree = relationships["combined_degree"].to_numpy(dtype=np.float32)


def _unit_sentences(units: pd.DataFrame, document_text: dict[str, str]) -> list[list[tuple[int, int, str]]]:
    """Per text unit: (start, end, whole sentence) for every sentence it holds part of."""
    texts = units["text"].fillna("").tolist()
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row, document in enumerate(units["document_id"]):
        rows_of[document].append(row)
    found = {}
    for document, rows in rows_of.items():
        whole = unit_sentences(document_text.get(document, ""), [texts[r] for r in rows])
        # not verbatim pieces of their document: each unit's own sentences, as cut
        whole = whole or [[(a, b, normalize(texts[r][a:b])) for a, b in sentence_spans(texts[r])] for r in rows]
        found.update(zip(rows, whole, strict=True))
    return [found[r] for r in range(len(texts))]


def local_search(index: IndexData, graph: Graph, query: Query, k_entities: int = 10, k_text_units: int = 8) -> list[Candidate]:
    """Candidates of every kind, in graphrag's local-search priority order."""
    vector = query.encoding.vector[None, :]
    entity_sims, entity_rows = _search(index, "entities", vector, k_entities)
    chosen = [int(r) for r in entity_rows]
    sim_of = {"entities": dict(zip(chosen, entity_sims, strict=True))}

    # relationships: inside the chosen set first, then out to the rest by weight and degree
    inside, outside = Counter(), Counter()
    chosen_set = set(chosen)
    for e in chosen:
        for r in graph.relationships_of[e]:
            s, t = graph.ends[r]
            (inside if s in chosen_set and t in chosen_set else outside)[r] += 1
    ranked_rels = sorted(inside, key=lambda r: -graph.rel_weight[r]) + sorted(
        outside, key=lambda r: (-outside[r], -graph.rel_weight[r], -graph.rel_degree[r])
    )
    ranked_rels = ranked_rels[: 3 * k_entities]

    # reports: communities holding the most chosen entities
    report_hits = Counter(rep for e in chosen for rep in set(graph.reports_of[e]))
    ranked_reports = [rep for rep, _ in report_hits.most_common(5)]

    # text units: those of the chosen entities, by entity rank; plus direct vector hits
    unit_sims, unit_rows = _search(index, "text_units", vector, k_text_units)
    sim_of["text_units"] = dict(zip((int(u) for u in unit_rows), unit_sims, strict=True))
    units = list(sim_of["text_units"])
    for e in chosen:
        units.extend(graph.units_of[e][:2])
    units = list(dict.fromkeys(units))[: 2 * k_text_units]

    candidates = [Candidate("entities", e, float(sim_of["entities"][e])) for e in chosen]
    candidates += [Candidate("relationships", r, _relationship_cosine(index, graph, r, vector)) for r in ranked_rels]
    candidates += [Candidate("community_reports", r, _cosine(index, "community_reports", r, vector)) for r in ranked_reports]
    candidates += [
        Candidate("text_units", u, float(sim_of["text_units"].get(u, _cosine(index, "text_units", u, vector)))) for u in units
    ]
    return candidates


def _search(index: IndexData, kind: str, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    store = index.vectors[kind]
    if store.ntotal == 0 or k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    sims, rows = store.search(vector, min(k, store.ntotal))
    keep = rows[0] >= 0
    return sims[0][keep], rows[0][keep]


def _cosine(index: IndexData, kind: str, row: int, vector: np.ndarray) -> float:
    return float(index.tokens[kind].pooled[row] @ vector[0])


def _relationship_cosine(index: IndexData, graph: Graph, row: int, vector: np.ndarray) -> float:
    """A relationship is as close to the question as the entities it connects."""
    ends = [e for e in graph.ends[row] if e >= 0]
    return float(np.mean([_cosine(index, "entities", e, vector) for e in ends])) if ends else 0.0
