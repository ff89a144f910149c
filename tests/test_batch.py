"""`qa-engine batch`: every input format, both outputs, order and extra fields kept, bad lines
reported while the rest are answered. Real engine on the fixture index."""

import io
import json
import re

import pytest

from qa_engine import cli
from qa_engine.batch import (
    BatchError,
    parse_csv,
    parse_jsonl,
    parse_md,
    parse_txt,
    read_questions,
    run_batch,
)

ASK_KEYS = {"question", "answer", "abstained", "mode", "citations", "claims", "evidence", "warnings", "timings_ms"}
Q1 = "What does multi-head attention do?"
Q2 = "How are attention scores computed?"
Q3 = "What is the encoder-decoder architecture?"

# The layout of the shared seed 004 (questions and answers): `Q<n>: question`, `A<n>:`, answer text.
SEED_MD = f"""Q1: {Q1}
A1:

SUCCESS: Local Search Response:
# Understanding Attention

Attention weighs input elements [Data: Entities (28); Relationships (32, 39, 24, +more)].


Q2: {Q2}
A2:

Scores come from dot products of queries and keys.
Q: What is additive attention?

Q3: {Q3}
A3:

## Conclusion
"""


def _md_blocks(text: str) -> list[tuple[int, str, str]]:
    """(number, question, answer) per `Q<n>: ... / A<n>:` block of a markdown output."""
    found = re.findall(r"^Q(\d+): (.*)\nA\1:(.*?)(?=^Q\d+: |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    return [(int(n), q, a.strip()) for n, q, a in found]


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _answered(record: dict, question: str) -> None:
    assert ASK_KEYS <= set(record)
    assert record["question"] == question
    assert record["answer"].strip()
    assert all(isinstance(ids, list) for ids in record["citations"].values())


# -- parsing, no engine ----------------------------------------------------------------------


def test_parse_txt_skips_blank_lines_and_comments():
    items = parse_txt(f"# questions\n\n{Q1}\n   \n  {Q2}  \n#{Q3}\n")
    assert [(i.line, i.question, i.error) for i in items] == [(3, Q1, ""), (5, Q2, "")]


def test_parse_jsonl_keeps_fields_and_reports_bad_lines():
    text = "\n".join(
        [
            json.dumps({"id": "a", "question": Q1, "topic": "heads"}),
            "{not json",
            json.dumps({"id": "c"}),
            json.dumps({"id": "d", "question": "  "}),
            json.dumps(["a list"]),
            json.dumps({"question": 42}),
            "",
            json.dumps({"question": Q2}),
        ]
    )
    items = parse_jsonl(text)
    assert [i.line for i in items] == [1, 2, 3, 4, 5, 6, 8]
    assert items[0].question == Q1 and items[0].extra == {"id": "a", "topic": "heads"} and not items[0].error
    assert "not valid JSON" in items[1].error
    assert "no `question` field" in items[2].error and items[2].extra == {"id": "c"}
    assert "empty question" in items[3].error
    assert "not a JSON object" in items[4].error
    assert "not text" in items[5].error
    assert items[6].question == Q2 and not items[6].error


def test_parse_csv_finds_the_question_column_and_line_numbers():
    text = f'id,Question,topic\n1,"{Q1}",heads\n\n2,"a question\nover two lines, with a comma",misc\n3,,empty\n'
    items = parse_csv(text)
    assert [(i.line, i.question, i.extra) for i in items] == [
        (2, Q1, {"id": "1", "topic": "heads"}),
        (4, "a question over two lines, with a comma", {"id": "2", "topic": "misc"}),
        (6, "", {"id": "3", "topic": "empty"}),
    ]
    assert "empty question" in items[2].error


def test_parse_csv_without_question_column_is_an_error():
    with pytest.raises(BatchError, match="no `question` column.*id, text"):
        parse_csv("id,text\n1,hello\n")


def test_parse_md_reads_q_lines_and_ignores_answers():
    items = parse_md(SEED_MD + "**Q4:** bold form?\nQ5:\n")
    questions = [i.question for i in items]
    assert questions[:2] == [Q1, Q2] and questions[3] == Q3
    assert questions[2] == "What is additive attention?"  # the unnumbered `Q:` form counts too
    assert questions[4] == "bold form?"
    assert items[5].question == "" and "empty question" in items[5].error


@pytest.mark.parametrize("name", ["questions.docx", "questions", "questions.json"])
def test_unknown_input_extension_names_file_and_formats(tmp_path, name):
    path = tmp_path / name
    path.write_text(Q1)
    with pytest.raises(BatchError) as info:
        read_questions(path)
    message = str(info.value)
    assert str(path) in message
    assert all(ext in message for ext in (".txt", ".jsonl", ".csv", ".md"))


def test_missing_and_empty_files_are_errors(tmp_path):
    with pytest.raises(BatchError, match="not found"):
        read_questions(tmp_path / "absent.txt")
    (tmp_path / "empty.md").write_text("no questions here\n")
    with pytest.raises(BatchError, match=r"empty\.md holds no questions"):
        read_questions(tmp_path / "empty.md")


# -- answering -------------------------------------------------------------------------------


def test_txt_to_markdown_in_seed_form_and_order(engine, tmp_path):
    source = tmp_path / "questions.txt"
    source.write_text(f"# attention\n{Q2}\n\n{Q1}\n{Q3}\n", encoding="utf-8")
    out = tmp_path / "answers.md"
    summary = run_batch(engine, read_questions(source), out, progress=False)
    assert (summary.answered, summary.errors, summary.output) == (3, 0, out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"Q1: {Q2}\nA1:\n\n")
    blocks = _md_blocks(text)
    assert [(n, q) for n, q, _ in blocks] == [(1, Q2), (2, Q1), (3, Q3)]
    assert all(answer for _, _, answer in blocks)
    assert [i.question for i in parse_md(text)] == [Q2, Q1, Q3]  # the output reads back as a questions file


def test_jsonl_to_jsonl_keeps_order_fields_and_reports_bad_lines(engine, tmp_path):
    source = tmp_path / "questions.jsonl"
    lines = [
        json.dumps({"id": "q-a", "question": Q3, "tags": ["arch"]}),
        "{this is not json",
        json.dumps({"id": "q-c", "prompt": Q1}),
        json.dumps({"id": "q-d", "question": ""}),
        json.dumps({"id": "q-e", "question": Q1, "answer": "a reference answer"}),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    summary = run_batch(engine, read_questions(source), out, progress=False)
    assert (summary.answered, summary.errors) == (2, 3)
    records = _jsonl(out)
    assert len(records) == 5
    _answered(records[0], Q3)
    assert records[0]["id"] == "q-a" and records[0]["tags"] == ["arch"]
    assert records[1]["line"] == 2 and "not valid JSON" in records[1]["error"] and "answer" not in records[1]
    assert records[2]["line"] == 3 and "question" in records[2]["error"] and records[2]["id"] == "q-c"
    assert records[3]["line"] == 4 and "empty question" in records[3]["error"] and records[3]["id"] == "q-d"
    _answered(records[4], Q1)
    assert records[4]["id"] == "q-e"
    assert records[4]["input_answer"] == "a reference answer"  # an input field the output uses is renamed, not lost
    assert records[4]["answer"] != "a reference answer"


def test_jsonl_output_matches_ask_json(engine, tmp_path, capsys, fixture_index):
    source = tmp_path / "one.txt"
    source.write_text(Q1 + "\n")
    out = tmp_path / "one.jsonl"
    run_batch(engine, read_questions(source), out, progress=False)
    (record,) = _jsonl(out)
    assert cli.main(["ask", Q1, "--index", str(fixture_index), "--json"]) == 0
    asked = json.loads(capsys.readouterr().out)
    assert set(record) == set(asked) == ASK_KEYS
    assert {k: v for k, v in record.items() if k != "timings_ms"} == {k: v for k, v in asked.items() if k != "timings_ms"}


def test_csv_to_jsonl_keeps_columns(engine, tmp_path):
    source = tmp_path / "questions.csv"
    source.write_text(f'id,question,difficulty\n7,"{Q2}",easy\n8,   ,hard\n9,"{Q1}",medium\n', encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    summary = run_batch(engine, read_questions(source), out, progress=False)
    assert (summary.answered, summary.errors) == (2, 1)
    first, bad, last = _jsonl(out)
    _answered(first, Q2)
    assert (first["id"], first["difficulty"]) == ("7", "easy")
    assert bad == {"line": 3, "error": "line 3: empty question", "id": "8", "difficulty": "hard"}
    _answered(last, Q1)
    assert (last["id"], last["difficulty"]) == ("9", "medium")


def test_md_to_md_with_an_error_entry(engine, tmp_path):
    source = tmp_path / "questions.md"
    source.write_text(f"Q1: {Q1}\nA1:\n\nold answer\n\nQ2:\nA2:\n\nQ3: {Q3}\n", encoding="utf-8")
    out = tmp_path / "answers.md"
    summary = run_batch(engine, read_questions(source), out, progress=False)
    assert (summary.answered, summary.errors) == (2, 1)
    text = out.read_text(encoding="utf-8")
    assert "\nA2: error: line 6: empty question\n" in text
    blocks = _md_blocks(text)
    assert [(n, q) for n, q, _ in blocks] == [(1, Q1), (2, "(line 6)"), (3, Q3)]
    assert "old answer" not in text
    assert blocks[0][2] and blocks[2][2]


def test_seed_questions_file_to_jsonl(engine, tmp_path):
    source = tmp_path / "seed.md"
    source.write_text(SEED_MD, encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    summary = run_batch(engine, read_questions(source), out, progress=False)
    assert (summary.answered, summary.errors) == (4, 0)
    records = _jsonl(out)
    assert [r["question"] for r in records][:2] == [Q1, Q2] and records[3]["question"] == Q3


def test_markdown_to_stdout_without_output(engine):
    stream = io.StringIO()
    summary = run_batch(engine, parse_txt(f"{Q1}\n"), None, progress=False, stdout=stream)
    assert summary.output is None and summary.answered == 1
    assert stream.getvalue().startswith(f"Q1: {Q1}\nA1:\n\n")


# -- the command -----------------------------------------------------------------------------


def test_batch_command_writes_jsonl_and_shows_progress(capsys, tmp_path, fixture_index):
    source = tmp_path / "questions.txt"
    source.write_text(f"{Q1}\n{Q2}\n", encoding="utf-8")
    out = tmp_path / "out" / "answers.jsonl"
    assert cli.main(["batch", str(source), "-o", str(out), "--index", str(fixture_index)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "answering" in captured.err and "2 answered, 0 with errors" in captured.err
    assert [r["question"] for r in _jsonl(out)] == [Q1, Q2]


def test_batch_command_prints_markdown_and_fails_softly_on_bad_lines(capsys, tmp_path, fixture_index):
    source = tmp_path / "questions.jsonl"
    source.write_text(json.dumps({"question": Q1}) + "\n{broken\n", encoding="utf-8")
    code = cli.main(["batch", str(source), "--index", str(fixture_index), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1  # finished, but a line had an error
    assert captured.out.startswith(f"Q1: {Q1}\nA1:\n\n")
    assert "A2: error: line 2: not valid JSON" in captured.out
    assert "answering" not in captured.err and "1 answered, 1 with errors" in captured.err


@pytest.mark.parametrize(
    ("name", "out", "expected"),
    [
        ("questions.pdf", None, r"questions\.pdf: unsupported questions file \.pdf; use one of \.txt, \.jsonl, \.csv, \.md"),
        ("questions.txt", "answers.html", r"answers\.html: unsupported output file \.html; use one of \.md, \.jsonl"),
        ("questions.md", "questions.md", "is the questions file: write the answers to another file"),
    ],
)
def test_batch_command_errors_are_one_line(capsys, tmp_path, fixture_index, name, out, expected):
    source = tmp_path / name
    source.write_text(Q1 + "\n")
    argv = ["batch", str(source), "--index", str(fixture_index)] + (["-o", str(tmp_path / out)] if out else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert source.read_text() == Q1 + "\n"
