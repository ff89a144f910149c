"""Offline graph extraction: entities and relationships of any attention paper, without an LLM.

graphrag's "fast" method keeps every noun phrase as an entity, without type or description, and
joins those of one text unit. The stages here:
qa_engine.prose      text units to whole sentences (a chunk boundary never cuts one)
qa_engine.terms      which phrases are terms (spaCy parse, term-hood; the vocabulary as a prior)
qa_engine.aliases    which spellings are one entity (acronyms, plurals, hyphens, accents, case)
qa_engine.entity_types  a type for every entity, known or not
qa_engine.descriptions  corpus sentences that define each entity
qa_engine.relations  what the text says connects two entities
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from qa_engine.aliases import alias_table
from qa_engine.descriptions import describe, sentence_quality
from qa_engine.prose import text_unit_sentences
from qa_engine.relations import RELATIONSHIP_COLUMNS, relationships_of
from qa_engine.terms import find_entities, parse

ENTITY_COLUMNS = ["title", "type", "description", "text_unit_ids", "frequency"]
ALIAS_COLUMNS = ["title", "alias"]
__all__ = ["ALIAS_COLUMNS", "ENTITY_COLUMNS", "RELATIONSHIP_COLUMNS", "Graph", "extract_graph"]


class Graph(NamedTuple):
    entities: pd.DataFrame  # graphrag's extract_graph output: title, type, description, text_unit_ids, frequency
    relationships: pd.DataFrame  # source, target, description, weight, text_unit_ids
    aliases: pd.DataFrame  # the `entity_aliases` side table: title, alias


def extract_graph(text_units: pd.DataFrame) -> Graph:
    """Entities, relationships and aliases of the text units (`id`, `text`, optional `document_id`).

    Entities are as graphrag's extract_graph writes them (frequency: number of text units naming
    it); an entity without a readable sentence to describe it is left out, unless it is a name
    or a term its text introduces (`Entity.named`).
    """
    unit_ids = [str(i) for i in text_units["id"]]
    texts = [t if isinstance(t, str) else "" for t in text_units["text"]]
    documents = [str(d) for d in text_units["document_id"]] if "document_id" in text_units else [""] * len(texts)
    sentences = text_unit_sentences(texts, documents)
    docs = parse(sentences)
    entities = find_entities(sentences, docs)
    quality = [sentence_quality(s.text) for s in sentences]

    rows = []
    for entity in entities:
        description = describe(entity.mentions, sentences, quality, documents, entity.named)
        if len(description) > 20:
            units = sorted({u for sid, _, _ in entity.mentions for u in sentences[sid].units})
            rows.append((entity, [unit_ids[u] for u in units], description))
    kept = [entity for entity, _, _ in rows]
    entities_df = pd.DataFrame([(e.title, e.type, d, ids, len(ids)) for e, ids, d in rows], columns=ENTITY_COLUMNS)
    aliases = alias_table([e.title for e in kept], [e.aliases for e in kept])
    return Graph(entities_df, relationships_of(kept, sentences, docs, quality, unit_ids, documents), aliases)
