"""Bad questions: empty, huge, control characters, other scripts, markdown and HTML, through
the engine, the command line and the chat UI."""

from __future__ import annotations

import json
import logging
import re

import pytest

from qa_engine import cli
from qa_engine.context import allowed_citations
from qa_engine.engine import MAX_QUESTION_CHARS
from qa_engine.errors import QuestionError
from qa_engine.results import KINDS, Answer

from .conftest import HTML_CANARY
from .support import CONTROL_CHARS, ROOT, no_traceback

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MARKDOWN = "**bold** [link](javascript:alert(1))"

EMPTY = {
    "empty": "",
    "spaces": "     ",
    "whitespace": " \t\n\r\x0b\x0c \u3000\u2003\u2028 ",
    "controls-only": "".join(map(chr, range(32))) + "\x7f",
}
ANSWERED = {
    "huge": "What does multi-head attention do? " * 2858,  # 100,030 characters
    "controls-mixed": "What does \x00multi-head\x1b[31m attention\x07 do?\x7f\x08",
    "nul-bytes": "\x00\x00attention\x00",
    "chinese": "多头注意力机制是做什么的？",
    "arabic": "ما هو الانتباه متعدد الرؤوس؟",
    "emoji": "🤖🧠 what does attention do? 👀🔥👨‍👩‍👧",
    "zero-width": "\u200b\u200d\ufeff",
    "script": SCRIPT,
    "img": IMG,
    "markdown": MARKDOWN,
    "mixed-scripts": f"Attention {SCRIPT} 注意力 انتباه 🧠 {MARKDOWN}",
}


def assert_safe(answer: Answer, asked: str) -> None:
    assert isinstance(answer, Answer)
    assert isinstance(answer.text, str) and answer.text.strip()
    assert answer.mode == "extractive"
    assert 0 < len(answer.question) <= MAX_QUESTION_CHARS
    for text in (answer.question, answer.text, *answer.warnings):
        assert not CONTROL_CHARS.search(text), f"control character in {text[:120]!r}"
    allowed = allowed_citations(answer.evidence)
    for kind in KINDS:
        assert set(getattr(answer.citations, kind)) <= set(getattr(allowed, kind)), kind
    json.dumps(answer.to_dict(), ensure_ascii=False)  # what `ask --json` prints
    if len(asked) > MAX_QUESTION_CHARS:
        assert f"question truncated to {MAX_QUESTION_CHARS} characters" in answer.warnings


# ------------------------------------------------------------------ the engine


@pytest.mark.parametrize("question", EMPTY.values(), ids=EMPTY.keys())
def test_empty_question_is_a_question_error(engine, question):
    with pytest.raises(QuestionError, match="empty"):
        engine.ask(question)


@pytest.mark.parametrize("question", ANSWERED.values(), ids=ANSWERED.keys())
def test_hostile_question_gets_a_safe_answer(engine, question):
    assert_safe(engine.ask(question), question)


def test_question_without_any_token_abstains(engine):
    """Zero-width characters only: no token to weigh, so no evidence can match (not NaN scores)."""
    answer = engine.ask(ANSWERED["zero-width"])
    assert answer.abstained and answer.citations.is_empty(), answer.text


# ------------------------------------------------------------------ the command line


@pytest.fixture
def terminal(monkeypatch, engine):
    """`qa-engine` as a terminal sees it: the session engine, and no logging handlers of
    pytest's (Python's last-resort handler would print a logged traceback to stderr)."""
    monkeypatch.setattr(cli, "_engine", lambda args: engine)
    root = logging.getLogger()
    handlers, root.handlers = root.handlers, []
    yield
    root.handlers = handlers


@pytest.mark.parametrize("question", EMPTY.values(), ids=EMPTY.keys())
def test_cli_empty_question_is_one_error_line(terminal, capsys, question):
    code = cli.main(["ask", question])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "empty" in lines[0], err
    assert no_traceback(err)


@pytest.mark.parametrize("question", ANSWERED.values(), ids=ANSWERED.keys())
def test_cli_hostile_question_answers_without_a_traceback(terminal, capsys, question):
    code = cli.main(["ask", question])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() and no_traceback(err)
    assert not CONTROL_CHARS.search(out) and not CONTROL_CHARS.search(err)  # nothing for the terminal to interpret
    if len(question) > MAX_QUESTION_CHARS:
        assert f"warning: question truncated to {MAX_QUESTION_CHARS} characters" in err


@pytest.mark.parametrize("question", [ANSWERED["huge"], ANSWERED["controls-mixed"], SCRIPT], ids=["huge", "controls", "script"])
def test_cli_json_for_a_hostile_question_is_valid(terminal, capsys, question):
    code = cli.main(["ask", question, "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and no_traceback(err), err
    answer = json.loads(out)
    assert answer["answer"] and len(answer["question"]) <= MAX_QUESTION_CHARS
    assert not CONTROL_CHARS.search(answer["question"] + answer["answer"])


# ------------------------------------------------------------------ the chat UI


def _elements(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def test_ui_renders_questions_and_documents_as_text_never_html(monkeypatch, hostile):
    """The hostile index holds a document with <img onerror> and <script>: neither the question
    nor that document may reach the page as HTML."""
    from streamlit.testing.v1 import AppTest

    from app import helpers

    monkeypatch.setenv(helpers.INDEX_ENV, str(hostile.index))
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    questions = [SCRIPT, IMG, MARKDOWN, f"What do attention maps in the {HTML_CANARY} notebooks show?"]
    for question in questions:
        at.chat_input[0].set_value(question).run()
        assert not at.exception, at.exception
        assert at.chat_message[-2].name == "user" and at.chat_message[-2].markdown[0].value == question
        assert not at.chat_message[-1].error, [e.value for e in at.chat_message[-1].error]

    nodes = list(_elements(at._tree))
    types = {n.type for n in nodes}
    assert not types & {"html", "iframe", "component_instance"}, types  # st.html, components.html / declare_component
    markdown = [n for n in nodes if n.type == "markdown"]
    assert markdown and all(not n.proto.allow_html for n in markdown), [n.value for n in markdown if n.proto.allow_html]
    bodies = "\n".join(n.value for n in markdown)
    for question in questions:
        assert question in bodies  # shown as markdown text, which Streamlit escapes
    # the HTML document was retrieved and is shown only as data (a dataframe cell), not markup
    frames = [n.value for n in nodes if n.type == "dataframe"]
    cells = "\n".join(str(v) for frame in frames for v in frame.astype(str).to_numpy().ravel())
    assert HTML_CANARY in cells and "onerror=alert(1)" in cells


def test_app_source_never_renders_html():
    pattern = re.compile(r"unsafe_allow_html|st\.html\b|components\.(?:v1|html|iframe|declare_component)|st\.components")
    for path in sorted((ROOT / "app").glob("*.py")):
        hits = [f"{path.name}:{i}: {line.strip()}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if pattern.search(line)]
        assert not hits, hits
