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


if __name__ == "__main__":
    sys.exit(main())
