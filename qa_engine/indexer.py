"""Build an index: our ingest, then graphrag's pipeline with our workflows, then a manifest.

Atomic: each build goes to `index/.builds/<name>-<time>/`; on success the index path (a
symlink) is swapped to it with one `os.replace`. A failed or killed build leaves the
previous index whole; readers that loaded it keep a consistent snapshot. One build per index
runs at a time (a file lock), and it first removes what killed builds left behind.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from qa_engine.config import Settings
from qa_engine.errors import CorpusError, QAEngineError
from qa_engine.ingest import IngestIssue, ingest_corpus, paper_record
from qa_engine.isolation import DocumentsFailed

MANIFEST = "manifest.json"
TABLES = ("documents", "text_units", "entities", "relationships", "communities", "community_reports")

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class BuildResult:
    index_dir: Path
    manifest: dict
    issues: list[IngestIssue]


def build_index(
    settings: Settings,
    method: str | None = None,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> BuildResult:
    """Index settings.qa.corpus into settings.qa.index; returns where it went and what it holds."""
    from qa_engine.workflows import register_all

    started = time.perf_counter()
    method = method or settings.qa.method
    target = settings.qa.index

    ingest = ingest_corpus(settings.qa.corpus, max_file_mb=settings.qa.max_file_mb, progress=progress)
    for issue in ingest.issues:
        print(f"warning: {issue}", file=sys.stderr)
    ingest_s = time.perf_counter() - started

    register_all()
    builds = target.parent / ".builds"
    with _exclusive(builds / f"{target.name}.lock"):
        _remove_stale_builds(builds, target)
        previous = (target.resolve(),) if target.exists() else ()
        documents, left_out, attempts = list(ingest.documents), [], []
        try:
            while True:  # once, unless a stage names documents to leave out
                attempts.append(builds / f"{target.name}-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}")
                callbacks = _ProgressCallbacks(progress, on_progress)
                try:
                    # the attempt before this one encoded text too: a cache like the last index
                    failed = _run_pipeline(settings, attempts[-1], method, documents, callbacks, (*attempts[-2:-1], *previous))
                finally:
                    callbacks.close()
                if failed is None:
                    break
                documents, left = _leave_out(documents, failed)
                left_out += left
            manifest = _write_manifest(settings, attempts[-1], method, ingest, left_out, callbacks.timings, ingest_s, started)
        except BaseException:
            for folder in attempts:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        for folder in attempts[:-1]:
            shutil.rmtree(folder, ignore_errors=True)
        _swap_in(attempts[-1], target)
    return BuildResult(index_dir=target, manifest=manifest, issues=ingest.issues + left_out)


def _run_pipeline(settings, build_dir: Path, method: str, documents, callbacks, previous: tuple[Path, ...]):
    """graphrag's pipeline over `documents` into build_dir; the DocumentsFailed a stage raised, if any."""
    from graphrag.api import build_index as graphrag_build_index

    outputs = asyncio.run(
        graphrag_build_index(
            _config_for(settings, build_dir),
            method=f"qa-{method}",
            input_documents=_documents_frame(documents),
            callbacks=[callbacks],
            additional_context={"previous_indexes": [str(p) for p in previous]},
        )
    )
    failed = next((o for o in outputs if o.error is not None), None)
    if failed is None:
        return None
    if isinstance(failed.error, DocumentsFailed):
        return failed.error
    raise QAEngineError(f"indexing failed in graphrag workflow '{failed.workflow}': {failed.error}")


def _leave_out(documents, failed: DocumentsFailed):
    """The documents a stage did not fail on, and one issue (and warning line) per one it did."""
    left = [
        IngestIssue(d.path, "left out", f"{failed.stage} failed on it: {failed.reasons[d.sha256]}")
        for d in documents
        if d.sha256 in failed.reasons
    ]
    for issue in left:
        print(f"warning: {issue}", file=sys.stderr)
    kept = [d for d in documents if d.sha256 not in failed.reasons]
    if not left:  # never build the same documents again
        raise QAEngineError(str(failed))
    if not kept:
        raise CorpusError("no document could be indexed; each was left out:\n" + "\n".join(f"  {i}" for i in left))
    return kept, left


@contextmanager
def _exclusive(lock_path: Path):
    """One build per index at a time; a second waits. The OS drops the lock if we are killed."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _remove_stale_builds(builds: Path, target: Path) -> None:
    """Folders of builds that were killed before their swap: nothing points at them."""
    live = target.resolve() if target.is_symlink() else None
    for folder in builds.glob(f"{target.name}-*"):
        if folder.is_dir() and folder != live and "-replaced-" not in folder.name:
            shutil.rmtree(folder, ignore_errors=True)


def _config_for(settings: Settings, build_dir: Path):
    """graphrag's config, pointed at this build's folder (tables, FAISS files and logs)."""
    config = settings.graphrag.model_copy(deep=True)
    config.output_storage.base_dir = str(build_dir)
    config.reporting.base_dir = str(build_dir / "logs")
    config.vector_store.db_uri = str(build_dir)
    return config


def _documents_frame(documents) -> pd.DataFrame:
    """graphrag's documents input; the raw file hash doubles as a stable document id."""
    now = datetime.now(timezone.utc).isoformat()
    return pd.DataFrame(
        [
            {
                "id": doc.sha256,
                "human_readable_id": i,
                "title": doc.title,
                "text": doc.text,
                "creation_date": now,
                "raw_data": {"path": doc.path, "size": doc.size, **paper_record(doc)},
            }
            for i, doc in enumerate(documents)
        ]
    )


def _write_manifest(settings, build_dir: Path, method: str, ingest, left_out, timings, ingest_s, started) -> dict:
    counts = {name: len(pd.read_parquet(build_dir / f"{name}.parquet", columns=["id"])) for name in TABLES}
    levels = sorted(pd.read_parquet(build_dir / "communities.parquet", columns=["level"])["level"].unique().tolist())
    embedding = settings.graphrag.get_embedding_model_config(settings.graphrag.embed_text.embedding_model_id)
    manifest = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "graphrag_version": version("graphrag"),
        "method": method,
        "corpus": str(settings.qa.corpus),
        "files": [
            {"path": d.path, "sha256": d.sha256, "size": d.size, "title": d.title}
            for d in ingest.documents
            if d.path not in {i.path for i in left_out}
        ],
        "skipped": [asdict(i) for i in ingest.issues if i.action == "skipped"],
        "left_out": [asdict(i) for i in left_out],
        "counts": {**counts, "community_levels": levels},
        "models": {"embedding": embedding.model, "embedding_type": embedding.type},
        "settings": {
            "chunking": settings.graphrag.chunking.model_dump(mode="json"),
            "cluster_graph": settings.graphrag.cluster_graph.model_dump(mode="json"),
            "qa": {k: str(v) for k, v in asdict(settings.qa).items()},
        },
        "timings_s": {"ingest": round(ingest_s, 2), **timings, "total": round(time.perf_counter() - started, 2)},
    }
    (build_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _swap_in(build_dir: Path, target: Path) -> None:
    """Point `target` at the new build in one atomic step, then drop the build it replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.resolve() if target.is_symlink() else None
    if target.exists() and not target.is_symlink():
        # an index built elsewhere (e.g. by `graphrag index`): keep it beside the builds
        target.rename(build_dir.parent / f"{target.name}-replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    link = target.with_name(f".{target.name}.swap")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(build_dir, target.parent))
    os.replace(link, target)
    if old and old != build_dir and old.parent == build_dir.parent:
        shutil.rmtree(old, ignore_errors=True)


class _ProgressCallbacks:
    """A tqdm bar per graphrag workflow (on stderr), plus an optional callback for the UI."""

    def __init__(self, show: bool, on_progress: ProgressFn | None):
        self.show = show
        self.on_progress = on_progress
        self.timings: dict[str, float] = {}
        self._bar = None
        self._stage = ""
        self._t0 = 0.0

    def pipeline_start(self, names: list[str]) -> None:
        self._names = names

    def pipeline_end(self, results) -> None:
        pass

    def pipeline_error(self, error: BaseException) -> None:
        pass

    def workflow_start(self, name: str, instance: object) -> None:
        from tqdm import tqdm

        self._stage, self._t0 = name, time.perf_counter()
        step = f"[{self._names.index(name) + 1}/{len(self._names)}]"
        self._bar = tqdm(total=1, desc=f"{step} {name}", disable=not self.show, file=sys.stderr, leave=True)
        self._report(0, 1)

    def progress(self, progress) -> None:
        if self._bar is not None and progress.total_items:
            self._bar.total = progress.total_items
            self._bar.n = progress.completed_items or 0
            self._bar.refresh()
            self._report(self._bar.n, progress.total_items)

    def workflow_end(self, name: str, instance: object) -> None:
        self.timings[name] = round(time.perf_counter() - self._t0, 2)
        if self._bar is not None:
            self._bar.n = self._bar.total
            self._bar.close()
            self._bar = None
        self._report(1, 1)

    def _report(self, done: int, total: int) -> None:
        if self.on_progress:
            self.on_progress(self._stage, done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
