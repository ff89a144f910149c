"""The offline answer: whole corpus sentences that answer the question, diverse, each cited."""

from __future__ import annotations

import re

import pytest

from qa_engine.answer import _BULLET as LIST_MARKER
from qa_engine import embeddings
from qa_engine.answer import ABSTAIN_BELOW, MAX_SENTENCES, _answering, _before, _context_start, _goes_on, _match, _repeats, _Sentence, extractive_answer
from qa_engine.context import Packed, to_evidence
from qa_engine.search import Candidate
from qa_engine.sentences import is_claim, normalize, sentence_spans, successors

_BULLET = re.compile(r"^- (.+?) (\[Data: [^\]]+\])$", re.MULTILINE)


@pytest.fixture(scope="module")
def multihead(engine):
    return engine.ask("What does multi-head attention do?")


def bullets(text: str) -> list[str]:
    return [quote for quote, _ in _BULLET.findall(text)]


def test_answer_explains_from_the_right_passage(multihead):
    text = multihead.text.lower()
    assert not multihead.abstained and multihead.mode == "extractive"
    for group in (["head"], ["concaten"], ["project", "linear"]):  # dev06's must-mention groups
        assert any(word in text for word in group), multihead.text


def test_every_bullet_is_cited_and_no_two_say_the_same(multihead):
    quotes = bullets(multihead.text)
    assert 1 <= len(quotes) <= MAX_SENTENCES
    assert len(quotes) == multihead.text.count("\n- ") + multihead.text.startswith("- ")
    for i, a in enumerate(quotes):
        for b in quotes[i + 1 :]:
            assert not _repeats(a, b), (a, b)


def test_parallel_facts_about_different_names_are_not_repeats():
    fact = "is an author of the paper Zorbs Roll, which presents the zorb."
    assert not _repeats(f"Ofir Press {fact}", f"Mike Lewis {fact}")
    assert _repeats(f"Ofir Press {fact}", f"Ofir Press {fact} It was written in 2021.")  # a sentence of both
    assert _repeats(f"(Zorbs are Big.) Ofir Press {fact}", f"Ofir Press {fact}")
    assert _repeats("The zorb rolls down the hill fast.", "In particular, the zorb rolls down the hill fast today.")


def test_a_list_step_is_read_and_quoted_with_its_lead_in():
    """"(2) Remove ..." says nothing of top-z on its own: its lead-in names what it is a step of."""
    text = (
        "We propose a new sampling method called top-z:\n\n(1) Find the largest weight w_max of all zorbs.\n\n"
        "(2) Remove every zorb lighter than 0.2 times w_max squared.\n\nZorbs roll down the hill very fast."
    )
    sentences = [(a, b, normalize(text[a:b])) for a, b in sentence_spans(text)]
    assert _context_start(sentences, 2) == sentences[0][0] == _context_start(sentences, 1)
    assert _context_start(sentences, 3) is None
    previous = {b: a for a, b in successors([text]).items()}
    lead_in, first, second, plain = (s for _, _, s in sentences)
    assert _before(previous, second) == [lead_in, first]
    assert _before(previous, plain) == []


def test_a_quote_that_speaks_of_what_came_before_brings_it():
    """"To alleviate this issue, ..." needs the issue; the issue "this incurs" needs its cause."""
    text = (
        "Zorbs weigh more as they grow. At rest, this makes them slow to start. "
        "To alleviate this issue, we roll them downhill. In this paper, we roll zorbs. This project welcomes contributions and suggestions from anyone."
    )
    cause, effect, remedy, paper, project = (normalize(text[a:b]) for a, b in sentence_spans(text))
    previous = {b: a for a, b in successors([text]).items()}
    assert _before(previous, remedy) == [cause, effect]  # two back, through the demonstrative of the first
    assert _before(previous, effect) == [cause]
    assert _before(previous, paper) == [] == _before(previous, project)  # "this paper", "This project": the document itself


def test_a_part_asked_how_is_answered_by_a_sentence_that_says_how(engine):
    """Beside one that matches the question's words better, a sentence saying how ("by ...")
    answers a part asked "how", as long as it clears the abstention bar."""
    asked = engine.encode_question("How does the zorb keep its balance?")
    texts = ["The zorb keeps its balance well and its balance is famous.", "The zorb stays upright by shifting water inside it."]
    sentences = [
        _Sentence(t, 0.0, None, e.vector, (e.tokens,), (e.tokens,)) for t, e in zip(texts, embeddings.encode_tokens(engine.model, texts), strict=True)
    ]
    scores = [_match(asked, s.views) for s in sentences]
    assert asked.kind == "how" and scores[0] > scores[1] > ABSTAIN_BELOW  # the premise of the test
    assert _answering(asked, sentences, 0.0) is sentences[1]
    assert _answering(asked, sentences[:1], 0.0) is sentences[0]  # none says how: the best there is


def test_a_part_is_answered_by_a_sentence_read_in_its_passage(engine):
    """"We ... add a linear bias" does not name Zorbformer, but its passage is about how
    Zorbformer encodes position; an opinion that matches more of the words sits in one about
    something else."""
    asked = engine.encode_question("How does Zorbformer encode position?")
    texts = ["I think position embeddings make a model overfit to positions.", "We drop the position embeddings and add a linear bias to each attention score."]
    passages = [
        f"Readers often ask about extrapolation. {texts[0]} There is more in a thread.",
        f"Zorbformer encodes position without embeddings. {texts[1]} Zorbformer's biases grow with the distance between a query and a key.",
    ]
    encoded = embeddings.encode_tokens(engine.model, texts + passages)
    sentences = [_Sentence(t, 0.0, None, e.vector, (e.tokens,), (p.tokens,)) for t, e, p in zip(texts, encoded[:2], encoded[2:], strict=True)]
    assert _match(asked, sentences[0].views) > _match(asked, sentences[1].views)  # alone, the opinion matches better
    assert not any(asked.satisfied_by(t) for t in texts)  # neither has the form of a "how" answer: the passage decides
    assert _answering(asked, sentences, 0.0) is sentences[1]


def test_quotes_are_whole_sentences_of_the_documents(multihead, engine):
    """Chunk borders fall mid-sentence; a quote still starts and ends where its sentence does."""
    documents = " ".join(normalize(t) for t in engine.index.documents["text"])
    for quote in bullets(multihead.text):
        assert quote in documents, quote
        assert quote[0].isupper() and quote.endswith((".", "!", "$$")), quote


@pytest.mark.parametrize(
    "question",
    ["What is the boiling point of ethanol?", "a", "What is the?", "How does the Zorblax oracle pick which tokens a Transformer drops?"],
)
def test_off_corpus_or_empty_of_content_abstains(engine, question):
    """Stopwords alone match every passage equally well: that is no evidence. Nor is what the
    corpus says of the Transformer evidence about a Zorblax oracle it never names."""
    answer = engine.ask(question)
    assert answer.abstained and answer.citations.is_empty(), answer.text


def test_a_quantity_no_passage_states_abstains(engine):
    """Passages about heads and their sizes, none giving a block size, do not answer for one."""
    answer = engine.ask("What block size does multi-head attention use for its heads?")
    assert answer.abstained and answer.citations.is_empty() and "states a quantity" in answer.text, answer.text


def test_a_quantity_of_a_named_thing_no_evidence_names_abstains(engine):
    """The class's head count is no head count on ImageNet, which no evidence names."""
    assert not engine.ask("How many heads does the MultiHeadAttention class use?").abstained
    answer = engine.ask("How many heads does the MultiHeadAttention class use on ImageNet?")
    assert answer.abstained and answer.citations.is_empty() and "does not mention ImageNet" in answer.text, answer.text


def test_a_quote_that_starts_where_an_earlier_one_ends_continues_it():
    """"This is helpful for ..." is quoted with the sentence before it; when an earlier bullet
    ends with that sentence, the new one goes on from it instead of being dropped as a repeat."""
    earlier = "Zorbs are stored in blocks. A lookup table helps share blocks."
    quote = "A lookup table helps share blocks. This is helpful for parallel spinning."
    assert _goes_on(earlier, quote, "This is helpful for parallel spinning.")
    assert not _goes_on(earlier, "This is helpful for parallel spinning.", "This is helpful for parallel spinning.")  # nothing before it
    assert not _goes_on("Zorbs are stored in blocks.", quote, "This is helpful for parallel spinning.")  # the earlier one ends elsewhere


def test_quoted_list_items_lose_their_markers_not_their_dashes():
    """The answer's bullet stands for a quoted item's own: no "- - We follow ..."."""
    quoted = "- We follow ZorbLM for streaming inference. - We combine quiffles with zorbs. Zorbs - the round ones - roll."
    assert LIST_MARKER.sub("", quoted) == "We follow ZorbLM for streaming inference. We combine quiffles with zorbs. Zorbs - the round ones - roll."


def test_a_description_sentence_is_quoted_and_cited_where_its_passage_has_it(engine):
    """With only an entity's description in the context, a sentence it quotes from a passage is
    quoted as that passage has it, with what follows it there, and cites that passage: the
    engine adds it to the evidence (`Draft.quoted`)."""
    graph, index = engine.graph, engine.index
    found = None
    for e, description in enumerate(index.entities["description"].fillna("")):
        for a, b in sentence_spans(description, description.find(":") + 1):
            sentence = normalize(description[a:b])
            row, written = graph.origin_of.get(sentence, (None, ""))
            following = graph.next_sentence.get(written, "")
            if row is not None and is_claim(sentence) and is_claim(following) and len(sentence.split()) > 8:
                found = e, sentence, row, following
                break
        if found:
            break
    assert found, "the fixture index has a description quoting a passage"
    e, sentence, row, following = found
    candidate = Candidate("entities", e, 1.0)
    draft = extractive_answer(index, graph, engine.encode_question(sentence), [Packed(candidate, 1.0, to_evidence(index, candidate, 1.0))])
    source = int(index.text_units["human_readable_id"].iat[row])
    assert not draft.abstained and row in draft.quoted
    assert following in normalize(draft.text) and re.search(rf"Sources \([^)]*\b{source}\b", draft.text), draft.text
