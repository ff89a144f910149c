"""The claim check (qa_engine.claims) with the real MiniLM: what counts as a claim, which
claims the evidence states, what the ids they cite must hold, how the answer shows it; and
the extractive answerer, whose claims are quotes, passing it on the fixture index."""

import pytest

from qa_engine import embeddings
from qa_engine.claims import MARK, NONE_SUPPORTED, SUPPORTED_AT, check_claims, split_claims
from qa_engine.results import Citations, Evidence

EVIDENCE = [
    Evidence("sources", 3, "Multi-head attention", "Multi-head attention runs h attention poolings in parallel. "
             "Each head attends to a different representation subspace of queries, keys and values. "
             "The outputs of the h heads are concatenated and transformed by a learnable linear projection."),
    Evidence("sources", 7, "Scaled dot-product attention", "The dot product of queries and keys is divided by the "
             "square root of the key dimension d. This keeps the variance of the scores at 1, so the softmax does not "
             "saturate. The original Transformer used 8 heads."),
    Evidence("entities", 11, "TRANSFORMER", "TRANSFORMER: The Transformer is built from attention alone and does not "
             "use recurrence. It was introduced by Vaswani and colleagues."),
]


@pytest.fixture(scope="module")
def minilm():
    return embeddings.load_sentence_transformer()


def one(text, model, evidence=EVIDENCE):
    checked = check_claims(text, evidence, model)
    assert len(checked.claims) == 1, checked.claims
    return checked, checked.claims[0]


def test_claims_are_sentences_and_bullets_with_their_line_citations():
    text = (
        "## Answer\n\nThe answer to this question is:\n\n"
        "- Heads run in parallel. Their outputs are concatenated [Data: Sources (3)].\n"
        "- The scores are scaled by the square root of d [Data: Sources (7); Entities (11)]. Is that all?\n"
        "Related topics in the corpus: Multi-head attention; Transformer."
    )
    claims = split_claims(text)
    assert [c.text for c in claims] == [
        "Heads run in parallel.",
        "Their outputs are concatenated.",
        "The scores are scaled by the square root of d.",
    ]
    assert [c.cites for c in claims] == [Citations(sources=(3,))] * 2 + [Citations(entities=(11,), sources=(7,))]
    first_end = text.index("[Data: Sources (3)]") + len("[Data: Sources (3)].")
    assert claims[1].end == first_end  # a mark goes after the claim and its citation


def test_a_quote_is_supported_by_the_records_that_hold_it(minilm):
    checked, claim = one("Each head attends to a *different* representation subspace of queries, keys and values.", minilm)
    assert claim.supported and claim.score == 1.0
    assert claim.evidence == Citations(sources=(3,))
    assert checked.warnings == [] and MARK not in checked.text


def test_a_paraphrase_is_supported(minilm):
    _, claim = one("The softmax does not saturate because the scores keep a variance of 1.", minilm)
    assert claim.supported, claim
    assert SUPPORTED_AT <= claim.score < 1.0
    assert claim.evidence.sources == (7,)


@pytest.mark.parametrize(
    "invented",
    [
        "SVD is used to compute the attention scores of multi-head attention.",  # a name the evidence never has
        "The original Transformer used 16 heads.",  # a number changed
        "The Transformer is built from attention alone and uses recurrence.",  # the opposite of what it says
        "Attention heads are trained with reinforcement learning on image captions.",  # nothing of the sort
    ],
)
def test_invented_claims_are_unsupported_marked_and_warned(minilm, invented):
    checked, claim = one(f"{invented} [Data: Sources (3, 7)]", minilm)
    assert not claim.supported and claim.score < SUPPORTED_AT, claim
    assert checked.text.startswith(NONE_SUPPORTED)  # its only claim: the answer says so first
    assert checked.text.endswith(f"[Data: Sources (3, 7)] {MARK}")
    assert any(invented.rstrip(".") in w for w in checked.warnings), checked.warnings
    assert checked.warnings[0] == "no claim of the answer is stated in the evidence"


def test_the_cited_records_must_hold_the_support(minilm):
    checked, claim = one("Multi-head attention runs h attention poolings in parallel [Data: Sources (7)].", minilm)
    assert not claim.supported
    assert claim.evidence == Citations(sources=(3,))  # where the support is
    assert checked.warnings[-1].startswith("unsupported claim (the records it cites do not state it; [Data: Sources (3)] does)")


def test_only_unsupported_claims_are_marked(minilm):
    text = "- The outputs of the heads are concatenated and linearly projected [Data: Sources (3)].\n- SVD computes the scores [Data: Sources (7)]."
    checked = check_claims(text, EVIDENCE, minilm)
    assert [c.supported for c in checked.claims] == [True, False]
    assert checked.text == f"- The outputs of the heads are concatenated and linearly projected [Data: Sources (3)].\n- SVD computes the scores [Data: Sources (7)]. {MARK}"
    assert len(checked.warnings) == 1


def test_extractive_answers_pass_by_construction(engine):
    questions = ["What does multi-head attention do?", "Why are attention scores scaled?", "What is an encoder-decoder?"]
    for question in questions:
        answer = engine.ask(question)
        assert answer.mode == "extractive" and not answer.abstained
        assert answer.claims, answer.text
        failed = [c for c in answer.claims if not c.supported]
        assert not failed, (question, failed)
        assert all(c.score == 1.0 for c in answer.claims)  # quoted verbatim
        assert MARK not in answer.text and not answer.warnings
        for claim in answer.claims:  # each names the records it quotes, and the answer cites them
            assert not claim.evidence.is_empty()
        assert answer.to_dict()["claims"][0]["supported"] is True


def test_a_labelled_bullet_quoting_the_evidence_is_a_quote(minilm):
    text = ("- **Heads:** Each head attends to a different representation subspace of queries, keys and values. "
            "[Data: Sources (3)]\n- **Scaling:** the evidence found says nothing about scaling.")
    checked = check_claims(text, EVIDENCE, minilm)
    (claim,) = checked.claims  # the second bullet is framing, not a claim
    assert claim.supported and claim.score == 1.0 and claim.evidence == Citations(sources=(3,))


def test_dated_list_items_are_claims_of_their_own():
    """An answer quoting "[2024/01] X ... [2023/12] Y ..." (news items, markers dropped) states each item on its own."""
    claims = [s.text for s in split_claims("- [2024/01] ZorbLM is integrated by Quiffle. [2023/12] ZorbLM is covered by the Zorb News. [Data: Sources (4)]")]
    assert len(claims) == 2 and claims[0].endswith("integrated by Quiffle.") and claims[1].endswith("covered by the Zorb News.")
