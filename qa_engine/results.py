"""Typed results that cross module borders: what `QAEngine.ask` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

KINDS = ("entities", "relationships", "reports", "sources")


@dataclass(frozen=True)
class Citations:
    """Cited ids per kind: human_readable_id as graphrag, reports by community number."""

    entities: tuple[int, ...] = ()
    relationships: tuple[int, ...] = ()
    reports: tuple[int, ...] = ()
    sources: tuple[int, ...] = ()

    def merge(self, other: Citations) -> Citations:
        return Citations(*(tuple(dict.fromkeys(getattr(self, k) + getattr(other, k))) for k in KINDS))

    def is_empty(self) -> bool:
        return not any(getattr(self, k) for k in KINDS)

    def to_dict(self) -> dict[str, list[int]]:
        return {k: list(getattr(self, k)) for k in KINDS}


@dataclass(frozen=True)
class Evidence:
    """One record given to the answerer; `kind` is one of KINDS, `id` what citations use."""

    kind: str
    id: int
    title: str
    text: str
    document: str = ""
    score: float = 0.0
    page: int | None = None  # first page of a source passage; None for non-paginated formats and other kinds

    @property
    def location(self) -> str:
        """Where a source passage is, as a reader cites it: 'paper.pdf p. 3', or 'notes.md'."""
        return f"{self.document} p. {self.page}" if self.page is not None else self.document


@dataclass(frozen=True)
class Claim:
    """One statement of an answer and whether the evidence states it (`qa_engine.claims`):
    `score` in [0, 1] (1: quoted verbatim), `evidence` the records holding a supporting sentence."""

    text: str
    supported: bool
    score: float
    evidence: Citations = Citations()

    def to_dict(self) -> dict:
        return {"text": self.text, "supported": self.supported, "score": round(self.score, 3), "evidence": self.evidence.to_dict()}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: Citations
    evidence: list[Evidence]
    abstained: bool
    mode: str  # "llm" or "extractive"
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The `qa-engine ask --json` object."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": self.citations.to_dict(),
            "claims": [c.to_dict() for c in self.claims],
            "evidence": [asdict(e) for e in self.evidence],
            "warnings": list(self.warnings),
            "timings_ms": dict(self.timings_ms),
        }
