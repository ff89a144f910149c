"""Reading the question: kinds from its grammar, entities linked by title and alias, compared
terms, words the corpus never uses; and what graph search and the answer do with them."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from qa_engine import QAEngine, embeddings
from qa_engine.answer import premise_sentence
from qa_engine.context import Packed
from qa_engine.index_store import read_aliases
from qa_engine.question import KINDS, EntityLinker, Mention, Question, Reader, Term, clauses, compared_terms, definition_subject, question_kind, refers_back, word_set
from qa_engine.search import BRIDGE_KEEP, TERM_UNITS, Candidate, cover_terms, form_units, graph_search, local_search, prefer_answer_forms, term_units

# Content words of these are invented: only the grammar can type them.
CASES = [
    ("What is the difference between zorbs and quiffles?", "compare"),
    ("How does a zorb differ from a quiffle?", "compare"),
    ("Zorbs versus quiffles: which is faster?", "compare"),
    ("How many blargs does a zorb have?", "number"),
    ("When was the zorb introduced?", "number"),
    ("What is the maximum speed of a zorb?", "number"),
    ("What block size does a zorb use?", "number"),
    ("Who introduced the quiffle?", "who"),
    ("Why does a zorb spin?", "why"),
    ("What is the purpose of a quiffle?", "why"),
    ("What is a zorb?", "definition"),
    ("What are quiffles?", "definition"),
    ("What are the three parts of a zorb?", "list"),
    ("List the parts of a zorb.", "list"),
    ("How does a zorb spin?", "how"),
    ("Can a zorb spin backwards?", "yes/no"),
    ("Does the quiffle use blargs?", "yes/no"),
    ("What is inside a zorb?", "list"),
    ("What are zorbs used for?", "use"),
    ("When is a zorb used instead of a quiffle?", "condition"),
    ("When did the zorb first spin?", "number"),
    ("What changed about the zorb?", "other"),
    ("Where in the zorb are quiffles applied?", "place"),
    ("How is the weight of a zorb computed?", "formula"),
    ("What kind of machine is a zorb?", "definition"),
]


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_question_kind_comes_from_grammar(text, kind):
    assert question_kind(text) == kind and kind in KINDS


def test_compared_terms_are_the_conjuncts_with_elided_heads():
    soft, hard = compared_terms("What is the difference between soft and hard attention weights?", [])
    assert (soft.label, hard.label) == ("soft attention weights", "hard attention weights")
    assert (soft.words, hard.words) == (("soft",), ("hard",))  # what tells one from the other
    terms = compared_terms("How do Zorbs, Quiffles and Blargs each spin?", [])
    assert [t.label for t in terms] == ["Zorbs", "Quiffles", "Blargs"]
    differ = compared_terms("How does pre-normalization differ from post-normalization in blocks?", [])
    assert [t.label for t in differ] == ["pre-normalization", "post-normalization"]
    assert [t.words for t in differ] == [("pre",), ("post",)]  # "normalization" is on both sides
    assert compared_terms("What is a zorb?", []) == ()


def _labels(text: str, titles: list[str]) -> list[str]:
    """The compared terms' labels, with the named entities linked."""
    return [t.label for t in compared_terms(text, EntityLinker(titles).mentions(text))]


def test_a_possessive_name_keeps_its_head_and_a_later_sentence_asks_each():
    text = "How do PagedAttention and Mistral's rolling buffer cache each keep memory low?"
    assert _labels(text, ["PAGEDATTENTION", "MISTRAL"]) == ["PagedAttention", "Mistral's rolling buffer cache"]
    text = "Zorbs and Quiffles both spin. How does each of them stop, and what are their sizes?"
    terms = compared_terms(text, EntityLinker(["ZORBS", "QUIFFLES"]).mentions(text))
    assert [t.asked for t in terms] == [  # the premise said of each: "both" is no longer true of one
        "Zorbs spin. How does Zorbs stop, and what are Zorbs's sizes?",
        "Quiffles spin. How does Quiffles stop, and what are Quiffles's sizes?",
    ]


def test_a_yes_no_question_on_two_named_things_is_asked_of_each():
    reader = Reader(["Zorbs and quiffles spin."], ["ZORB", "QUIFFLE"])
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    assert reader.parse("Do zorbs and quiffles need fine-tuning?", encoding).kind == "compare"
    assert reader.parse("Can I give a zorb a book and get a summary?", encoding).kind == "yes/no"  # "a book and get": no names


def test_why_is_asked_of_each_only_when_the_question_says_each():
    reader = Reader(["Zorbs and quiffles spin."], ["ZORB", "QUIFFLE"])
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    assert reader.parse("Why do zorbs and quiffles each spin?", encoding).kind == "compare"
    assert reader.parse("Why does a zorb spin with blargs and quiffles?", encoding).kind == "why"  # what it spins with


def test_a_conjunct_is_the_name_not_the_verb_after_it():
    text = "How do the Perceiver and the Swin Transformer keep attention affordable?"
    assert _labels(text, ["PERCEIVER", "SWIN TRANSFORMER", "ATTENTION"]) == ["Perceiver", "Swin Transformer"]
    text = "How do Reformer and the Routing Transformer choose tokens?"
    assert _labels(text, ["REFORMER", "ROUTING TRANSFORMER", "TOKEN"]) == ["Reformer", "Routing Transformer"]


def test_an_apposition_after_a_coordination_is_no_third_term():
    terms = compared_terms("What kind of zorbs are Quiffles and Blargs, the two spinning ones?", [])
    assert [t.label for t in terms] == ["Quiffles", "Blargs"]
    assert len(compared_terms("How do Zorbs, Quiffles and Blargs each spin?", [])) == 3


def test_what_one_thing_has_is_not_a_comparison():
    """"Zorb-3's spin rate, wobble count and shell width" asks three things of one zorb; a second
    possessor or name makes it a comparison again."""
    assert compared_terms("What are Zorb-3's spin rate, wobble count and shell width according to the notes?", []) == ()
    assert [t.label for t in compared_terms("How do Zorb-3's spin rate and Quiffle's wobble differ?", [])] == ["Zorb-3's spin rate", "Quiffle's wobble"]
    assert len(compared_terms("How do Zorb-3's spin rate and Quiffles differ?", [])) == 2


def test_a_comparative_is_no_compared_term():
    """"What makes it faster than plain zorbing?" compares what "it" is with plain zorbing: "faster"
    is how, not a side."""
    assert compared_terms("What is it about Quiffle that makes it faster than plain zorbing on a GPU?", []) == ()


def test_parallel_compounds_are_what_is_coordinated():
    """"multi-quiffle and grouped-quiffle zorbs" joins the two modifiers, not whatever came before."""
    terms = compared_terms("How do zorb spinners support multi-quiffle and grouped-quiffle zorbs?", [])
    assert [t.label for t in terms] == ["multi-quiffle zorbs", "grouped-quiffle zorbs"]


def test_what_a_named_thing_does_with_both_is_one_question():
    """"How does Zorbatron support multi-quiffle and grouped-quiffle zorbs?" asks what Zorbatron does,
    not how the two differ; said in words ("differ", "each"), it is a comparison again."""
    zorbatron = [Mention(0, 9, 18)]
    assert compared_terms("How does Zorbatron support multi-quiffle and grouped-quiffle zorbs?", zorbatron) == ()
    assert len(compared_terms("How does Zorbatron support multi-quiffle and grouped-quiffle zorbs each?", zorbatron)) == 2
    assert len(compared_terms("In Zorbatron, how do multi-quiffle and grouped-quiffle zorbs differ?", [Mention(0, 3, 12)])) == 2


def test_a_name_takes_no_elided_head():
    assert _labels("How do ALiBi and rotary embeddings differ?", ["ALIBI", "ROTARY EMBEDDING"]) == ["ALiBi", "rotary embeddings"]
    text = "What are encoder-only and decoder-only zorbs used for?"
    assert _labels(text, ["ENCODER-ONLY", "DECODER-ONLY", "ZORB"]) == ["encoder-only zorbs", "decoder-only zorbs"]


def test_a_package_name_takes_no_elided_head():
    text = "How do memory-efficient-attention-pytorch and Ring Attention split attention?"
    assert _labels(text, ["RING ATTENTION", "MEMORY"]) == ["memory-efficient-attention-pytorch", "Ring Attention"]


def test_three_terms_are_told_apart_by_what_not_all_of_them_share():
    terms = compared_terms("What are encoder-only, decoder-only and encoder-decoder zorbs used for?", [])
    assert [t.words for t in terms] == [("encoder", "only"), ("decoder", "only"), ("encoder", "decoder")]


# (question, its kind, sentences with the form of an answer to it, sentences without)
FORMS = [
    ("What are zorbs used for?", "use", ["Zorbs are best suited for tasks such as rolling."], ["Zorbs are round."]),
    ("When is a zorb used instead of a quiffle?", "condition", ["When the hill is steep, a zorb is used instead."], ["Zorbs were made in 1994."]),
    ("When was the zorb invented?", "number", ["Zorbs were made in 1994."], ["When the hill is steep, zorbs roll."]),
    ("How many zorbs roll?", "number", ["Up to 4 million zorbs roll.", "Eight zorbs roll."], ["[2024/01] Zorbs roll into the news!"]),
    (
        "Why does a zorb spin?", "why",
        ["It spins because the hill is steep.", "To keep its balance, a zorb spins."], ["A zorb spins fast.", "To spin is fun."],
    ),
    (
        "What is inside a zorb?", "list",
        ["Each zorb has two chambers.", "A zorb consists of a ball in a ball."],
        ["Queries, keys, and values come from the zorb."],  # an enumeration of anything is no composition
    ),
    ("What are the three parts of a zorb?", "list", ["The shell, the core, and the air are its parts."], []),
    (
        "Who wrote the zorb paper?", "who",
        ["Ada Lovelace*, Alan Turing* wrote it.", 'Ada Lovelace is an author of the paper "Zorbs".'], ["Zorbs roll, fast and far.", "The author's zorb rolls."],
    ),
    (
        "What block size does a zorb use?", "number",
        ["Zorbs are split into blocks of 16 tokens."],
        ["A zorb caches 2/4 bit values.", "Its cache size is 4096.", "Zorbs are split into blocks."],  # a quantity of something else, or none
    ),
    ("Where are quiffles applied?", "place", ["Quiffles are applied after the split, before the spin."], ["Quiffles spin."]),
    (
        "How is the weight of a zorb computed?", "formula",
        ["The weight is $$w = m g$$ for a zorb.", "It is computed as mass times g."], ["Zorbs are heavy, round and fast."],
    ),
    ("What is zorb scoring?", "definition", ["The zorb scoring function is given by $s = a + b$."], ["The zorb scoring function was slow."]),
    (
        "What is self-zorbing?", "definition",
        ["Self-zorbing is a way to roll.", "In physics, self-zorbing is a way to roll.", 'This is called "self-zorbing".'],
        ["The core idea behind self-zorbing is the roll.", "Rolling, also called self-zorbing , - Bouncing"],  # the subject of another's sentence defines nothing
    ),
    (
        "How does a zorb spin?", "how",
        ["A zorb spins by pushing water backwards.", "Instead of a motor, it uses fins.", "A zorb spins using its fins."],
        ["A zorb is a small round animal.", "Zorbs raise the possibility of using fins."],  # a gerund after "of" names, it tells no manner
    ),
    (
        "What are the two phases of zorbing?", "list",
        ["Zorbing has two main phases: rolling and bouncing."],
        [
            "Zorbing has phases: rolling and bouncing.",
            "The two phases differ.",
            "- The two-phase zorbing process - Rolling and bouncing",  # "two-phase" counts nothing
        ],
    ),
]


@pytest.mark.parametrize(("text", "kind", "answers", "others"), FORMS)
def test_the_form_of_a_sentence_that_answers_each_kind(text, kind, answers, others):
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = Question(text, encoding, np.zeros(0), kind=kind, subject=definition_subject(text) if kind == "definition" else "")
    assert all(question.satisfied_by(s) for s in answers), answers
    assert not any(question.satisfied_by(s) for s in others), others


def test_a_compared_term_is_asked_the_question_alone():
    zorbs, quiffles = compared_terms("How do zorbs and the quiffles differ in speed?", [])
    assert (zorbs.asked, quiffles.asked) == ("How do zorbs differ in speed?", "How do quiffles differ in speed?")


def test_after_a_premise_each_stands_for_each_term():
    zorbs, quiffles = compared_terms("Zorbs and quiffles both roll: what shape does each have?", [])
    assert (zorbs.asked, quiffles.asked) == ("Zorbs roll: what shape does Zorbs have?", "quiffles roll: what shape does quiffles have?")
    zorbs, _ = compared_terms("Why do the zorb library and quiffles each roll?", [])
    assert zorbs.asked == "Why do the zorb library roll?"  # "each" is said of both, not of one
    linked = EntityLinker(["ZORBS", "QUIFFLES"])
    text = "Do Zorbs and Quiffles need oil, and what does each one do to a hill?"
    assert compared_terms(text, linked.mentions(text))[1].asked == "Do Quiffles need oil, and what does Quiffles do to a hill?"
    text = "How do Zorbs and Quiffles treat each token?"
    assert compared_terms(text, linked.mentions(text))[0].asked == "How do Zorbs treat each token?"  # not "Zorbs token"


def test_a_passage_with_the_form_of_an_answer_ranks_as_the_answerer_reads_it():
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = Question("Who invented the zorb?", encoding, np.zeros(0), kind="who")
    graph = type("G", (), {"unit_sentences": [[(0, 9, "Zorbs roll down hills fast.")], [(0, 9, "Zorbs were invented by Ada Lovelace.")]]})()
    candidates = [Candidate("text_units", 0, 0.0), Candidate("text_units", 1, 0.0), Candidate("entities", 0, 0.0)]
    scores = prefer_answer_forms(graph, question, candidates, np.asarray([0.60, 0.55, 0.70]))
    assert scores[1] > scores[0] and scores[2] == np.float32(0.70)  # within FORM_WITHIN it goes first; entities as scored
    assert prefer_answer_forms(graph, question, candidates, np.asarray([0.70, 0.55, 0.0]))[0] > scores[1]  # not past a far better one
    how = Question("How does a zorb roll by using hills?", encoding, np.zeros(0), kind="how")  # connectives tell nothing apart
    assert list(prefer_answer_forms(graph, how, candidates, np.asarray([0.60, 0.55, 0.70]))) == list(np.float32([0.60, 0.55, 0.70]))


def test_passages_with_the_form_of_the_answer_and_the_best_of_them_kept_in_the_context(engine):
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    who = Question("Who invented the zorb?", encoding, np.zeros(0), kind="who")
    graph = type("G", (), {"unit_sentences": [[(0, 9, "Zorbs roll down hills fast.")], [(0, 9, "Zorbs were invented by Ada Lovelace.")]]})()
    assert form_units(graph, who, [0, 1]) == [1] and form_units(graph, who, [0]) == []
    assert form_units(graph, Question("How does a zorb roll?", encoding, np.zeros(0), kind="how"), [0, 1]) == []  # not read strictly
    rows = list(range(BRIDGE_KEEP + 2))
    given = np.linspace(0.9, 0.1, len(rows)).astype(np.float32)
    candidates = [Candidate("text_units", u, 0.0, form=u == rows[-1]) for u in rows]
    order = list(np.argsort(-cover_terms(engine.graph, engine.encode_question("What is attention?"), candidates, given)))
    assert order.index(len(rows) - 1) == BRIDGE_KEEP - 1 and order[: BRIDGE_KEEP - 1] == list(range(BRIDGE_KEEP - 1))


def test_a_coordination_of_questions_is_split_into_its_clauses():
    assert clauses("What is a zorb and how does it spin?") == ["What is a zorb?", "how does zorb spin?"]
    assert clauses("What are zorbs, and why do they spin?") == ["What are zorbs?", "why do zorbs spin?"]
    assert clauses("How does a zorb spin?") == [] and clauses("What is a zorb and a quiffle?") == []
    # the subject after the auxiliary: "it" is the zorb model, not "big a speedup does ..."
    assert clauses("How big a speedup does ZorbNet report, and how long a stream was it tested on?")[1] == "how long a stream was ZorbNet tested on?"
    assert clauses("Which method is that built on, and what does that method keep?")[1] == "what does that method keep?"


def test_a_later_clause_that_speaks_of_an_earlier_answer_refers_back():
    assert refers_back("what does that method keep in its cache?") and refers_back("who is an author of both?")
    assert not refers_back("how long a stream was StreamingLLM tested on?") and not refers_back("that is all?")


def test_a_closing_condition_is_not_what_is_compared():
    reader = Reader(["Zorbs have quiffles."], ["ZORB"])
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = reader.parse("What changed about the zorb when the query and key lengths differ?", encoding)
    assert question.kind == "other" and question.terms == ()
    assert reader.parse("How do zorbs and quiffles differ?", encoding).kind == "compare"


def test_reading_encodes_each_part_of_the_question(engine):
    """Real model: each clause and each compared term gets its own encoding and kind."""
    question = engine.encode_question("What is multi-head attention and how does it combine the heads?")
    first, second = question.parts
    assert (first.kind, second.kind) == ("definition", "how") and first.subject == "multi-head attention"
    assert "multi-head attention" in second.text and not np.allclose(first.encoding.vector, second.encoding.vector)
    compare = engine.encode_question("How do additive attention and dot product attention differ in cost?")
    assert [p.text for p in compare.parts] == [t.asked for t in compare.terms] and len(compare.parts) == 2
    for part in compare.parts:  # one side alone differs from nothing: "differ" weighs nothing in it, "cost" does
        weight = {part.text[a:b]: w for (a, b), w in zip(part.encoding.spans, part.weights, strict=True)}
        assert weight.get("differ", 0) == 0 and weight["cost"] > 0
    assert engine.encode_question("What is attention?").parts == ()


def test_a_term_is_at_home_in_the_document_titled_with_it(engine):
    documents = engine.index.documents
    row = next(i for i, t in enumerate(documents["title"]) if t == "Multi-Head Attention")
    term = Term("multi-head attention", tuple(sorted(word_set("multi-head attention"))), ())
    assert engine.graph.homes(term) == {documents["id"].iat[row]}
    units = engine.graph.units_naming(term)
    assert {u for u, d in enumerate(engine.graph.document_of) if d == documents["id"].iat[row]} <= units


def test_the_walk_is_networkx_personalized_pagerank_on_a_matrix_built_once(engine, two_entities):
    import networkx as nx

    from qa_engine.search import DAMPING, _pagerank

    graph = engine.graph
    personalization = {two_entities[0]: 1.0, two_entities[1]: 0.5, len(graph.units_of): 0.05}
    expected = nx.pagerank(graph.network, alpha=DAMPING, personalization=personalization, tol=1e-6, weight="weight")
    rank = _pagerank(graph.transitions, graph.dangling, personalization)
    assert np.allclose(rank, [expected[n] for n in range(len(rank))], atol=1e-12)


def test_the_walks_way_to_another_document_stays_in_the_context(engine, two_entities):
    graph = engine.graph
    walked = graph.walk([two_entities[0]], {}, 30)
    found = walked[:1]
    bridges = graph.bridges(walked, found)
    assert bridges and all(graph.document_of[u] != graph.document_of[found[0]] for u in bridges)
    assert bridges == [u for u in walked if u in bridges]  # in the walk's order
    assert graph.bridges(walked, []) == []
    question = engine.encode_question("What is attention?")
    others = [u for u in walked if u not in bridges and u != found[0]][:BRIDGE_KEEP]  # passages of the found document
    assert len(others) == BRIDGE_KEEP and len(bridges) >= 2
    rows = [found[0], *others, *bridges[:2]]
    given = np.asarray([0.9, *np.linspace(0.8, 0.5, BRIDGE_KEEP), 0.1, 0.2], dtype=np.float32)
    order = [rows[i] for i in np.argsort(-cover_terms(graph, question, [Candidate("text_units", u, 0.0, bridge=u in bridges) for u in rows], given))]
    assert order[BRIDGE_KEEP - 1] == bridges[1] and order[-1] == bridges[0]  # the best-scored bridge kept in the first places
    assert order[: BRIDGE_KEEP - 1] == [found[0], *others[: BRIDGE_KEEP - 2]]  # above it, nothing moved


def test_definition_subject():
    assert definition_subject("What is in-context learning in GPT-3?") == "in-context learning"
    assert definition_subject("Which type of toy are zorbs?") == "zorbs"
    assert definition_subject("What is a zorb?") == "zorb"


def test_entities_link_by_title_and_alias_plural_and_case_free():
    linker = EntityLinker(["MULTI-HEAD ATTENTION", "ZORB", "KEY"], aliases=[("MULTI-HEAD ATTENTION", "MHA"), ("ZORB", "zorbing engine")])
    found = lambda text: [m.entity for m in linker.mentions(text)]  # noqa: E731
    assert found("How many heads does MHA use?") == [0]
    assert found("Do multi-head attentions and Zorbs share keys?") == [0, 1, 2]
    assert found("Is a zorbing engine fast?") == [1]  # the longest name wins
    assert found("What is attention?") == []


def test_reader_marks_words_the_corpus_never_uses():
    reader = Reader(["Attention scores are computed as dot products.", "Its configuration is simple."], ["ATTENTION"])
    assert all(reader.knows(w) for w in ("attention", "score", "Scores", "scoring", "dot-products", "configured")) and not reader.knows("SVD")
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = reader.parse("Can SVD be used to compute attention scores?", encoding)
    assert question.unknown == ("SVD",) and question.kind == "yes/no"  # "compute": as "computed"


def test_general_english_the_corpus_never_uses_is_no_missing_term(engine):
    """The encoder's whole words are general English; a term it splits into pieces is not."""
    common = embeddings.whole_words(engine.model)
    assert {"restrict", "wrote", "way"} <= common and not {"svd", "quantization"} & common
    reader = Reader(["Attention scores are computed as dot products."], ["ATTENTION"], common=common)
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = reader.parse("Do attention scores restrict SVD in the way quantization restricts it?", encoding)
    assert set(question.unknown) == {"restrict", "SVD", "way", "quantization", "restricts"}
    assert question.unknown_terms == ("SVD", "quantization")  # "restricts": an inflection of a common word


@pytest.fixture(scope="module")
def two_entities(engine):
    """Two entities, each of whose passages all sit in a different document of the fixture
    corpus: chosen from the index, so the test holds whatever the extractor names."""
    units, entities = engine.index.text_units, engine.index.entities
    document_of = dict(zip(units["id"], units["document_id"], strict=True))
    homes = {}
    for row, (title, ids) in enumerate(zip(entities["title"], entities["text_unit_ids"], strict=True)):
        docs = {document_of[u] for u in ids if u in document_of}
        if len(docs) == 1 and 2 <= len(ids) and re.fullmatch(r"[A-Z]+(?: [A-Z]+)+", title):
            homes.setdefault(next(iter(docs)), row)
    rows = list(homes.values())[:2]
    assert len(rows) == 2, "the fixture corpus should have two documents with entities of their own"
    return rows


def test_graph_search_brings_passages_of_every_compared_entity(engine, two_entities):
    a, b = (engine.index.entities["title"].iat[r].lower() for r in two_entities)
    question = engine.encode_question(f"How do {a} and {b} differ?")
    assert question.kind == "compare" and set(two_entities) <= set(question.entities)
    candidates = graph_search(engine.index, engine.graph, question, 10, 16)
    scores = cover_terms(engine.graph, question, candidates, engine.reranker.scores(engine.index, engine.graph, question, candidates))
    units = [c.row for c, _ in sorted(zip(candidates, scores, strict=True), key=lambda cs: -cs[1]) if c.kind == "text_units"]
    for rank, entity in enumerate(two_entities):  # the best passage of each term, in the question's order, first
        assert units[rank] in engine.graph.units_of[entity]


def test_each_compared_term_brings_its_own_passages_and_the_best_of_them_leads(engine, two_entities):
    a, b = (engine.index.entities["title"].iat[r].lower() for r in two_entities)
    question = engine.encode_question(f"How do {a} and {b} differ?")
    candidates = graph_search(engine.index, engine.graph, question, 10, 16)
    own = []
    for k, (term, part) in enumerate(question.asked_of_terms()):  # ranked for the question asked of the term alone
        own.append({c.row for c in candidates if c.kind == "text_units" and k in c.clauses})
        assert own[k] and own[k] <= set(term_units(engine.index, engine.graph, term, part)[:TERM_UNITS])
    scores = cover_terms(engine.graph, question, candidates, np.linspace(1, 0, len(candidates)))  # whatever the reranker preferred
    units = [c.row for c, _ in sorted(zip(candidates, scores, strict=True), key=lambda cs: -cs[1]) if c.kind == "text_units"]
    assert units[0] in own[0] and units[1] in own[1]


def test_names_are_what_the_question_capitalizes_inside_a_sentence():
    reader = Reader(["Mistral models roll."], ["MISTRAL", "MODEL"])
    encoding = type("E", (), {"spans": np.zeros((0, 2), np.int32)})()
    question = reader.parse("YaRN extends one of Mistral's models. Which model is it?", encoding)
    assert [name for name, _ in question.names] == ["YaRN", "Mistral"]  # "Which" opens a sentence
    assert question.named_entities == (0,)  # "models" and "model" link MODEL, as words, not names


def test_a_clause_naming_an_entity_brings_a_passage_of_its_home(engine, two_entities):
    a, b = (engine.index.entities["title"].iat[r] for r in two_entities)
    question = engine.encode_question(f"What is {a.lower()}, and how does {b} work?")
    assert len(question.parts) == 2 and two_entities[1] in question.parts[1].named_entities
    homes = engine.graph.homes(Term(b, (), (two_entities[1],)))
    candidates = graph_search(engine.index, engine.graph, question, 10, 16)
    assert any(c.kind == "text_units" and 1 in c.clauses and engine.graph.document_of[c.row] in homes for c in candidates)
    alone = engine.encode_question(f"How does {b} work?")  # one question: the same, as its only part
    candidates = graph_search(engine.index, engine.graph, alone, 10, 16)
    assert any(c.kind == "text_units" and c.clauses == (0,) and engine.graph.document_of[c.row] in homes for c in candidates)


def test_pagerank_walks_from_the_named_entity_to_its_passages(engine, two_entities):
    entity = two_entities[1]
    walked = engine.graph.walk([entity], {}, 5)
    assert walked[0] in engine.graph.units_of[entity]
    assert engine.graph.walk([], {}, 5) == []  # nothing to start from: no walk


def test_compare_answer_has_one_labelled_part_per_entity(engine, two_entities):
    titles = [engine.index.entities["title"].iat[r].lower() for r in two_entities]
    answer = engine.ask(f"What is the difference between {titles[0]} and {titles[1]}?")
    assert not answer.abstained
    lines = [line for line in answer.text.splitlines() if line.startswith("- ")]
    for line, title in zip(lines, titles, strict=False):
        assert line.lower().startswith(f"- **{title}:** ")
        assert "[Data:" in line and title.split()[-1] in line.lower().split(":** ", 1)[1]
    assert not answer.warnings  # every citation is in the evidence


def test_honest_premise_names_what_the_corpus_does_not_mention(engine):
    answer = engine.ask("Can SVD be used to compute attention scores?")
    assert not answer.abstained
    premise, _, rest = answer.text.partition("\n\n- ")
    assert 'The indexed corpus does not mention SVD in connection with "compute attention scores"' in premise
    assert "scor" in rest.lower() and "[Data:" in rest and not answer.warnings  # how scores are computed, cited
    assert not re.search(r"\b(?:yes|no)\b[,.]", answer.text, re.IGNORECASE)  # no verdict the evidence does not state


def test_aliases_side_table_is_optional_and_links(tmp_path, fixture_index, fixture_settings):
    assert read_aliases(fixture_index) == [] or (fixture_index / "entity_aliases.parquet").exists()
    copy = tmp_path / "index"
    shutil.copytree(fixture_index, copy)
    entities = pd.read_parquet(copy / "entities.parquet")
    title = entities["title"].iat[0]
    pd.DataFrame({"title": [title], "alias": ["Qzxv"]}).to_parquet(copy / "entity_aliases.parquet")
    engine = QAEngine.load(copy, fixture_settings)
    assert (title, "Qzxv") in engine.index.aliases
    assert engine.encode_question("What does Qzxv do?").entities == (0,)
    pd.DataFrame({"name": ["x"]}).to_parquet(copy / "entity_aliases.parquet")
    with pytest.raises(Exception, match="entity_aliases.parquet needs the columns title and alias"):
        read_aliases(copy)


def test_local_search_is_still_there(engine):
    question = engine.encode_question("What does multi-head attention do?")
    assert {c.kind for c in local_search(engine.index, engine.graph, question, 10, 16)} >= {"entities", "text_units"}


def test_what_else_asks_for_additions_apart_from_what_it_sets_aside(engine):
    question = engine.encode_question("Apart from multi-head attention itself, what else does the Transformer use?")
    assert question.kind == "list" and question.form == "addition"
    aside = question.text.index("multi-head attention")
    inside = (question.encoding.spans[:, 0] >= aside) & (question.encoding.spans[:, 1] <= aside + len("multi-head attention"))
    assert inside.any() and not question.weights[inside].any() and question.weights[~inside].any()
    assert question.satisfied_by("It also uses positional encodings.") and not question.satisfied_by("It uses positional encodings.")


def test_a_question_names_a_document_by_its_repository_name(engine):
    """"memory-efficient-attention-pytorch" is the README titled "Memory Efficient Attention Pytorch (obsolete)"."""
    titles = dict(zip(engine.index.documents["id"], engine.index.documents["title"], strict=True))
    doc, title = next((d, t) for d, t in titles.items() if len(str(t).split()) >= 2)
    kebab = "-".join(w.lower() for w in re.findall(r"[A-Za-z0-9]+", re.sub(r"\([^()]*\)", " ", str(title))))
    question = engine.encode_question(f"Whose paper does {kebab} implement?")
    assert question.identifiers == [kebab]
    assert engine.graph.documents_named(question) == {d for d, t in titles.items() if t == title}
    assert engine.graph.documents_named(engine.encode_question("What is multi-head attention?")) == set()


# Invented names: only the hop from the first clause's answer finds what "that method" keeps.
HOP_CORPUS = {
    "zorblat.md": "# Zorblat\n\nZorblat is a toolkit for fine-tuning language models on long stories. It trains the\n"
    "Zorblat-7B models with a shifted window of attention.\n\n## News\n\n"
    "- Zorblat supports streaming inference for its story models with Quimbo. This lets a\n  dialogue run for many rounds.\n"
    "- The Zorblat-7B models are released under an open license.\n",
    "quimbo.md": "# Quimbo\n\nQuimbo is a method for streaming inference with language models that never saw long texts.\n"
    "Quimbo keeps the first four tokens and the most recent tokens in its cache and evicts the rest.\n"
    "The first tokens act as anchors for the attention weights, so the model stays stable.\nQuimbo needs no fine-tuning.\n",
    "flimflam.md": "# Flimflam\n\nFlimflam is a serving system for language models. A cache of keys and values is kept on\n"
    "the accelerator: Flimflam stores every past key and value in pages of its cache, so no\n"
    "token is ever recomputed. Methods that evict cache entries lose quality, the Flimflam team\nargues.\n",
}


def test_a_clause_about_the_previous_answer_is_answered_where_that_answer_leads(tmp_path, fixture_settings):
    """"Which method is that built on, and what does that method keep?": the first answer names
    Quimbo, so the second is answered from Quimbo's document, though Flimflam's says more of caches."""
    from qa_engine.indexer import build_index
    from qa_engine.search import answer_names, hop_group

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in HOP_CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = fixture_settings.with_paths(corpus=corpus, index=tmp_path / "index")
    engine = QAEngine.load(build_index(settings, progress=False).index_dir, settings)
    question = engine.encode_question("Zorblat supports streaming inference. Which method is that built on, and what does that method keep in its cache?")
    assert len(question.parts) == 2 and refers_back(question.parts[1].text)
    graph, titles = engine.graph, engine.index.entities["title"]
    everything = list(range(len(graph.document_of)))
    assert [titles.iat[e] for e in answer_names(engine.index, graph, question, question.parts[0], everything)] == ["QUIMBO"]
    # a first answer that names nothing at home elsewhere leads nowhere: no hop
    plain = engine.encode_question("What is Flimflam, and what does it store in its cache?")
    assert answer_names(engine.index, graph, plain, plain.parts[0], everything) == []
    hops = [c.row for c in graph_search(engine.index, graph, question) if hop_group(question, 1) in c.clauses]
    assert hops and {graph.document_of[u] for u in hops} == {graph.home_of[graph.entity_row["QUIMBO"]]}
    second = engine.ask(question.text).text.split("\n- ")[2]  # the first line answers the first clause
    assert "Quimbo keeps the first four tokens" in second
    assert "pages of its cache" not in engine.ask(question.text).text


def test_a_missing_word_is_named_with_its_own_clause_as_the_topic(engine):
    """A premise about the clause the word is missing from; a long one is no topic to quote."""
    asked = "Attention scores are softmaxed. Can SVD compute them, and why are they scaled?"
    assert premise_sentence(engine.encode_question(asked), ["SVD"]).startswith('The indexed corpus does not mention SVD in connection with "compute"')
    asked = "Attention scores are softmaxed. Can SVD be used by the decoder to compute the keys, queries and values of each attention head?"
    assert premise_sentence(engine.encode_question(asked), ["SVD"]) == "The indexed corpus does not mention SVD; what it says:"


RELEASE_CORPUS = {
    "glorp.md": "# Glorp\n\nGlorp is a toolkit for extending the context of language models. With Glorp, context windows grow by a\n"
    "scaled rotation of positions.\n\n## Releases\n\n- We publish variants of Llama at 32K tokens, fine-tuned for a few hundred steps.\n"
    "- We also publish long-context variants of Wuzzle 7B at 64K and 128K tokens.\n",
    "wuzzle.md": "# Wuzzle\n\nWuzzle is a family of open language models from a small team. The Wuzzle 7B model attends over a\n"
    "sliding window of 4096 tokens.\nWuzzle models are released under an open license.\n",
}


def _engine_on(corpus: dict[str, str], root, fixture_settings) -> QAEngine:
    """An engine on an index of the given documents, built by the real pipeline under `root`."""
    from qa_engine.indexer import build_index

    (root / "corpus").mkdir()
    for name, text in corpus.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    settings = fixture_settings.with_paths(corpus=root / "corpus", index=root / "index")
    return QAEngine.load(build_index(settings, progress=False).index_dir, settings)


@pytest.fixture(scope="module")
def releases(tmp_path_factory, fixture_settings):
    return _engine_on(RELEASE_CORPUS, tmp_path_factory.mktemp("releases"), fixture_settings)


def test_a_clause_naming_two_things_is_answered_by_a_sentence_about_both(releases):
    """"What does Glorp release for Wuzzle?": Glorp's README line that names Wuzzle, not the
    opening of Wuzzle's README that matches the words better."""
    question = releases.encode_question("What is Glorp, and what does Glorp release for Wuzzle?")
    titles = releases.index.entities["title"]
    assert {titles.iat[e] for e in question.parts[1].named_entities} == {"GLORP", "WUZZLE"}
    second = releases.ask(question.text).text.split("\n- ")[2]  # the first line answers the first clause
    assert "variants of Wuzzle 7B at 64K and 128K tokens" in second


RESULTS_CORPUS = {
    "flurb.md": "# Flurb\n\nFlurb is a recurrent language model that reads characters one at a time.\n\n## Results\n\n"
    "Flurb sets a new best result on character-level language modeling. Below is a summary.\n\n"
    "Method | quiffle8 (BPC) | zorb-103 (PPL)\n-- | -- | --\nPrevious Best | 1.06 | 20.5\nFlurb | **0.97** | **18.1**\n\n"
    "## Small models\n\nSee the release for a 7M params Flurb model on quiffle8 with 0.83 BPC(dev).\n",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, fixture_settings):
    return _engine_on(RESULTS_CORPUS, tmp_path_factory.mktemp("results"), fixture_settings)


def test_a_result_in_a_table_or_in_a_pointer_line_is_quoted(results):
    """A README's results live in its table (read with its header row) and in "See the release
    ... with 0.83 BPC" lines: both are quoted, and verified, as the corpus's statements."""
    answer = results.ask("What BPC does Flurb reach on quiffle8?")
    assert "Flurb | 0.97" in answer.text and "Method | quiffle8 (BPC)" in answer.text
    assert "[unsupported]" not in answer.text
    assert "0.83 BPC" in results.ask("What BPC does the small 7M params Flurb model get on quiffle8?").text


def test_a_possessive_is_no_word_the_corpus_lacks(releases):
    assert "s" not in releases.encode_question("What window does Wuzzle's 7B model attend over?").unknown


def test_a_quote_cites_the_passage_it_goes_on_in_whatever_record_it_was_read_from(releases):
    """Ids are per kind: an entity and a passage can both be 0, and the passage is still cited."""
    from qa_engine.answer import _cite, _scored_sentences
    from qa_engine.context import to_evidence

    index, graph = releases.index, releases.graph
    passages = [to_evidence(index, Candidate("text_units", u, 1.0), 1.0) for u in range(len(index.text_units))]
    records = [to_evidence(index, Candidate("entities", e, 1.0), 1.0) for e in range(len(index.entities))]
    source = next(p for p in passages if "Glorp is a toolkit" in p.text)
    entity = next(r for r in records if r.id == source.id)  # the same id, another kind
    packed = Packed(Candidate("entities", records.index(entity), 1.0), 1.0, entity)
    question = releases.encode_question("What is in this record?")
    sentence = _scored_sentences(index, graph, question, [packed])[0]
    later = next(s for _, _, s in graph.unit_sentences[passages.index(source)] if s not in entity.text)
    cited = _cite(sentence, [entity, source], graph, index, f"{sentence.text} {later}")
    assert cited.sources == (source.id,)
