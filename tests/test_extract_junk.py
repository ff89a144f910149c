"""Fragments and everyday words are not entities: quoted example language, an acronym run into its
expansion, everyday words without a definition, pieces of titles, list labels of steps, a term said
of something ("text tagging applications"), bare complements of "be". Real spaCy parses of made-up
text units (no name here is in the vocabulary)."""

import pandas as pd
import pytest

from qa_engine.aliases import acronym_pairs, common_words, counts
from qa_engine.extract import extract_graph
from qa_engine.terms import _quoted_language

UNITS = pd.DataFrame(
    {
        "id": [f"j{k}" for k in range(1, 10)],
        "document_id": ["tags", "gat", "gat", "wom", "wom", "steps", "steps", "wom", "tags"],
        "text": [
            # quoted example language
            "Text tagging is a task where every token of a sentence gets a label from a fixed set. "
            "For example, according to the Zorbank tag set, the sentence \"John Smith 's car is new\" should be tagged "
            "as \"NNP (noun, proper singular) NNP POS (possessive ending) VB (verb, base form) JJ (adjective)\". "
            "We fine-tune the encoder for text tagging applications such as part-of-speech tagging.",
            # an acronym run into its expansion, as a heading and the line under it read once joined
            "GAT\nGraph Kestrel Networks (Veličković et al., 2018): https://example.org/gat\n\n"
            "GAT is a popular method for learning on graphs, with implementations in several libraries. "
            "Memories is a named tuple that contains the memory and the compressed memory.",
            "This repository contains the code for our paper Zebra-XL: Attentive Wombat Models Beyond a Fixed-Length Context. "
            "Whether to gate the residual, from 'Stabilizing Wombat for RL' paper (gru_gate = True). "
            "Longformer is an open-source project developed by the Allen Institute for Artificial Intelligence (AI2).",
            # code names: a setting that counts a word, one that names something more specific, one in passing
            "Number of landmarks (num_landmarks = 256). "
            "Average size of each bucket (bucket_size = 64). "
            "Number of random flurbs (nb_flurbs = 128). "
            "If max_prob=0.1, then remove all tokens with prob < 0.002 from the list.",
            "If max_prob=0.5, then remove all tokens with prob < 0.05 from the list. "
            "The size of the output grows with the size of the input sequence. "
            "Each layer of the model has its own layer of gates, and the layer count doubles. "
            "Specify layers to use product key memory (pkm_layers = (4, 7)).",
            # list labels: steps, and terms they define
            "1. **Token Selection**: Choosing the next token based on these probabilities.\n"
            "2. **Presence Penalty**: A fixed penalty applied to any token that has appeared before.",
            "We propose a new sampling method called top-q (as in the utils file). "
            "All of the trained models will be open-source. "
            "It is an open-source project with many users around the world. "
            "If your machine has less than 96GB of RAM, the build is slow; with less than 64GB of RAM it fails.",
            "\\* New June 29th, 2020: Easier to use wombat checkpointing \\*\n\n"
            "\\* New June 12th, 2021: A demo of the wombat \\*\n\n"
            "The sparse model may be found in the models folder. "
            "You may run the sparse model on the small graph. "
            "We trained a 12-layer decoder-only transformer with masked self-attention heads. "
            "Again following the original implementation of Falcon, they are transformers with post-normalization. "
            "We have converted Falcon weights for each dataset.",
            "To address these challenges, one of the most powerful optimizations is KV (Key-Value) caching. "
            "Fine-tuning BERT for text tagging applications is illustrated in the figure.",
        ],
    }
)


@pytest.fixture(scope="module")
def graph():
    return extract_graph(UNITS)


@pytest.fixture(scope="module")
def titles(graph) -> set[str]:
    return set(graph.entities.title)


def test_quoted_example_language_names_nothing(titles):
    text = UNITS.text[0]
    quoted = [text[a:b] for a, b in _quoted_language(text)]
    assert quoted[0] == "John Smith 's car is new" and quoted[1].startswith("NNP (noun")
    assert not {"VB", "JJ", "NNP", "NNP POS"} & titles
    assert _quoted_language('So we can call R "flumpance", and "Big Bird: Transformers for Longer Sequences".') == []


def test_an_acronym_run_into_its_expansion_is_two_names_of_one_entity(graph, titles):
    text = "GAT Graph Kestrel Networks (Veličković et al., 2018): https://example.org/gat"
    assert [(text[a:b], text[c:d]) for (a, b), (c, d) in acronym_pairs(text)] == [("Graph Kestrel Networks", "GAT")]
    assert not any("GAT Graph" in t for t in titles)
    aliases = dict(zip(graph.aliases.alias, graph.aliases.title))
    assert "GAT" in titles and aliases.get("Graph Kestrel Networks") == "GAT"
    text = "one of the most powerful optimizations is KV (Key-Value) caching."
    assert [(text[a:b], text[c:d]) for (a, b), (c, d) in acronym_pairs(text)] == [("Key-Value", "KV")]


def test_everyday_words_need_more_than_recurring(titles):
    assert {"size", "bucket", "june", "tuple"}.isdisjoint(t.lower() for t in titles)  # "a named tuple" names nothing
    assert {"common", "size", "expert"} <= common_words() and "softmax" not in common_words()
    assert "Landmark" in titles  # what a setting counts: num_landmarks
    assert "Layer" in titles  # a kind of thing the field names, recurring, spelled by a setting
    assert "Falcon" in titles  # an everyday word written as a name, twice


def test_code_names_in_passing_and_settings_of_more_specific_things(graph, titles):
    assert counts("num_landmarks", "landmarks") and counts("use_rezero", "rezero")
    assert not counts("bucket_size", "size") and not counts("max_prob", "prob")
    assert "Prob" not in titles  # max_prob named in passing, twice
    assert "Random Flurb" in titles and "Flurb" not in titles  # "Number of random flurbs (nb_flurbs = 128)"
    aliases = dict(zip(graph.aliases.alias, graph.aliases.title))
    assert aliases.get("nb_flurbs") == "Random Flurb"


def test_pieces_of_titles_are_not_entities(titles):
    junk = {"Attentive Wombat Model", "Fixed-Length Context", "Stabilizing Wombat", "Artificial Intelligence"}
    assert not junk & titles
    assert "Zebra-XL" in titles


def test_a_label_of_a_step_is_not_a_term_but_a_label_that_defines_is(titles):
    assert "Token Selection" not in titles
    assert "Presence Penalty" in titles


def test_a_term_said_of_something_and_bare_complements_are_not_terms(titles):
    assert "Text Tagging" in titles and "Text Tagging Application" not in titles
    assert "Open-Source" not in titles
    assert "Sparse Model" not in titles  # an adjective before "model": a model described
    assert not any(t.startswith("12-Layer") for t in titles) and "GB of RAM" not in titles  # measures


def test_a_hyphenated_word_given_as_a_name_is_an_entity(titles):
    assert "Top-Q" in titles  # spaCy cuts "top-q" apart; "called top-q" names it


def test_people_credited_by_name_are_persons():
    units = pd.DataFrame({
        "id": ["p1"], "document_id": ["credits"],
        "text": ["Special thanks to Aran Komatsuzaki for the first version of this library. "
                 "The port to another framework, zorpGAT, was developed by Diego Antognini. "
                 "Longformer is a project developed by the Allen Institute for Artificial Intelligence."],
    })
    entities = extract_graph(units).entities.set_index("title")
    assert entities.loc["Aran Komatsuzaki", "type"] == "PERSON"
    assert entities.loc["Diego Antognini", "type"] == "PERSON"
    assert "PERSON" not in set(entities.type[entities.index.str.contains("Institute")])


def test_a_term_said_at_length_with_a_word_for_a_kind_of_work_is_that_term():
    units = pd.DataFrame({
        "id": ["s1", "s2"], "document_id": ["kestrel", "kestrel"],
        "text": ["In this section we introduced a pretraining model, Kestrel, that needs few changes for each task.",
                 "The pretraining model is large, and pretraining takes a week on many machines."],
    })
    titles = set(extract_graph(units).entities.title)
    assert "Pretraining" in titles  # the vocabulary's term
    assert "Pretraining Model" not in titles


PIECES = pd.DataFrame(
    {
        "id": [f"q{k}" for k in range(1, 6)],
        "document_id": ["files", "files", "legal", "wombats", "zebra"],
        "text": [
            "Please refer to tf/README.md for details. Please refer to pytorch/README.md for details. "
            "Attention with Lindy Bonds (ALiBo) is very simple! "
            "Train Short, Test Long: Attention with Lindy Bonds (ALiBo) Enables Input Length Extrapolation.",
            "Using Zorbird Encoder instead of other encoders\n\n"
            "The special classification token “<cls>” encodes the whole sequence. "
            "The special classification token “<cls>” is used for sequence classification.",
            "For more information see the Code of Conduct FAQ or contact us with any additional questions. "
            "Authorized use of Zorbex trademarks or logos is subject to and must follow Zorbex's Trademark & Brand Guidelines. "
            "Use of Zorbex trademarks or logos in modified versions of this project must not cause confusion. "
            "Any use of third-party trademarks or logos are subject to those third-party's policies.",
            "A Pytorch implementation of Sparsely Gated Mixture of Wombats, for increasing the capacity of a model. "
            "If you want a hierarchical mixture of wombats (2 levels), use the other class. "
            "The separator marks the end of single text or separates a pair of text. "
            "Regression is a type of application taking a pair of text as the input.",
            "We train iGPT-S, a 76M parameter model with L = 24 and d = 512. "
            "We also train iGPT-M, a 455M parameter model with L = 36 and d = 1024. "
            "We remove the decay factors in v2-RNN and restrict W to be of a simple form. "
            "You simply move the information from a W-0.8-channel to a W-0.5-channel to get the same effect. "
            "We fine-tune a pretrained Zorbert model on the task. The pretrained Zorbert model is small.",
        ],
    }
)


@pytest.fixture(scope="module")
def piece_titles() -> set[str]:
    return set(extract_graph(PIECES).entities.title)


def test_file_names_are_not_entities(piece_titles):
    assert not any("README" in t for t in piece_titles)


def test_pieces_of_names_are_not_entities(piece_titles):
    text = PIECES.text[0]
    assert ("Attention with Lindy Bonds", "ALiBo") in [(text[a:b], text[c:d]) for (a, b), (c, d) in acronym_pairs(text)]
    assert "ALiBo" in piece_titles
    assert "Conduct FAQ" not in piece_titles  # of "Code of Conduct FAQ"
    assert "Brand Guidelines" not in piece_titles and "Brand Guideline" not in piece_titles  # of "Trademark & Brand Guidelines"
    assert "Trademark" not in piece_titles  # written capitalized once, "trademarks" three times
    assert "Special Classification" not in piece_titles  # of the vocabulary's "classification token"
    assert not any(t.startswith("Using") for t in piece_titles)  # a heading: "Using Zorbird Encoder instead of ..."


def test_x_of_y_needs_more_than_recurring(piece_titles):
    assert "Pair of Text" not in piece_titles
    assert "Mixture of Wombats" in piece_titles  # written as a name once


def test_measures_versions_and_values_are_not_names(piece_titles):
    assert "Parameter Model" not in piece_titles  # "a 76M parameter model": 76M parameters
    assert "iGPT-S" in piece_titles
    assert not {"V2-RNN", "W-0.8-Channel", "W-0.5-Channel"} & piece_titles


def test_a_name_said_at_length_is_the_name(piece_titles):
    assert "Zorbert" in piece_titles and "Pretrained Zorbert Model" not in piece_titles


def test_a_label_of_what_happens_and_what_a_setting_numbers():
    units = pd.DataFrame({
        "id": ["n1", "n2"], "document_id": ["labels", "settings"],
        "text": ["- **Memory Usage**: Grows quadratically with context length\n"
                 "- **Processing Speed**: Decreases linearly with longer contexts\n",
                 "Number of moore-penrose iterations for approximating pinverse (pinv_iterations = 6). "
                 "Number of landmarks (num_landmarks = 256)."],
    })
    graph = extract_graph(units)
    titles = set(graph.entities.title)
    assert "Processing Speed" not in titles  # "Decreases linearly": a verb the tagger reads as a noun
    assert "Moore-Penrose Iteration" in titles  # what "number of" counts, its setting ending in its head
    assert dict(zip(graph.aliases.alias, graph.aliases.title)).get("pinv_iterations") == "Moore-Penrose Iteration"


def test_a_variable_of_example_code_is_not_a_setting():
    units = pd.DataFrame({
        "id": ["v1"], "document_id": ["code"],
        "text": ["Long input document (SAMPLE_TEXT = ' '.join(['Hello world! '] * 1000)). "
                 "To limit the number of parallel compilation jobs, you can set the environment variable MAX_JOBS."],
    })
    titles = set(extract_graph(units).entities.title)
    assert "SAMPLE_TEXT" not in titles and "MAX_JOBS" in titles
