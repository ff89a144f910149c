"""Bad documents: random and hostile files beside a good one never stop ingest, each is read
or reported by name; the offline extractor survives random text; a whole build over a
corpus of bad files succeeds and names each of them."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa_engine.domain import VOCABULARY
from qa_engine.extract import ENTITY_COLUMNS, RELATIONSHIP_COLUMNS, extract_graph
from qa_engine.ingest import SUPPORTED_SUFFIXES, ingest_corpus

from .conftest import BAD, GOOD, HOSTILE

GOOD_DOC = "good.md"
GOOD_TEXT = "# Attention\n\nMulti-head attention runs several attention heads in parallel over queries, keys and values.\n"
MAX_MB = 1.0
ONE_MB_LINE = 1_000_000  # bytes: under the 1 MiB limit, so the file is read, not skipped for size
SUFFIXES = sorted(SUPPORTED_SUFFIXES)

# Text without surrogates (they cannot be encoded), but with every other kind of code point.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)


@st.composite
def bad_file(draw) -> tuple[str, bytes, str]:
    """(suffix, content, kind) of one hostile file."""
    suffix = draw(st.sampled_from(SUFFIXES))
    kind = draw(st.sampled_from(["text", "bytes", "nul", "line", "empty", "huge", "markup"]))
    if kind == "text":
        content = draw(_text).encode("utf-8")
    elif kind == "bytes":
        content = draw(st.binary(max_size=400))
    elif kind == "nul":
        text = draw(_text)
        at = draw(st.integers(0, len(text)))
        content = (text[:at] + "\x00" + text[at:]).encode("utf-8")
    elif kind == "line":  # one line of about 1 MB: a short random piece, repeated
        piece = draw(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6)).encode("utf-8")
        content = piece * (ONE_MB_LINE // len(piece))
    elif kind == "empty":
        content = draw(st.sampled_from([b"", b" ", b"\n\n\t  \r\n", "\u3000\u2003".encode()]))
    elif kind == "huge":  # just over qa.max_file_mb
        content = b"attention " * (int(MAX_MB * 2**20) // 10 + 1)
    else:  # markup openers that never close: the regexes of the cleaners must stay linear
        opener = draw(st.sampled_from(["**a ", "_a ", "*a ", "[", "![", "[**a ", "<!--", "<img alt=\"", "\\[",
                                       "\\(", "\\begin{equation}", "\\section[", "\\item[", "`", "$$"]))
        content = (opener * (200_000 // len(opener))).encode()
    return suffix, content, kind


def _write(folder: Path, files: list[tuple[str, bytes, str]]) -> list[str]:
    (folder / GOOD_DOC).write_text(GOOD_TEXT, encoding="utf-8")
    names = []
    for i, (suffix, content, _) in enumerate(files):
        name = f"bad-{i}{suffix}"
        (folder / name).write_bytes(content)
        names.append(name)
    return names


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=st.lists(bad_file(), min_size=1, max_size=4))
def test_ingest_reads_or_reports_every_bad_file_and_keeps_the_good_one(files):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        names = _write(corpus, files)
        started = time.perf_counter()
        result = ingest_corpus(corpus, max_file_mb=MAX_MB)  # never raises: the good document is usable
        elapsed = time.perf_counter() - started
    read = {d.path for d in result.documents}
    reported = {i.path: i for i in result.issues}
    assert GOOD_DOC in read
    assert next(d for d in result.documents if d.path == GOOD_DOC).text.startswith("Attention")
    for name, (suffix, content, kind) in zip(names, files, strict=True):
        assert name in read or name in reported, f"{name} ({kind}) neither read nor reported"
        if kind in ("empty", "huge") or (kind == "nul" and suffix != ".pdf"):
            assert name not in read and reported[name].action == "skipped", reported.get(name)
        if kind == "huge":
            assert "MB limit" in reported[name].reason
        if name in reported:
            assert str(reported[name]).startswith(f"{name}: ")
    for document in result.documents:
        assert isinstance(document.text, str) and document.text.strip()
        assert "\x00" not in document.text
    assert elapsed < 30, f"ingest took {elapsed:.1f} s for {len(files)} file(s)"


# ------------------------------------------------------------------ the offline extractor

_TERMS = sorted({form for term in VOCABULARY for form in term.forms})  # the extractor's curated vocabulary
_piece = st.one_of(
    st.sampled_from(_TERMS),
    _text,
    st.sampled_from([". ", "! ", "? ", "\n\n", "\n", " | ", "# ", "- ", "$x$", "`code`", "**", "_", "[a](b)", "<b>", "e.g. "]),
)
_unit_text = st.lists(_piece, max_size=40).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(_unit_text, st.none()), min_size=1, max_size=6))
@example(texts=["Multi-head attention runs several attention heads in parallel. The Transformer stacks multi-head "
                "attention with layer normalization.", "Layer normalization follows multi-head attention.", None, ""])
def test_extract_graph_on_random_text_returns_well_formed_frames(texts):
    ids = [f"unit-{i}" for i in range(len(texts))]
    entities, relationships, _ = extract_graph(pd.DataFrame({"id": ids, "text": texts}))

    assert list(entities.columns) == ENTITY_COLUMNS
    assert list(relationships.columns) == RELATIONSHIP_COLUMNS
    assert entities["title"].is_unique
    for row in entities.itertuples(index=False):
        assert isinstance(row.title, str) and row.title.strip()
        assert isinstance(row.type, str) and row.type
        assert isinstance(row.description, str) and row.description.strip()
        assert list(row.text_unit_ids) and set(row.text_unit_ids) <= set(ids)
        assert row.frequency == len(row.text_unit_ids)
    titles = set(entities["title"])
    for row in relationships.itertuples(index=False):
        assert row.source in titles and row.target in titles and row.source != row.target
        assert isinstance(row.description, str) and row.description.strip()
        assert math.isfinite(row.weight) and row.weight > 0
        assert list(row.text_unit_ids) and set(row.text_unit_ids) <= set(ids)


# ------------------------------------------------------------------ one build over bad files


def test_build_over_bad_files_succeeds_and_names_each_one(hostile):
    """The session's hostile build: good documents, hostile ones, one of each bad file."""
    result = hostile.result
    read = {f["path"] for f in result.manifest["files"]}
    assert set(GOOD) | set(HOSTILE) <= read
    issues = {i.path: i for i in result.issues}
    for name, (_, expected) in BAD.items():
        if expected == "skipped":
            assert name in issues and issues[name].action == "skipped", (name, issues.get(name))
            assert name not in read
            assert f"warning: {name}: skipped" in hostile.stderr, name
        else:
            assert name in read, name
    assert issues["bad/latin1.txt"].action == "decoded as latin-1"
    skipped = {s["path"] for s in result.manifest["skipped"]}
    assert skipped == {n for n, (_, e) in BAD.items() if e == "skipped"}
    assert result.manifest["counts"]["documents"] == len(read)


def test_index_over_bad_files_answers(hostile_engine):
    answer = hostile_engine.ask("What does scaled dot-product attention divide the scores by?")
    assert not answer.abstained and not answer.citations.is_empty(), answer.text
    assert "square root" in answer.text
