"""The offline extractor: hand-written text units for behaviour, the shipped corpus for the targets."""

import re
from pathlib import Path

import pandas as pd
import pytest

from qa_engine.descriptions import joined
from qa_engine.domain import ENTITY_TYPES, VOCABULARY
from qa_engine.extract import ENTITY_COLUMNS, RELATIONSHIP_COLUMNS, extract_graph
from qa_engine.relations import CO_OCCURRENCE_WEIGHT
from qa_engine.prose import split_sentences, text_unit_sentences
from qa_engine.sentences import normalize, sentence_spans

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

UNITS = pd.DataFrame(
    {
        "id": ["u1", "u2", "u3", "u4", "u5", "u6", "u7"],
        "text": [
            "# Multi-Head Attention\n\nMulti-head attention runs several attention heads in parallel. "
            "The Transformer relies on it, as Vaswani et al. showed in 2017.",
            "The encoder stacks multihead attention with layer normalization and residual connections. "
            "Positional encodings are added to the input embeddings.",
            "MHA is used in BERT, which is pretrained with masked language modeling. "
            "A gating network decides which expert sees each token.",
            "Bahdanau attention, also called additive attention, was proposed for machine translation. "
            "The value of this idea is clear: see the Figure in the next Section.",
            "The gating network is trained jointly with the experts. Beam search keeps the k best "
            "hypotheses (e.g. $k = 4$) at each step, and the positional encoding stays fixed.",
            "The Bert family of cartoons is unrelated. Layer norm is the name most libraries give to",
            "layer normalization, a per-token rescaling. Dropout helps too.",  # a chunker cut the sentence
        ],
    }
)


@pytest.fixture(scope="module")
def graph() -> tuple[pd.DataFrame, pd.DataFrame]:
    return extract_graph(UNITS)[:2]


def entity(entities: pd.DataFrame, title: str) -> pd.Series:
    rows = entities[entities.title == title]
    assert len(rows) == 1, f"{title!r} found {len(rows)} times in {sorted(entities.title)}"
    return rows.iloc[0]


def test_aliases_and_plurals_merge_into_one_entity(graph):
    entities, _ = graph
    mha = entity(entities, "Multi-Head Attention")
    assert mha.text_unit_ids == ["u1", "u2", "u3"]
    assert mha.frequency == 3
    assert entity(entities, "Positional Encoding").text_unit_ids == ["u2", "u5"]
    assert entity(entities, "Layer Normalization").text_unit_ids == ["u2", "u6", "u7"]
    assert entity(entities, "Bahdanau Attention").text_unit_ids == ["u4"]  # "additive attention" too


def test_types_come_from_the_domain_scheme(graph):
    entities, _ = graph
    expected = {
        "BERT": "MODEL",
        "Layer Normalization": "ARCHITECTURE_COMPONENT",
        "Bahdanau Attention": "ATTENTION_MECHANISM",
        "Machine Translation": "TASK",
        "Beam Search": "TECHNIQUE",
        "Masked Language Modeling": "TECHNIQUE",
        "Ashish Vaswani": "PERSON",
        "Dzmitry Bahdanau": "PERSON",  # found inside "Bahdanau attention"
    }
    for title, type_ in expected.items():
        assert entity(entities, title).type == type_
    assert set(entities.type) <= set(ENTITY_TYPES)


def test_open_vocabulary_phrase_recurring_in_two_units_is_kept(graph):
    entities, _ = graph
    gating = entity(entities, "Gating Network")
    assert gating.type == "MODEL"
    assert gating.text_unit_ids == ["u3", "u5"]
    assert "expert" not in " ".join(entities.title).lower()  # one unit only


def test_common_words_and_markup_are_not_entities(graph):
    entities, _ = graph
    titles = {t.lower() for t in entities.title}
    assert not titles & {"value", "figure", "section", "the", "let", "next section", "k"}
    assert "BERT" in set(entities.title) and entity(entities, "BERT").text_unit_ids == ["u3"]  # not "Bert family"


def test_descriptions_are_whole_corpus_sentences(graph):
    entities, _ = graph
    corpus = " ".join(" ".join(UNITS.text).split())
    for row in entities.itertuples():
        assert len(row.description) > 20, row.title
        for sentence in split_sentences(row.description):
            assert sentence in corpus, (row.title, sentence)
    assert entity(entities, "Gating Network").description.startswith("The gating network is trained jointly")


def test_sentence_cut_by_chunking_is_made_whole(graph):
    entities, relationships = graph
    norm = entity(entities, "Layer Normalization")
    cut = "Layer norm is the name most libraries give to layer normalization, a per-token rescaling."
    assert cut in norm.description
    assert norm.text_unit_ids == ["u2", "u6", "u7"]


def test_relationship_carries_its_sentence(graph):
    _, relationships = graph
    pairs = relationships[["source", "target"]].apply(frozenset, axis=1)
    pair = relationships[pairs == frozenset({"Layer Normalization", "Residual Connection"})]
    assert len(pair) == 1
    row = pair.iloc[0]
    assert row.weight == CO_OCCURRENCE_WEIGHT  # conjuncts: named together, no verb between them
    sentence = "The encoder stacks multihead attention with layer normalization and residual connections."
    assert sentence in row.description
    assert row.text_unit_ids == ["u2"]


def test_graph_is_clean(graph):
    entities, relationships = graph
    assert list(entities.columns) == ENTITY_COLUMNS
    assert list(relationships.columns) == RELATIONSHIP_COLUMNS
    assert not entities.title.str.lower().duplicated().any()
    assert (relationships.source != relationships.target).all()
    pairs = relationships[["source", "target"]].apply(frozenset, axis=1)
    assert not pairs.duplicated().any()
    assert set(relationships.source) | set(relationships.target) <= set(entities.title)


def test_output_is_deterministic(graph):
    entities, relationships, _ = extract_graph(UNITS.copy())
    pd.testing.assert_frame_equal(entities, graph[0])
    pd.testing.assert_frame_equal(relationships, graph[1])


def test_sentence_splitter_respects_abbreviations_decimals_and_math():
    text = (
        "Attention helps, e.g. in translation, i.e. a hard task. Vaswani et al. proposed it in 2017. "
        "The weight is 0.5 here. We set $x = 1. Y$ as shown in Fig. 2 below. Done!"
    )
    assert split_sentences(text) == [
        "Attention helps, e.g. in translation, i.e. a hard task.",
        "Vaswani et al. proposed it in 2017.",
        "The weight is 0.5 here.",
        "We set $x = 1. Y$ as shown in Fig. 2 below.",
        "Done!",
    ]


def test_a_sentence_is_never_carried_into_the_next_document():
    texts = ["Zorbs roll down the hill without sacrificing speed", "quiffles in Pytorch spin on their axis."]
    joined = [s.text for s in text_unit_sentences(texts)]
    apart = [s.text for s in text_unit_sentences(texts, ["zorbs.md", "quiffle.md"])]
    assert joined == [" ".join(texts)]  # one document cut by chunking: the sentence goes on
    assert apart == texts


def test_empty_input_gives_empty_frames_with_the_columns():
    entities, relationships, _ = extract_graph(pd.DataFrame({"id": ["a"], "text": [""]}))
    assert entities.empty and list(entities.columns) == ENTITY_COLUMNS
    assert relationships.empty and list(relationships.columns) == RELATIONSHIP_COLUMNS


def test_vocabulary_is_well_formed():
    titles = [term.title.lower() for term in VOCABULARY]
    assert len(titles) == len(set(titles)) >= 250
    assert all(term.type in ENTITY_TYPES for term in VOCABULARY)


# ---------------------------------------------------------------- the shipped corpus


def corpus_units(words_per_unit: int = 200) -> pd.DataFrame:
    """The simple way: code blocks and d2l markup out, then ~200-word chunks."""
    chunks = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in {".md", ".mdx", ".txt"} or path.stem.upper().startswith(("LICENSE", "SOURCES")):
            continue
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r":\w+:(`[^`]*`)?", "", text)
        parts = re.split(r"(\s+)", text.strip())
        for i in range(0, len(parts), 2 * words_per_unit):
            chunks.append("".join(parts[i : i + 2 * words_per_unit]).strip())
    return pd.DataFrame({"id": [f"tu{i}" for i in range(len(chunks))], "text": chunks})


@pytest.fixture(scope="module")
def corpus_graph() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Speed is measured in bench/bench_extract.py and bench/bench_index.py, not asserted here."""
    units = corpus_units()
    assert len(units) > 200
    entities, relationships, _ = extract_graph(units)
    return entities, relationships


def test_corpus_meets_the_targets(corpus_graph):
    entities, relationships = corpus_graph
    assert len(entities) >= 300
    assert (entities.description.str.len() > 20).mean() >= 0.95
    assert len(relationships) >= 600
    assert not entities.title.str.lower().duplicated().any()


@pytest.mark.parametrize(
    "title, variants",
    [
        ("Multi-Head Attention", {"multiheadattention", "multiheadedattention", "mha"}),
        ("Scaled Dot-Product Attention", {"scaleddotproductattention", "scaleddotproduct"}),
        ("Positional Encoding", {"positionalencoding", "positionencoding", "positionalembedding", "positionembedding"}),
        ("Layer Normalization", {"layernormalization", "layernorm"}),
        ("BERT", {"bert"}),
        ("Bahdanau Attention", {"bahdanauattention", "additiveattention", "bahdanauattentionmechanism"}),
    ],
)
def test_corpus_names_each_key_concept_once(corpus_graph, title, variants):
    entities, _ = corpus_graph
    normalized = entities.title.str.lower().str.replace(r"[^a-z0-9]", "", regex=True).str.removesuffix("s")
    assert list(entities.title[normalized.isin(variants)]) == [title]


def test_corpus_output_shape(corpus_graph):
    entities, relationships = corpus_graph
    assert list(entities.columns) == ENTITY_COLUMNS
    assert list(relationships.columns) == RELATIONSHIP_COLUMNS
    ids = set(corpus_units().id)
    for row in entities.itertuples():
        assert isinstance(row.title, str) and row.type in ENTITY_TYPES
        assert row.text_unit_ids and len(set(row.text_unit_ids)) == len(row.text_unit_ids) <= len(ids)
        assert set(row.text_unit_ids) <= ids and row.frequency == len(row.text_unit_ids)
    titles = set(entities.title)
    for row in relationships.itertuples():
        assert row.source in titles and row.target in titles and row.source != row.target
        assert isinstance(row.weight, float) and row.weight > 0
        assert row.text_unit_ids and set(row.text_unit_ids) <= ids
        assert 20 < len(row.description) <= 500


def test_a_description_keeps_an_unfinished_line_apart():
    """A title or list item without a stop ends its paragraph in a description, as written: no
    reader (the sentence splitter, the answerer) runs it into the sentence after it."""
    title, byline = "Zorb: Linear-Time Rolling with Selective Quiffles", 'The paper "Zorb" is by Ada Lovelace.'
    assert joined([title, byline, "Zorbs roll."]) == f"{title}\n\n{byline} Zorbs roll."
    assert [normalize(joined([title, byline])[a:b]) for a, b in sentence_spans(joined([title, byline]))] == [title, byline]
    assert joined(["", "Zorbs roll."]) == "Zorbs roll."
