"""Grow the shipped corpus with real, distinct, offline text about attention and Transformers.

Source: docstrings (module, class, function) of installed packages, read with `ast` (nothing
is imported): transformers' `models/*/modeling_*.py`, then torch.nn, sentence_transformers,
transformers.generation, graphrag, transformers' model configurations and core modules.
Paragraphs are de-duplicated across everything (transformers repeats its boilerplate in every
model), so each added character is new text. One markdown file per source module, appended in
a fixed order until the corpus holds k x the shipped corpus's tokens: the cl100k_base tokens
(the chunker's encoding) of the text ingest reads, not file characters, since the shipped
tutorials are ~40% code and markup that ingest leaves out and the added text is nearly all prose.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))
SUFFIXES = {".pdf", ".md", ".mdx", ".txt", ".tex"}
_SPACE = re.compile(r"\s+")
# tiktoken special tokens (`<|endoftext|>`, ...): graphrag's chunker refuses text holding one
# (create_base_text_units fails the whole build), so such paragraphs are left out
_SPECIAL = re.compile(r"<\|[a-z_]+\|>")


_NOT_CONTENT = {"LICENSE", "LICENCE", "COPYING", "SOURCES", "NOTICE"}  # as qa_engine.ingest skips them


def corpus_chars(folder: Path) -> int:
    """Characters of the files the indexer reads."""
    return sum(
        len(p.read_text(encoding="utf-8", errors="replace"))
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and p.stem.upper() not in _NOT_CONTENT and not p.stem.upper().startswith("LICENSE-")
    )


def _sources() -> Iterator[tuple[str, Path]]:
    models = sorted((SITE / "transformers" / "models").glob("*/modeling_*.py"))
    for path in models:
        if not path.name.startswith(("modeling_tf_", "modeling_flax_")):
            yield f"transformers/{path.parent.name}/{path.stem}", path
    for package in ("torch/nn", "sentence_transformers", "transformers/generation", "graphrag"):
        for path in sorted((SITE / package).rglob("*.py")):
            yield f"{package.replace('/', '_')}/{path.relative_to(SITE / package).with_suffix('').as_posix()}", path
    for path in sorted((SITE / "transformers" / "models").glob("*/configuration_*.py")):
        yield f"transformers/{path.parent.name}/{path.stem}", path
    for path in sorted((SITE / "transformers").glob("*.py")):
        yield f"transformers_core/{path.stem}", path


def _docstrings(path: Path) -> Iterator[tuple[str, str]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return
    module = ast.get_docstring(tree)
    if module:
        yield "", module
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield node.name, doc


def _prose(paragraph: str) -> str:
    """Drop doctest lines and code fences: the added text is prose, as the corpus is."""
    lines = [l for l in paragraph.splitlines() if not l.lstrip().startswith((">>>", "...", "```"))]
    return "\n".join(lines)


def documents() -> Iterator[tuple[str, str]]:
    """(relative path, markdown text) per source module, distinct paragraphs only."""
    seen: set[str] = set()
    for name, path in _sources():
        sections = []
        for symbol, doc in _docstrings(path):
            paragraphs = []
            for paragraph in re.split(r"\n\s*\n", doc):
                paragraph = _prose(paragraph)
                key = _SPACE.sub(" ", paragraph).strip().lower()
                if len(key) < 40 or key in seen or _SPECIAL.search(paragraph):
                    continue
                seen.add(key)
                paragraphs.append(paragraph.strip())
            if paragraphs:
                sections.append((f"## {symbol}\n\n" if symbol else "") + "\n\n".join(paragraphs))
        if sections:
            title = name.split("/")[-1].replace("modeling_", "").replace("_", " ")
            yield f"extra/{name}.md", f"# {title}\n\n" + "\n\n".join(sections) + "\n"


def _encoding():
    """cl100k_base, the chunker's encoding, from the offline cache qa_engine points tiktoken at."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import qa_engine  # noqa: F401  (before tiktoken: sets TIKTOKEN_CACHE_DIR, no download)
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def _count(text: str, encoding) -> int:
    return len(encoding.encode(text, disallowed_special=()))


def prose_tokens(corpus: Path) -> tuple[int, int]:
    """Characters and tokens (the chunker's cl100k_base) of what ingest reads from `corpus`:
    the measure of size the pipeline sees, code and markup left out."""
    encoding = _encoding()
    from qa_engine.ingest import ingest_corpus

    texts = [d.text for d in ingest_corpus(corpus).documents]
    return sum(map(len, texts)), sum(_count(t, encoding) for t in texts)


def grow(target: Path, factor: float, base: Path = ROOT / "corpus") -> dict:
    """Copy `base` to `target` and add documents until it holds `factor` x the tokens of `base`.

    Size is what the pipeline reads: the cl100k_base tokens of the text ingest makes of each
    file (qa_engine.ingest.read_document on the written file, the indexer's own reader), not the
    file's characters: the shipped tutorials are ~40% code and markup that ingest leaves out,
    the added docstrings nearly all prose. Documents are added whole, in a fixed order, until
    the tokens reach factor x the base's, so x_k holds k x the tokens of x1 plus less than one
    added document. File and prose characters are counted beside the tokens."""
    encoding = _encoding()
    from qa_engine.ingest import read_document

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target)
    base_prose, base_tokens = prose_tokens(base)
    base_chars = corpus_chars(base)
    chars, prose, tokens, files, last = base_chars, base_prose, base_tokens, 0, 0
    if factor > 1:
        goal = factor * base_tokens
        for rel, text in documents():
            if tokens >= goal:
                break
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            document, _ = read_document(out, target)
            read = document.text if document else ""
            last = _count(read, encoding)
            chars += len(text)
            prose += len(read)
            tokens += last
            files += 1
        if tokens < goal:
            raise RuntimeError(f"only {tokens} tokens of distinct text available, {factor}x needs {goal:.0f}")
    return {
        "factor": factor,
        "tokens": tokens,  # of the ingested text: the size
        "base_tokens": base_tokens,
        "prose_chars": prose,
        "base_prose_chars": base_prose,
        "chars": chars,  # of the files
        "base_chars": base_chars,
        "added_files": files,
        "last_file_tokens": last,  # the overshoot past factor x base_tokens is less than this
    }


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Distinct text available, in tokens; with --count, the size of each grown corpus.")
    parser.add_argument("--count", type=float, nargs="*", metavar="FACTOR",
                        help="e.g. --count 1 2 4 8: grow each and print its tokens (also re-read whole), prose and file characters")
    args = parser.parse_args()
    if not args.count:
        from qa_engine.ingest import clean_markdown  # what read_document does to markdown, without files

        encoding = _encoding()
        total = sum(_count(clean_markdown(t), encoding) for _, t in documents())
        base = prose_tokens(ROOT / "corpus")[1]
        print(f"distinct text available: {total} tokens ({1 + total / base:.1f}x the shipped corpus's {base})")
    for factor in args.count or ():
        with tempfile.TemporaryDirectory() as folder:
            g = grow(Path(folder) / "corpus", factor)
            prose, tokens = prose_tokens(Path(folder) / "corpus")  # re-read whole: the check of grow's count
            print(f"x{factor:g}: {g['tokens']} tokens ({g['tokens'] / g['base_tokens']:.3f}x; whole corpus re-read: "
                  f"{tokens}), {g['prose_chars']} prose characters ({prose}), {g['chars']} file characters, "
                  f"{g['added_files']} files added", flush=True)
