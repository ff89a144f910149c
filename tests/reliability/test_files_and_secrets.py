"""Files and secrets: indexes are parquet, FAISS and JSON (never pickle); uploads stay in the
uploads folder with allowed types and sizes; the LLM key lives only in the environment;
the chat UI listens on this machine unless told otherwise."""

from __future__ import annotations

import json
import logging
import os
import tokenize
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import helpers
from qa_engine import QAEngine, cli

from .conftest import SECRET, SECRET_ENV
from .support import ROOT, FakeLLM, files_under, llm_settings

INDEX_SUFFIXES = {".parquet", ".faiss", ".json", ".npy"}


# ------------------------------------------------------------------ index files


@pytest.mark.parametrize("which", ["fixture", "hostile"])
def test_index_folder_holds_only_parquet_faiss_npy_json_and_logs(request, which):
    index = request.getfixturevalue("fixture_index") if which == "fixture" else request.getfixturevalue("hostile").index
    folder = Path(index).resolve()
    files = files_under(folder)
    assert {f.suffix for f in files} >= INDEX_SUFFIXES, sorted(f.name for f in files)
    for f in files:
        rel = f.relative_to(folder)
        if f.suffix == ".log":
            assert rel.parts[0] == "logs" and len(rel.parts) == 2, rel
            continue
        assert f.suffix in INDEX_SUFFIXES, f"unexpected file in the index: {rel}"
        head = f.read_bytes()[:4]
        assert not head.startswith(b"\x80"), f"{rel} starts like a pickle"
        if f.suffix == ".parquet":
            assert head == b"PAR1", rel
        elif f.suffix == ".json":
            json.loads(f.read_text(encoding="utf-8"))
        elif f.suffix == ".npy":  # a plain number array: an object array would need pickle to load
            with f.open("rb") as array:
                assert np.lib.format.read_magic(array) == (1, 0), rel
                _, _, dtype = np.lib.format.read_array_header_1_0(array)
            assert dtype == np.float16, (rel, dtype)


def _code_tokens(path: Path) -> list[str]:
    """Names and operators of a Python file: comments and strings (docstrings) left out."""
    with path.open("rb") as source:
        return [t.string for t in tokenize.tokenize(source.readline) if t.type in (tokenize.NAME, tokenize.OP)]


def test_no_pickle_loading_in_the_code():
    sources = sorted((ROOT / "qa_engine").rglob("*.py")) + sorted((ROOT / "app").glob("*.py"))
    assert len(sources) > 10
    for path in sources:
        tokens = _code_tokens(path)
        code = " ".join(tokens)
        names = [t for t in tokens if t.isidentifier()]
        rel = path.relative_to(ROOT)
        assert not [n for n in names if "pickle" in n.lower()], f"{rel}: pickle ({sorted({n for n in names if 'pickle' in n.lower()})})"
        assert "joblib" not in names and "dill" not in names and "shelve" not in names, rel
        assert "torch . load" not in code and "allow_pickle" not in code, rel


# ------------------------------------------------------------------ uploads

TRAVERSAL = [
    "../../x.md",
    "/etc/passwd.md",
    "..\\..\\x.md",
    "x\x00.md",
    "../\x00/../x.txt",
    "....//....//x.md",
    "%2e%2e%2f%2e%2e%2fx.md",
    "uploads/../../../x.md",
    "C:\\Windows\\System32\\x.md",
    "~/x.md",
    "./.././../.x.pdf",
    "\u2025/\u2025/x.md",  # two-dot leaders
    "x\u202egpj.md",  # right-to-left override
    "/" * 50 + "x.md",
]
REFUSED = ["x.exe", "x.md.exe", "x.md\x00.exe", "x.tex", "x", "../..", "..", "", "/", "x.md/", "x.PY"]


def _outside(root: Path, uploads: Path) -> list[Path]:
    return [p for p in root.rglob("*") if uploads not in p.parents and p != uploads and p.is_file()]


@pytest.mark.parametrize("name", TRAVERSAL)
def test_upload_names_cannot_leave_the_uploads_folder(tmp_path, name):
    uploads = tmp_path / "corpus" / helpers.UPLOADS_FOLDER
    saved = helpers.save_upload(uploads, name, b"# notes\n\nattention", max_mb=1)
    assert saved.path.parent == uploads.resolve()
    assert saved.path.suffix in helpers.UPLOAD_SUFFIXES
    assert not saved.path.name.startswith((".", "-"))
    assert saved.path.read_bytes() == b"# notes\n\nattention"
    assert not _outside(tmp_path, uploads.resolve()), "a file was written outside the uploads folder"


@pytest.mark.parametrize("name", REFUSED)
def test_upload_with_a_disallowed_name_or_type_is_refused(tmp_path, name):
    uploads = tmp_path / "uploads"
    with pytest.raises(helpers.UploadError):
        helpers.save_upload(uploads, name, b"data", max_mb=1)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_upload_sizes_are_limited(tmp_path):
    uploads = tmp_path / "uploads"
    with pytest.raises(helpers.UploadError, match="over the 1 MB limit"):
        helpers.save_upload(uploads, "big.md", b"a" * (2**20 + 1), max_mb=1)
    with pytest.raises(helpers.UploadError, match="empty"):
        helpers.save_upload(uploads, "empty.md", b"", max_mb=1)
    assert helpers.save_upload(uploads, "fits.md", b"a" * 2**20, max_mb=1).new
    assert [p.name for p in uploads.iterdir()] == ["fits.md"]


def test_upload_never_writes_through_a_planted_link(tmp_path):
    secret = tmp_path / "outside.md"
    secret.write_bytes(b"keep me")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "x.md").symlink_to(secret)
    saved = helpers.save_upload(uploads, "x.md", b"overwrite?", max_mb=1)
    assert secret.read_bytes() == b"keep me"
    assert saved.path == uploads.resolve() / "x-2.md" and not saved.path.is_symlink()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
       | st.lists(st.sampled_from(["..", ".", "/", "\\", "\x00", "x", ".md", ".txt", ".pdf", "~", "%2f"]), max_size=12).map("".join))
def test_any_upload_name_is_saved_inside_or_refused(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("upload")
    uploads = root / "corpus" / "uploads"
    try:
        saved = helpers.save_upload(uploads, name, b"text", max_mb=1)
    except helpers.UploadError:
        assert not _outside(root, uploads.resolve())
        return
    assert saved.path.parent == uploads.resolve() and saved.path.suffix in helpers.UPLOAD_SUFFIXES
    assert not _outside(root, uploads.resolve())


# ------------------------------------------------------------------ the LLM key


@pytest.fixture(scope="module")
def keyed_answer(hostile, hostile_engine):
    """Ask with the LLM answerer: the fake server answers only with the key from the environment."""
    assert hostile.settings.qa.llm_api_key_env == SECRET_ENV
    assert SECRET not in hostile.settings_path.read_text(encoding="utf-8")  # the settings file names the variable only
    assert hostile.settings.graphrag.completion_models["default_completion_model"].api_key == SECRET  # read from the env
    with FakeLLM(reply=lambda m: "Heads attend in parallel.", api_key=SECRET) as server:
        answer = QAEngine(llm_settings(hostile.settings, server.api_base), hostile_engine.index).ask(
            "What does multi-head attention do?"
        )
        headers = [h for _, h, _ in server.requests]
    return answer, headers


def test_the_key_from_the_environment_reaches_the_endpoint(keyed_answer):
    answer, headers = keyed_answer
    assert answer.mode == "llm", answer.warnings
    assert answer.text.endswith("Heads attend in parallel. [unsupported]")  # the endpoint's reply, claim-checked
    assert [h.get("Authorization") for h in headers] == [f"Bearer {SECRET}"]


def test_the_key_is_nowhere_on_disk_or_in_output(hostile, hostile_engine, keyed_answer, caplog, capfd):
    answer, _ = keyed_answer
    needle = SECRET.encode()
    # every file of the build: index tables, FAISS, manifest, logs, the embedding cache, settings
    for f in files_under(hostile.root):
        assert needle not in f.read_bytes(), f"the API key is written in {f}"
    manifest = json.loads((hostile.index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["qa"]["llm_api_key_env"] == SECRET_ENV
    assert SECRET not in json.dumps(answer.to_dict(), ensure_ascii=False)
    assert SECRET not in hostile.stderr and SECRET not in hostile.log  # what the build printed and logged

    # a rejected key: the warning says why, without the key
    caplog.set_level(logging.DEBUG)
    with FakeLLM(api_key="another-key") as server:
        refused = QAEngine(llm_settings(hostile.settings, server.api_base), hostile_engine.index).ask(
            "What does multi-head attention do?"
        )
    assert refused.mode == "extractive" and any(w.startswith("LLM answerer failed") for w in refused.warnings)
    out, err = capfd.readouterr()
    for text in (json.dumps(refused.to_dict(), ensure_ascii=False), out, err, caplog.text):
        assert SECRET not in text


# ------------------------------------------------------------------ the chat UI's address


@pytest.mark.parametrize(("argv", "address"), [([], "127.0.0.1"), (["--host", "0.0.0.0"], "0.0.0.0")])
def test_app_listens_on_localhost_unless_told_otherwise(monkeypatch, argv, address):
    calls = []
    monkeypatch.setattr(os, "execvpe", lambda file, command, env: calls.append(command))
    cli.main(["app", *argv])
    (command,) = calls
    at = command.index("--server.address")
    assert command[at + 1] == address
    assert command[command.index("--server.headless") + 1] == "true"
