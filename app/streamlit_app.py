"""Chat with the attention corpus: `qa-engine app` or `make run`, then http://localhost:8501.

One engine per process (st.cache_resource) serves every session; each session keeps its
own chat history and top-k. Errors show as messages in the page, never as tracebacks, and
corpus text is only ever rendered as escaped markdown or inside dataframes.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `app.helpers` and `qa_engine`, whatever the working directory

import streamlit as st  # noqa: E402

from app import helpers  # noqa: E402
from qa_engine.errors import QAEngineError  # noqa: E402

TITLE = "Attention QA"
EXAMPLES = (
    "What does multi-head attention do?",
    "Why are attention scores scaled by the square root of the dimension?",
    "How does the encoder-decoder architecture work?",
)
EVIDENCE_COLUMNS = {
    "sources": {
        "cited": st.column_config.CheckboxColumn("Cited", width="small"),
        "document": st.column_config.TextColumn("Document", width="medium"),
        "passage": st.column_config.TextColumn("Passage", width="large"),
        "score": st.column_config.NumberColumn("Score", format="%.2f", width="small"),
        "file": st.column_config.TextColumn("File", width="medium", help="the file, and the page for PDFs"),
        "id": st.column_config.NumberColumn("Id", width="small"),
    },
    "entities": {
        "cited": st.column_config.CheckboxColumn("Cited", width="small"),
        "entity": st.column_config.TextColumn("Entity", width="medium"),
        "type": st.column_config.TextColumn("Type", width="medium"),
        "description": st.column_config.TextColumn("Description", width="large"),
        "score": st.column_config.NumberColumn("Score", format="%.2f", width="small"),
        "id": st.column_config.NumberColumn("Id", width="small"),
    },
    "relationships": {
        "cited": st.column_config.CheckboxColumn("Cited", width="small"),
        "source": st.column_config.TextColumn("Source", width="medium"),
        "target": st.column_config.TextColumn("Target", width="medium"),
        "description": st.column_config.TextColumn("Description", width="large"),
        "weight": st.column_config.NumberColumn("Weight", format="%.1f", width="small"),
        "score": st.column_config.NumberColumn("Score", format="%.2f", width="small"),
        "id": st.column_config.NumberColumn("Id", width="small"),
    },
    "reports": {
        "cited": st.column_config.CheckboxColumn("Cited", width="small"),
        "title": st.column_config.TextColumn("Title", width="medium"),
        "summary": st.column_config.TextColumn("Summary", width="large"),
        "score": st.column_config.NumberColumn("Score", format="%.2f", width="small"),
        "community": st.column_config.NumberColumn("Community", width="small"),
    },
}
CLAIM_COLUMNS = {
    "supported": st.column_config.CheckboxColumn("Supported", width="small"),
    "claim": st.column_config.TextColumn("Claim", width="large"),
    "score": st.column_config.NumberColumn("Score", format="%.2f", width="small"),
    "evidence": st.column_config.TextColumn("Stated in", width="medium"),
}
TAB_LABELS = {"sources": "Sources", "entities": "Entities", "relationships": "Relationships", "reports": "Reports"}


# --- process-wide resources ------------------------------------------------------------------


@st.cache_resource(show_spinner="Reading settings…")
def get_settings(settings_path: str, index_dir: str):
    return helpers.load_app_settings(settings_path, index_dir)


@st.cache_resource(show_spinner="Loading the index and the models (once per server)…")
def get_engine(settings_path: str, index_dir: str, _settings):
    from qa_engine import QAEngine

    return QAEngine.load(index_dir, _settings)


@st.cache_resource
def build_lock() -> threading.Lock:
    """One index build at a time per server, whichever session asked for it."""
    return threading.Lock()


def current_settings():
    return get_settings(os.environ.get(helpers.SETTINGS_ENV, ""), helpers.index_override())


def current_engine(settings):
    return get_engine(str(settings.path), str(settings.qa.index), settings)


# --- building the index ------------------------------------------------------------------------


def run_build(settings, where) -> None:
    """Build settings.qa.corpus into settings.qa.index with a progress bar in `where`, then
    drop the cached engine so the next run loads the new index."""
    from qa_engine.indexer import build_index

    bar = where.progress(0.0, text="Building the index: reading the corpus…")
    tracker = helpers.BuildProgress(settings.qa.method, lambda fraction, text: bar.progress(fraction, text=text))
    result = build_index(settings, progress=False, on_progress=tracker)
    bar.progress(1.0, text="Index built")
    get_engine.clear()
    counts = result.manifest["counts"]
    notes = st.session_state.setdefault("notices", [])
    notes.append(("success", f"Index built: {counts['documents']} documents, {counts['entities']} entities, "
                             f"{counts['relationships']} relationships in {result.manifest['timings_s']['total']:.0f} s."))
    notes.extend(("warning", f"{issue}") for issue in result.issues)


def first_build(settings) -> None:
    """No index yet: build it here, visibly, then start over with the new index."""
    st.info(f"No index at `{settings.qa.index}` yet. Building it from `{settings.qa.corpus}` now: this runs once and "
            "takes a few minutes; the chat opens when it is done.")
    lock = build_lock()
    with st.spinner("Waiting for the index build…"):
        with lock:
            if not settings.qa.index.exists():
                run_build(settings, st)
    st.rerun()


def rebuild(settings, where) -> None:
    lock = build_lock()
    if not lock.acquire(blocking=False):
        where.warning("Another session is rebuilding the index right now: try again when it has finished.")
        return
    try:
        run_build(settings, where)
    finally:
        lock.release()
    st.rerun()


# --- sidebar -------------------------------------------------------------------------------------


def sidebar(settings, engine) -> tuple[int, int]:
    """Index facts, answering settings and top-k sliders, adding documents and rebuilding."""
    qa = settings.qa
    top_k = (qa.top_k_entities, qa.top_k_text_units)
    with st.sidebar:
        st.header("Index")
        if engine is not None:
            facts = helpers.index_summary(engine.index)
            left, right = st.columns(2)
            left.metric("Documents", f"{facts['documents']:,}")
            right.metric("Entities", f"{facts['entities']:,}")
            left.metric("Relationships", f"{facts['relationships']:,}")
            right.metric("Communities", f"{facts['communities']:,}")
            built = facts["created_at"] or "unknown time"
            took = f" in {facts['build_s']:.0f} s" if facts["build_s"] is not None else ""
            st.caption(f"Built {built}{took}" + (f" ({facts['method']} method)" if facts["method"] else "")
                       + f"  \nFolder: `{qa.index}`")

            st.header("Answering")
            mode = "LLM" if engine.mode == "llm" else "Extractive (no LLM)"
            st.markdown(f"**Answerer:** {mode}  \n**Reranker:** {engine.reranker.name}")
            k_entities = st.slider("Entities to retrieve (top-k)", 1, max(50, qa.top_k_entities), qa.top_k_entities,
                                   key="top_k_entities", help="How many entities local search starts from.")
            k_units = st.slider("Source passages to retrieve (top-k)", 1, max(30, qa.top_k_text_units),
                                qa.top_k_text_units, key="top_k_text_units",
                                help="How many text passages are retrieved directly by similarity.")
            top_k = (k_entities, k_units)
        else:
            st.caption(f"Folder: `{qa.index}`")

        st.header("Add documents")
        uploads = qa.corpus / helpers.UPLOADS_FOLDER
        with st.form("upload", clear_on_submit=True, border=False):
            files = st.file_uploader(
                f"PDF, Markdown or text, up to {qa.max_file_mb:g} MB each",
                type=[s.lstrip(".") for s in helpers.UPLOAD_SUFFIXES],
                accept_multiple_files=True,
                max_upload_size=max(1, math.ceil(qa.max_file_mb)),
            )
            submitted = st.form_submit_button("Add to corpus", width="stretch")
        if submitted:
            save_uploads(files or [], uploads, qa.max_file_mb)
        st.caption(f"Saved under `{uploads}`; they are searchable after a rebuild.")
        if st.button("Rebuild index", width="stretch", type="primary" if engine is None else "secondary"):
            rebuild(settings, st.sidebar)
    return top_k


def save_uploads(files, uploads, max_mb: float) -> None:
    if not files:
        st.warning("Choose one or more files first.")
        return
    for file in files:
        try:
            saved = helpers.save_upload(uploads, file.name, file.getvalue(), max_mb)
        except QAEngineError as err:
            st.error(str(err))
        except OSError as err:
            st.error(f"Could not save {file.name}: {err.strerror or err}")
        else:
            (st.success if saved.new else st.info)(saved.message)


# --- chat ----------------------------------------------------------------------------------------


def ask(engine, question: str, on_token=None) -> dict:
    """One assistant message: the answer, its evidence tables and graph, or a readable error."""
    try:
        answer = engine.ask(question, on_token=on_token)
    except QAEngineError as err:
        return {"role": "assistant", "error": str(err)}
    except Exception as err:  # noqa: BLE001 - the page shows it; the session goes on
        return {"role": "assistant", "error": f"Could not answer ({err.__class__.__name__}: {err})."}
    message = {"role": "assistant", "answer": answer, "content": answer.text}
    try:  # computed now: the history stays right even after the index is rebuilt
        message["tables"] = helpers.evidence_tables(answer, engine.index)
        graph = helpers.answer_subgraph(answer, engine.index)
        message["graph"] = (graph.number_of_nodes(), graph.number_of_edges())
        message["figure"] = helpers.draw_subgraph(graph)
    except Exception as err:  # noqa: BLE001 - the answer itself is still worth showing
        message["evidence_error"] = f"Could not lay out the evidence ({err.__class__.__name__}: {err})."
    return message


def ask_streaming(engine, question: str) -> dict:
    """An LLM answer shown as it is written (st.write_stream), then replaced by the checked
    answer: citations verified, unsupported claims marked, evidence below."""
    stream = helpers.TokenStream(lambda on_token: ask(engine, question, on_token))
    written = st.empty()
    with written.container():
        st.write_stream(stream)
    written.empty()
    return stream.result


def show_assistant(message: dict, expanded: bool) -> None:
    if message.get("error"):
        st.error(message["error"])
        return
    answer = message["answer"]
    st.markdown(answer.text)
    for warning in answer.warnings:
        st.warning(warning)
    cited = sum(len(ids) for ids in answer.citations.to_dict().values())
    mode = "LLM" if answer.mode == "llm" else "Extractive"
    seconds = answer.timings_ms.get("total", 0) / 1000
    supported = sum(c.supported for c in answer.claims)
    checked = f" · {supported} of {len(answer.claims)} claims stated in the evidence" if answer.claims else ""
    st.caption(f"{mode} answer · {len(answer.evidence)} evidence records, {cited} cited{checked} · {seconds:.1f} s")
    if message.get("evidence_error"):
        st.error(message["evidence_error"])
        return
    tables = message["tables"]
    with st.expander("Evidence", expanded=expanded, icon=":material/fact_check:"):
        tabs = st.tabs([f"{TAB_LABELS[k]} ({len(tables[k])})" for k in TAB_LABELS] + [f"Claims ({len(answer.claims)})", "Graph"])
        for tab, kind in zip(tabs, TAB_LABELS, strict=False):
            with tab:
                if tables[kind].empty:
                    st.caption(f"No {TAB_LABELS[kind].lower()} in this answer's evidence.")
                else:
                    columns = EVIDENCE_COLUMNS[kind]
                    st.dataframe(tables[kind], hide_index=True, column_config=columns, column_order=list(columns))
        with tabs[-2]:
            st.dataframe(helpers.claims_table(answer), hide_index=True, column_config=CLAIM_COLUMNS, column_order=list(CLAIM_COLUMNS))
            st.caption("Each claim of the answer and the evidence sentence that states it best: unsupported claims are "
                       "marked [unsupported] in the answer.")
        with tabs[-1]:
            nodes, edges = message["graph"]
            st.pyplot(message["figure"], alt=f"Subgraph of {nodes} entities and {edges} relationships")
            st.caption(f"The entities this answer drew on and the {edges} relationships between them; "
                       "bold rings and lines are cited, node size follows the entity's degree in the whole graph.")


def chat(engine) -> None:
    history = st.session_state.setdefault("messages", [])
    with st.chat_message("assistant"):
        st.markdown("Ask me about attention mechanisms and Transformers. For example:\n\n"
                    + "\n".join(f"- *{q}*" for q in EXAMPLES))
    for i, message in enumerate(history):
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(message["content"])
            else:
                show_assistant(message, expanded=i == len(history) - 1)

    question = st.chat_input("Ask about attention, Transformers, encoder-decoders…")
    if question:
        history.append({"role": "user", "content": question})
        with st.chat_message("user"):
            st.markdown(question)
        with st.chat_message("assistant"):
            if engine.mode == "llm":
                message = ask_streaming(engine, question)
            else:
                with st.spinner("Searching the graph and reading the evidence…"):
                    message = ask(engine, question)
            history.append(message)
            show_assistant(message, expanded=True)


# --- page ----------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/hub:", layout="wide")
    st.set_option("client.showErrorDetails", "none")  # belt and braces: run_page already catches everything
    st.set_option("client.toolbarMode", "viewer")  # no deploy button or developer menu for readers
    st.title(TITLE)
    st.caption("Questions answered from a GraphRAG knowledge graph of openly licensed texts on attention "
               "(Dive into Deep Learning, the UvA deep learning tutorials, the Hugging Face course, Wikipedia). "
               "Every statement cites its evidence as `[Data: …]`: open *Evidence* under an answer to see the "
               "passages, entities, relationships, community reports and the subgraph it used.")
    for kind, text in st.session_state.pop("notices", []):
        getattr(st, kind)(text)

    settings = current_settings()
    if not settings.qa.index.exists():
        first_build(settings)
    try:
        engine = current_engine(settings)
    except QAEngineError as err:
        st.error(f"The index could not be loaded: {err}")
        st.caption("Fix the folder (or unset QA_ENGINE_INDEX), or use **Rebuild index** in the sidebar.")
        sidebar(settings, None)
        return
    top_k = sidebar(settings, engine)
    chat(helpers.with_top_k(engine, *top_k))


def run_page() -> None:
    """The whole page, with every error shown as a message instead of a traceback."""
    try:
        main()
    except QAEngineError as err:
        st.error(str(err))
    except Exception as err:  # noqa: BLE001 - st.stop/st.rerun are BaseExceptions and pass through
        st.error(f"Something went wrong ({err.__class__.__name__}: {err}). Details are in the server log.")
        import traceback

        traceback.print_exc()


run_page()
