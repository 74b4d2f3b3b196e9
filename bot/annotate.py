"""Per-passage annotations stored in the index: direct quotations and their speaker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .lexical import GLOSSARY_NAME
from .quotes import (
    Context,
    discover_people,
    load_people,
    main_speaker,
    quote_spans,
    same_people,
    speaker_in_context,
    with_surnames,
)


def annotate(rows: list[dict[str, Any]], data_dir: Path) -> None:
    """Add ``quotes`` (absolute spans) and ``speaker`` to every passage row, in place.

    Rows are read in article order: who is speaking carries from one passage to the next
    while the text goes on with that speech (``quotes.speaker_in_context``).
    """
    glossary = load_people(Path(data_dir) / GLOSSARY_NAME)
    texts: dict[str, list[str]] = {}
    for row in rows:
        texts.setdefault(row["doc_id"], []).append(row["text"])
    # whoever else each article quotes by name, one person across articles and scripts
    found = same_people({d: discover_people("\n".join(t), glossary) for d, t in texts.items()})
    people = glossary
    ctx = Context()
    for i, row in enumerate(rows):
        if i == 0 or rows[i - 1]["doc_id"] != row["doc_id"]:
            ctx = Context()
            text = "\n".join(texts[row["doc_id"]])
            people = with_surnames(glossary + found[row["doc_id"]], text)
        speaker, ctx = speaker_in_context(row["text"], people, ctx, row.get("heading"))
        same_doc = i + 1 < len(rows) and rows[i + 1]["doc_id"] == row["doc_id"]
        after = rows[i + 1]["text"] if same_doc else ""
        spans = quote_spans(row["text"], after, people, speaker)
        row["speaker"] = main_speaker(speaker, spans)
        row["quotes"] = [
            {
                "text": row["text"][s.start : s.end],
                "start": row["start"] + s.start,
                "end": row["start"] + s.end,
                "speaker": s.speaker,
            }
            for s in spans
        ]
