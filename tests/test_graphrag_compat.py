"""Both directions of compatibility with Microsoft graphrag 3.3.0.

- ours in graphrag's: graphrag's own query adapters and local-search context builder read
  our index (tables, FAISS entity store) as if `graphrag index` had written it;
- graphrag's in ours: an index written by graphrag's own *standard* pipeline (no workflow
  of ours) loads in `QAEngine` and answers with citations into its rows.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest
from graphrag.query.indexer_adapters import (
    read_indexer_entities,
    read_indexer_relationships,
    read_indexer_reports,
    read_indexer_text_units,
)
from graphrag.query.structured_search.local_search.mixed_context import LocalSearchMixedContext
from graphrag_llm.config.tokenizer_config import TokenizerConfig
from graphrag_llm.embedding import create_embedding
from graphrag_llm.tokenizer.tokenizer_factory import create_tokenizer

from qa_engine import QAEngine
from qa_engine.vector_store import FaissVectorStore
from qa_engine.workflows import SentenceTransformerEmbedding, register_all

QUESTION = "What does multi-head attention do?"


def _tables(index: Path) -> dict[str, pd.DataFrame]:
    names = ("entities", "relationships", "communities", "community_reports", "text_units")
    return {name: pd.read_parquet(index / f"{name}.parquet") for name in names}


def _records(result, name: str) -> pd.DataFrame:
    return result.context_records.get(name, pd.DataFrame())


# ------------------------------------------------------------------ ours in graphrag's


def test_graphrag_local_search_context_reads_our_index(fixture_index, fixture_settings):
    """graphrag's adapters + LocalSearchMixedContext over our tables, with our FAISS store as
    graphrag's entity vector store and our sentence-transformer as its text embedder."""
    tables = _tables(fixture_index)
    level = int(tables["communities"]["level"].max())
    entities = read_indexer_entities(tables["entities"], tables["communities"], community_level=level)
    reports = read_indexer_reports(tables["community_reports"], tables["communities"], community_level=level)
    relationships = read_indexer_relationships(tables["relationships"])
    text_units = read_indexer_text_units(tables["text_units"])
    assert len(entities) == len(tables["entities"])
    assert reports and relationships and text_units

    store = FaissVectorStore(db_uri=str(fixture_index), index_name="entity_description", vector_size=384)
    store.connect()
    assert store.count() == len(tables["entities"])

    register_all()
    tokenizer = create_tokenizer(TokenizerConfig(type="tiktoken", encoding_name="cl100k_base"))
    model_config = fixture_settings.graphrag.get_embedding_model_config(
        fixture_settings.graphrag.embed_text.embedding_model_id
    )
    embedder = create_embedding(model_config, tokenizer=tokenizer)
    assert isinstance(embedder, SentenceTransformerEmbedding)
    assert len(embedder.embedding(input=[QUESTION]).first_embedding) == 384

    builder = LocalSearchMixedContext(
        entities=entities,
        entity_text_embeddings=store,
        text_embedder=embedder,
        text_units=text_units,
        community_reports=reports,
        relationships=relationships,
        tokenizer=tokenizer,
    )
    # the parameters graphrag's own local search passes (graphrag.query.factory.get_local_search_engine)
    local = fixture_settings.graphrag.local_search
    result = builder.build_context(
        QUESTION,
        text_unit_prop=local.text_unit_prop,
        community_prop=local.community_prop,
        top_k_mapped_entities=local.top_k_entities,
        top_k_relationships=local.top_k_relationships,
        include_entity_rank=True,
        include_relationship_weight=True,
        include_community_rank=False,
        max_context_tokens=local.max_context_tokens,
    )

    text = result.context_chunks
    for section in ("-----Entities-----", "-----Relationships-----", "-----Sources-----", "-----Reports-----"):
        assert section in text, section
    by_hrid = dict(zip(tables["entities"]["human_readable_id"].astype(str), tables["entities"]["title"], strict=True))

    in_context = _records(result, "entities")
    assert len(in_context) > 0
    # context ids are our human_readable_ids, with our titles, and the titles are in the prompt text
    assert set(in_context["id"]) <= set(by_hrid)
    assert all(by_hrid[i] == t for i, t in zip(in_context["id"], in_context["entity"], strict=True))
    assert all(title in text for title in in_context["entity"])
    # semantic entity mapping through our FAISS store found the entity the question names
    assert "MULTI-HEAD ATTENTION" in set(in_context["entity"])

    rel_ids = set(tables["relationships"]["human_readable_id"].astype(str))
    assert len(_records(result, "relationships")) > 0
    assert set(_records(result, "relationships")["id"]) <= rel_ids
    unit_ids = set(tables["text_units"]["human_readable_id"].astype(str))
    assert len(_records(result, "sources")) > 0
    assert set(_records(result, "sources")["id"]) <= unit_ids
    community_ids = set(tables["community_reports"]["community"].astype(str))
    assert len(_records(result, "reports")) > 0
    assert set(_records(result, "reports")["id"]) <= community_ids


# ------------------------------------------------------------------ graphrag's in ours

DOCUMENT = """Scaled dot-product attention

The Transformer of Vaswani et al. relies on scaled dot-product attention. Queries are compared with keys,
the scores are divided by the square root of the key dimension, and a softmax turns them into attention
weights over the values. Multi-head attention runs several attention heads in parallel and concatenates
their outputs.
"""

ENTITIES = [
    ("TRANSFORMER", "MODEL", "The Transformer is a sequence model built entirely on attention."),
    ("MULTI-HEAD ATTENTION", "ATTENTION_MECHANISM", "Multi-head attention runs several attention heads in parallel and concatenates their outputs."),
    ("SCALED DOT-PRODUCT ATTENTION", "ATTENTION_MECHANISM", "Scaled dot-product attention divides query-key scores by the square root of the key dimension."),
    ("SOFTMAX", "TECHNIQUE", "The softmax turns attention scores into attention weights over the values."),
]
RELATIONSHIPS = [
    ("TRANSFORMER", "MULTI-HEAD ATTENTION", "The Transformer uses multi-head attention in every layer", 9),
    ("MULTI-HEAD ATTENTION", "SCALED DOT-PRODUCT ATTENTION", "Each head of multi-head attention computes scaled dot-product attention", 8),
    ("SCALED DOT-PRODUCT ATTENTION", "SOFTMAX", "Scaled dot-product attention normalizes its scores with a softmax", 7),
]
# graphrag's graph-extraction output format (prompts/index/extract_graph.py, parsed by
# index/operations/extract_graph/graph_extractor.py): tuples split by <|>, records by ##
EXTRACTION = (
    "\n##\n".join(
        [f'("entity"<|>{name}<|>{kind}<|>{description})' for name, kind, description in ENTITIES]
        + [f'("relationship"<|>{s}<|>{t}<|>{description}<|>{w})' for s, t, description, w in RELATIONSHIPS]
    )
    + "\n<|COMPLETE|>"
)
# graphrag's community report (CommunityReportResponse, structured output)
REPORT = json.dumps(
    {
        "title": "Transformer attention",
        "summary": "The Transformer builds on multi-head attention, whose heads compute scaled dot-product attention.",
        "findings": [
            {"summary": "Multi-head attention", "explanation": "Multi-head attention runs several heads in parallel."},
            {"summary": "Scaling", "explanation": "Scores are divided by the square root of the key dimension."},
        ],
        "rating": 7.5,
        "rating_explanation": "Central to how the Transformer attends.",
    }
)


def _mock(response: str) -> dict:
    return {"type": "mock", "model_provider": "mock", "model": "mock-chat", "mock_responses": [response]}


@pytest.fixture(scope="module")
def graphrag_index(tmp_path_factory, fixture_settings) -> Path:
    """An index written by graphrag's own standard pipeline (`method="standard"`: graphrag's
    document loading, chunking, LLM graph extraction, description summaries, clustering, LLM
    community reports, text embeddings), offline: graphrag's `type: mock` completion models
    answer in graphrag's own formats, embeddings are our registered `sentence_transformer`
    model and vectors go to our registered `faiss` store. No workflow of ours runs."""
    from graphrag.api import build_index
    from graphrag.config.models.graph_rag_config import GraphRagConfig

    root = tmp_path_factory.mktemp("graphrag_standard")
    (root / "input").mkdir()
    (root / "input" / "attention.txt").write_text(DOCUMENT, encoding="utf-8")
    embedding = fixture_settings.graphrag.get_embedding_model_config("default_embedding_model")
    config = GraphRagConfig.model_validate(
        {
            "completion_models": {
                "default_completion_model": _mock(EXTRACTION),  # extract_graph's default model id
                "summarize": _mock("A summary of the entity."),
                "report": _mock(REPORT),
            },
            "embedding_models": {"default_embedding_model": embedding.model_dump()},
            "input": {"type": "text"},
            "input_storage": {"type": "file", "base_dir": str(root / "input")},
            "output_storage": {"type": "file", "base_dir": str(root / "output")},
            "reporting": {"type": "file", "base_dir": str(root / "logs")},
            "cache": {"type": "json", "storage": {"type": "file", "base_dir": str(root / "cache")}},
            "vector_store": {"type": "faiss", "db_uri": str(root / "output"), "vector_size": 384},
            "chunking": {"type": "tokens", "size": 200, "overlap": 20, "encoding_model": "cl100k_base"},
            "extract_graph": {"max_gleanings": 0},
            "summarize_descriptions": {"completion_model_id": "summarize"},
            "community_reports": {"completion_model_id": "report"},
            "extract_claims": {"enabled": False},
        }
    )
    register_all()  # our `sentence_transformer` and `faiss`; the standard pipeline is graphrag's own
    outputs = asyncio.run(build_index(config, method="standard"))
    assert [o.error for o in outputs if o.error] == []
    assert [o.workflow for o in outputs] == [
        "load_input_documents",
        "create_base_text_units",
        "create_final_documents",
        "extract_graph",
        "finalize_graph",
        "extract_covariates",
        "create_communities",
        "create_final_text_units",
        "create_community_reports",
        "generate_text_embeddings",
    ]
    return root / "output"


def test_graphrag_standard_index_loads_and_answers(graphrag_index, fixture_settings):
    assert not (graphrag_index / "manifest.json").exists()
    assert not list(graphrag_index.glob("*_tokens.*")), "graphrag wrote token stores of ours?"
    entities = pd.read_parquet(graphrag_index / "entities.parquet")
    assert sorted(entities["title"]) == sorted(name for name, _, _ in ENTITIES)

    engine = QAEngine.load(graphrag_index, fixture_settings)
    assert any("computed on load" in w for w in engine.index.warnings), engine.index.warnings
    answer = engine.ask(QUESTION)

    assert not answer.abstained, answer.text
    assert "multi-head attention" in answer.text.lower(), answer.text
    cited = answer.citations
    assert not cited.is_empty()
    index = engine.index
    assert set(cited.entities) <= set(index.entities["human_readable_id"])
    assert set(cited.relationships) <= set(index.relationships["human_readable_id"])
    assert set(cited.reports) <= set(index.reports["community"])
    assert set(cited.sources) <= set(index.text_units["human_readable_id"])
    # every piece of evidence is a row of this index, under its own title
    titles = {
        "entities": dict(zip(index.entities["human_readable_id"], index.entities["title"], strict=True)),
        "reports": dict(zip(index.reports["community"], index.reports["title"], strict=True)),
    }
    for evidence in answer.evidence:
        if evidence.kind in titles:
            assert titles[evidence.kind][evidence.id] == evidence.title, evidence
    assert "MULTI-HEAD ATTENTION" in {e.title for e in answer.evidence if e.kind == "entities"}
