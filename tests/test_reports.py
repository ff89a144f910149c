"""Extractive community reports over a small real graph clustered by graphrag itself."""

import asyncio
import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from graphrag.data_model.schemas import (
    COMMUNITY_REPORTS_FINAL_COLUMNS,
    ENTITIES_FINAL_COLUMNS,
    RELATIONSHIPS_FINAL_COLUMNS,
)
from graphrag.index.operations.finalize_community_reports import (
    finalize_community_reports,
)
from graphrag.index.operations.summarize_communities.community_reports_extractor import (
    CommunityReportResponse,
    CommunityReportsExtractor,
)
from graphrag.index.workflows.create_communities import create_communities
from graphrag.query.indexer_adapters import read_indexer_reports
from graphrag_storage.memory_storage import MemoryStorage
from graphrag_storage.tables.parquet_table_provider import ParquetTableProvider

from qa_engine.reports import build_community_reports

LONG_TRANSFORMER = (
    "The Transformer is a sequence transduction model based entirely on attention, "
    "dispensing with recurrence and convolutions entirely. "
    "It was introduced by Vaswani et al. (2017) for machine translation and achieved "
    "28.4 BLEU on the WMT 2014 English-to-German task. "
    "Its encoder and decoder are stacks of identical layers, each combining multi-head "
    "self-attention with a position-wise fully connected feed-forward network. "
    "Because it has no recurrence, it can be trained with far more parallelism than "
    "recurrent encoder-decoder models. "
    "Residual connections and layer normalization surround every sub-layer of the stack."
)

# (title, type, description, frequency)
ENTITIES = [
    ("Multi-Head Attention", "CONCEPT",
     "Multi-head attention runs several attention functions in parallel over learned "
     "projections of queries, keys and values. The outputs are concatenated and "
     "projected again.", 6),
    ("Scaled Dot-Product Attention", "CONCEPT",
     "Scaled dot-product attention computes dot products of queries with keys, divides "
     "them by the square root of the key dimension and applies a softmax.", 5),
    ("Queries", "CONCEPT", "Queries are vectors that are matched against keys.", 3),
    ("Keys", "CONCEPT", "Keys are vectors that queries are compared with.", 3),
    ("Values", "CONCEPT", "Values are vectors averaged with the attention weights.", 3),
    ("Softmax", "METHOD", "Softmax turns scores into a probability distribution.", 2),
    ("Transformer", "MODEL", LONG_TRANSFORMER, 4),
    ("Bahdanau Attention", "METHOD",
     "Bahdanau attention is an additive attention mechanism for neural machine "
     "translation. It lets the decoder soft-search the source sentence.", 3),
    ("RNN Encoder-Decoder", "MODEL",
     "The RNN encoder-decoder encodes a source sentence into a fixed-length vector.", 2),
    ("Alignment Model", "CONCEPT",
     "The alignment model scores how well inputs around a position match an output.", 2),
    ("Context Vector", "CONCEPT",
     "The context vector is a weighted sum of encoder annotations.", 2),
]

# (source, target, description, weight)
RELATIONSHIPS = [
    ("Multi-Head Attention", "Scaled Dot-Product Attention",
     "Multi-head attention applies scaled dot-product attention once per head.", 9.0),
    ("Multi-Head Attention", "Queries", "Multi-head attention projects the queries.", 6.0),
    ("Multi-Head Attention", "Keys", "Multi-head attention projects the keys.", 6.0),
    ("Multi-Head Attention", "Values", "Multi-head attention projects the values.", 6.0),
    ("Scaled Dot-Product Attention", "Queries",
     "Scaled dot-product attention takes the dot product of queries and keys.", 7.0),
    ("Scaled Dot-Product Attention", "Keys",
     "Keys are scaled by the square root of their dimension.", 7.0),
    ("Scaled Dot-Product Attention", "Softmax",
     "Scaled dot-product attention applies a softmax to obtain weights on the values.",
     8.0),
    ("Scaled Dot-Product Attention", "Values",
     "The attention weights average the values.", 5.0),
    ("Queries", "Keys", "Each query is compared with every key.", 4.0),
    ("Transformer", "Multi-Head Attention",
     "The Transformer uses multi-head attention in its encoder and decoder.", 10.0),
    ("Bahdanau Attention", "RNN Encoder-Decoder",
     "Bahdanau attention extends the RNN encoder-decoder with attention.", 3.0),
    ("Bahdanau Attention", "Alignment Model",
     "Bahdanau attention uses an alignment model to score positions.", 2.0),
    ("Alignment Model", "Context Vector",
     "The alignment model's weights build the context vector.", 2.0),
    ("Bahdanau Attention", "Context Vector",
     "Bahdanau attention computes a context vector for each target word.", 2.0),
    ("Transformer", "RNN Encoder-Decoder",
     "The Transformer replaces the RNN encoder-decoder.", 1.0),
]


def entities_table() -> pd.DataFrame:
    """graphrag's final entities table, degree counted over RELATIONSHIPS as graphrag does."""
    degree = {title: 0 for title, *_ in ENTITIES}
    for source, target, *_ in RELATIONSHIPS:
        degree[source] += 1
        degree[target] += 1
    rows = [
        {
            "id": f"e{i}",
            "human_readable_id": i,
            "title": title,
            "type": kind,
            "description": description,
            "text_unit_ids": [f"t{i}"],
            "frequency": frequency,
            "degree": degree[title],
        }
        for i, (title, kind, description, frequency) in enumerate(ENTITIES)
    ]
    return pd.DataFrame(rows, columns=ENTITIES_FINAL_COLUMNS)


def relationships_table() -> pd.DataFrame:
    """graphrag's final relationships table."""
    degree = entities_table().set_index("title")["degree"]
    rows = [
        {
            "id": f"r{i}",
            "human_readable_id": i,
            "source": source,
            "target": target,
            "description": description,
            "weight": weight,
            "combined_degree": int(degree[source] + degree[target]),
            "text_unit_ids": [f"t{i}"],
        }
        for i, (source, target, description, weight) in enumerate(RELATIONSHIPS)
    ]
    return pd.DataFrame(rows, columns=RELATIONSHIPS_FINAL_COLUMNS)


def communities_table(max_cluster_size: int) -> pd.DataFrame:
    """Communities exactly as graphrag's create_communities writes and re-reads them (parquet)."""

    async def run() -> pd.DataFrame:
        provider = ParquetTableProvider(MemoryStorage())
        await provider.write_dataframe("entities", entities_table())
        async with (
            provider.open("entities") as entities,
            provider.open("communities") as communities,
        ):
            await create_communities(
                communities,
                entities,
                relationships_table(),
                max_cluster_size=max_cluster_size,
                use_lcc=False,
                seed=0xDEADBEEF,
            )
        return await provider.read_dataframe("communities")

    return asyncio.run(run())


@pytest.fixture(scope="module", params=[10, 4], ids=["flat", "hierarchical"])
def graph(request):
    entities, relationships = entities_table(), relationships_table()
    communities = communities_table(request.param)
    reports = build_community_reports(communities, entities, relationships)
    return communities, entities, relationships, reports


def _members(community, entities):
    return entities[entities["id"].isin(list(community["entity_ids"]))]


def _links(community, relationships):
    return relationships[relationships["id"].isin(list(community["relationship_ids"]))]


def _report(reports, community) -> pd.Series:
    rows = reports[reports["community"] == community["community"]]
    assert len(rows) == 1
    return rows.iloc[0]


def test_graphrag_clustering_yields_list_columns_as_numpy_arrays(graph):
    communities, *_ = graph
    assert len(communities) >= 2
    assert isinstance(communities["entity_ids"].iloc[0], np.ndarray)


def test_hierarchical_fixture_has_more_than_one_level():
    assert communities_table(4)["level"].nunique() > 1


def test_one_report_per_community_with_summarize_columns(graph):
    communities, _, _, reports = graph
    assert list(reports.columns) == [
        "community", "level", "title", "summary", "full_content", "rank",
        "rating_explanation", "findings", "full_content_json",
    ]
    assert sorted(reports["community"]) == sorted(communities["community"])
    for _, community in communities.iterrows():
        report = _report(reports, community)
        assert isinstance(report["community"], int | np.integer)
        assert report["level"] == community["level"]
        assert isinstance(report["rank"], float)
        for column in ("title", "summary", "full_content", "rating_explanation"):
            assert isinstance(report[column], str) and report[column]


def test_finalize_community_reports_gives_graphrag_final_columns(graph):
    communities, _, _, reports = graph
    final = finalize_community_reports(reports, communities)
    assert list(final.columns) == COMMUNITY_REPORTS_FINAL_COLUMNS
    assert len(final) == len(communities)
    assert final["id"].is_unique
    assert final["size"].tolist() == [
        len(c) for c in communities.set_index("community").loc[final["community"], "entity_ids"]
    ]
    # graphrag's local-search loader accepts the finalized table.
    loaded = read_indexer_reports(final, communities, community_level=None)
    assert loaded and all(r.full_content.startswith("# ") for r in loaded)


def _hub(community, entities, relationships) -> pd.Series:
    """The member with most intra-community links, then highest frequency."""
    links = _links(community, relationships)
    local = pd.concat([links["source"], links["target"]]).value_counts()
    members = _members(community, entities).assign(
        local=lambda df: df["title"].map(local).fillna(0)
    )
    ranked = members.sort_values(["local", "frequency", "title"], ascending=[False, False, True])
    return ranked.iloc[0]


def test_title_names_most_connected_entity(graph):
    communities, entities, relationships, reports = graph
    for _, community in communities.iterrows():
        title = _report(reports, community)["title"]
        assert title.startswith(_hub(community, entities, relationships)["title"])
        assert len(title) <= 80 + len(f" (Community {community['community']})")
    assert reports["title"].is_unique


def test_multi_head_attention_community_is_titled_after_it(graph):
    communities, entities, _, reports = graph
    mha = entities.loc[entities["title"] == "Multi-Head Attention", "id"].iloc[0]
    root = communities[
        (communities["level"] == 0) & communities["entity_ids"].apply(lambda ids: mha in ids)
    ].iloc[0]
    assert _report(reports, root)["title"].startswith("Multi-Head Attention, ")


def test_findings_are_extracted_from_community_descriptions(graph):
    communities, entities, relationships, reports = graph
    for _, community in communities.iterrows():
        members = _members(community, entities)
        links = _links(community, relationships)
        sources = list(members["description"]) + list(links["description"])
        names = set(members["title"])
        findings = _report(reports, community)["findings"]
        assert 1 <= len(findings) <= 6
        if len(members) >= 3:
            assert len(findings) >= 3
        for finding in findings:
            assert set(finding) == {"summary", "explanation"}
            assert any(name in finding["summary"] for name in names)
            assert finding["explanation"]
            assert len(finding["explanation"]) <= 400
            assert any(finding["explanation"] in text for text in sources)
        # Hubs first: the first finding is about the community's most connected entity.
        hub = _hub(community, entities, relationships)
        assert findings[0] == {
            "summary": f"{hub['title']} ({hub['type'].lower()})",
            "explanation": hub["description"],
        }


def test_long_description_is_cut_at_a_sentence_boundary():
    entities, relationships = entities_table(), relationships_table()
    community = pd.DataFrame([{
        "community": 7, "level": 0, "title": "Community 7", "parent": -1, "children": [],
        "entity_ids": ["e6"], "relationship_ids": [],
    }])
    finding = build_community_reports(community, entities, relationships)["findings"][0][0]
    assert finding["summary"] == "Transformer (model)"
    assert LONG_TRANSFORMER.startswith(finding["explanation"])
    assert finding["explanation"].endswith(".")
    assert len(finding["explanation"]) <= 400 < len(LONG_TRANSFORMER)
    assert "Vaswani et al. (2017)" in finding["explanation"]


def test_relationships_follow_entities_strongest_first(graph):
    communities, entities, relationships, reports = graph
    root = communities.loc[communities["size"].idxmax()]
    findings = _report(reports, root)["findings"]
    by_description = relationships.set_index("description")["weight"]
    weights = [by_description[f["explanation"]] for f in findings if f["explanation"] in by_description]
    assert weights, "expected relationship findings in the largest community"
    assert weights == sorted(weights, reverse=True)
    assert weights[0] == _links(root, relationships)["weight"].max()
    kinds = ["rel" if f["explanation"] in by_description else "ent" for f in findings]
    assert kinds[:3] == ["ent"] * 3 and "ent" not in kinds[3 : 3 + len(weights)]


def test_full_content_matches_graphrag_rendering_of_json(graph):
    _, _, _, reports = graph
    extractor = CommunityReportsExtractor(model=None, extraction_prompt="", max_report_length=0)
    for _, report in reports.iterrows():
        parsed = CommunityReportResponse.model_validate_json(report["full_content_json"])
        assert parsed.title == report["title"]
        assert parsed.summary == report["summary"]
        assert parsed.rating == report["rank"]
        assert parsed.rating_explanation == report["rating_explanation"]
        assert [f.model_dump() for f in parsed.findings] == report["findings"]
        assert list(json.loads(report["full_content_json"])) == [
            "title", "summary", "findings", "rating", "rating_explanation",
        ]
        assert report["full_content"].startswith("# " + report["title"] + "\n\n")
        assert report["full_content"] == extractor._get_text_output(parsed)


def test_summary_describes_size_types_hubs_and_hub_description(graph):
    communities, entities, relationships, reports = graph
    for _, community in communities.iterrows():
        summary = _report(reports, community)["summary"]
        members = _members(community, entities)
        assert summary.startswith(f"This community groups {len(members)} entities and ")
        assert members["type"].str.lower().value_counts().index[0] in summary
        hub = _hub(community, entities, relationships)
        assert hub["title"] in summary
        assert summary.endswith(" " + hub["description"].split(". ")[0].rstrip(".") + ".")
        assert 2 <= summary.count(". ") + 1 <= 4


def test_rank_grows_with_size_and_weight(graph):
    communities, entities, relationships, reports = graph
    assert reports["rank"].between(0, 10).all()
    tiny = pd.DataFrame([{
        "community": 99, "level": 0, "title": "Community 99", "parent": -1, "children": [],
        "entity_ids": ["e5"], "relationship_ids": [],
    }])
    singleton = build_community_reports(tiny, entities, relationships).iloc[0]
    assert 1 <= singleton["rank"] <= 2
    assert singleton["findings"] == [
        {"summary": "Softmax (method)",
         "explanation": "Softmax turns scores into a probability distribution."}
    ]
    biggest = communities.loc[communities["size"].idxmax()]
    assert _report(reports, biggest)["rank"] > singleton["rank"]
    totals = {
        c["community"]: (len(c["entity_ids"]), _links(c, relationships)["weight"].sum())
        for _, c in communities.iterrows()
    }
    ranks = reports.set_index("community")["rank"]
    for a, (size_a, weight_a) in totals.items():
        for b, (size_b, weight_b) in totals.items():
            if size_a > size_b and weight_a > weight_b:
                assert ranks[a] > ranks[b]


def test_large_heavy_community_ranks_high():
    n = 40
    entities = pd.DataFrame({
        "id": [f"x{i}" for i in range(n)], "title": [f"Node {i}" for i in range(n)],
        "type": "CONCEPT", "description": [f"Node {i} is a node." for i in range(n)],
        "frequency": 1, "degree": 2,
    })
    relationships = pd.DataFrame({
        "id": [f"y{i}" for i in range(n)], "source": [f"Node {i}" for i in range(n)],
        "target": [f"Node {(i + 1) % n}" for i in range(n)],
        "description": [f"Node {i} links on." for i in range(n)], "weight": 5.0,
        "combined_degree": 4,
    })
    community = pd.DataFrame([{
        "community": 0, "level": 0, "title": "Community 0", "parent": -1, "children": [],
        "entity_ids": list(entities["id"]), "relationship_ids": list(relationships["id"]),
    }])
    report = build_community_reports(community, entities, relationships).iloc[0]
    assert 8 <= report["rank"] <= 10
    assert len(report["findings"]) == 6


def test_python_lists_and_numpy_arrays_give_the_same_reports(graph):
    communities, entities, relationships, reports = graph
    as_lists = communities.copy()
    for column in ("entity_ids", "relationship_ids", "children"):
        as_lists[column] = as_lists[column].apply(list)
    pd.testing.assert_frame_equal(
        build_community_reports(as_lists, entities, relationships), reports
    )


def test_deterministic(graph):
    communities, entities, relationships, reports = graph
    again = build_community_reports(
        communities.sample(frac=1, random_state=1).sort_index(),
        entities.sample(frac=1, random_state=2),
        relationships.sample(frac=1, random_state=3),
    )
    pd.testing.assert_frame_equal(again, reports)
    finals = [finalize_community_reports(r, communities)["id"].tolist() for r in (again, reports)]
    assert finals[0] == finals[1]


def test_empty_community_still_gets_a_report():
    community = pd.DataFrame([{
        "community": 3, "level": 1, "title": "Community 3", "parent": 0, "children": None,
        "entity_ids": None, "relationship_ids": np.array([], dtype=object),
    }])
    report = build_community_reports(community, entities_table(), relationships_table()).iloc[0]
    assert report["title"] == "Community 3"
    assert report["findings"] == []
    assert math.isclose(report["rank"], 1.0)


def test_repeated_titles_are_made_distinct_and_long_titles_stay_short():
    entities, relationships = entities_table(), relationships_table()
    long_name = "A Very Long Entity Name About Attention Mechanisms In Neural Translation"
    entities.loc[entities["title"] == "Queries", "title"] = long_name
    relationships = relationships.replace({"source": {"Queries": long_name}})
    relationships = relationships.replace({"target": {"Queries": long_name}})
    ids = ["e0", "e1", "e2"]
    rels = relationships.loc[
        relationships["source"].isin(entities.set_index("id").loc[ids, "title"])
        & relationships["target"].isin(entities.set_index("id").loc[ids, "title"]),
        "id",
    ].tolist()
    communities = pd.DataFrame([
        {"community": 0, "level": 0, "title": "Community 0", "parent": -1, "children": [1],
         "entity_ids": ids, "relationship_ids": rels},
        {"community": 1, "level": 1, "title": "Community 1", "parent": 0, "children": [],
         "entity_ids": ids, "relationship_ids": rels},
    ])
    titles = build_community_reports(communities, entities, relationships)["title"].tolist()
    assert titles[0] == "Multi-Head Attention and Scaled Dot-Product Attention"
    assert titles[1] == titles[0] + " (Community 1)"


def test_fast_on_a_realistic_index_size():
    n_entities, n_communities = 400, 100
    entities = pd.DataFrame({
        "id": [f"x{i}" for i in range(n_entities)],
        "title": [f"Entity {i}" for i in range(n_entities)],
        "type": ["CONCEPT", "MODEL", "METHOD", "PERSON"] * (n_entities // 4),
        "description": [f"Entity {i} is described here. It has a second sentence." for i in range(n_entities)],
        "frequency": [i % 7 for i in range(n_entities)],
        "degree": [i % 5 for i in range(n_entities)],
    })
    relationships = pd.DataFrame({
        "id": [f"y{i}" for i in range(2 * n_entities)],
        "source": [f"Entity {i % n_entities}" for i in range(2 * n_entities)],
        "target": [f"Entity {(i * 7 + 1) % n_entities}" for i in range(2 * n_entities)],
        "description": [f"Relationship {i} holds." for i in range(2 * n_entities)],
        "weight": [float(i % 9 + 1) for i in range(2 * n_entities)],
        "combined_degree": 3,
    })
    communities = pd.DataFrame([
        {"community": c, "level": c % 3, "title": f"Community {c}", "parent": -1, "children": [],
         "entity_ids": np.array([f"x{(c * 13 + k) % n_entities}" for k in range(40)]),
         "relationship_ids": np.array([f"y{(c * 17 + k) % (2 * n_entities)}" for k in range(60)])}
        for c in range(n_communities)
    ])
    start = time.perf_counter()
    reports = build_community_reports(communities, entities, relationships)
    assert time.perf_counter() - start < 1.0
    assert len(reports) == n_communities
