"""Result types: small frozen dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Quote:
    """A direct quotation inside a passage; offsets are into the source file."""

    text: str
    start: int
    end: int
    speaker: str | None = None


@dataclass(frozen=True)
class Report:
    """Another passage (another outlet's report of the same remark, or a translation)."""

    doc_id: str
    citation: str
    lang: str
    text: str
    source_path: str
    start: int
    end: int
    paragraph: int


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: verbatim text, exact span of ``source_path`` and its citation."""

    text: str
    source_path: str
    start: int
    end: int
    doc_id: str
    title: str | None
    outlet: str | None
    date: str | None
    lang: str
    paragraph: int
    score: float
    citation: str
    heading: str | None = None
    match: str = ""
    speaker: str | None = None
    quotes: tuple[Quote, ...] = field(default_factory=tuple)
    also_in: tuple[Report, ...] = field(default_factory=tuple)
    parallel: Report | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (nested dataclasses become dicts, tuples lists)."""
        return asdict(self)
