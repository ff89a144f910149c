"""`qa-engine`: index the corpus, ask questions, answer batches, evaluate, open the chat UI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa_engine.errors import QAEngineError

EXAMPLES = """examples:
  qa-engine index                                   build index/default from corpus/
  qa-engine ask "What does multi-head attention do?"
  qa-engine ask "Why scale by sqrt(d)?" --json
  qa-engine ask "What is flash attention?" --stream   an LLM answer as it is written
  qa-engine batch questions.txt -o answers.md
  qa-engine eval bench/dev_questions.jsonl
  qa-engine app                                     chat UI at http://localhost:8501
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except QAEngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-engine",
        description="GraphRAG question answering over attention literature (offline by default).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--settings", type=Path, help="settings file (default: settings.yaml of the project, or $QA_ENGINE_SETTINGS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build the knowledge graph and vector index from a corpus folder")
    p.add_argument("--corpus", type=Path, help="folder of .pdf .md .mdx .txt .tex files (default: qa.corpus)")
    p.add_argument("--output", type=Path, help="index folder to write (default: qa.index)")
    p.add_argument("--method", choices=["fast", "standard"], help="fast: offline (default); standard: graphrag's LLM extraction")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_index)

    p = sub.add_parser("ask", help="answer one question from the index, with citations")
    p.add_argument("question", nargs="+", help="the question (quotes optional)")
    p.add_argument("--index", type=Path, help="index folder to read (default: qa.index)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON object: answer, citations, claims, evidence, warnings, timings")
    shown.add_argument("--stream", action="store_true", help="print an LLM answer as it is written, then its claim check")
    p.set_defaults(run=_ask)

    p = sub.add_parser(
        "batch",
        help="answer a file of questions (.txt .jsonl .csv .md) into markdown or jsonl",
        description="Answer every question of FILE in order: .txt (a question a line, # comments), .jsonl "
        "(`question` field), .csv (`question` column), .md (`Q1: ...` lines). Other fields and columns are kept "
        "in jsonl output. A line that cannot be asked gets an error entry; exit status 1 when any did.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="questions file: .txt .jsonl .csv or .md")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="answers file: .md or .jsonl (default: markdown on stdout)")
    p.add_argument("--index", type=Path, help="index folder to read (default: qa.index)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_batch)

    p = sub.add_parser(
        "eval",
        help="score retrieval and answers on a questions file: ours with and without reranker, vector and BM25 baselines",
        description="Run every question of FILE (.jsonl: id, question, must_mention, sources, answerable) through "
        "local+rerank (as configured), local (reranker none), vector (FAISS over text units) and bm25 on one index; "
        "print source recall@1/@5, MRR, must-mention pass rate, abstention accuracy and latency p50/p95 per method.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="questions file (.jsonl), e.g. bench/dev_questions.jsonl")
    p.add_argument("--index", type=Path, help="index folder to read (default: qa.index)")
    p.add_argument("--json", action="store_true", help="print one JSON object: metrics per method, plus per-question details")
    p.set_defaults(run=_eval)

    p = sub.add_parser("app", help="open the chat UI (Streamlit) in the browser")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--index", type=Path, help="index folder to serve (default: qa.index); passed as $QA_ENGINE_INDEX")
    p.set_defaults(run=_app)
    return parser


def _settings(args):
    from qa_engine.config import load_settings

    return load_settings(args.settings)


def _index(args) -> int:
    from qa_engine.indexer import build_index

    settings = _settings(args).with_paths(corpus=args.corpus, index=args.output)
    result = build_index(settings, method=args.method, progress=not args.quiet)
    counts = result.manifest["counts"]
    print(
        f"index written to {result.index_dir}: {counts['documents']} documents, {counts['text_units']} text units, "
        f"{counts['entities']} entities, {counts['relationships']} relationships, "
        f"{counts['communities']} communities on {len(counts['community_levels'])} levels, "
        f"{counts['community_reports']} reports in {result.manifest['timings_s']['total']:.1f} s"
        + (f" ({len(result.issues)} file(s) with warnings above)" if result.issues else "")
    )
    return 0


def _engine(args):
    from qa_engine.engine import QAEngine

    return QAEngine.from_settings(args.settings, index_dir=args.index)


def _ask(args) -> int:
    from qa_engine.errors import QuestionError

    question = " ".join(args.question)
    if not question.strip():  # before loading any model: fail fast
        raise QuestionError("the question is empty: ask something about attention or Transformers")
    engine = _engine(args)
    streamed = []

    def show(piece: str) -> None:
        streamed.append(piece)
        print(piece, end="", flush=True)

    answer = engine.ask(question, on_token=show if args.stream else None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if streamed:
        print("\n")
    for warning in answer.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if streamed and answer.mode == "llm":  # the text is out: what the checks made of it follows
        print(f"[checked: {sum(c.supported for c in answer.claims)} of {len(answer.claims)} claims stated in the evidence]")
    else:  # extractive, or the LLM failed midway: the answer given
        print(answer.text)
    return 0


def _batch(args) -> int:
    from qa_engine.batch import BatchError, output_format, read_questions, run_batch

    output_format(args.output)  # a wrong OUT fails before any work
    if args.output is not None and args.output.resolve() == args.file.resolve():
        raise BatchError(f"{args.output} is the questions file: write the answers to another file")
    items = read_questions(args.file)
    summary = run_batch(_engine(args), items, args.output, progress=not args.quiet)
    where = f" to {summary.output}" if summary.output else ""
    print(f"{summary.answered} answered, {summary.errors} with errors{where}", file=sys.stderr)
    return 1 if summary.errors else 0


def _eval(args) -> int:
    from qa_engine.evaluate import evaluate, format_table, read_questions

    questions = read_questions(args.file)  # a bad file fails before any model loads
    report = evaluate(_engine(args), questions)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_table(report))
    return 0


def _app(args) -> int:
    """`streamlit run app/streamlit_app.py` in place of this process (exec, not a child), so a
    signal to `qa-engine app` (Ctrl-C, `kill`, a service manager) reaches the server itself and
    no server outlives its command. The app finds settings.yaml itself, whatever the cwd."""
    import os

    from qa_engine.config import PROJECT_ROOT

    script = PROJECT_ROOT / "app" / "streamlit_app.py"
    if not script.is_file():
        raise QAEngineError(f"the chat UI {script} is missing: run qa-engine from a checkout of the project (pip install -e .)")
    if not 0 < args.port < 65536:
        raise QAEngineError(f"--port {args.port} is not a port number (1-65535)")
    env = dict(os.environ)
    if args.index:
        env["QA_ENGINE_INDEX"] = os.path.abspath(args.index)  # not resolve(): keep the symlink the indexer swaps
    if args.settings:
        env["QA_ENGINE_SETTINGS"] = str(args.settings.resolve())
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(command[0], command, env)  # returns only if it fails, as OSError


if __name__ == "__main__":
    sys.exit(main())
