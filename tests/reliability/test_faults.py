"""Faults: a build killed with SIGKILL, damaged index files, an LLM endpoint that refuses,
hangs or answers garbage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_engine import QAEngine
from qa_engine.errors import IndexNotFoundError

from .support import ROOT, FakeLLM, closed_port, copy_index, llm_settings, no_traceback, settings_file

QUESTION = "What does multi-head attention do?"
FALLBACK_BOUND_S = 10.0  # qa.llm_timeout_s is 1 s and nothing retries: a fallback is quick


def _assert_answers(engine: QAEngine) -> None:
    answer = engine.ask(QUESTION)
    assert not answer.abstained and answer.evidence, answer.text
    assert not answer.citations.is_empty(), answer.text


# ------------------------------------------------------------------ kill -9 during `qa-engine index`


def test_sigkill_during_index_keeps_the_previous_index(fixture_index, fixture_settings, fixture_corpus, tmp_path):
    target = copy_index(fixture_index, tmp_path)  # tmp/index/default -> .builds/<the fixture's build>
    before = os.readlink(target)
    builds = target.parent / ".builds"
    existing = {p.name for p in builds.iterdir()}
    config = settings_file(tmp_path, fixture_corpus, target)  # an empty embedding cache: the build takes a while
    log = (tmp_path / "build.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_engine", "--settings", str(config), "index",
         "--corpus", str(fixture_corpus), "--output", str(target), "--quiet"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        new, deadline = None, time.monotonic() + 120
        while new is None and time.monotonic() < deadline and proc.poll() is None:
            new = next((p for p in builds.iterdir() if p.is_dir() and p.name not in existing), None)
            time.sleep(0.02)
        assert proc.poll() is None, f"the build ended before it could be killed:\n{(tmp_path / 'build.log').read_text()}"
        assert new is not None and new.name.startswith("default-"), "no new .builds/default-<time> folder appeared"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    assert os.readlink(target) == before, "the index link moved to a build that never finished"
    engine = QAEngine.load(target, fixture_settings)
    assert engine.index.folder == (builds / Path(before).name).resolve()
    _assert_answers(engine)


# ------------------------------------------------------------------ damaged index files

DAMAGED = [
    ("entities.parquet", "half"),
    ("text_units.parquet", "empty"),
    ("text_unit_text.faiss", "half"),
    ("entity_description.faiss", "empty"),
    ("entities_tokens.faiss", "half"),
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
