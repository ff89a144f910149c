"""`qa-engine batch`: answer a file of questions, in input order, one engine for all.

Inputs, by extension:
  .txt    a question a line; blank lines and lines starting with `#` are skipped
  .jsonl  one JSON object a line with a `question` field; its other fields are kept
  .csv    a `question` column; the other columns are kept
  .md     `Q1: ...` (or `Q: ...`) lines, as in a questions/answers file; the `A1:` parts are ignored

Outputs, by the extension of OUT (markdown on stdout without one):
  .md     `Q1: question` / `A1:` / the answer, per question
  .jsonl  the `qa-engine ask --json` object a line, plus the input's extra fields

A line that cannot be asked (bad JSON, no question, an empty one) gets an error entry,
`{"line": n, "error": "..."}` or `A<n>: error: ...`, and the others are still answered.
Results are written as they come, so an interrupted batch keeps what it answered.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from qa_engine.errors import QAEngineError
from qa_engine.results import Answer

INPUT_FORMATS = (".txt", ".jsonl", ".csv", ".md")
OUTPUT_FORMATS = (".md", ".jsonl")
ANSWER_KEYS = ("question", "answer", "abstained", "mode", "citations", "evidence", "warnings", "timings_ms")
_RESERVED = frozenset(ANSWER_KEYS) | {"line", "error"}
_MD_QUESTION = re.compile(r"^[\s#>*_-]*Q(\d*)\s*:[\s*_]*(.*?)\s*$")  # `Q1: ...`, `**Q1:** ...`, `Q: ...`


class BatchError(QAEngineError):
    """The questions file or the output path cannot be used as a whole."""


@dataclass(frozen=True)
class BatchItem:
    """One question of the input; `error` says why it cannot be asked ("" when it can)."""

    line: int  # 1-based line of the input where the item starts
    question: str
    extra: dict[str, Any] = field(default_factory=dict)  # the input's other fields or columns, in order
    error: str = ""


@dataclass(frozen=True)
class BatchResult:
    item: BatchItem
    answer: Answer | None = None
    error: str = ""

    def to_record(self) -> dict:
        """The jsonl object: the ask --json object plus extra fields, or an error entry.

        An extra field whose name the output already uses is kept as `input_<name>`.
        """
        extra = {(f"input_{k}" if k in _RESERVED else k): v for k, v in self.item.extra.items()}
        if self.answer is not None:
            return {**extra, **self.answer.to_dict()}
        record: dict[str, Any] = {"line": self.item.line, "error": self.error}
        if self.item.question.strip():
            record["question"] = self.item.question
        return {**record, **extra}


@dataclass(frozen=True)
class BatchSummary:
    answered: int
    errors: int
    output: Path | None


# -- reading -------------------------------------------------------------------------------


def input_format(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in INPUT_FORMATS:
        raise BatchError(
            f"{path}: unsupported questions file {suffix or '(no extension)'}; use one of {', '.join(INPUT_FORMATS)}"
        )
    return suffix


def output_format(path: Path | None) -> str:
    """'.md' or '.jsonl' by the extension of OUT; markdown when writing to stdout."""
    if path is None:
        return ".md"
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise BatchError(f"{path}: unsupported output file {suffix or '(no extension)'}; use one of {', '.join(OUTPUT_FORMATS)}")
    return suffix


def read_questions(path: str | Path) -> list[BatchItem]:
    """The items of a questions file; errors about the whole file name it."""
    path = Path(path)
    suffix = input_format(path)
    if not path.is_file():
        raise BatchError(f"questions file {path} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise BatchError(f"{path} cannot be read ({err.strerror or err})") from None
    parse = {".txt": parse_txt, ".jsonl": parse_jsonl, ".csv": parse_csv, ".md": parse_md}[suffix]
    try:
        items = parse(text)
    except BatchError as err:
        raise BatchError(f"{path}: {err}") from None
    if not items:
        hint = {
            ".md": "lines like `Q1: ...`",
            ".csv": "rows under a `question` column",
            ".jsonl": 'lines like {"question": "..."}',
        }
        raise BatchError(f"{path} holds no questions (expected {hint.get(suffix, 'a question a line')})")
    return items


def parse_txt(text: str) -> list[BatchItem]:
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            items.append(BatchItem(n, stripped))
    return items


def parse_jsonl(text: str) -> list[BatchItem]:
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            items.append(BatchItem(n, "", error=f"line {n}: not valid JSON ({err.msg})"))
            continue
        if not isinstance(record, dict):
            items.append(BatchItem(n, "", error=f"line {n}: not a JSON object"))
            continue
        extra = {k: v for k, v in record.items() if k != "question"}
        items.append(_item(n, record.get("question"), extra, has_field="question" in record))
    return items


def parse_csv(text: str) -> list[BatchItem]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as err:
        raise BatchError(f"line 1: {err}") from None
    names = [h.strip() for h in header]
    column = next((i for i, h in enumerate(names) if h == "question"), None)
    if column is None:
        column = next((i for i, h in enumerate(names) if h.lower() == "question"), None)
    if column is None:
        raise BatchError(f"no `question` column (columns: {', '.join(names) or 'none'})")
    items = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            items.append(BatchItem(start, "", error=f"line {start}: {err}"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        extra = {name: (row[i] if i < len(row) else "") for i, name in enumerate(names) if i != column and name}
        items.append(_item(line, row[column] if column < len(row) else None, extra, has_field=column < len(row)))
    return items


def parse_md(text: str) -> list[BatchItem]:
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        match = _MD_QUESTION.match(line)
        if match:
            items.append(_item(n, match.group(2), {}, has_field=True))
    return items


def _item(line: int, question: Any, extra: dict, has_field: bool) -> BatchItem:
    if not has_field:
        return BatchItem(line, "", extra, error=f"line {line}: no `question` field")
    if not isinstance(question, str):
        return BatchItem(line, "", extra, error=f"line {line}: `question` is not text")
    if not question.strip():
        return BatchItem(line, "", extra, error=f"line {line}: empty question")
    return BatchItem(line, " ".join(question.split()), extra)


# -- answering and writing -------------------------------------------------------------------


def answer_items(engine, items: Iterable[BatchItem], progress: bool = True) -> Iterator[BatchResult]:
    """Answer each item in order; a failure on one item becomes its error entry."""
    from tqdm import tqdm

    items = list(items)
    for item in tqdm(items, desc="answering", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True):
        if item.error:
            yield BatchResult(item, error=item.error)
            continue
        try:
            yield BatchResult(item, answer=engine.ask(item.question))
        except QAEngineError as err:
            yield BatchResult(item, error=f"line {item.line}: {err}")
        except Exception as err:  # noqa: BLE001 - one broken question must not lose the rest of the batch
            yield BatchResult(item, error=f"line {item.line}: {err.__class__.__name__}: {str(err)[:200]}")


def format_md(number: int, result: BatchResult) -> str:
    if result.answer is not None:
        answer = result.answer
        cited = [e for e in answer.evidence if e.kind == "sources" and e.id in answer.citations.sources]
        sources = f"\nSources: {'; '.join(f'{e.location} ({e.id})' for e in cited)}\n" if cited else ""
        return f"Q{number}: {answer.question}\nA{number}:\n\n{answer.text}\n{sources}\n"
    question = result.item.question or f"(line {result.item.line})"
    return f"Q{number}: {question}\nA{number}: error: {result.error}\n\n"


def format_jsonl(result: BatchResult) -> str:
    return json.dumps(result.to_record(), ensure_ascii=False) + "\n"


def write_results(results: Iterable[BatchResult], stream: TextIO, fmt: str) -> tuple[int, int]:
    """Write each result as it comes; returns (answered, errors)."""
    answered = errors = 0
    for number, result in enumerate(results, 1):
        stream.write(format_md(number, result) if fmt == ".md" else format_jsonl(result))
        stream.flush()
        if result.answer is not None:
            answered += 1
        else:
            errors += 1
    return answered, errors


def run_batch(
    engine, items: list[BatchItem], out: str | Path | None = None, progress: bool = True, stdout: TextIO | None = None
) -> BatchSummary:
    """Answer `items` into `out` (format by its extension) or, without one, markdown on stdout."""
    fmt = output_format(out)
    results = answer_items(engine, items, progress=progress)
    if out is None:
        answered, errors = write_results(results, stdout or sys.stdout, fmt)
        return BatchSummary(answered, errors, None)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stream = out.open("w", encoding="utf-8")
    except OSError as err:
        raise BatchError(f"cannot write {out} ({err.strerror or err})") from None
    with stream:
        answered, errors = write_results(results, stream, fmt)
    return BatchSummary(answered, errors, out)
