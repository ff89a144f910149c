"""The answerers and rerankers beyond the offline default, end to end on the fixture index:

(a) the LLM answerer through graphrag's litellm client against a fake OpenAI-compatible
    server on 127.0.0.1 (what it is sent, what is kept of its reply, the fallback when the
    endpoint is down or hangs);
(b) the `transformers` completion with a tiny Llama saved to disk;
(c) a sentence-transformers CrossEncoder reranker (a tiny BERT saved to disk), and `none`.

The tiny models are built from scratch in well under a second: random weights, tokenizers
trained on a few lines. Their output is gibberish; what matters is the wiring.
"""

import logging
import re
import socket
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from qa_engine import QAEngine, cli
from qa_engine.answer import SYSTEM_PROMPT
from qa_engine.citations import parse_block
from qa_engine.context import allowed_citations, context_tables
from qa_engine.errors import SettingsError
from qa_engine.results import KINDS
from qa_engine.sentences import sentence_spans
from qa_engine.search import Candidate, cover_terms, prefer_answer_forms
from reliability.support import FakeLLM  # one fake OpenAI-compatible server for every test

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What does multi-head attention do?"
INVENTED = 99999
TIMEOUT_S = 1.0


# -- helpers ---------------------------------------------------------------------------------


def with_completion_model(settings, **update):
    """Settings whose default completion model has `update` applied, answering with the LLM."""
    graphrag = settings.graphrag
    model = graphrag.completion_models["default_completion_model"].model_copy(update=update)
    graphrag = graphrag.model_copy(update={"completion_models": {**graphrag.completion_models, "default_completion_model": model}})
    return replace(settings, graphrag=graphrag, qa=replace(settings.qa, answerer="llm", llm_timeout_s=TIMEOUT_S))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_entity_id(messages) -> int:
    return first_entity(messages)[0]


def first_entity(messages) -> tuple[int, str]:
    """The first entity row of the data tables: its id and the first sentence of its description."""
    match = re.search(r"-----Entities-----\nid\|entity\|description\n(\d+)\|[^|\n]*\|([^\n]*)", messages[1]["content"])
    description = match.group(2)
    body = description[description.find(":") + 1 :]
    start, end = sentence_spans(body)[0]
    return int(match.group(1)), " ".join(body[start:end].split())


def cited_in_text(text: str) -> dict[str, set[int]]:
    found = {k: set() for k in KINDS}
    for body in re.findall(r"\[Data:\s*([^\]]*)\]", text, flags=re.IGNORECASE):
        citations, _ = parse_block(body)
        for kind in KINDS:
            found[kind] |= set(getattr(citations, kind))
    return found


def assert_citations_verified(answer) -> None:
    allowed = allowed_citations(answer.evidence)
    for kind in KINDS:
        ok = set(getattr(allowed, kind))
        assert set(getattr(answer.citations, kind)) <= ok, kind
        assert cited_in_text(answer.text)[kind] <= ok, kind


# -- (a) LLM through an OpenAI-compatible endpoint -------------------------------------------


def quoting_reply(messages) -> str:
    """The first entity's first sentence, citing that entity plus an invented one."""
    entity, sentence = first_entity(messages)
    return f"{sentence.rstrip('.')} [Data: Entities ({entity}, {INVENTED})]."


@pytest.fixture(scope="module")
def citing_server():
    server = FakeLLM(reply=quoting_reply)
    yield server
    server.close()


@pytest.fixture(scope="module")
def llm_answer(engine, fixture_settings, citing_server):
    llm_engine = QAEngine(with_completion_model(fixture_settings, api_base=citing_server.api_base), engine.index)
    assert llm_engine.mode == "llm"
    return llm_engine.ask(QUESTION)


def test_llm_request_carries_the_fixed_system_prompt_and_data_in_the_user_turn(citing_server, llm_answer):
    assert len(citing_server.requests) == 1
    path, _, body = citing_server.requests[0]
    assert path == "/v1/chat/completions"
    assert body["model"] == "llama3.1"
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    data, _, rest = user["content"].partition("</data>")
    assert data.startswith("<data>\n")
    assert context_tables(llm_answer.evidence) in data  # every table the answer's evidence makes
    for kind, label in (("entities", "Entities"), ("sources", "Sources")):
        assert f"-----{label}-----" in data
        assert all(f"\n{e.id}|" in data for e in llm_answer.evidence if e.kind == kind)
    assert QUESTION in rest and QUESTION not in system["content"]


def test_llm_answer_keeps_valid_citations_and_strips_invented_ones(llm_answer, citing_server):
    valid, sentence = first_entity(citing_server.requests[0][2]["messages"])
    assert llm_answer.mode == "llm"
    assert llm_answer.text == f"{sentence.rstrip('.')} [Data: Entities ({valid})]."
    assert str(INVENTED) not in llm_answer.text
    assert llm_answer.citations.entities == (valid,)
    assert f"removed citation Entities ({INVENTED}): not in the evidence given" in llm_answer.warnings
    assert_citations_verified(llm_answer)


def test_llm_down_falls_back_to_extractive_quickly(engine, fixture_settings):
    down = QAEngine(with_completion_model(fixture_settings, api_base=f"http://127.0.0.1:{closed_port()}/v1"), engine.index)
    started = time.perf_counter()
    answer = down.ask(QUESTION)
    assert time.perf_counter() - started < 15
    assert answer.mode == "extractive"
    assert answer.text and not answer.abstained
    assert any(w.startswith("LLM answerer failed") for w in answer.warnings), answer.warnings
    assert_citations_verified(answer)


def test_llm_hanging_times_out_and_falls_back(engine, fixture_settings):
    hanging = FakeLLM("hang", reply=lambda m: "too late", delay_s=8 * TIMEOUT_S)
    try:
        slow = QAEngine(with_completion_model(fixture_settings, api_base=hanging.api_base), engine.index)
        started = time.perf_counter()
        answer = slow.ask(QUESTION)
        elapsed = time.perf_counter() - started
    finally:
        hanging.close()
    assert elapsed < 8 * TIMEOUT_S, f"waited {elapsed:.1f} s: qa.llm_timeout_s={TIMEOUT_S} was not applied"
    assert len(hanging.requests) == 1, "the client retried: each retry waits the whole timeout again"
    assert answer.mode == "extractive"
    assert any(w.startswith("LLM answerer failed") for w in answer.warnings), answer.warnings
    assert "too late" not in answer.text


def test_cli_with_llm_down_answers_without_a_traceback(capsys, tmp_path, fixture_index):
    """graphrag_llm logs a failed request with logger.exception; in a plain `qa-engine` run,
    where nothing configured logging, Python's last-resort handler would print that traceback
    to the terminal. pytest installs handlers, so they are set aside to see what a terminal sees."""
    values = yaml.safe_load((ROOT / "settings.yaml").read_text(encoding="utf-8"))
    values["completion_models"]["default_completion_model"]["api_base"] = f"http://127.0.0.1:{closed_port()}/v1"
    values["qa"].update(answerer="llm", llm_timeout_s=TIMEOUT_S)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    root = logging.getLogger()
    handlers, root.handlers = root.handlers, []
    try:
        code = cli.main(["--settings", str(settings_file), "ask", QUESTION, "--index", str(fixture_index)])
    finally:
        root.handlers = handlers
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip()
    assert "warning: LLM answerer failed" in captured.err
    assert "Traceback" not in captured.err, captured.err[-2000:]


def test_llm_empty_reply_falls_back(engine, fixture_settings):
    empty = FakeLLM(reply=lambda m: "   ")
    try:
        answer = QAEngine(with_completion_model(fixture_settings, api_base=empty.api_base), engine.index).ask(QUESTION)
    finally:
        empty.close()
    assert answer.mode == "extractive"
    assert any("empty answer" in w for w in answer.warnings), answer.warnings


# -- (b) a local transformers chat model -----------------------------------------------------

TRAINING_TEXT = [
    SYSTEM_PROMPT,
    "attention heads query key value softmax encoder decoder transformer scores weights parallel",
    "[ Data : Entities ( 1 , 2 ) ; Relationships ( 3 ) ; Reports ( 4 ) ; Sources ( 5 , +more ) ] 99999",
]


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def build_tiny_llama(path):
    """A 2-layer Llama (hidden 32) with a word-level tokenizer and a chat template, saved to `path`."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(TRAINING_TEXT, trainers.WordLevelTrainer(special_tokens=["<unk>", "<s>", "</s>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="</s>")
    fast.chat_template = (
        "{% for m in messages %}<s> {{ m['role'] }} : {{ m['content'] }} </s>\n{% endfor %}"
        "{% if add_generation_prompt %}<s> assistant :{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=8192, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.suppress_tokens = [0, 1, 2]  # never <unk>/<s>/</s>: the decoded text is never empty
    model.generation_config.max_time = 2.0  # the answerer asks for 700 tokens: stop the gibberish after 2 s
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_transformers_completion_answers_and_is_verified(engine, fixture_settings, tiny_llama):
    settings = with_completion_model(fixture_settings, type="transformers", model=str(tiny_llama))
    local = QAEngine(settings, engine.index)
    assert local.mode == "llm"
    answer = local.ask(QUESTION)
    assert answer.mode == "llm", answer.warnings
    assert answer.text.strip()
    assert answer.evidence
    assert_citations_verified(answer)
    assert not any(w.startswith("LLM answerer failed") for w in answer.warnings)


def test_transformers_completion_with_a_bad_path_is_a_settings_error(engine, fixture_settings, tmp_path):
    from qa_engine.llm import load_local_chat_model

    with pytest.raises(SettingsError, match="could not be loaded"):
        load_local_chat_model(str(tmp_path / "no-model"))


# -- (c) rerankers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory, fixture_index):
    import pandas as pd

    texts = pd.read_parquet(fixture_index / "text_units.parquet", columns=["text"])["text"].tolist()
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-cross-encoder"), texts)


def build_tiny_cross_encoder(path, texts):
    """A 2-layer BERT (hidden 32) with one output and a WordPiece tokenizer trained on `texts`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts + TRAINING_TEXT, trainers.WordPieceTrainer(vocab_size=500, special_tokens=special))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=256,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=256, num_labels=1, initializer_range=0.5,  # wide weights: well separated scores
    )
    BertForSequenceClassification(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


_TABLE_AND_ID = {
    "entities": ("entities", "human_readable_id"),
    "relationships": ("relationships", "human_readable_id"),
    "reports": ("community_reports", "community"),
    "sources": ("text_units", "human_readable_id"),
}


def candidates_of(index, evidence) -> list[Candidate]:
    """The search candidate behind each evidence record."""
    found = []
    for e in evidence:
        table, column = _TABLE_AND_ID[e.kind]
        rows = np.flatnonzero(index.tables[table][column].astype(int).to_numpy() == e.id)
        assert len(rows) == 1, (e.kind, e.id)
        found.append(Candidate(table, int(rows[0]), 0.0))
    return found


def assert_best_first_within_kinds(evidence) -> None:
    for kind in KINDS:
        scores = [e.score for e in evidence if e.kind == kind]
        assert scores == sorted(scores, reverse=True), kind


def test_cross_encoder_scores_order_the_evidence(engine, fixture_settings, tiny_cross_encoder):
    settings = replace(fixture_settings, qa=replace(fixture_settings.qa, reranker=str(tiny_cross_encoder)))
    reranked = QAEngine(settings, engine.index)
    assert reranked.reranker.name == str(tiny_cross_encoder)
    answer = reranked.ask(QUESTION)
    assert answer.text and answer.evidence
    query = reranked.encode_question(answer.question)
    candidates = candidates_of(engine.index, answer.evidence)
    model_scores = reranked.reranker.scores(engine.index, engine.graph, query, candidates)
    given = np.array([e.score for e in answer.evidence], dtype=np.float32)
    # the evidence carries that model's scores as search ranks by them (`cover_terms` may keep the best
    # bridge or answer-form passage in the context); every other record carries the model's own score
    qa = settings.qa
    searched = reranked.search(engine.index, engine.graph, query, qa.top_k_entities, qa.top_k_text_units)
    raw = reranked.reranker.scores(engine.index, engine.graph, query, searched)
    ranked = cover_terms(engine.graph, query, searched, prefer_answer_forms(engine.graph, query, searched, raw))
    by_record = {(c.kind, c.row): (float(score), c.bridge or c.form) for c, score in zip(searched, ranked, strict=True)}
    np.testing.assert_allclose(given, [by_record[(c.kind, c.row)][0] for c in candidates], rtol=1e-3, atol=1e-4)
    plain = np.array([not by_record[(c.kind, c.row)][1] for c in candidates])
    assert plain.sum() > len(candidates) // 2
    np.testing.assert_allclose(given[plain], model_scores[plain], rtol=1e-3, atol=1e-4)
    assert_best_first_within_kinds(answer.evidence)
    assert len(set(np.round(model_scores, 4))) > len(model_scores) // 2  # the ordering is not decided by ties
    default_scores = engine.reranker.scores(engine.index, engine.graph, query, candidates)
    assert not np.allclose(default_scores, model_scores, atol=1e-3)  # not the late-interaction scores
    assert_citations_verified(answer)


def test_no_reranker_keeps_retrieval_similarity(engine, fixture_settings):
    settings = replace(fixture_settings, qa=replace(fixture_settings.qa, reranker="none"))
    plain = QAEngine(settings, engine.index)
    assert plain.reranker.name == "none"
    answer = plain.ask(QUESTION)
    assert answer.text and answer.evidence
    assert all(-1.0001 <= e.score <= 1.0001 for e in answer.evidence)  # cosines
    assert_best_first_within_kinds(answer.evidence)
    assert_citations_verified(answer)


def test_unknown_cross_encoder_is_a_settings_error(tmp_path):
    from qa_engine.rerank import make_reranker

    with pytest.raises(SettingsError, match="qa.reranker"):
        make_reranker(str(tmp_path / "no-such-cross-encoder"))


# -- streaming and the claim check on an LLM answer ------------------------------------------

INVENTED_CLAIM = "SVD computes the attention scores of every head in closed form"


def streamed_reply(messages) -> str:
    """A quote of the first entity, then an invention, each citing that entity."""
    entity, sentence = first_entity(messages)
    return f"{sentence.rstrip('.')} [Data: Entities ({entity})]. {INVENTED_CLAIM} [Data: Entities ({entity})]."


def test_llm_answer_streams_and_its_invented_claim_is_marked(engine, fixture_settings):
    with FakeLLM(reply=streamed_reply, token_delay_s=0.01) as server:
        pieces = []
        answer = QAEngine(with_completion_model(fixture_settings, api_base=server.api_base), engine.index).ask(
            QUESTION, on_token=pieces.append
        )
        sent = streamed_reply(server.requests[0][2]["messages"])
    assert server.requests[0][2]["stream"] is True
    assert len(pieces) > 5 and "".join(pieces) == sent  # every piece, in order, as it came
    assert answer.mode == "llm", answer.warnings
    quoted, invented = answer.claims
    assert quoted.supported and quoted.score == 1.0 and quoted.evidence.entities
    assert not invented.supported and invented.text == f"{INVENTED_CLAIM}."
    assert answer.text.endswith(f"{INVENTED_CLAIM} [Data: Entities ({first_entity_id(server.requests[0][2]['messages'])})]. [unsupported]")
    assert answer.text.count("[unsupported]") == 1
    assert any(INVENTED_CLAIM in w for w in answer.warnings), answer.warnings
    assert answer.to_dict()["claims"][1] == {"text": invented.text, "supported": False, "score": round(invented.score, 3),
                                             "evidence": invented.evidence.to_dict()}


def test_llm_answer_with_no_supported_claim_says_so_first(engine, fixture_settings):
    with FakeLLM(reply=lambda m: f"{INVENTED_CLAIM}. Attention was invented by Napoleon in 1805.") as server:
        answer = QAEngine(with_completion_model(fixture_settings, api_base=server.api_base), engine.index).ask(QUESTION)
    assert answer.mode == "llm"
    assert len(answer.claims) == 2 and not any(c.supported for c in answer.claims)
    assert answer.text.startswith("**No claim of this answer is stated in the evidence")
    assert answer.warnings[0] == "no claim of the answer is stated in the evidence"


class Clock:
    """stdout that notes when each write came."""

    def __init__(self):
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.monotonic(), text))
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(t for _, t in self.writes)


def test_cli_ask_stream_prints_tokens_as_they_come(monkeypatch, capsys, tmp_path, fixture_index):
    delay = 0.05
    with FakeLLM(reply=streamed_reply, token_delay_s=delay) as server:
        values = yaml.safe_load((ROOT / "settings.yaml").read_text(encoding="utf-8"))
        values["completion_models"]["default_completion_model"]["api_base"] = server.api_base
        values["qa"].update(answerer="llm", llm_timeout_s=30)  # the whole stream takes ~1.5 s
        settings_file = tmp_path / "settings.yaml"
        settings_file.write_text(yaml.safe_dump(values), encoding="utf-8")
        clock = Clock()
        monkeypatch.setattr("sys.stdout", clock)
        code = cli.main(["--settings", str(settings_file), "ask", QUESTION, "--index", str(fixture_index), "--stream"])
        monkeypatch.undo()
        sent = streamed_reply(server.requests[0][2]["messages"])
    err = capsys.readouterr().err
    assert code == 0, err
    out = clock.text()
    assert out.startswith(sent)  # the raw reply, as written
    assert out.rstrip().endswith("[checked: 1 of 2 claims stated in the evidence]")
    pieces = [t for t in clock.writes if t[1]][: len(sent.split())]
    assert pieces[-1][0] - pieces[0][0] > delay * (len(pieces) - 2)  # printed while the server was still sending
    assert f'unsupported claim (the records it cites do not state it): "{INVENTED_CLAIM}."' in err


def test_cli_ask_json_and_stream_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.main(["ask", QUESTION, "--json", "--stream"])
    assert "not allowed with argument" in capsys.readouterr().err
