"""Answer formatting: citations, match labels, plain-text and JSON renderings of hits."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .settings import SETTINGS
from .types import Hit

LANG_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}


def citation(
    title: str | None,
    outlet: str | None,
    date: str | None,
    paragraph: int,
    name: str | None = None,
    part: tuple[int, int] | None = None,
) -> str:
    """``<title> — <outlet>, <date>, ¶N``; unknown parts are left out, never invented. With
    neither title nor outlet, ``name`` (the file name the document was added under) heads it.
    ``part`` (k, n): the passage is the k-th of the n a long paragraph was split into."""
    where = f"¶{paragraph}" if paragraph else None
    if where and part is not None and part[1] > 1:
        where += f" (part {part[0]} of {part[1]})"
    tail = ", ".join(x for x in (outlet, date, where) if x)
    title = title or (None if outlet else name)
    if title and tail:
        return f"{title} — {tail}"
    return title or tail


def match_label(
    score: float,
    strong: float = SETTINGS.match_strong,
    good: float = SETTINGS.match_good,
    fair: float = SETTINGS.match_fair,
) -> str:
    """A word for how strongly a passage matches, from its ``Hit.score`` (0..1)."""
    if score >= strong:
        return "strong"
    if score >= good:
        return "good"
    return "fair" if score >= fair else "weak"


#: what an answer without passages says, in the question's language
NO_ANSWER = {
    "en": "No passage in these articles answers that.",
    "zh-Hans": "这些文章中没有回答这个问题的段落。",
    "zh-Hant": "這些文章中沒有回答這個問題的段落。",
}
# why a filtered question got no passage, when the filters are the reason: none is left at
# all, or none left names what the question names ({names}; {flags}: the filters used)
FILTERED_NOTES = {
    "en": ("note: no passage is left by {flags}; widen them",
           "note: no passage left by {flags} mentions {names}; other passages do"),
    "zh-Hans": ("注：{flags} 筛选后没有任何段落，请放宽筛选条件。",
                "注：{flags} 筛选后的段落都没有提到 {names}，其他段落有。"),
    "zh-Hant": ("註：{flags} 篩選後沒有任何段落，請放寬篩選條件。",
                "註：{flags} 篩選後的段落都沒有提到 {names}，其他段落有。"),
}


def hits_to_text(hits: Sequence[Hit], lang: str = "en") -> str:
    """Human-readable answer: one block per passage, citation first; with no passage, a
    sentence saying so in ``lang`` (the question's language)."""
    if not hits:
        return NO_ANSWER.get(lang, NO_ANSWER["en"])
    blocks = []
    for n, hit in enumerate(hits, 1):
        head = f"[{n}] {hit.citation}  ({LANG_NAMES.get(hit.lang, hit.lang)}, {hit.match})"
        lines = [head, f"    {hit.text}"]
        if hit.speaker:
            lines.append(f"    speaker: {hit.speaker}")
        for other in hit.also_in:
            if hit.parallel is not None and other.start == hit.parallel.start and (
                other.doc_id == hit.parallel.doc_id
            ):
                continue  # shown below as the counterpart
            lines.append(f"    also in: {other.citation or other.doc_id} "
                         f"({other.source_path}[{other.start}:{other.end}])")
        if hit.parallel is not None:
            lines.append(f"    parallel ({hit.parallel.lang}): {hit.parallel.text}")
        lines.append(f"    source: {hit.source_path}[{hit.start}:{hit.end}]")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def hits_to_json(hits: Sequence[Hit]) -> str:
    """The hits as a JSON array of objects with ``Hit``'s fields."""
    return json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2)
