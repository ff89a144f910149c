"""Offline graph extraction for attention literature: entities and relationships without an LLM.

graphrag's "fast" method finds noun phrases with NLTK/spaCy, which need downloads. The stages:
qa_engine.prose (text units to whole sentences), qa_engine.terms (which terms exist),
qa_engine.aliases (which spellings are one), qa_engine.entity_types, qa_engine.descriptions
(corpus sentences that define each entity) and qa_engine.relations (entities named together).
"""

from __future__ import annotations

import pandas as pd

from qa_engine.descriptions import describe, sentence_quality
from qa_engine.prose import text_unit_sentences
from qa_engine.relations import RELATIONSHIP_COLUMNS, relationships_of
from qa_engine.terms import find_entities

ENTITY_COLUMNS = ["title", "type", "description", "text_unit_ids", "frequency"]



def extract_graph(text_units: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entities and relationships of the text units, shaped as graphrag's extract_graph writes them.

    text_units needs `id` and `text`. Entities: title, type, description, text_unit_ids, frequency
    (number of text units naming it). Relationships: source, target, description, weight,
    text_unit_ids; a pair named in one sentence weighs 1.0 per sentence, in adjacent sentences 0.5.
    """
    unit_ids = [str(i) for i in text_units["id"]]
    texts = [t if isinstance(t, str) else "" for t in text_units["text"]]
    sentences = text_unit_sentences(texts)
    entities = find_entities(sentences)
    quality = [sentence_quality(s.text) for s in sentences]

    rows = []
    for entity in entities:
        description = describe(entity.mentions, sentences, quality)
        if len(description) > 20:
            units = sorted({u for sid, _, _ in entity.mentions for u in sentences[sid].units})
            rows.append((entity, [unit_ids[u] for u in units], description))
    kept = [entity for entity, _, _ in rows]
    entities_df = pd.DataFrame([(e.title, e.type, d, ids, len(ids)) for e, ids, d in rows], columns=ENTITY_COLUMNS)
    return entities_df, relationships_of(kept, sentences, quality, unit_ids)
