"""Terms a paper names once: how a name is given ("called X", "X et al.", Title Case, a lone
capitalized word, an acronym with "+"), noun compounds with a typed head, and names whose only
sentences read poorly. Real spaCy parses of a made-up paper (no name here is in the vocabulary)."""

import pandas as pd
import pytest

from qa_engine.aliases import acronym_pairs
from qa_engine.domain import VOCABULARY
from qa_engine.extract import extract_graph

PAPER = pd.DataFrame(
    {
        "id": ["u1", "u2", "u3", "u4"],
        "document_id": ["wombat", "wombat", "notes", "notes"],
        "text": [
            "# Wombat: Sparse Memory for Long Inputs\n\n"
            "Wombat is a recurrent model that reads long inputs in small pieces. "
            "Recently, the Grand Puzzle Arena provided a benchmark of six tasks that need long context. "
            "The team used spiral position embeddings with great results on longer sequences. "
            "It is a powerful model for many settings, and a simple one to train.",
            "As shown by Zelinski et al. in their study, memory helps long inputs. "
            'So we can call R "flumpance", and sigmoid means it stays in a small range. '
            "Wombat also has a Fast Attention Via positive Orthogonal Random features approach (FAVOR+). "
            "This repository contains a wrapper around Zorbix that can store and retrieve keys.",
            "## The Kestrel-QK Trick: copying tokens\n\n"
            "In a usual transformer, a small model has difficulty copying tokens from its context.\n\n"
            "## Managing Repetition: Keeping Output Fresh\n\n"
            "Models tend to repeat themselves when they generate long outputs for a user.\n\n"
            "How fast can you run Qux9 on a laptop, and what does it cost you?",
            "Wombat: Sparse Memory\\\nJane Okafor*, Lee Brandt*, Mira Solano\n\n"
            "Recently, the benchmark compared Dune Walker and Sky Lantern on long inputs of many kinds. "
            "To run zero-shot evaluations, we use the zorp-eval-kit library on every model. "
            "Then zorp-eval-kit runs each task and reports its accuracy. "
            "The Blend-mix is similar to AFT in most ways that matter here. "
            "We multiply the output of the Blend-mix layer by a learned factor.",
        ],
    }
)
KNOWN = {term.title.lower() for term in VOCABULARY} | {f.lower() for term in VOCABULARY for f in term.forms}


@pytest.fixture(scope="module")
def entities():
    return extract_graph(PAPER).entities.set_index("title")


@pytest.mark.parametrize(
    "title",
    ["Grand Puzzle Arena", "Zelinski", "Flumpance", "FAVOR+", "Zorbix", "Spiral Position Embedding", "Qux9"],
)
def test_a_name_given_once_is_an_entity(entities, title):
    assert title.lower() not in KNOWN
    assert title in entities.index, sorted(entities.index)


def test_how_names_are_given_types_and_describes_them(entities):
    assert entities.loc["Zelinski", "type"] == "PERSON"  # "Zelinski et al."
    assert entities.loc["Spiral Position Embedding", "type"] == "ARCHITECTURE_COMPONENT"  # its head noun
    assert entities.loc["Flumpance", "description"].startswith('So we can call R "flumpance"')


def test_only_whole_names_and_noun_compounds_are_kept(entities):
    # the end of a Title Case name, an adjective before a head noun, headings in Title Case
    for junk in ("Puzzle Arena", "Powerful Model", "Keeping Output Fresh", "Managing Repetition", "Recently"):
        assert junk not in entities.index


def test_people_of_an_author_line_are_persons(entities):
    for person in ("Jane Okafor", "Lee Brandt", "Mira Solano"):
        assert entities.loc[person, "type"] == "PERSON"
    assert entities.loc["Sky Lantern", "type"] != "PERSON"  # two names in a list of things, not authors


def test_a_word_before_a_head_noun_counts_towards_its_recurrence(entities):
    # named alone once each, and once more before a head noun: "the zorp-eval-kit library"
    assert "Zorp-Eval-Kit" in entities.index
    assert "Blend-Mix" in entities.index


def test_a_name_whose_sentences_read_poorly_is_described_by_its_best_one(entities):
    # its only sentence is a question a description would skip; a name exists anyway
    assert entities.loc["Qux9", "description"] == "How fast can you run Qux9 on a laptop, and what does it cost you?"
    # named only by a heading: the heading and the sentence under it
    trick = entities.loc["Kestrel-QK Trick", "description"]
    assert trick == "The Kestrel-QK Trick: copying tokens. In a usual transformer, a small model has difficulty copying tokens from its context."


def test_an_acronym_may_end_in_plus():
    text = "a Fast Attention Via positive Orthogonal Random features approach (FAVOR+)."
    [(long, short)] = list(acronym_pairs(text))
    assert text[slice(*short)] == "FAVOR+"
    assert text[slice(*long)].startswith("Fast Attention Via")


def test_every_entity_is_related_so_communities_hold_it():
    graph = extract_graph(PAPER)
    related = set(graph.relationships.source) | set(graph.relationships.target)
    assert set(graph.entities.title) <= related
    # named only by a heading: related to what the sentence under it names
    rows = graph.relationships[(graph.relationships.source == "Kestrel-QK Trick") | (graph.relationships.target == "Kestrel-QK Trick")]
    assert "In a usual transformer" in rows.description.iloc[0]


def test_code_names_spell_the_terms_they_configure():
    from qa_engine.aliases import code_spelling, spells

    assert spells("cmem_ratio", "compressed memory ratio") and spells("ff_chunks", "feed forward chunking")
    assert spells("num_landmarks", "landmarks") and not spells("num_landmarks", "number")
    assert code_spelling("Dropout pass (dropout_p = 0.1).", 8, 12) is None  # one word: by a whole part only
    assert code_spelling("Number of grommets (num_grommets = 256).", 10, 18) == ("num_grommets", True)
    text = "The num_rand_wheels setting is used to set the number of random wheels."
    assert code_spelling(text, text.index("random"), len(text) - 1) == ("num_rand_wheels", False)


def test_a_documented_setting_names_a_term_and_gives_its_alias():
    units = pd.DataFrame({
        "id": ["c1"], "document_id": ["zorb"],
        "text": ["Zorbformer is a sparse model for long inputs.\n\n"
                 "Number of grommets (num_grommets = 256).\n\n"
                 "Compacted spool ratio, 4 was recommended in the paper (cspool_ratio = 4).\n\n"
                 "The num_classes argument sets the size of the output for the classes."],
    })

    graph = extract_graph(units)

    titles = set(graph.entities["title"].str.lower())
    assert {"grommet", "compacted spool ratio"} <= titles
    aliases = dict(zip(graph.aliases["alias"], graph.aliases["title"].str.lower()))
    assert aliases.get("num_grommets") == "grommet" and aliases.get("cspool_ratio") == "compacted spool ratio"
    assert "class" not in titles  # a word a name spells in passing still has to recur
