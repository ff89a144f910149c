"""What the chat page needs besides Streamlit: the app's settings, a per-session view of the
shared engine, evidence tables, the answer's subgraph and its drawing, safe uploads and
build progress. Plain functions, so tests call them without a browser.
"""

from __future__ import annotations

import copy
import math
import os
import queue
import re
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx
import pandas as pd

from qa_engine.errors import QAEngineError
from qa_engine.ingest import SUPPORTED_SUFFIXES
from qa_engine.results import Answer

INDEX_ENV = "QA_ENGINE_INDEX"
SETTINGS_ENV = "QA_ENGINE_SETTINGS"
UPLOAD_SUFFIXES = (".pdf", ".md", ".txt")
UPLOADS_FOLDER = "uploads"
MAX_GRAPH_NODES = 40
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM_CHARS = 80
_NOT_CONTENT_STEMS = frozenset({"LICENSE", "LICENCE", "COPYING", "SOURCES", "NOTICE"})  # ingest skips these

assert set(UPLOAD_SUFFIXES) <= SUPPORTED_SUFFIXES


class UploadError(QAEngineError):
    """An uploaded file that cannot go into the corpus (type, size, name)."""


# --- settings and engine -------------------------------------------------------------------


def index_override() -> str:
    """The index folder from $QA_ENGINE_INDEX, '' when unset."""
    return os.environ.get(INDEX_ENV, "").strip()


def load_app_settings(settings_path: str = "", index_dir: str = ""):
    """The project's settings (found from the package, whatever the working directory),
    pointed at `index_dir` when given.

    qa.index stays the path as configured, not resolved: after a build it is a symlink that
    the indexer swaps to each new build, and a long-running app must keep building into and
    loading from the link, not from the build folder it pointed to when the app started.
    """
    import yaml

    from qa_engine.config import load_settings

    settings = load_settings(settings_path or None)
    if index_dir:
        index = Path(os.path.abspath(Path(index_dir).expanduser()))
    else:
        raw = (yaml.safe_load(settings.path.read_text(encoding="utf-8")) or {}).get("qa") or {}
        index = Path(os.path.abspath(settings.path.parent / str(raw.get("index", "index/default"))))
    return replace(settings, qa=replace(settings.qa, index=index))


def with_top_k(engine, top_k_entities: int, top_k_text_units: int):
    """The engine with this session's top-k: a shallow copy that shares index and models.

    `ask` reads its limits from `engine.settings.qa` only, so the shared engine is never
    mutated and concurrent sessions cannot see each other's sliders.
    """
    qa = engine.settings.qa
    if (qa.top_k_entities, qa.top_k_text_units) == (top_k_entities, top_k_text_units):
        return engine
    view = copy.copy(engine)
    view.settings = replace(
        engine.settings, qa=replace(qa, top_k_entities=int(top_k_entities), top_k_text_units=int(top_k_text_units))
    )
    return view


class TokenStream:
    """What `call(on_token)` writes, as an iterator for `st.write_stream`: the call runs in a
    worker thread (it must not touch the page) and `result` holds what it returned."""

    def __init__(self, call: Callable[[Callable[[str], None]], object]):
        self._call = call
        self.result = None

    def __iter__(self) -> Iterator[str]:
        pieces: queue.Queue = queue.Queue()
        done, failed = object(), []

        def run() -> None:
            try:
                self.result = self._call(pieces.put)
            except BaseException as err:  # noqa: BLE001 - raised again in the page's thread
                failed.append(err)
            finally:
                pieces.put(done)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        while (piece := pieces.get()) is not done:
            yield piece
        worker.join()
        if failed:
            raise failed[0]


def index_summary(index) -> dict:
    """Counts and build facts for the sidebar: from the manifest, else from the tables."""
    manifest = index.manifest or {}
    counts = manifest.get("counts") or {}
    tables = index.tables
    timings = manifest.get("timings_s") or {}
    return {
        "documents": int(counts.get("documents", len(tables["documents"]))),
        "entities": int(counts.get("entities", len(tables["entities"]))),
        "relationships": int(counts.get("relationships", len(tables["relationships"]))),
        "communities": int(counts.get("communities", len(tables["communities"]))),
        "reports": int(counts.get("community_reports", len(tables["community_reports"]))),
        "created_at": str(manifest.get("created_at", "")).replace("T", " ").replace("+00:00", " UTC"),
        "build_s": timings.get("total"),
        "method": manifest.get("method", ""),
        "embedding": (manifest.get("models") or {}).get("embedding", ""),
    }


# --- evidence tables -----------------------------------------------------------------------


def evidence_tables(answer: Answer, index) -> dict[str, pd.DataFrame]:
    """One table per evidence kind, cited records first, then by reranker score."""
    cited = {kind: set(getattr(answer.citations, kind)) for kind in ("entities", "relationships", "reports", "sources")}
    of_kind = {kind: [e for e in answer.evidence if e.kind == kind] for kind in cited}
    types = _column_by_id(index.entities, "type")
    ends = index.relationships.set_index("human_readable_id")[["source", "target", "weight"]]
    ends = ends[~ends.index.duplicated()]

    rows = {
        "sources": [
            {"cited": e.id in cited["sources"], "id": e.id, "document": e.title, "file": e.location,
             "passage": _one_line(e.text), "score": e.score}
            for e in of_kind["sources"]
        ],
        "entities": [
            {"cited": e.id in cited["entities"], "id": e.id, "entity": e.title, "type": types.get(e.id, ""),
             "description": _one_line(e.text), "score": e.score}
            for e in of_kind["entities"]
        ],
        "relationships": [
            {"cited": e.id in cited["relationships"], "id": e.id,
             "source": ends.at[e.id, "source"] if e.id in ends.index else e.title,
             "target": ends.at[e.id, "target"] if e.id in ends.index else "",
             "description": _one_line(e.text),
             "weight": float(ends.at[e.id, "weight"]) if e.id in ends.index else float("nan"), "score": e.score}
            for e in of_kind["relationships"]
        ],
        "reports": [
            {"cited": e.id in cited["reports"], "community": e.id, "title": e.title, "summary": _one_line(e.text),
             "score": e.score}
            for e in of_kind["reports"]
        ],
    }
    columns = {
        "sources": ["cited", "id", "document", "file", "passage", "score"],
        "entities": ["cited", "id", "entity", "type", "description", "score"],
        "relationships": ["cited", "id", "source", "target", "description", "weight", "score"],
        "reports": ["cited", "community", "title", "summary", "score"],
    }
    tables = {}
    for kind, records in rows.items():
        frame = pd.DataFrame(records, columns=columns[kind])
        tables[kind] = frame.sort_values(["cited", "score"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return tables


def claims_table(answer: Answer) -> pd.DataFrame:
    """The answer's claims in order: supported or not, score, the records that state them."""
    from qa_engine.citations import format_citation

    rows = [{"supported": c.supported, "claim": c.text, "score": c.score, "evidence": format_citation(c.evidence)} for c in answer.claims]
    return pd.DataFrame(rows, columns=["supported", "claim", "score", "evidence"])


def _column_by_id(table: pd.DataFrame, column: str) -> dict[int, str]:
    return {int(i): v for i, v in zip(table["human_readable_id"], table[column], strict=True)}


def _one_line(text: str) -> str:
    return " ".join(str(text or "").split())


# --- the answer's subgraph -----------------------------------------------------------------


def answer_subgraph(answer: Answer, index, max_nodes: int = MAX_GRAPH_NODES) -> nx.Graph:
    """The entities an answer used (its evidence entities and the ends of its evidence
    relationships) and every relationship of the index between them.

    Nodes carry `type`, `degree`, `cited`; edges `weight`, `id`, `cited`. Beyond max_nodes,
    cited entities and the ends of cited relationships are kept first, then by score.
    """
    entities = index.entities
    type_of = dict(zip(entities["title"], entities["type"], strict=True))
    degree_of = dict(zip(entities["title"], entities["degree"], strict=True)) if "degree" in entities else {}
    relationships = index.relationships
    ends = {int(i): (s, t) for i, s, t in zip(relationships["human_readable_id"], relationships["source"], relationships["target"], strict=True)}
    cited_entities = set(answer.citations.entities)
    cited_relationships = set(answer.citations.relationships)

    priority: dict[str, float] = {}  # title -> rank key: cited first, then score

    def consider(title: str, rank: float) -> None:
        if title:
            priority[title] = max(priority.get(title, float("-inf")), rank)

    for e in answer.evidence:
        if e.kind == "entities":
            consider(e.title, (3.0 if e.id in cited_entities else 1.0) + e.score)
        elif e.kind == "relationships" and e.id in ends:
            for title in ends[e.id]:
                consider(title, (2.0 if e.id in cited_relationships else 0.0) + e.score)
    keep = sorted(priority, key=lambda t: -priority[t])[:max_nodes]
    cited_titles = {e.title for e in answer.evidence if e.kind == "entities" and e.id in cited_entities}

    graph = nx.Graph()
    for title in keep:
        graph.add_node(title, type=str(type_of.get(title) or "UNKNOWN"), degree=int(degree_of.get(title, 0) or 0),
                       cited=title in cited_titles)
    inside = relationships[relationships["source"].isin(keep) & relationships["target"].isin(keep)]
    for rid, source, target, weight in zip(inside["human_readable_id"], inside["source"], inside["target"], inside["weight"], strict=True):
        if source == target:
            continue
        cited = int(rid) in cited_relationships
        if graph.has_edge(source, target):  # parallel relationships: keep the cited / heavier one
            data = graph.edges[source, target]
            cited = cited or data["cited"]
            weight = max(float(weight), data["weight"])
        graph.add_edge(source, target, id=int(rid), weight=float(weight), cited=cited)
    return graph


def draw_subgraph(graph: nx.Graph):
    """networkx layout, drawn with matplotlib: colour by entity type (legend), size by degree,
    cited entities and relationships in bold. Returns a Figure (no pyplot global state)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(10, 6.2), dpi=100, layout="constrained")
    ax = figure.subplots()
    ax.set_axis_off()
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "No entities in this answer's evidence", ha="center", va="center", fontsize=12, color="#555")
        return figure

    n = graph.number_of_nodes()
    pos = nx.spring_layout(graph, k=2.2 / math.sqrt(n), iterations=200, seed=7, weight=None)
    types = sorted({d["type"] for _, d in graph.nodes(data=True)})
    palette = colormaps["tab10" if len(types) <= 10 else "tab20"]
    colour = {t: palette(i % palette.N) for i, t in enumerate(types)}
    nodes = list(graph.nodes)
    top_degree = max((graph.nodes[v]["degree"] for v in nodes), default=1) or 1

    plain = [(u, v) for u, v, d in graph.edges(data=True) if not d["cited"]]
    cited = [(u, v) for u, v, d in graph.edges(data=True) if d["cited"]]
    nx.draw_networkx_edges(graph, pos, edgelist=plain, ax=ax, width=1.0, edge_color="#b8bec6", alpha=0.8)
    nx.draw_networkx_edges(graph, pos, edgelist=cited, ax=ax, width=2.8, edge_color="#2b2d42")
    nx.draw_networkx_nodes(
        graph, pos, nodelist=nodes, ax=ax,
        node_color=[colour[graph.nodes[v]["type"]] for v in nodes],
        node_size=[380 + 900 * graph.nodes[v]["degree"] / top_degree for v in nodes],
        edgecolors=["#111111" if graph.nodes[v]["cited"] else "white" for v in nodes],
        linewidths=[2.6 if graph.nodes[v]["cited"] else 1.0 for v in nodes],
    )
    xs, ys = zip(*pos.values(), strict=True)
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    below = {v: (x, y - 0.055 * span_y) for v, (x, y) in pos.items()}  # labels under their nodes
    nx.draw_networkx_labels(
        graph, below, labels={v: textwrap.fill(v, 18) for v in nodes}, ax=ax, font_size=7.5, font_weight="bold",
        verticalalignment="top", bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    ax.set_xlim(min(xs) - 0.12 * span_x, max(xs) + 0.12 * span_x)
    ax.set_ylim(min(ys) - 0.2 * span_y, max(ys) + 0.08 * span_y)

    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=colour[t], markeredgecolor="white",
               label=t.replace("_", " ").lower())
        for t in types
    ]
    handles += [
        Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor="white", markeredgecolor="#111111",
               markeredgewidth=2.2, label="cited entity"),
        Line2D([], [], color="#2b2d42", linewidth=2.8, label="cited relationship"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8.5,
              title="entity type", title_fontsize=9, alignment="left")
    return figure


# --- uploads -------------------------------------------------------------------------------


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no directories, only [A-Za-z0-9._-],
    no leading dot or dash, a supported extension (lower case). Raises UploadError."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = _UNSAFE_CHARS.sub("_", base).rstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    allowed = ", ".join(UPLOAD_SUFFIXES)
    if not dot:
        raise UploadError(f"{name!r} has no file extension: upload {allowed} files")
    suffix = "." + suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"{name!r}: {suffix} files are not accepted, only {allowed}")
    stem = stem.strip("._-")[:_MAX_STEM_CHARS].rstrip("._-") or "upload"
    if stem.upper() in _NOT_CONTENT_STEMS or stem.upper().startswith("LICENSE-"):
        stem = f"upload-{stem}"  # the indexer skips license files by name
    return stem + suffix


@dataclass(frozen=True)
class SavedUpload:
    path: Path
    new: bool  # False: the same bytes were already there, nothing written
    message: str


def save_upload(uploads_dir: Path, name: str, data: bytes, max_mb: float) -> SavedUpload:
    """Write an uploaded file under uploads_dir with a safe name; never overwrites: identical
    content is recognised, a different file of the same name gets `-2`, `-3`... appended."""
    safe = safe_upload_name(name)
    if not data:
        raise UploadError(f"{name!r} is empty")
    if len(data) > max_mb * 1024 * 1024:
        raise UploadError(f"{name!r} is {len(data) / 2**20:.1f} MB, over the {max_mb:g} MB limit (qa.max_file_mb)")
    root = Path(uploads_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    stem, suffix = safe[: -len(Path(safe).suffix)], Path(safe).suffix
    for n in range(1, 1000):
        target = root / (safe if n == 1 else f"{stem}-{n}{suffix}")
        if target.parent != root:  # cannot happen with a safe name; belt and braces
            raise UploadError(f"{name!r} would leave the uploads folder")
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            return SavedUpload(target, False, f"{name} is already in the corpus as {UPLOADS_FOLDER}/{target.name}")
        try:
            with open(target, "xb") as out:  # exclusive: never replaces a file, nor follows a link
                out.write(data)
        except FileExistsError:
            continue
        renamed = f" (a different {safe} is already there)" if n > 1 else ""
        return SavedUpload(target, True, f"{name} saved as {UPLOADS_FOLDER}/{target.name}{renamed}")
    raise UploadError(f"too many files named like {safe} in {root}: rename the file")


# --- build progress ------------------------------------------------------------------------


class BuildProgress:
    """Turns build_index's (stage, done, total) callbacks into one monotonic fraction and a
    line of text for a progress bar."""

    def __init__(self, method: str, show: Callable[[float, str], None]):
        from qa_engine.workflows import PIPELINES

        self.stages = list(PIPELINES.get(method, []))
        self.show = show
        self.fraction = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        n = max(len(self.stages), 1)
        step = self.stages.index(stage) if stage in self.stages else 0
        within = min(done / total, 1.0) if total else 0.0
        self.fraction = max(self.fraction, min((step + within) / n, 1.0))
        label = stage.replace("_", " ")
        counter = f" ({done}/{total})" if total > 1 else ""
        self.show(self.fraction, f"Building the index: step {step + 1}/{n}, {label}{counter}")
