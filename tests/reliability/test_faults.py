"""Faults: damaged index files, an LLM endpoint that refuses, hangs or answers garbage.
(A build killed with SIGKILL: tests/test_index.py::test_killed_build_keeps_the_previous_index.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_engine import QAEngine
from qa_engine.errors import IndexNotFoundError

from .support import ROOT, FakeLLM, closed_port, llm_settings, no_traceback, settings_file

QUESTION = "What does multi-head attention do?"
FALLBACK_BOUND_S = 10.0  # qa.llm_timeout_s is 1 s and nothing retries: a fallback is quick


# ------------------------------------------------------------------ damaged index files

DAMAGED = [
    ("entities.parquet", "half"),
    ("text_units.parquet", "empty"),
    ("text_unit_text.faiss", "half"),
    ("entity_description.faiss", "empty"),
    ("entities_tokens.npy", "half"),
    ("community_reports_tokens.parquet", "half"),
]


def _damaged_copy(fixture_index: Path, folder: Path, name: str, how: str) -> Path:
    """The fixture index with `name` truncated; every other file a link to the original."""
    source = fixture_index.resolve()
    folder.mkdir()
    for f in source.iterdir():
        if f.is_file() and f.name != name:
            (folder / f.name).symlink_to(f)
    data = (source / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2] if how == "half" else b"")
    return folder


@pytest.mark.parametrize(("name", "how"), DAMAGED)
def test_truncated_index_file_is_a_clear_error(fixture_index, fixture_settings, tmp_path, name, how):
    damaged = _damaged_copy(fixture_index, tmp_path / "index", name, how)
    with pytest.raises(IndexNotFoundError) as caught:
        QAEngine.load(damaged, fixture_settings)
    message = str(caught.value)
    assert str(damaged / name) in message, message
    assert "qa-engine index" in message, message
    assert "\n" not in message


def test_cli_ask_on_a_damaged_index_prints_one_error_line(fixture_index, tmp_path):
    """A real process, as a user runs it: exit status 2, one `error:` line, no traceback."""
    damaged = _damaged_copy(fixture_index, tmp_path / "index", "entities.parquet", "half")
    config = settings_file(tmp_path, tmp_path / "corpus", damaged)
    proc = subprocess.run(
        [sys.executable, "-m", "qa_engine", "--settings", str(config), "ask", QUESTION, "--index", str(damaged)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert str(damaged / "entities.parquet") in lines[0] and "qa-engine index" in lines[0]
    assert no_traceback(proc.stderr)


# ------------------------------------------------------------------ the LLM endpoint misbehaves


def _ask_with_llm(engine, fixture_settings, api_base: str):
    llm = QAEngine(llm_settings(fixture_settings, api_base), engine.index)
    assert llm.mode == "llm"
    started = time.perf_counter()
    answer = llm.ask(QUESTION)
    return answer, time.perf_counter() - started


def _assert_extractive_fallback(answer, elapsed: float) -> None:
    assert elapsed < FALLBACK_BOUND_S, f"the fallback took {elapsed:.1f} s"
    assert answer.mode == "extractive"
    assert answer.text.strip() and not answer.abstained and answer.evidence
    failed = [w for w in answer.warnings if w.startswith("LLM answerer failed")]
    assert failed and "extractive answer instead" in failed[0], answer.warnings


def test_llm_refusing_connections_falls_back(engine, fixture_settings):
    answer, elapsed = _ask_with_llm(engine, fixture_settings, f"http://127.0.0.1:{closed_port()}/v1")
    _assert_extractive_fallback(answer, elapsed)


def test_llm_hanging_past_the_timeout_falls_back(engine, fixture_settings):
    with FakeLLM("hang", delay_s=6.0) as server:
        answer, elapsed = _ask_with_llm(engine, fixture_settings, server.api_base)
        assert len(server.requests) == 1, "retried: each retry waits the whole timeout again"
    _assert_extractive_fallback(answer, elapsed)
    assert elapsed < 4.0, f"waited {elapsed:.1f} s for an endpoint with qa.llm_timeout_s = 1"


@pytest.mark.parametrize("mode", ["garbage", "no-choices", "error"])
def test_llm_garbage_reply_falls_back(engine, fixture_settings, mode):
    with FakeLLM(mode) as server:
        answer, elapsed = _ask_with_llm(engine, fixture_settings, server.api_base)
        assert len(server.requests) >= 1
    _assert_extractive_fallback(answer, elapsed)
