"""Per-passage annotations stored in the index: direct quotations and their speaker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .lexical import GLOSSARY_NAME
from .quotes import attribute, load_people

# how much of the article before a passage is context for who is speaking
CONTEXT_CHARS = 600


def annotate(rows: list[dict[str, Any]], data_dir: Path) -> None:
    """Add ``quotes`` (absolute spans) and ``speaker`` to every passage row, in place."""
    people = load_people(Path(data_dir) / GLOSSARY_NAME)
    for i, row in enumerate(rows):
        before: list[str] = []
        j = i - 1
        while (
            j >= 0
            and rows[j]["doc_id"] == row["doc_id"]
            and sum(map(len, before)) < CONTEXT_CHARS
        ):
            before.insert(0, rows[j]["text"])
            j -= 1
        same_doc = i + 1 < len(rows) and rows[i + 1]["doc_id"] == row["doc_id"]
        after = rows[i + 1]["text"] if same_doc else ""
        spans, speaker = attribute(row["text"], "\n".join(before), after, people)
        row["speaker"] = speaker
        row["quotes"] = [
            {
                "text": row["text"][s.start : s.end],
                "start": row["start"] + s.start,
                "end": row["start"] + s.end,
                "speaker": s.speaker,
            }
            for s in spans
        ]
