"""The external evaluation sets (bench/external, bench/external2): their files read, agree with each other and keep their promised size."""

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa_engine.evaluate import read_questions

ROOT = Path(__file__).resolve().parents[1]
_FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[^\n]*$", re.S | re.M)
KINDS = {"definition", "why", "how", "compare", "list", "number", "who", "yesno", "multihop"}


@dataclass(frozen=True)
class ExternalSet:
    """One set's directory and the minimum counts its README promises."""

    name: str
    docs: int
    answerable: int
    off_corpus: int
    multi_doc: int
    key_terms: int
    other_sets: tuple[str, ...] = ()  # sets whose documents this one must not repeat

    @property
    def root(self) -> Path:
        return ROOT / "bench" / self.name


SETS = [
    ExternalSet("external", docs=18, answerable=32, off_corpus=4, multi_doc=10, key_terms=60),
    ExternalSet("external2", docs=11, answerable=36, off_corpus=5, multi_doc=18, key_terms=60, other_sets=("external",)),
]


def _prose(text: str) -> str:
    """The text outside fenced code blocks, without emphasis stars, lower case."""
    return _FENCE.sub(" ", text).replace("*", "").lower()


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module", params=SETS, ids=lambda s: s.name)
def ext(request) -> ExternalSet:
    return request.param


@pytest.fixture(scope="module")
def docs(ext) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((ext.root / "docs").iterdir()) if p.is_file()}


def test_documents_are_many_small_and_not_from_the_shipped_corpus(ext, docs):
    assert len(docs) >= ext.docs
    assert all(p.suffix in {".md", ".mdx", ".txt"} for p in map(Path, docs))
    assert all(len(text.encode("utf-8")) <= 64_000 for text in docs.values())
    shipped = {_sha(p.read_bytes()) for p in (ROOT / "corpus").rglob("*") if p.is_file()}
    for other in ext.other_sets:  # a later set repeats no document of an earlier one
        shipped |= {_sha(p.read_bytes()) for p in (ROOT / "bench" / other / "docs").iterdir() if p.is_file()}
    assert not shipped & {_sha(t.encode("utf-8")) for t in docs.values()}


def test_sources_md_names_every_document(ext, docs):
    sources = (ext.root / "SOURCES.md").read_text(encoding="utf-8")
    for name in docs:
        assert f"`{name}`" in sources, name


def test_questions_parse_and_meet_the_counts(ext, docs):
    questions = read_questions(ext.root / "questions.jsonl")
    raw = {q["id"]: q for q in _jsonl(ext.root / "questions.jsonl")}
    assert len(raw) == len(questions)
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= ext.answerable
    assert sum(not q.answerable for q in questions) >= ext.off_corpus
    assert {raw[q.id]["kind"] for q in questions} <= KINDS
    assert {raw[q.id].get("evidence", "prose") for q in questions} <= {"prose", "code"}
    assert Counter(raw[q.id]["kind"] for q in questions).keys() >= {"number", "who", "yesno"}
    multi = [q for q in answerable if raw[q.id]["kind"] in {"compare", "multihop"} and len(set(q.sources)) >= 2]
    assert len(multi) >= ext.multi_doc
    for q in questions:
        assert (q.answerable and q.must_mention and q.sources) or not (q.answerable or q.sources or q.must_mention), q.id
        for source in q.sources:
            assert source in docs, (q.id, source)


def test_must_mention_groups_come_from_the_source_documents(ext, docs):
    """A group no source document contains cannot be a fact the documents state."""
    for q in read_questions(ext.root / "questions.jsonl"):
        text = " ".join(docs[s] for s in q.sources).lower()
        for group in q.must_mention:
            assert any(alt.lower() in text for alt in group), (q.id, group)


def test_questions_not_marked_code_are_answered_in_prose(ext, docs):
    raw = {q["id"]: q for q in _jsonl(ext.root / "questions.jsonl")}
    for q in read_questions(ext.root / "questions.jsonl"):
        if raw[q.id].get("evidence") == "code":
            continue
        prose = {s: _prose(docs[s]) for s in q.sources}
        for group in q.must_mention:
            assert any(alt.lower() in " ".join(prose.values()) for alt in group), (q.id, group)
        for source, text in prose.items():  # every source of a multi-document question adds a fact
            assert len(prose) == 1 or any(alt.lower() in text for g in q.must_mention for alt in g), (q.id, source)


def test_key_terms_occur_in_their_documents(ext, docs):
    terms = _jsonl(ext.root / "key_terms.jsonl")
    assert len(terms) >= ext.key_terms
    assert len({t["term"].lower() for t in terms}) == len(terms)
    per_doc = Counter()
    for t in terms:
        assert isinstance(t["term"], str) and t["term"].strip(), t
        assert all(isinstance(a, str) and a.strip() for a in t["aliases"]), t
        assert t["documents"], t
        names = [n.lower() for n in [t["term"], *t["aliases"]]]
        for name in t["documents"]:
            assert name in docs, (t["term"], name)
            assert any(n in docs[name].lower() for n in names), (t["term"], name)
            per_doc[name] += 1
            in_prose = any(n in _prose(docs[name]) for n in names)
            assert in_prose != (name in t.get("code_only_documents", [])), (t["term"], name)
    assert all(per_doc[name] >= 2 for name in docs), per_doc
