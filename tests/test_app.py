"""The chat UI, through Streamlit's AppTest (no browser), and its helper functions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "streamlit_app.py"
QUESTION = "What does multi-head attention do?"
LOAD_TIMEOUT_S = 240  # the first run loads the index and the embedding model; the machine may be busy

from app import helpers  # noqa: E402  (conftest puts the project root on sys.path)
from qa_engine.results import Answer, Citations, Evidence  # noqa: E402


def _app_test(monkeypatch, index_dir: Path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(helpers.INDEX_ENV, str(index_dir))
    return AppTest.from_file(str(APP), default_timeout=LOAD_TIMEOUT_S)


# --- the process ---------------------------------------------------------------------------


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_to_qa_engine_app_leaves_nothing_listening(fixture_index, tmp_path):
    """A real `qa-engine app`: once it serves, `kill -TERM` of its pid frees the port within 5 s."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        app = subprocess.Popen(
            [sys.executable, "-m", "qa_engine", "app", "--port", str(port), "--index", str(fixture_index)],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a failing test can still end all of it
        )
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not _listening(port):
            assert app.poll() is None, f"qa-engine app exited ({app.returncode}): {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"qa-engine app never served on {port}: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        os.kill(app.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), f"port {port} still served 5 s after SIGTERM to qa-engine app"
        app.wait(timeout=5)
    finally:
        try:
            os.killpg(app.pid, signal.SIGKILL)  # whatever is left of the group (nothing, when it passes)
        except ProcessLookupError:
            pass
        app.wait()


# --- the page ------------------------------------------------------------------------------


def test_chat_answers_with_citations_evidence_and_graph(monkeypatch, fixture_index):
    at = _app_test(monkeypatch, fixture_index)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Attention QA"
    assert {m.label for m in at.sidebar.metric} >= {"Documents", "Entities", "Relationships", "Communities"}
    assert "Extractive" in " ".join(m.value for m in at.sidebar.markdown)

    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    roles = [m.name for m in at.chat_message]
    assert roles[-2:] == ["user", "assistant"]
    answer_md = " ".join(md.value for md in at.chat_message[-1].markdown)
    assert "[Data:" in answer_md

    assert len(at.dataframe) >= 2
    sources = at.dataframe[0].value
    assert set(sources.columns) == {"cited", "id", "document", "file", "passage", "score"}
    assert sources["cited"].iloc[0] and sources["passage"].str.len().min() > 0
    labels = [t.label for t in at.tabs]
    assert labels[-1] == "Graph" and labels[0].startswith("Sources (")
    assert at.expander[0].label == "Evidence"
    graph_tab = at.tabs[len(labels) - 1]
    assert [c.type for c in graph_tab.children.values()][:1] == ["image"]  # the subgraph, by st.pyplot

    message = at.session_state["messages"][-1]
    nodes, edges = message["graph"]
    assert nodes > 1 and edges > 0
    legend = message["figure"].axes[0].get_legend()
    assert legend is not None and "cited entity" in [t.get_text() for t in legend.get_texts()]

    # top-k is per session: the slider narrows the next answer's entity table
    at.sidebar.slider(key="top_k_entities").set_value(2).run()
    at.chat_input[0].set_value("How does the encoder-decoder architecture work?").run()
    assert not at.exception and not at.error
    assert at.session_state["messages"][-1]["tables"]["entities"].shape[0] <= 2


def test_first_start_builds_the_index_with_progress(monkeypatch, tmp_path, fixture_index):
    """No index yet: the page builds one (a stand-in for build_index here), then opens the chat."""
    from qa_engine import indexer
    from qa_engine.workflows import PIPELINES

    stages = []

    def fake_build_index(settings, method=None, progress=True, on_progress=None):
        assert not progress and on_progress is not None
        for stage in PIPELINES[settings.qa.method]:
            on_progress(stage, 0, 1)
            on_progress(stage, 1, 1)
            stages.append(stage)
        settings.qa.index.parent.mkdir(parents=True)
        settings.qa.index.symlink_to(Path(fixture_index).resolve(), target_is_directory=True)
        manifest = json.loads((Path(fixture_index) / "manifest.json").read_text())
        return indexer.BuildResult(settings.qa.index, manifest, [])

    monkeypatch.setattr(indexer, "build_index", fake_build_index)
    at = _app_test(monkeypatch, tmp_path / "fresh" / "default")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert stages and stages[-1] == "generate_text_embeddings"
    assert at.success and at.success[0].value.startswith("Index built:")
    assert at.chat_input and {m.label for m in at.sidebar.metric} >= {"Documents", "Entities"}


def test_build_progress_is_monotonic_and_ends_full():
    from qa_engine.workflows import PIPELINES

    shown = []
    tracker = helpers.BuildProgress("fast", lambda fraction, text: shown.append((fraction, text)))
    for stage, done, total in [("create_base_text_units", 0, 1), ("embed_text_tokens", 16, 28),
                               ("embed_text_tokens", 16, 58), ("generate_text_embeddings", 1, 1)]:
        tracker(stage, done, total)
    fractions = [f for f, _ in shown]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    stages = PIPELINES["fast"]
    assert f"step {stages.index('embed_text_tokens') + 1}/{len(stages)}" in shown[1][1] and "(16/28)" in shown[1][1]


@pytest.mark.parametrize("damage", ["empty", "garbage"])
def test_unusable_index_shows_an_error_not_a_traceback(monkeypatch, tmp_path, damage):
    index = tmp_path / "index"
    index.mkdir()
    if damage == "garbage":
        for name in ("documents", "text_units", "entities", "relationships", "communities", "community_reports"):
            (index / f"{name}.parquet").write_bytes(b"not a parquet file")
    at = _app_test(monkeypatch, index)
    at.run()
    assert not at.exception
    assert at.error, "expected an st.error"
    message = at.error[0].value
    assert "index could not be loaded" in message and str(index) in message
    assert "Traceback" not in message
    assert not at.chat_input  # no chat without an index, but the sidebar can rebuild it
    assert any(b.label == "Rebuild index" for b in at.sidebar.button)


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../evil.md", "evil.md"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("Attention Is All You Need (2017).PDF", "Attention_Is_All_You_Need_2017.pdf"),
        (".hidden.md", "hidden.md"),
        ("--rm -rf.txt", "rm_-rf.txt"),
        ("注意力.md", "upload.md"),
        ("LICENSE.md", "upload-LICENSE.md"),
    ],
)
def test_safe_upload_name(name, expected):
    assert helpers.safe_upload_name(name) == expected


@pytest.mark.parametrize("name", ["evil.exe", "evil.md.exe", "README", "archive.tar.gz", "../..", "", "x.tex"])
def test_safe_upload_name_refuses(name):
    with pytest.raises(helpers.UploadError):
        helpers.safe_upload_name(name)


def test_save_upload_stays_inside_and_never_overwrites(tmp_path):
    uploads = tmp_path / "corpus" / "uploads"
    first = helpers.save_upload(uploads, "../../evil.md", b"# one", max_mb=1)
    assert first.new and first.path == uploads.resolve() / "evil.md"
    assert not (tmp_path / "evil.md").exists()

    same = helpers.save_upload(uploads, "evil.md", b"# one", max_mb=1)
    assert not same.new and same.path == first.path and "already" in same.message

    other = helpers.save_upload(uploads, "evil.md", b"# two", max_mb=1)
    assert other.new and other.path.name == "evil-2.md"
    assert first.path.read_bytes() == b"# one" and other.path.read_bytes() == b"# two"

    with pytest.raises(helpers.UploadError, match="over the 1 MB limit"):
        helpers.save_upload(uploads, "big.txt", b"x" * (2**20 + 1), max_mb=1)
    with pytest.raises(helpers.UploadError, match="not accepted"):
        helpers.save_upload(uploads, "evil.exe", b"MZ", max_mb=1)
    assert sorted(p.name for p in uploads.iterdir()) == ["evil-2.md", "evil.md"]


def test_with_top_k_leaves_the_shared_engine_alone(fixture_settings):
    class Engine:
        settings = fixture_settings

    shared = Engine()
    view = helpers.with_top_k(shared, 3, 2)
    assert (view.settings.qa.top_k_entities, view.settings.qa.top_k_text_units) == (3, 2)
    assert shared.settings is fixture_settings and view.settings.qa.index == fixture_settings.qa.index
    same = helpers.with_top_k(shared, fixture_settings.qa.top_k_entities, fixture_settings.qa.top_k_text_units)
    assert same is shared


def test_subgraph_and_drawing(fixture_index):
    from qa_engine.index_store import load_index

    index = load_index(fixture_index)
    rels = index.relationships
    rel = rels.iloc[0]
    ents = index.entities.set_index("title")
    source_id = int(ents.at[rel["source"], "human_readable_id"])
    evidence = [
        Evidence("entities", source_id, rel["source"], "d", score=0.9),
        Evidence("relationships", int(rel["human_readable_id"]), f"{rel['source']} – {rel['target']}", "d", score=0.8),
    ]
    answer = Answer("q", "a", Citations(entities=(source_id,), relationships=(int(rel["human_readable_id"]),)),
                    evidence, abstained=False, mode="extractive")
    graph = helpers.answer_subgraph(answer, index)
    assert set(graph.nodes) == {rel["source"], rel["target"]}
    assert graph.nodes[rel["source"]]["cited"] and not graph.nodes[rel["target"]]["cited"]
    assert graph.edges[rel["source"], rel["target"]]["cited"]
    assert graph.nodes[rel["target"]]["type"] == ents.at[rel["target"], "type"]

    tables = helpers.evidence_tables(answer, index)
    assert tables["relationships"].loc[0, "source"] == rel["source"] and tables["sources"].empty

    figure = helpers.draw_subgraph(graph)
    texts = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert ents.at[rel["source"], "type"].replace("_", " ").lower() in texts
    empty = helpers.draw_subgraph(helpers.answer_subgraph(replace(answer, evidence=[]), index))
    assert empty.axes[0].texts


def test_cli_app_runs_streamlit_on_localhost(monkeypatch, tmp_path):
    from qa_engine import cli

    calls = []
    monkeypatch.setattr(os, "execvpe", lambda file, cmd, env: calls.append((cmd, env)))  # else it replaces pytest
    cli.main(["app", "--index", str(tmp_path), "--port", "8600"])
    cmd, env = calls[0]
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(APP)]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert env[helpers.INDEX_ENV] == str(tmp_path)


def test_app_settings_keep_the_index_symlink(fixture_index):
    """The indexer swaps the index symlink on each build: the long-running app must keep the
    link, not the build folder it pointed to at start (that one is deleted by the next build)."""
    assert Path(fixture_index).is_symlink()
    settings = helpers.load_app_settings("", str(fixture_index))
    assert settings.qa.index == Path(fixture_index) and settings.qa.index.is_symlink()
