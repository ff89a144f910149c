"""`qa-engine eval`: five methods on the fixture index, metrics in range, the CLI's table and JSON."""

import json
from pathlib import Path

import pytest

from qa_engine import cli
from qa_engine.evaluate import METHODS, METRICS, EvalError, all_found, evaluate, first_hit, mentions_all, read_questions

MULTIHEAD = "d2l/chapter_attention-mechanisms-and-transformers/multihead-attention.md"
SCORING = "d2l/chapter_attention-mechanisms-and-transformers/attention-scoring-functions.md"
QUESTIONS = [
    {
        "id": "t1",
        "question": "What does multi-head attention do with its heads?",
        "reference_answer": "Several attention poolings on learned projections, concatenated and projected.",
        "must_mention": [["head"]],
        "sources": [MULTIHEAD],
        "answerable": True,
        "kind": "definition",
    },
    {
        "id": "t2",
        "question": "Why is the dot product scaled by the square root of the key dimension?",
        "reference_answer": "To keep the variance of the scores at 1.",
        "must_mention": [["variance"], ["sqrt", "square root"]],
        "sources": [SCORING],
        "answerable": True,
        "kind": "why",
    },
    {
        "id": "t4",
        "question": "How do multi-head attention and attention scoring functions differ?",
        "reference_answer": "Heads in parallel vs the function that scores a query-key pair.",
        "must_mention": [["head"], ["scor"]],
        "sources": [MULTIHEAD, SCORING],
        "answerable": True,
        "kind": "compare",
    },
    {
        "id": "t3",
        "question": "Who won the 2018 FIFA World Cup?",
        "reference_answer": "Not covered.",
        "must_mention": [],
        "sources": [],
        "answerable": False,
    },
]


@pytest.fixture(scope="module")
def questions_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(engine, questions_file):
    return evaluate(engine, read_questions(questions_file))


def test_report_has_every_method_and_metric(report):
    assert report["questions"] == 4 and report["answerable"] == 3
    assert tuple(report["methods"]) == METHODS
    for metrics in report["methods"].values():
        assert set(metrics) == set(METRICS)


def test_metrics_are_in_range(report):
    for name, m in report["methods"].items():
        for key in ("recall@1", "recall@5", "all@10", "mrr", "must_mention", "abstention"):
            assert 0.0 <= m[key] <= 1.0, (name, key, m[key])
        assert m["recall@1"] <= m["recall@5"]
        assert m["recall@1"] <= m["mrr"] <= 1.0
        assert 0 < m["p50_ms"] <= m["p95_ms"]


def test_multihead_question_finds_its_source_with_the_reranker(report):
    detail = next(d for d in report["details"] if d["id"] == "t1")
    assert detail["local+rerank"]["first_hit"] is not None and detail["local+rerank"]["first_hit"] <= 5
    assert MULTIHEAD in detail["local+rerank"]["documents"]


def test_all_sources_recall_per_kind(report):
    assert set(report["kinds"]) == {"definition", "why", "compare"}
    compare = next(d for d in report["details"] if d["id"] == "t4")
    for name in METHODS:
        assert report["kinds"]["compare"][name]["questions"] == 1
        assert report["kinds"]["compare"][name]["all@10"] == float(compare[name]["all@10"])
        assert compare[name]["all@10"] == all_found(compare[name]["documents"], [MULTIHEAD, SCORING])
    assert compare["graph+rerank"]["all@10"]  # each compared term brings its own passage


def test_off_corpus_question_is_scored_on_abstention_only(report):
    detail = next(d for d in report["details"] if d["id"] == "t3")
    assert detail["answerable"] is False
    assert all(detail[name]["first_hit"] is None and detail[name]["must_mention"] is None for name in METHODS)


def test_cli_prints_a_table_and_json(questions_file, fixture_index, capsys):
    assert cli.main(["eval", str(questions_file), "--index", str(fixture_index)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert all(word in header for word in ("method", "recall@1", "recall@5", "all@10", "MRR", "must-mention", "abstention", "p50 ms"))
    assert "per kind: all@10 / must-mention" in out
    assert all(any(line.startswith(name + " ") for line in out.splitlines()) for name in METHODS)

    assert cli.main(["eval", str(questions_file), "--index", str(fixture_index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["questions"] == 4 and set(data["methods"]) == set(METHODS)


def test_bad_questions_file_fails_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\nnot json\n', encoding="utf-8")
    with pytest.raises(EvalError, match="bad.jsonl:2"):
        read_questions(bad)
    assert cli.main(["eval", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err


def test_helpers():
    assert mentions_all("Divide by the Square Root of d to keep the variance", [["variance"], ["sqrt", "square root"]])
    assert not mentions_all("variance only [Data: Sources (1)]", [["variance"], ["sources"]])
    assert first_hit(["a.md", "b.md", "b.md"], ["b.md"]) == 2
    assert first_hit(["a.md"], ["b.md"]) is None
    assert all_found(["a.md", "b.md"], ["b.md", "a.md"]) and not all_found(["a.md"] * 10 + ["b.md"], ["a.md", "b.md"])
    assert not all_found(["a.md"], [])


@pytest.mark.parametrize("name", ["dev_questions.jsonl", "heldout_questions.jsonl"])
def test_shipped_question_sets_read_and_name_real_corpus_files(name):
    """The bench sets score sources by path: a renamed corpus file would silently score 0."""
    root = Path(__file__).resolve().parents[1]
    questions = read_questions(root / "bench" / name)
    assert len({q.id for q in questions}) == len(questions) >= 18
    assert any(not q.answerable for q in questions)
    for q in questions:
        assert (q.answerable and q.must_mention and q.sources) or not (q.answerable or q.sources), q.id
        for source in q.sources:
            assert (root / "corpus" / source).is_file(), (q.id, source)
