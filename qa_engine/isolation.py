"""Per-document isolation in our pipeline stages: a document that makes a stage fail is
named, with the reason, and left out; the rest is indexed.

A stage runs on everything first (one pass: the normal case costs nothing). Only when it
raises is it run again on each document's part alone, to find the documents that fail on
their own; the stage then raises `DocumentsFailed`, and the indexer builds again without
them. A failure no single document reproduces is the stage's own and fails the build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import pandas as pd

from qa_engine.errors import QAEngineError

T = TypeVar("T")


class DocumentsFailed(QAEngineError):
    """Some documents, each alone, make `stage` fail: `reasons` maps document id to why."""

    def __init__(self, stage: str, reasons: dict[str, str]):
        super().__init__(f"{stage} failed on {len(reasons)} document(s): " + "; ".join(reasons.values()))
        self.stage, self.reasons = stage, reasons


def reason(error: BaseException) -> str:
    """One line: the type and the first line of the message."""
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def per_document(stage: str, text_units: pd.DataFrame, run: Callable[[set[str] | None], T]) -> T:
    """`run(None)` on everything; if it raises, `run(ids)` on each document's text unit ids
    alone, and `DocumentsFailed` names those that fail."""
    try:
        return run(None)
    except Exception as error:
        reasons = {}
        for document_id, ids in text_units.groupby("document_id", sort=False)["id"]:
            try:
                run(set(ids))
            except Exception as alone:  # noqa: BLE001 - any failure of one document is the same to us
                reasons[str(document_id)] = reason(alone)
        if not reasons:
            raise  # no document fails alone: not one document's fault
        raise DocumentsFailed(stage, reasons) from error


def touching(table: pd.DataFrame, ids: set[str] | None) -> pd.DataFrame:
    """The rows of a graph table (`text_unit_ids` lists) that come from any of `ids`; all for None."""
    if ids is None:
        return table
    return table[[not ids.isdisjoint(_list(units)) for units in table["text_unit_ids"]]]


def _list(units: Iterable[str] | None) -> Iterable[str]:
    return () if units is None else units
