"""The index on disk, built by graphrag's real pipeline with our workflows.

- the session fixture index: graphrag's six tables with graphrag's exact columns, our FAISS
  stores and token stores, a truthful manifest, a sane graph;
- atomic builds: a symlink swapped in one step; a failed or killed build leaves the
  previous index loadable and answering;
- incremental builds: unchanged text is never encoded again;
- bad input through the CLI; damaged index files on load.

Extra indexes are built only from tiny corpora (one or two paragraphs).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pytest
import yaml
from graphrag.data_model.schemas import (
    COMMUNITIES_FINAL_COLUMNS,
    COMMUNITY_REPORTS_FINAL_COLUMNS,
    DOCUMENTS_FINAL_COLUMNS,
    ENTITIES_FINAL_COLUMNS,
    RELATIONSHIPS_FINAL_COLUMNS,
    TEXT_UNITS_FINAL_COLUMNS,
)

from qa_engine import QAEngine, embeddings
from qa_engine.cli import main as cli_main
from qa_engine.errors import CorpusError, IndexNotFoundError, QAEngineError
from qa_engine.index_store import load_index
from qa_engine.indexer import build_index
from qa_engine.token_store import KINDS, TokenStore, record_texts, text_hash
from qa_engine.workflows import PIPELINES

try:
    from qa_engine.domain import ENTITY_TYPES
except ImportError:  # the domain vocabulary is optional
    ENTITY_TYPES = None

ROOT = Path(__file__).resolve().parents[1]

GRAPHRAG_COLUMNS = {
    "documents": DOCUMENTS_FINAL_COLUMNS,
    "text_units": TEXT_UNITS_FINAL_COLUMNS,
    "entities": ENTITIES_FINAL_COLUMNS,
    "relationships": RELATIONSHIPS_FINAL_COLUMNS,
    "communities": COMMUNITIES_FINAL_COLUMNS,
    "community_reports": COMMUNITY_REPORTS_FINAL_COLUMNS,
}
# graphrag's vector store name -> the table its rows embed
GRAPHRAG_STORES = {
    "entity_description": "entities",
    "text_unit_text": "text_units",
    "community_full_content": "community_reports",
}

DOC_A = """# Scaled dot-product attention

The Transformer of Vaswani et al. relies on scaled dot-product attention. Queries are compared with keys,
the scores are divided by the square root of the key dimension, and a softmax turns them into attention
weights over the values. Multi-head attention runs several attention heads in parallel, each with its own
learned projections of queries, keys and values, and concatenates their outputs.
"""
DOC_B = """Bahdanau attention lets a recurrent encoder-decoder attend over all encoder hidden states.
The decoder computes additive attention scores with a small feed-forward network and uses the weighted
context vector to predict the next word in machine translation.
"""
QUESTION = "What does scaled dot-product attention divide the scores by?"


def _table(index: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(index / f"{name}.parquet", columns=columns)


def _write_corpus(folder: Path, docs: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in docs.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return folder


def _settings_at(base, root: Path, corpus: Path, max_file_mb: float | None = None):
    """The session settings pointed at `root` (index and cache), with a private graphrag config."""
    qa = replace(base.qa, corpus=corpus.resolve(), index=(root / "index" / "tiny").resolve())
    if max_file_mb is not None:
        qa = replace(qa, max_file_mb=max_file_mb)
    graphrag = base.graphrag.model_copy(deep=True)  # never mutate the session's config
    graphrag.cache.storage.base_dir = str(root / "cache")
    return replace(base, qa=qa, graphrag=graphrag)


def _settings_file(tmp: Path, corpus: Path, index: Path, **qa) -> Path:
    """A copy of the project settings.yaml with qa.corpus, qa.index and the cache moved to tmp."""
    values = yaml.safe_load((ROOT / "settings.yaml").read_text(encoding="utf-8"))
    values["qa"].update({"corpus": str(corpus), "index": str(index), **qa})
    values["cache"]["storage"]["base_dir"] = str(tmp / "cache")
    path = tmp / "settings.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _builds(index: Path) -> list[str]:
    folder = index.parent / ".builds"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def _folders(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()}


def _assert_answers(index: Path, settings) -> None:
    """The index loads and answers from its own rows (answer quality is tested elsewhere)."""
    engine = QAEngine.load(index, settings)
    answer = engine.ask(QUESTION)
    assert not answer.abstained, answer.text
    assert not answer.citations.is_empty(), answer.text
    assert "attention" in answer.text.lower(), answer.text
    assert set(answer.citations.entities) <= set(engine.index.entities["human_readable_id"])
    assert set(answer.citations.sources) <= set(engine.index.text_units["human_readable_id"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, fixture_settings):
    """One tiny index (DOC_A), built once; tests that change it work on a clone."""
    root = tmp_path_factory.mktemp("tiny")
    settings = _settings_at(fixture_settings, root, _write_corpus(root / "corpus", {"a.md": DOC_A}))
    build_index(settings, progress=False)
    return settings


def _clone(tiny_settings, tmp: Path, docs: dict[str, str | bytes] | None = None):
    """A private copy of the tiny index (its build folder and the link to it) under tmp."""
    source = tiny_settings.qa.index.resolve()
    settings = _settings_at(tiny_settings, tmp, _write_corpus(tmp / "corpus", docs or {"a.md": DOC_A}))
    target = settings.qa.index
    shutil.copytree(source, target.parent / ".builds" / source.name)
    target.symlink_to(Path(".builds") / source.name)
    return settings


# ------------------------------------------------------------------ the fixture index


def test_tables_have_exactly_graphrags_columns(fixture_index):
    for name, columns in GRAPHRAG_COLUMNS.items():
        table = _table(fixture_index, name)
        assert list(table.columns) == columns, name
        assert len(table) > 0, name
        assert table["id"].is_unique, name
        assert sorted(table["human_readable_id"]) == list(range(len(table))), name


def test_graph_is_consistent(fixture_index):
    entities = _table(fixture_index, "entities")
    relationships = _table(fixture_index, "relationships")
    communities = _table(fixture_index, "communities")
    reports = _table(fixture_index, "community_reports")
    text_units = _table(fixture_index, "text_units")

    assert entities["title"].is_unique, entities["title"][entities["title"].duplicated()].tolist()
    assert (entities["description"].fillna("").str.strip() != "").all()
    if ENTITY_TYPES is not None:
        assert set(entities["type"]) <= set(ENTITY_TYPES), set(entities["type"]) - set(ENTITY_TYPES)
    else:
        assert (entities["type"].fillna("") != "").all()
    titles = set(entities["title"])
    assert set(relationships["source"]) | set(relationships["target"]) <= titles
    assert (relationships["description"].fillna("").str.strip() != "").all()

    assert communities["level"].nunique() >= 1
    assert communities["community"].is_unique
    # one report per community, on the community's level
    assert sorted(reports["community"]) == sorted(communities["community"])
    levels = dict(zip(communities["community"], communities["level"], strict=True))
    assert all(levels[c] == lvl for c, lvl in zip(reports["community"], reports["level"], strict=True))
    assert (reports["full_content"].str.len() > 0).all()
    ids = set(entities["id"])
    assert all(set(e) <= ids for e in communities["entity_ids"])
    units = set(text_units["id"])
    assert all(set(u) <= units for u in entities["text_unit_ids"])


def test_faiss_stores_match_their_tables(fixture_index):
    entities_tokens = TokenStore.load(fixture_index, "entities")
    for store, table_name in GRAPHRAG_STORES.items():
        index = faiss.read_index(str(fixture_index / f"{store}.faiss"))
        rows = _table(fixture_index, store)
        table = _table(fixture_index, table_name)
        assert index.d == 384, store
        assert index.ntotal == len(rows) == len(table), store
        assert sorted(rows["id"]) == sorted(table["id"]), store
        vectors = index.reconstruct_n(0, index.ntotal)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
        if store == "entity_description":
            # graphrag's pooled vectors are the ones our token pass computed (seeded into its cache)
            position = {i: p for p, i in enumerate(rows["id"])}
            for row, entity_id in enumerate(entities_tokens.ids):
                cosine = float(vectors[position[entity_id]] @ entities_tokens.pooled[row])
                assert cosine > 0.999, (entity_id, cosine)


def test_token_stores_are_row_aligned(fixture_index):
    assert {"text_units", "entities", "community_reports"} <= set(KINDS)
    for kind in KINDS:
        table = _table(fixture_index, kind)
        store = TokenStore.load(fixture_index, kind)
        rows = _table(fixture_index, f"{kind}_tokens")
        assert store.ids == table["id"].tolist(), kind
        assert rows["text_sha256"].tolist() == [text_hash(t) for t in record_texts(kind, table)], kind
        assert (store.counts > 0).all(), kind
        assert len(store.tokens) == int(store.counts.sum()), kind
        assert store.starts.tolist() == np.concatenate([[0], np.cumsum(store.counts)[:-1]]).tolist(), kind
        assert [len(s) for s in store.spans] == store.counts.tolist(), kind
        np.testing.assert_allclose(np.linalg.norm(store.pooled, axis=1), 1.0, atol=1e-3)


def test_manifest_describes_the_build(fixture_index, fixture_settings):
    manifest = json.loads((fixture_index / "manifest.json").read_text(encoding="utf-8"))
    corpus = fixture_settings.qa.corpus
    on_disk = {p.relative_to(corpus).as_posix(): p for p in corpus.rglob("*") if p.is_file()}
    assert sorted(f["path"] for f in manifest["files"]) == sorted(on_disk)
    for f in manifest["files"]:
        raw = on_disk[f["path"]].read_bytes()
        assert f["sha256"] == hashlib.sha256(raw).hexdigest(), f["path"]
        assert f["size"] == len(raw), f["path"]
    assert manifest["skipped"] == []

    counts = manifest["counts"]
    for name in GRAPHRAG_COLUMNS:
        assert counts[name] == len(_table(fixture_index, name, ["id"])), name
    levels = sorted(_table(fixture_index, "communities", ["level"])["level"].unique().tolist())
    assert counts["community_levels"] == levels and len(levels) >= 1

    model = fixture_settings.graphrag.get_embedding_model_config("default_embedding_model")
    assert manifest["models"] == {"embedding": model.model, "embedding_type": "sentence_transformer"}
    assert manifest["method"] == "fast"
    assert manifest["graphrag_version"] == "3.3.0"
    assert manifest["settings"]["chunking"]["size"] == fixture_settings.graphrag.chunking.size
    assert manifest["settings"]["qa"]["corpus"] == str(corpus)
    timings = manifest["timings_s"]
    assert set(PIPELINES["fast"]) | {"ingest", "total"} <= set(timings)
    assert all(v >= 0 for v in timings.values())
    assert timings["total"] >= max(v for k, v in timings.items() if k != "total")


# ------------------------------------------------------------------ atomic builds


def test_index_path_is_a_link_into_builds(fixture_index):
    assert fixture_index.is_symlink()
    link = os.readlink(fixture_index)
    assert not os.path.isabs(link) and Path(link).parts[0] == ".builds", link
    assert _builds(fixture_index) == [Path(link).name]


def test_rebuild_swaps_the_link_and_drops_the_old_build(tiny, tmp_path, monkeypatch):
    settings = _clone(tiny, tmp_path)
    target = settings.qa.index
    old = target.resolve()
    encoded: list[str] = []
    real_encode_tokens = embeddings.encode_tokens
    monkeypatch.setattr(
        embeddings, "encode_tokens", lambda m, texts, **kw: encoded.extend(texts) or real_encode_tokens(m, texts, **kw)
    )

    build_index(settings, progress=False)

    new = target.resolve()
    assert target.is_symlink() and new != old
    assert new.parent == old.parent == target.parent / ".builds"
    assert not old.exists(), "the replaced build folder is left behind"
    assert _builds(target) == [new.name]
    assert not target.with_name(f".{target.name}.swap").exists()
    assert encoded == [], f"an unchanged corpus re-encoded {len(encoded)} texts"
    _assert_answers(target, settings)


def _failing_workflow(monkeypatch):
    from graphrag.index.workflows.factory import PipelineFactory

    async def boom(config, context):
        raise RuntimeError("boom: disk full")

    # the last workflow of the pipeline: by then tables, token stores and FAISS files are written
    assert PIPELINES["fast"][-1] == "generate_text_embeddings"
    monkeypatch.setitem(PipelineFactory.workflows, "generate_text_embeddings", boom)


@pytest.mark.parametrize("failure", ["workflow raises", "corpus unusable"])
def test_failed_build_keeps_the_previous_index(tiny, tmp_path, monkeypatch, failure):
    settings = _clone(tiny, tmp_path)
    target = settings.qa.index
    before, builds = os.readlink(target), _builds(target)

    if failure == "workflow raises":
        _failing_workflow(monkeypatch)
        with pytest.raises(QAEngineError, match="generate_text_embeddings.*boom"):
            build_index(settings, progress=False)
    else:
        bad = _write_corpus(tmp_path / "bad", {"only.txt": b"\x00\x01binary\x00"})
        with pytest.raises(CorpusError, match="only.txt"):
            build_index(settings.with_paths(corpus=bad), progress=False)

    assert os.readlink(target) == before
    assert _builds(target) == builds, "a failed build left a folder in .builds"
    assert not target.with_name(f".{target.name}.swap").exists()
    _assert_answers(target, settings)


def test_killed_build_keeps_the_previous_index(tiny, tmp_path):
    """kill -9 mid-build (once the new build folder has tables in it): nothing to clean up
    runs, yet the index path still points at the previous, complete build."""
    settings = _clone(tiny, tmp_path)
    target = settings.qa.index
    before, builds = os.readlink(target), _builds(target)
    existing = _folders(target.parent)
    corpus = _write_corpus(tmp_path / "next", {"a.md": DOC_A, "b.txt": DOC_B})
    settings_file = _settings_file(tmp_path, corpus, target)
    log = (tmp_path / "build.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_engine", "--settings", str(settings_file), "index", "--output", str(target), "--quiet"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        new = None
        while time.monotonic() < deadline and proc.poll() is None:
            # the new build folder, once graphrag has written tables into it
            new = next((d for d in _folders(target.parent) - existing if any(d.glob("*.parquet"))), None)
            if new is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the build ended before it could be killed: {(tmp_path / 'build.log').read_text()}"
        assert new is not None, "no new build folder appeared"
        assert new.parent.name == ".builds", new
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    assert os.readlink(target) == before
    assert target.resolve().name == builds[0]
    _assert_answers(target, settings)

    # the next build clears what the killed one left behind
    build_index(settings.with_paths(corpus=corpus), progress=False)
    assert not new.exists()
    assert _builds(target) == [target.resolve().name]


def test_cli_rebuild_over_the_index_link_swaps_it(tiny, tmp_path, capsys):
    """`qa-engine index` a second time (the index path now a link) must swap that link, not
    follow it: settings that resolve the link build into .builds/.builds/ and never swap."""
    settings = _clone(tiny, tmp_path)
    target = settings.qa.index
    old = target.resolve()
    settings_file = _settings_file(tmp_path, settings.qa.corpus, target)

    assert cli_main(["--settings", str(settings_file), "index", "--output", str(target), "--quiet"]) == 0

    assert f"index written to {target}:" in capsys.readouterr().out
    assert target.is_symlink() and target.resolve() != old
    assert not old.exists()
    assert _builds(target) == [target.resolve().name]


# ------------------------------------------------------------------ incremental builds


def test_rebuild_encodes_only_new_text(tiny, tmp_path, monkeypatch):
    settings = _clone(tiny, tmp_path, {"a.md": DOC_A, "b.txt": DOC_B})
    previous = settings.qa.index.resolve()
    old_hashes = {kind: set(_table(previous, f"{kind}_tokens", ["text_sha256"])["text_sha256"]) for kind in KINDS}
    old_units = _table(previous, "text_units")

    token_texts: list[str] = []
    pooled_texts: list[str] = []
    real_encode_tokens, real_encode = embeddings.encode_tokens, embeddings.encode
    monkeypatch.setattr(
        embeddings, "encode_tokens", lambda m, t, **kw: token_texts.extend(t) or real_encode_tokens(m, t, **kw)
    )
    monkeypatch.setattr(embeddings, "encode", lambda m, t, **kw: pooled_texts.extend(t) or real_encode(m, t, **kw))

    build_index(settings, progress=False)

    index = settings.qa.index.resolve()
    known = set().union(*old_hashes.values())
    reencoded = [t for t in token_texts + pooled_texts if text_hash(t) in known]
    assert reencoded == [], f"{len(reencoded)} unchanged texts encoded again, e.g. {reencoded[0][:80]!r}"
    assert pooled_texts == [], "graphrag's pooled vectors should all come from the token pass"

    new_units = _table(index, "text_units")
    assert len(new_units) > len(old_units)
    assert set(old_units["text"]) <= set(new_units["text"]), "the unchanged document was chunked differently"
    assert set(old_units["text"]).isdisjoint(token_texts)
    assert any("Bahdanau" in t for t in token_texts), "the new document was not encoded"
    # every text that is new to the index was encoded, and nothing else
    new_hashes = set().union(*(set(_table(index, f"{k}_tokens", ["text_sha256"])["text_sha256"]) for k in KINDS))
    assert {text_hash(t) for t in token_texts} == new_hashes - known
    _assert_answers(settings.qa.index, settings)


# ------------------------------------------------------------------ bad input through the CLI


def test_cli_skips_bad_files_with_one_line_each(tmp_path, capsys):
    latin1 = "Café notes: additive attention scores feed a softmax over encoder states.\n".encode("latin-1")
    corpus = _write_corpus(
        tmp_path / "corpus",
        {
            "good.md": DOC_A,
            "latin1.txt": latin1,
            "empty.txt": b"",
            "x.pdf": bytes(range(256)) * 4,
            "nul.txt": b"attention\x00\x00weights",
            "huge.md": DOC_A * 8,  # over the 0.002 MB (2 KB) limit below
        },
    )
    index = tmp_path / "index" / "default"
    settings_file = _settings_file(tmp_path, corpus, index, max_file_mb=0.002)

    rc = cli_main(["--settings", str(settings_file), "index", "--quiet"])

    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err
    lines = err.splitlines()
    for name in ("latin1.txt", "empty.txt", "x.pdf", "nul.txt", "huge.md"):
        mentions = [line for line in lines if name in line]
        assert len(mentions) == 1, (name, mentions)
        assert mentions[0].startswith("warning: "), mentions[0]
    assert not any("good.md" in line for line in lines)
    assert f"index written to {index}" in out

    manifest = load_index(index).manifest
    assert [f["path"] for f in manifest["files"]] == ["good.md", "latin1.txt"]
    assert sorted(s["path"] for s in manifest["skipped"]) == ["empty.txt", "huge.md", "nul.txt", "x.pdf"]
    texts = "\n".join(_table(index, "documents")["text"])
    assert "Café notes" in texts


@pytest.mark.parametrize("case", ["missing folder", "no supported files"])
def test_cli_refuses_an_unusable_corpus(tmp_path, capsys, case):
    corpus = tmp_path / "corpus"
    if case == "no supported files":
        _write_corpus(corpus, {"notes.docx": b"PK\x03\x04", "figure.png": b"\x89PNG"})
    index = tmp_path / "index" / "default"
    settings_file = _settings_file(tmp_path, tmp_path / "elsewhere", index)

    rc = cli_main(["--settings", str(settings_file), "index", "--corpus", str(corpus), "--quiet"])

    out, err = capsys.readouterr()
    assert rc != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and str(corpus) in lines[0]
    assert not index.parent.exists(), "an index folder was written for an unusable corpus"


# ------------------------------------------------------------------ damaged files on load


@pytest.mark.parametrize(
    "name",
    [
        "entities.parquet",
        "community_reports.parquet",
        "entity_description.faiss",
        "entity_description.parquet",
        "entities_tokens.npy",
        "text_units_tokens.parquet",
    ],
)
def test_truncated_file_is_named_on_load(fixture_index, tmp_path, name):
    source = fixture_index.resolve()
    copy = tmp_path / "index"
    copy.mkdir()
    for f in source.iterdir():
        if f.is_file() and f.name != name:
            (copy / f.name).symlink_to(f)  # the rest of the index, unchanged
    data = (source / name).read_bytes()
    (copy / name).write_bytes(data[: len(data) // 2])

    with pytest.raises(IndexNotFoundError) as caught:
        load_index(copy)
    message = str(caught.value)
    assert str(copy / name) in message
    assert "qa-engine index" in message
    assert "\n" not in message


# ------------------------------------------------------------------ large documents, per-document isolation


def test_cli_indexes_an_article_beside_a_19_mb_file_of_one_word(tmp_path, capsys):
    """2 million repetitions of one word: 11k identical chunks that graphrag gives one id,
    once a >2 GB entity_ids column and a traceback. Each text is kept once: both are indexed."""
    article = ROOT / "corpus" / "wikipedia" / "attention_machine_learning.md"
    corpus = _write_corpus(tmp_path / "corpus", {article.name: article.read_bytes(), "repeated.txt": "attention " * 2_000_000})
    assert (corpus / "repeated.txt").stat().st_size > 19 * 10**6
    index = tmp_path / "index" / "default"

    rc = cli_main(["--settings", str(_settings_file(tmp_path, corpus, index)), "index", "--quiet"])

    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err and "warning" not in err, err
    assert f"index written to {index}: 2 documents" in out
    manifest = load_index(index).manifest
    assert sorted(f["path"] for f in manifest["files"]) == sorted([article.name, "repeated.txt"])
    assert manifest["skipped"] == [] and manifest["left_out"] == []
    units = _table(index, "text_units")
    assert units["id"].is_unique
    by_document = units.groupby("document_id").size()
    assert sorted(by_document)[0] <= 3 < sorted(by_document)[1], by_document  # the repeated word: a few distinct chunks


POISON = "Zqxjv attention"  # marks the document a fault below is injected into
DOC_C = f"""{POISON} notes. Self-attention compares every token with every other token of the sequence,
so its cost grows with the square of the sequence length; sparse attention patterns reduce it.
"""


def _inject_fault(monkeypatch, stage: str) -> None:
    """A failure of one stage on the text of DOC_C only: a stand-in for an input our code cannot
    handle (none is known; every real one found so far was fixed)."""
    from qa_engine import workflows

    def failing(real, texts_of):
        def run(*args, **kwargs):
            if any(POISON in t for t in texts_of(*args)):
                raise RuntimeError(f"{stage} cannot handle this text")
            return real(*args, **kwargs)

        return run

    if stage == "extract_graph_offline":
        monkeypatch.setattr(workflows, "extract_graph", failing(workflows.extract_graph, lambda units: units["text"]))
    else:
        monkeypatch.setattr(embeddings, "encode_tokens", failing(embeddings.encode_tokens, lambda model, texts: texts))


@pytest.mark.parametrize("stage", ["extract_graph_offline", "embed_text_tokens"])
def test_a_document_that_fails_a_stage_is_left_out_by_name(tiny, tmp_path, monkeypatch, capsys, stage):
    settings = _clone(tiny, tmp_path, {"a.md": DOC_A, "b.txt": DOC_B, "c.txt": DOC_C})
    settings_file = _settings_file(tmp_path, settings.qa.corpus, settings.qa.index)
    _inject_fault(monkeypatch, stage)

    rc = cli_main(["--settings", str(settings_file), "index", "--quiet"])

    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"warning: c.txt: left out ({stage} failed on it: RuntimeError: {stage} cannot handle this text)"]
    assert "2 documents" in out and "(1 file(s) with warnings above)" in out
    index = settings.qa.index
    manifest = load_index(index).manifest
    assert [f["path"] for f in manifest["files"]] == ["a.md", "b.txt"]
    assert manifest["left_out"] == [{"path": "c.txt", "action": "left out", "reason": lines[0].split("(", 1)[1][:-1]}]
    assert not _table(index, "text_units")["text"].str.contains(POISON).any()
    assert len(_table(index, "documents")) == 2
    assert _builds(index) == [index.resolve().name], "a failed attempt left its folder behind"
    monkeypatch.undo()
    _assert_answers(index, settings)


def test_a_build_whose_every_document_fails_keeps_the_previous_index(tiny, tmp_path, monkeypatch, capsys):
    settings = _clone(tiny, tmp_path, {"c.txt": DOC_C})
    before = os.readlink(settings.qa.index)
    _inject_fault(monkeypatch, "extract_graph_offline")

    rc = cli_main(["--settings", str(_settings_file(tmp_path, settings.qa.corpus, settings.qa.index)), "index", "--quiet"])

    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    assert "error: no document could be indexed" in err and "c.txt: left out (extract_graph_offline failed" in err
    assert os.readlink(settings.qa.index) == before
    assert _builds(settings.qa.index) == [Path(before).name]


def test_token_stores_are_written_and_read_in_pieces(tiny, tmp_path, monkeypatch):
    """Windows of 2 rows and row groups of 3: the store reads back as one encoding of every text."""
    import pyarrow.parquet as pq

    from qa_engine import token_store

    monkeypatch.setattr(token_store, "WINDOW", 2)
    monkeypatch.setattr(token_store, "ROW_GROUP", 3)
    settings = _settings_at(tiny, tmp_path, _write_corpus(tmp_path / "corpus", {"a.md": DOC_A, "b.txt": DOC_B}))
    build_index(settings, progress=False)

    index = settings.qa.index.resolve()
    model = embeddings.load_sentence_transformer(embeddings.DEFAULT_MODEL)
    for kind in KINDS:
        table = _table(index, kind)
        assert kind != "entities" or len(table) > 6, "too few rows for several windows and row groups"
        assert pq.ParquetFile(index / f"{kind}_tokens.parquet").num_row_groups == -(-len(table) // 3), kind
        store = TokenStore.load(index, kind)
        assert isinstance(store.tokens, np.memmap) and store.tokens.dtype == np.float16, kind
        assert store.ids == table["id"].tolist(), kind
        for row, expected in enumerate(embeddings.encode_tokens(model, record_texts(kind, table))):
            np.testing.assert_allclose(store.unit(row), expected.tokens, atol=2e-2)
            np.testing.assert_array_equal(store.spans[row], expected.spans)
            np.testing.assert_allclose(store.pooled[row], expected.vector, atol=1e-4)


def test_workflows_run_without_tracemalloc():
    """graphrag's profiler turned tracemalloc on around every workflow, and with it on a pyarrow
    thread releasing a Python buffer crashed CPython (SIGSEGV): ours times the workflows only."""
    import tracemalloc

    from graphrag.index.run import run_pipeline

    from qa_engine.workflows import register_all

    register_all()
    with run_pipeline.WorkflowProfiler() as profiler:
        assert not tracemalloc.is_tracing()
        time.sleep(0.01)
    assert profiler.metrics.overall > 0
