"""`qa-engine ask` and the CLI's help and errors, through `cli.main` on the fixture index."""

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qa_engine import cli

ROOT = Path(__file__).resolve().parents[1]
ASK_KEYS = {"question", "answer", "abstained", "mode", "citations", "claims", "evidence", "warnings", "timings_ms"}
QUESTION = "What does multi-head attention do?"


@pytest.fixture(scope="module")
def ask_json(fixture_index):
    """One `ask --json` run shared by the tests that read its object (capsys is per test)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["ask", QUESTION, "--index", str(fixture_index), "--json"])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def _run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ask_json_has_exactly_the_documented_keys(ask_json):
    assert set(ask_json) == ASK_KEYS
    assert ask_json["question"] == QUESTION
    assert isinstance(ask_json["answer"], str) and ask_json["answer"]
    assert ask_json["abstained"] is False
    assert ask_json["mode"] == "extractive"
    assert set(ask_json["citations"]) == {"entities", "relationships", "reports", "sources"}
    assert all(isinstance(ids, list) and all(type(i) is int for i in ids) for ids in ask_json["citations"].values())
    assert not all(ids == [] for ids in ask_json["citations"].values())
    assert isinstance(ask_json["warnings"], list)
    assert ask_json["claims"] and all(set(c) == {"text", "supported", "score", "evidence"} for c in ask_json["claims"])
    assert all(c["supported"] is True and c["score"] == 1.0 for c in ask_json["claims"])  # extractive: quotes
    assert ask_json["timings_ms"]["total"] > 0
    assert ask_json["evidence"] and {"kind", "id", "title", "text", "document", "score"} <= set(ask_json["evidence"][0])


def test_every_cited_id_exists_in_the_index_and_in_the_evidence(ask_json, fixture_index):
    tables = {
        "entities": ("entities", "human_readable_id"),
        "relationships": ("relationships", "human_readable_id"),
        "reports": ("community_reports", "community"),
        "sources": ("text_units", "human_readable_id"),
    }
    for kind, (table, column) in tables.items():
        known = set(pd.read_parquet(fixture_index / f"{table}.parquet", columns=[column])[column].astype(int))
        cited = set(ask_json["citations"][kind])
        assert cited <= known, f"{kind}: {cited - known} not in {table}.{column}"
        given = {e["id"] for e in ask_json["evidence"] if e["kind"] == kind}
        assert cited <= given, f"{kind}: cited {cited - given} was not in the evidence"
        assert given <= known


def test_ask_prints_markdown_answer(capsys, fixture_index):
    code, out, err = _run(capsys, "ask", "How", "are", "attention", "scores", "computed?", "--index", str(fixture_index))
    assert code == 0, err
    assert out.strip() and not out.lstrip().startswith("{")
    assert "Traceback" not in err


@pytest.mark.parametrize("question", ["", "   \t  "])
def test_empty_question_is_a_one_line_error(capsys, fixture_index, question):
    code, out, err = _run(capsys, "ask", question, "--index", str(fixture_index), "--json")
    assert code != 0
    assert out == ""
    assert err.startswith("error: ") and "empty" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_long_question_is_truncated_with_a_warning(capsys, fixture_index):
    question = "What does multi-head attention do? " * 80  # ~2,800 characters
    code, out, err = _run(capsys, "ask", question, "--index", str(fixture_index), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert len(answer["question"]) == 2000
    assert any("truncated" in w for w in answer["warnings"])


def test_missing_index_names_the_folder_and_the_command(capsys, tmp_path):
    missing = tmp_path / "no-such-index"
    code, out, err = _run(capsys, "ask", QUESTION, "--index", str(missing))
    assert code != 0
    assert out == ""
    assert str(missing) in err and "qa-engine index" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_truncated_parquet_names_the_damaged_file(capsys, fixture_index, tmp_path):
    damaged = shutil.copytree(fixture_index, tmp_path / "index")
    table = damaged / "entities.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    code, out, err = _run(capsys, "ask", QUESTION, "--index", str(damaged))
    assert code != 0
    assert str(table) in err and "qa-engine index" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (fixture_index / "entities.parquet").stat().st_size > table.stat().st_size  # the original is untouched


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("index", "ask", "batch"):
        assert command in out


@pytest.mark.parametrize(("command", "options"), [("ask", ["--index", "--json"]), ("batch", ["-o", "--index", ".jsonl", ".csv"])])
def test_subcommand_help(capsys, command, options):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(option in out for option in options)


def test_console_script_help():
    """The installed `qa-engine` entry point (or `python -m qa_engine` where it is not installed)."""
    script = Path(sys.executable).parent / "qa-engine"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "qa_engine"]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "ask" in result.stdout and "batch" in result.stdout


def test_no_command_prints_help_and_fails(capsys):
    code, out, _ = _run(capsys)
    assert code != 0
    assert "ask" in out
