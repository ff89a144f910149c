"""Search: the candidate records a question's answer may come from.

Local search, graphrag's way: entities found through their description vectors, then their
relationships, their communities' reports and their text units; plus direct vector hits on
text units. Graph search (the default) seeds it with the entities the question names and
fuses vector, BM25 and Personalized PageRank rankings of the text units. Ids are graphrag's
human_readable_id (reports: the community number).

graphrag's LocalSearchMixedContext does this over DataFrames on every call; we build the
graph's adjacency, its networkx graph and the BM25 statistics once, so a query costs FAISS,
one PageRank over a graph of a few thousand nodes and some dictionary lookups.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache

import networkx as nx
import numpy as np
from rank_bm25 import BM25Okapi
from scipy import sparse

from qa_engine.index_store import IndexData
from qa_engine.question import FORM_WITHIN, NAME, STRICT_FORMS, Question, Term, refers_back, sentence_matches, word_set
from qa_engine.sentences import is_claim, normalize, successors, unmarked

KIND_OF_TABLE = {"entities": "entities", "relationships": "relationships", "community_reports": "reports", "text_units": "sources"}
DAMPING = 0.5  # HippoRAG's: a walk stays near its seeds
PASSAGE_SEED = 0.05  # HippoRAG 2's weight of the dense passage hits beside the entity seeds
PPR_VECTOR_SEEDS = 3  # a question that names no entity walks from its closest entity descriptions
TERM_UNITS = 2  # passages each compared term brings by itself
BRIDGE_KEEP = 6  # the text units a bridge is kept among: a 3000-token context's share holds ~7 chunks of 200 tokens
BRIDGE_AFTER = 3  # the documents of the first passages of the vector and BM25 rankings: what the text already finds
_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """BM25's words: lower-case word characters."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Candidate:
    """A retrievable record: `kind` names its table, `row` its position there."""

    kind: str
    row: int
    similarity: float  # cosine of the question and the record's pooled vector
    bridge: bool = False  # a passage the graph reaches in a document the text rankings miss
    form: bool = False  # a passage holding a sentence of the form of the answer (`form_units`)
    clauses: tuple[int, ...] = ()  # the parts of the question (clauses, compared terms) it is one of the own best passages of


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
        self.entities_in: list[list[int]] = [[] for _ in range(len(unit_row))]  # per text unit, the entities it names
        for e, units in enumerate(self.units_of):
            for u in units:
                self.entities_in[u].append(e)
        self.relationship_row = {int(h): r for r, h in enumerate(relationships["human_readable_id"])}
        self.unit_row = {int(h): r for r, h in enumerate(index.text_units["human_readable_id"])}  # a cited source's row
        documents = index.documents["text"].fillna("").tolist()
        self.next_sentence = successors(documents)
        self.previous_sentence = {b: a for a, b in reversed(self.next_sentence.items())}
        self.document_of = index.text_units["document_id"].tolist()  # per text unit
        self.units_in: dict[str, list[int]] = defaultdict(list)  # per document, its text units
        for row, document in enumerate(self.document_of):
            self.units_in[document].append(row)
        self.unit_sentences = index.unit_sentences
        self.origin_of = {  # a sentence as a description quotes it -> its first passage, and the sentence as written there
            unmarked(s): (u, s) for u in reversed(range(len(self.unit_sentences))) for _, _, s in self.unit_sentences[u]
        }
        self.rel_weight = relationships["weight"].to_numpy(dtype=np.float32)
        self.rel_degree = relationships["combined_degree"].to_numpy(dtype=np.float32)
        texts = index.text_units["text"].fillna("").tolist()
        self.bm25 = BM25Okapi([tokenize(t) for t in texts]) if texts else None
        self._bm25_scores = lru_cache(maxsize=16)(  # a few questions' texts: each array is one float per text unit
            lambda text: self.bm25.get_scores(tokenize(text)) if self.bm25 is not None else np.zeros(len(texts))
        )
        self.units_with: dict[str, set[int]] = defaultdict(set)
        for row, text in enumerate(texts):
            for word in word_set(text):
                self.units_with[word].add(row)
        self.network = _network(len(entities), self.ends, self.rel_weight, self.units_of, len(texts))
        self.transitions, self.dangling = _transitions(self.network)
        self.specificity = [1 / max(1, len(u)) for u in self.units_of]  # HippoRAG's node specificity
        self.documents_titled = [(d, word_set(str(t))) for d, t in zip(index.documents["id"], index.documents["title"], strict=True)]
        self.bare_titles = [  # a title's words, what its parentheses say aside: "Memory Efficient Attention Pytorch (obsolete)"
            (d, word_set(re.sub(r"\([^()]*\)", " ", str(t)))) for d, t in zip(index.documents["id"], index.documents["title"], strict=True)
        ]
        self.titles = {normalize(str(t)) for t in index.documents["title"]}  # a document's first line, when it is its title
        titled_words = dict(self.documents_titled)
        self.home_of = [  # the document whose title names the entity, else the one holding most of its passages
            max(Counter(self.document_of[u] for u in units).items(), key=lambda dc: (word_set(title) <= titled_words.get(dc[0], set()), dc[1]))[0]
            if units else None
            for title, units in zip(entities["title"], self.units_of, strict=True)
        ]
        self.names_of: dict[int, list[set[str]]] = defaultdict(list)  # entity row -> its title's and aliases' words
        for title, alias in [*((t, t) for t in entities["title"]), *index.aliases]:
            if title in self.entity_row:
                self.names_of[self.entity_row[title]].append(word_set(alias))

    def bm25_scores(self, text: str) -> np.ndarray:
        """Every text unit's BM25 score for the text: a question, its clauses and its terms'
        questions are each scored once, however many rankings read them."""
        return self._bm25_scores(text)

    def bm25_ranking(self, text: str, k: int) -> list[int]:
        """Text units by BM25 score, best first; those sharing no word with the text left out."""
        if self.bm25 is None:
            return []
        scores = self.bm25_scores(text)
        rows = np.argsort(-scores, kind="stable")[:k]
        return [int(r) for r in rows if scores[r] > 0]

    def walk(self, entities: list[int], passages: dict[int, float], k: int) -> list[int]:
        """Text units by Personalized PageRank from the entities (by specificity) and, lightly,
        the passages (by similarity): what the graph reaches from what the question names."""
        seeds = {e: self.specificity[e] for e in entities}
        total = sum(seeds.values())
        personalization = {e: w / total for e, w in seeds.items()} if total else {}
        offset, mass = len(self.units_of), sum(max(0.0, float(s)) for s in passages.values())
        for row, sim in passages.items():
            if mass > 0 and sim > 0:
                personalization[offset + row] = personalization.get(offset + row, 0.0) + PASSAGE_SEED * float(sim) / mass
        if not personalization:
            return []
        rank = _pagerank(self.transitions, self.dangling, personalization)
        units = offset + np.argsort(-rank[offset:], kind="stable")
        return [int(n) - offset for n in units[:k]]

    def bridges(self, walked: list[int], found: list[int]) -> list[int]:
        """The walk's passages from documents none of `found` is in: where the question's
        entities lead beyond the passages that match its words (the second hop of a multi-hop
        question: "Mamba follows the spirit of which project?" -> FlashAttention's README)."""
        documents = {self.document_of[u] for u in found}
        return [u for u in walked if self.document_of[u] not in documents] if documents else []

    def unnamed(self, unit: int, question: Question) -> list[int]:
        """The entities a passage names that the question does not: where its answer leads next
        ("... LongAlpaca models with StreamingLLM" -> StreamingLLM)."""
        return [e for e in self.entities_in[unit] if e not in question.entities]

    def units_naming(self, term: Term) -> set[int]:
        """Text units holding all the term's distinctive words, naming an entity inside it, or in
        one of its home documents (`homes`)."""
        rows = set.intersection(*(self.units_with.get(w, set()) for w in term.words)) if term.words else set()
        for e in term.entities:
            rows |= set(self.units_of[e])
        return rows.union(*(self.units_in[d] for d in self.homes(term)))

    def documents_named(self, question: Question) -> set[str]:
        """The documents a question names by their repository's name: "memory-efficient-attention-pytorch"
        is the README titled "Memory Efficient Attention Pytorch (obsolete)"."""
        named = [word_set(w) for w in question.identifiers]
        return {d for d, words in self.bare_titles if words and words in named}

    def homes(self, term: Term) -> set[str]:
        """The documents about a term: those whose title names it ("Reformer, the Efficient
        Transformer"), else the one holding most passages of each entity it names. Their
        sentences are about it even where they say "it"."""
        titled = {d for d, words in self.documents_titled if term.words and set(term.words) <= words}
        return titled or {self.home_of[e] for e in term.entities if self.home_of[e] is not None}


def _network(n_entities: int, ends: list[tuple[int, int]], weights: np.ndarray, units_of: list[list[int]], n_units: int) -> nx.Graph:
    """Entities (nodes 0..n-1) joined by their relationships (summed weights), each joined to
    the text units it occurs in (nodes n..): the graph HippoRAG walks."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n_entities + n_units))
    for (s, t), w in zip(ends, weights, strict=True):
        if s >= 0 and t >= 0 and s != t:
            previous = graph.get_edge_data(s, t, default={"weight": 0.0})["weight"]
            graph.add_edge(s, t, weight=previous + float(w))
    graph.add_edges_from((e, n_entities + u, {"weight": 1.0}) for e, units in enumerate(units_of) for u in units)
    return graph


def _transitions(network: nx.Graph) -> tuple[sparse.csr_array, np.ndarray]:
    """The walk's row-stochastic transition matrix and its dangling nodes, built once: networkx's
    `pagerank` rebuilds this matrix from the graph's dicts on every call: 94% of a question's
    graph search on the shipped corpus, 224 ms a walk at 4x its size (1.9 ms on this matrix)."""
    matrix = nx.to_scipy_sparse_array(network, nodelist=range(network.number_of_nodes()), weight="weight", dtype=float)
    out = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, out, out=np.zeros_like(out), where=out != 0)
    return sparse.csr_array(sparse.diags_array(scale) @ matrix), np.flatnonzero(out == 0)


def _pagerank(transitions: sparse.csr_array, dangling: np.ndarray, personalization: dict[int, float], tol: float = 1e-6) -> np.ndarray:
    """Personalized PageRank by power iteration, as `networkx.pagerank` computes it (its scipy
    method: dangling nodes jump as the personalization does; converged when the L1 change is
    under n * tol), on the matrix `_transitions` keeps."""
    n = transitions.shape[0]
    jump = np.zeros(n)
    for node, weight in personalization.items():
        jump[node] = weight
    jump /= jump.sum()
    rank = np.full(n, 1.0 / n)
    for _ in range(100):  # networkx's max_iter
        last = rank
        rank = DAMPING * (rank @ transitions + rank[dangling].sum() * jump) + (1 - DAMPING) * jump
        if np.abs(rank - last).sum() < n * tol:
            return rank
    raise nx.PowerIterationFailedConvergence(100)


def local_search(index: IndexData, graph: Graph, question: Question, k_entities: int = 10, k_text_units: int = 8) -> list[Candidate]:
    """Candidates of every kind, in graphrag's local-search priority order."""
    vector = question.encoding.vector[None, :]
    entity_sims, entity_rows = _search(index, "entities", vector, k_entities)
    chosen = [int(r) for r in entity_rows]
    unit_sims, unit_rows = _search(index, "text_units", vector, k_text_units)
    units = [int(u) for u in unit_rows]
    for e in chosen:
        units.extend(graph.units_of[e][:2])
    units = list(dict.fromkeys(units))[: 2 * k_text_units]
    return _candidates(index, graph, vector, chosen, units, _found(entity_rows, entity_sims, unit_rows, unit_sims))


def graph_search(index: IndexData, graph: Graph, question: Question, k_entities: int = 10, k_text_units: int = 8) -> list[Candidate]:
    """Local search seeded by the entities the question names, its text units fused from three
    rankings (reciprocal rank fusion): vector hits, BM25, and Personalized PageRank from those
    entities over the entity-relationship-text-unit graph (HippoRAG 2's walk). Each compared
    term brings its own best passages, so "A and B" finds B's document too."""
    vector = question.encoding.vector[None, :]
    entity_sims, entity_rows = _search(index, "entities", vector, k_entities)
    chosen = list(dict.fromkeys([*question.entities, *(int(r) for r in entity_rows)]))[:k_entities]  # named ones first
    unit_sims, unit_rows = _search(index, "text_units", vector, k_text_units)
    dense = [int(u) for u in unit_rows]
    lexical = graph.bm25_ranking(question.text, k_text_units)
    walked = graph.walk(question.entities or [int(r) for r in entity_rows[:PPR_VECTOR_SEEDS]], dict(zip(dense, unit_sims, strict=True)), k_text_units)
    units = reciprocal_rank_fusion([dense, lexical, walked])[: 2 * k_text_units]
    formed = set(form_units(graph, question, units)) if not question.parts else set()
    clause_of: dict[int, list[int]] = defaultdict(list)  # text unit -> the parts (clauses, terms) it is one of the best passages of
    for k, (term, part) in enumerate(question.asked_of_terms()):  # each ranked for its own question
        own = term_units(index, graph, term, part)[:TERM_UNITS]
        units += own
        for u in own:
            clause_of[u].append(k)
    previous: list[int] = []
    ranked: list[int] = []
    for k, clause in enumerate(() if question.terms else question.parts):  # "What is A and when is it used?": each clause's own passages
        own = [int(u) for u in _search(index, "text_units", clause.encoding.vector[None, :], k_text_units)[1]]
        rankings = [own, graph.bm25_ranking(clause.text, k_text_units)]
        hops: list[int] = []
        if previous and refers_back(clause.text):  # "Which method is it built on, and what does that method keep?"
            named = [e for u in previous for e in graph.unnamed(u, question)]
            rankings.append(graph.bridges(graph.walk(list(dict.fromkeys(named)), {}, k_text_units), previous))
            hops = hop_units(index, graph, question, k, ranked)
        fused = reciprocal_rank_fusion(rankings)
        answering = form_units(graph, clause, fused)  # and its first one with a sentence of the answer's form
        homed = home_units(index, graph, clause)
        units += fused[:TERM_UNITS] + answering[:1] + homed + hops
        formed.update(answering)
        for u in [*fused[:TERM_UNITS], *homed]:
            clause_of[u].append(k)
        for u in hops:  # kept apart: the clause's words alone may match other passages better
            clause_of[u].append(hop_group(question, k))
        previous, ranked = fused[:TERM_UNITS], fused[:k_text_units]
    if not question.terms and not question.parts:  # one question: what it asks of the names it names too
        for u in home_units(index, graph, question):
            units.append(u)
            clause_of[u].append(0)
    found = _found(entity_rows, entity_sims, unit_rows, unit_sims)
    candidates = _candidates(index, graph, vector, chosen, list(dict.fromkeys(units)), found)
    # a second hop starts from what the question names, not from entities its words happen to be near
    bridges = set(graph.bridges(walked, [*dense[:BRIDGE_AFTER], *lexical[:BRIDGE_AFTER]])) if question.entities else set()
    listed = {c.row for c in candidates if c.kind == "text_units"}
    candidates += [Candidate("text_units", u, found.get(("text_units", u)) or _cosine(index, "text_units", u, vector)) for u in bridges - listed]
    marked = bridges | formed | clause_of.keys()
    return [
        replace(c, bridge=c.row in bridges, form=c.row in formed, clauses=tuple(clause_of.get(c.row, ())))
        if c.kind == "text_units" and c.row in marked else c
        for c in candidates
    ]


def home_units(index: IndexData, graph: Graph, question: Question) -> list[int]:
    """For each entity the question names as a name, the passage of its home documents best for
    the question: "... what attention pattern does Mistral's own reference implementation use?"
    is answered where Mistral is at home, whatever else its words match."""
    named = [e for e in question.named_entities if graph.units_of[e]]
    return [term_units(index, graph, Term(index.entities["title"].iat[e], (), (e,)), question)[0] for e in named]


def hop_units(index: IndexData, graph: Graph, question: Question, k: int, previous: list[int]) -> list[int]:
    """For a clause about what the previous clause's answer names ("..., and what does that
    method keep in its cache?"), the passage best for it of the home of each entity that answer
    names (in `previous`, the previous clause's passages): the second hop of a question that
    says where to go only through its first answer."""
    return [
        term_units(index, graph, Term(index.entities["title"].iat[e], (), (e,)), question.parts[k])[0]
        for e in answer_names(index, graph, question, question.parts[k - 1], previous)
        if graph.units_of[e]
    ]


def hop_group(question: Question, k: int) -> int:
    """The clause group (`Candidate.clauses`) of clause k's hop passages, after the clauses' own."""
    return len(question.parts) + k


def answer_names(index: IndexData, graph: Graph, question: Question, clause: Question, units: list[int]) -> list[int]:
    """The named things (capitalized, CamelCase, acronyms) at home in another document that the
    sentence of `units` best answering `clause` names, the question not: "We support the
    inference of LongAlpaca models with StreamingLLM" answers "Which method is that built on?"
    with STREAMINGLLM; "BLOOM uses ALiBi by default!" leads nowhere else."""
    store, views, names, asked = index.tokens["text_units"], [], [], word_set(question.text)
    for u in units:
        spans, tokens = store.spans[u], store.unit(u)
        unnamed = [
            e for e in graph.unnamed(u, question)
            if graph.home_of[e] != graph.document_of[u] and not any(name <= asked for name in graph.names_of.get(e, []))
        ]
        for start, end, sentence in graph.unit_sentences[u]:
            inside = (spans[:, 0] >= start) & (spans[:, 1] <= end)
            if inside.any() and is_claim(sentence) and sentence not in graph.titles:
                proper = word_set(" ".join(NAME.findall(sentence)))
                views.append(tokens[inside].astype(np.float32))
                names.append([e for e in unnamed if any(name and name <= proper for name in graph.names_of.get(e, []))])
    return names[int(np.argmax(sentence_matches(clause, views)[0]))] if views else []


def form_units(graph: Graph, question: Question, ranked: list[int]) -> list[int]:
    """The ranked passages holding a sentence of the form of the answer ("X is given by $$...$$"),
    for the kinds only such a sentence answers: the best-scored of them stays in the context."""
    if question.kind not in STRICT_FORMS:
        return []
    return [u for u in ranked if any(question.satisfied_by(s) for _, _, s in graph.unit_sentences[u])]


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[int]:
    """Cormack et al.'s fusion: sum of 1/(k + rank) over the rankings that hold an item."""
    score: Counter = Counter()
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            score[item] += 1 / (k + rank)
    return [item for item, _ in score.most_common()]


def term_units(index: IndexData, graph: Graph, term: Term, part: Question) -> list[int]:
    """Text units that name a compared term, those of its home documents first, each group in
    the fused order of their closeness to the question asked of the term, its BM25 score and
    their place in the home documents (the opening says what the term is): the pooled vectors
    of one document's passages are too alike to tell them apart alone."""
    rows, homes = graph.units_naming(term), graph.homes(term)
    vector = part.encoding.vector[None, :]
    close = sorted(rows, key=lambda u: -_cosine(index, "text_units", u, vector))
    lexical = graph.bm25_scores(part.text)
    lead = [u for d in homes for u in graph.units_in[d] if u in rows]  # a document says what its subject is first
    fused = reciprocal_rank_fusion([close, sorted(rows, key=lambda u: -lexical[u]), lead])
    return sorted(fused, key=lambda u: graph.document_of[u] not in homes)  # stable: the fused order within each group


def cover_terms(graph: Graph, question: Question, candidates: list[Candidate], scores: np.ndarray) -> np.ndarray:
    """Lift the best-scored passage naming each compared term (of its home documents first) to
    the top of the text units: a compare answer needs evidence on every side, whatever the
    reranker prefers. The best-scored bridge is kept among the first BRIDGE_KEEP."""
    scores = np.asarray(scores, dtype=np.float32).copy()
    units = [i for i, c in enumerate(candidates) if c.kind == "text_units"]
    if not units:
        return scores
    top = float(max(scores[i] for i in units))
    clauses = sorted({k for i in units for k in candidates[i].clauses})
    kept_groups = [[i for i in units if candidates[i].bridge], [i for i in units if candidates[i].form]]
    kept_groups += [[i for i in units if k in candidates[i].clauses] for k in clauses]
    for kept in kept_groups:
        if kept:  # the best-scored way to another document, to a sentence of the answer's form, or to each clause's answer, stays in the context, as its last place holds it
            best = max(kept, key=lambda i: scores[i])
            ranked = sorted((float(scores[i]) for i in units), reverse=True)
            if len(ranked) > BRIDGE_KEEP and scores[best] < ranked[BRIDGE_KEEP - 1]:
                scores[best] = ranked[BRIDGE_KEEP - 1] + 1e-4
    for k in reversed(range(len(question.terms))):  # the first term ends highest
        term = question.terms[k]
        rows, homes = graph.units_naming(term), graph.homes(term)
        naming = [i for i in units if k in candidates[i].clauses] or [i for i in units if candidates[i].row in rows]  # its own passages first
        naming = [i for i in naming if graph.document_of[candidates[i].row] in homes] or naming  # its own document's first
        naming = [i for i in naming if any(is_claim(s) for _, _, s in graph.unit_sentences[candidates[i].row])] or naming  # one that says something: not a to-do list
        if naming:
            best = max(naming, key=lambda i: scores[i])
            top = scores[best] = max(top, float(scores[best])) + 1e-3
    return scores


def prefer_answer_forms(graph: Graph, question: Question, candidates: list[Candidate], scores: np.ndarray) -> np.ndarray:
    """A passage holding a sentence with the form of an answer (a name for "who", a quantity for
    "how many": `Question.satisfied_by`, for the kinds the answerer reads strictly) scores
    1/FORM_WITHIN of its score: classic QA's answer-type match, at the passage level."""
    scores = np.asarray(scores, dtype=np.float32).copy()
    if question.kind not in STRICT_FORMS:  # a connective ("because", "by using") is too common to tell passages apart
        return scores
    for i, c in enumerate(candidates):
        if c.kind == "text_units" and any(question.satisfied_by(s) for _, _, s in graph.unit_sentences[c.row]):
            scores[i] /= FORM_WITHIN
    return scores


def passage(index: IndexData, question: Question, row: int) -> Candidate:
    """A text unit as a candidate for the question, with its cosine to it."""
    return Candidate("text_units", row, _cosine(index, "text_units", row, question.encoding.vector[None, :]))


def _found(entity_rows, entity_sims, unit_rows, unit_sims) -> dict[tuple[str, int], float]:
    """FAISS's similarities of its hits, by (kind, row)."""
    found = {("entities", int(r)): float(s) for r, s in zip(entity_rows, entity_sims, strict=True)}
    return found | {("text_units", int(r)): float(s) for r, s in zip(unit_rows, unit_sims, strict=True)}


def _candidates(index, graph, vector, chosen: list[int], units: list[int], found: dict[tuple[str, int], float]) -> list[Candidate]:
    """The chosen entities, their relationships and reports, and the given text units."""
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
    ranked_rels = ranked_rels[: 3 * len(chosen)]

    # reports: communities holding the most chosen entities
    report_hits = Counter(rep for e in chosen for rep in set(graph.reports_of[e]))
    ranked_reports = [rep for rep, _ in report_hits.most_common(5)]

    def similarity(kind: str, row: int) -> float:
        return found.get((kind, row)) or _cosine(index, kind, row, vector)

    candidates = [Candidate("entities", e, similarity("entities", e)) for e in chosen]
    candidates += [Candidate("relationships", r, _relationship_cosine(index, graph, r, vector)) for r in ranked_rels]
    candidates += [Candidate("community_reports", r, _cosine(index, "community_reports", r, vector)) for r in ranked_reports]
    candidates += [Candidate("text_units", u, similarity("text_units", u)) for u in units]
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
