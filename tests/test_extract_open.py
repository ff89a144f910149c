"""Open-vocabulary extraction on a paper the vocabulary has never seen: names, acronyms, Unicode,
plurals and hyphens merged, types for unknown entities, relationships described by their verb."""

import pandas as pd
import pytest

from qa_engine.aliases import acronym_pairs, fold, key_term_recall
from qa_engine.domain import VOCABULARY
from qa_engine.extract import ALIAS_COLUMNS, extract_graph
from qa_engine.relations import PREDICATE_WEIGHT

# A made-up model ("Quokka") beside real names the vocabulary lacks (BigBird, Nyströmformer, ALiBi).
PAPER = pd.DataFrame(
    {
        "id": ["p1", "p2", "p3", "p4", "p5"],
        "document_id": ["quokka", "quokka", "quokka", "notes", "notes"],
        "text": [
            "# Quokka: Long Context without Softmax\n\n"
            "Quokka is a selective state space model for long documents. "
            "We compare Quokka with Nyströmformer and with BigBird on long inputs. "
            "Locality-sensitive hashing (LSH) groups similar keys into the same bucket.",
            "BigBird combines random attention with window attention and global tokens. "
            "Its key-value caches stay small, because Quokka keeps one state per layer. "
            "Random attention lets every token see a few tokens chosen at random.",
            "Attention with Linear Biases (ALiBi) adds a penalty to attention scores that grows with distance. "
            "With ALiBi, Quokka extrapolates to inputs longer than those it was trained on. "
            "The Nystromformer approximates softmax attention with landmark points.",
            "LSH attention, as used by the Reformer, hashes queries and keys with locality-sensitive hashing. "
            "During decoding, Quokka keeps a small key-value cache. "
            "Unlike transformers, state-space models keep a fixed-size state.",
            "Quokka uses ALiBi instead of positional embeddings. "
            "The Reformer replaces dot-product attention with LSH attention.",
        ],
    }
)
KNOWN = {term.title.lower() for term in VOCABULARY} | {f.lower() for term in VOCABULARY for f in term.forms}


@pytest.fixture(scope="module")
def graph():
    return extract_graph(PAPER)


def entity(graph, title: str) -> pd.Series:
    rows = graph.entities[graph.entities.title == title]
    assert len(rows) == 1, f"{title!r} found {len(rows)} times in {sorted(graph.entities.title)}"
    return rows.iloc[0]


def aliases_of(graph, title: str) -> set[str]:
    return set(graph.aliases.alias[graph.aliases.title == title])


def test_unknown_model_names_become_typed_entities(graph):
    for name in ("Quokka", "BigBird", "ALiBi"):
        assert name.lower() not in KNOWN  # the vocabulary does not know them: the parse found them
    quokka = entity(graph, "Quokka")
    assert quokka.type == "MODEL"  # "Quokka is a selective state space model"
    assert quokka.text_unit_ids == ["p1", "p2", "p3", "p4", "p5"]
    assert quokka.description.startswith("Quokka is a selective state space model")
    assert entity(graph, "Nyströmformer").type == "MODEL"  # the -former family
    assert entity(graph, "Random Attention").type == "ATTENTION_MECHANISM"  # its head noun
    assert entity(graph, "State-Space Model").type == "MODEL"
    assert set(graph.entities.type) <= {"ATTENTION_MECHANISM", "MODEL", "ARCHITECTURE_COMPONENT", "TECHNIQUE",
                                        "DATASET", "METRIC", "TASK", "PERSON", "ORGANIZATION", "CONCEPT"}


def test_unicode_plural_and_hyphen_spellings_merge(graph):
    assert entity(graph, "Nyströmformer").text_unit_ids == ["p1", "p3"]  # "Nystromformer" in p3
    assert "Nystromformer" in aliases_of(graph, "Nyströmformer")
    assert entity(graph, "Key-Value Cache").text_unit_ids == ["p2", "p4"]  # "key-value caches", "key-value cache"
    assert entity(graph, "State-Space Model").text_unit_ids == ["p1", "p4"]  # "state space model", "state-space models"
    assert not graph.entities.title.map(fold).duplicated().any()


def test_acronym_and_expansion_are_one_entity(graph):
    lsh = entity(graph, "LSH")
    assert lsh.text_unit_ids == ["p1", "p4"]
    assert lsh.type == "TECHNIQUE"  # the head noun of its expansion, "hashing"
    assert "Locality-sensitive hashing" in aliases_of(graph, "LSH")
    assert "Attention with Linear Biases" in aliases_of(graph, "ALiBi")
    assert "Locality-Sensitive Hashing" not in set(graph.entities.title)


def test_acronym_pairs_follow_schwartz_and_hearst():
    def pairs(text):
        return [(text[a:b], text[c:d]) for (a, b), (c, d) in acronym_pairs(text)]

    assert pairs("The Reformer uses locality-sensitive hashing (LSH) attention.") == [("locality-sensitive hashing", "LSH")]
    assert pairs("We propose Attention with Linear Biases (ALiBi), a simple method.") == [("Attention with Linear Biases", "ALiBi")]
    assert pairs("We use LSH (locality-sensitive hashing) here.") == [("locality-sensitive hashing", "LSH")]
    assert pairs("models (see Table 2) and the Transformer (Vaswani et al., 2017)") == []


def test_relationships_are_described_by_their_predicate(graph):
    rel = graph.relationships
    bigbird = rel[(rel.source == "BigBird") & (rel.target == "Random Attention")]
    assert len(bigbird) == 1
    row = bigbird.iloc[0]
    assert row.description.startswith("BigBird combines Random Attention. ")
    assert "BigBird combines random attention with window attention and global tokens." in row.description
    assert row.weight >= PREDICATE_WEIGHT
    reformer = rel[(rel.source == "Reformer") & (rel.target == "LSH Attention")].iloc[0]
    assert reformer.description.startswith("Reformer replaces with LSH Attention. ")
    # "uses ALiBi instead of positional embeddings": no predicate joins Quokka and positional encoding
    pair = rel[rel[["source", "target"]].apply(frozenset, axis=1) == frozenset({"Quokka", "Positional Encoding"})]
    assert not pair.description.str.contains("Quokka uses Positional").any()


def test_alias_table_has_its_columns_and_names_only_entities(graph):
    assert list(graph.aliases.columns) == ALIAS_COLUMNS
    assert set(graph.aliases.title) <= set(graph.entities.title)
    assert not graph.aliases.duplicated().any()


def test_key_term_recall_is_alias_aware():
    entities = pd.DataFrame({"title": ["LSH", "Nyströmformer", "KEY-VALUE CACHE"]})
    aliases = pd.DataFrame({"title": ["LSH"], "alias": ["locality-sensitive hashing"]})
    terms = [["Locality Sensitive Hashing"], ["Nystromformer"], ["KV cache", "key value caches"], ["Mamba"]]
    assert key_term_recall(terms, entities, aliases) == (0.75, ["Mamba"])
    assert key_term_recall(terms, entities) == (0.5, ["Locality Sensitive Hashing", "Mamba"])
