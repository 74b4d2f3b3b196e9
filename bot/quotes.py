"""Quotations and speakers: direct quotes as spans, and who the text says is speaking.

A quotation is text between paired quote marks (“…”, 「…」, 『…』, "…"). The speaker of a
passage is the person an attribution names: ``<name> + speech verb`` (李彦宏表示, 方漢認為,
Robin Li said), ``said <name>``, a transcript label (``李彦宏:``), or a pronoun (他表示, He said)
that refers back to the last person named in the context before the passage. Names come
from the glossary's ``kind: person`` entries, matched after simplified/traditional folding,
so every script maps to one canonical name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .lexical import fold

# opening mark -> closing mark; straight double quotes pair with themselves
_PAIRS = {"“": "”", "「": "」", "『": "』", '"': '"'}
_MIN_QUOTE_CHARS = 2
# how far (in characters) a speech verb may sit after a name: "李彦宏在百度内部直言"
_VERB_GAP = 12
_ZH_VERBS = (
    "表示|说|說|认为|認為|坦言|直言|指出|强调|強調|称|稱|透露|提到|提出|回应|回應|"
    "解释|解釋|谈到|談到|谈及|談及|提及|告诉|告訴|补充|補充|判断|判斷|预测|預測|坚持认为|如是表示"
)
_EN_VERBS = (
    r"said|says|say|believes|believe|argued|argues|added|adds|noted|notes|stated|states|"
    r"pointed out|explained|explains|told|thinks|insisted|insists|stressed|emphasized|"
    r"warned|claimed|claims|remarked|wrote|asked|saying|mentioned|mentions|talked about|"
    r"spoke|predicts|predicted|revealed|admitted|poured cold water"
)
_ZH_PRONOUN = "他|她"
_EN_PRONOUN = r"\b(?:he|she)\b"


@dataclass(frozen=True)
class Person:
    """A canonical name and the folded forms of all its aliases."""

    canonical: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class QuoteSpan:
    """A quotation inside a passage: ``[start, end)`` relative to the passage text."""

    start: int
    end: int
    speaker: str | None


def load_people(glossary_path: Path) -> list[Person]:
    """The ``kind: person`` entries of the glossary (none when the file is absent)."""
    path = Path(glossary_path)
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = raw["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # lexical.load_glossary reports a malformed glossary with its own message
    people: list[Person] = []
    for e in entries:
        if not isinstance(e, dict) or e.get("kind") != "person" or not e.get("canonical"):
            continue
        # one-word Latin aliases ("Robin") are too ambiguous to attribute speech by
        aliases = [str(e["canonical"]), *map(str, e.get("aliases", []))]
        folded = {fold(a) for a in aliases if a.strip()}
        people.append(Person(str(e["canonical"]), tuple(sorted(folded, key=len, reverse=True))))
    return people


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the quoted text (marks excluded), outermost pairs only."""
    spans: list[tuple[int, int]] = []
    i = 0
    n = len(text)
    while i < n:
        close = _PAIRS.get(text[i])
        if close is None:
            i += 1
            continue
        j = text.find(close, i + 1)
        if j < 0:
            i += 1
            continue
        inner_start, inner_end = i + 1, j
        if inner_end - inner_start >= _MIN_QUOTE_CHARS and text[inner_start:inner_end].strip():
            spans.append((inner_start, inner_end))
        i = j + 1
    return spans


def _name_pattern(people: list[Person]) -> re.Pattern[str] | None:
    alts: list[str] = []
    for person in people:
        for alias in person.aliases:
            if re.fullmatch(r"[a-z]+", alias):
                continue  # a lone first name ("robin") is not an attribution
            # not \b: between a Chinese character and a Latin letter there is no word boundary
            alts.append(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])" if alias.isascii()
                        else re.escape(alias))
    if not alts:
        return None
    return re.compile("(?P<name>" + "|".join(sorted(alts, key=len, reverse=True)) + ")")


def _canonical(people: list[Person], folded_name: str) -> str | None:
    for person in people:
        if folded_name in person.aliases:
            return person.canonical
    return None


class Attributor:
    """Finds attributions in folded text; one per glossary."""

    def __init__(self, people: list[Person]):
        self.people = people
        names = _name_pattern(people)
        self._names = names
        self._pronoun = [
            re.compile(rf"(?:{_ZH_PRONOUN})[^。！？!?，,；;\n]{{0,6}}?(?:{_ZH_VERBS})"),
            re.compile(rf"{_EN_PRONOUN}\s+(?:also\s+|further\s+)?(?:{_EN_VERBS})\b"),
        ]
        if names is None:
            self._attrib: list[re.Pattern[str]] = []
            return
        n = names.pattern
        self._attrib = [
            # 李彦宏表示 / 方汉在会上认为
            re.compile(rf"{n}[^。！？!?，,；;\n]{{0,{_VERB_GAP}}}?(?:{_ZH_VERBS})"),
            # transcript label: 李彦宏: / 李彦宏：
            re.compile(rf"(?:^|\n|。)\s*{n}\s*[:：]"),
            # Robin Li said / Li Yanhong, the founder, said
            re.compile(rf"{n}(?:,[^,.]{{0,60}},)?\s+(?:also\s+|further\s+)?(?:{_EN_VERBS})\b"),
            # "...," said Robin Li / according to Robin Li
            re.compile(rf"(?:{_EN_VERBS}|according to)\s+{n}"),
        ]

    def attributions(self, folded: str) -> list[tuple[int, str]]:
        """(position, canonical speaker) of every attribution in the folded text."""
        found: list[tuple[int, str]] = []
        for pattern in self._attrib:
            for m in pattern.finditer(folded):
                who = _canonical(self.people, m.group("name"))
                if who is not None:
                    found.append((m.start("name"), who))
        return sorted(found)

    def last_named(self, folded: str) -> str | None:
        """The person named last in the text (for pronouns), or None."""
        if self._names is None:
            return None
        last = None
        for m in self._names.finditer(folded):
            last = _canonical(self.people, m.group("name"))
        return last

    def pronoun_attribution(self, folded: str) -> int | None:
        """Where the text first attributes speech to 'he'/'she'/他/她, or None."""
        found = [m.start() for p in self._pronoun for m in [p.search(folded)] if m]
        return min(found) if found else None


def people_named(folded_text: str, people: list[Person]) -> list[str]:
    """Canonical names of the people a (folded) text mentions."""
    pattern = _attributor(people)._names
    if pattern is None:
        return []
    found = (_canonical(people, m.group("name")) for m in pattern.finditer(folded_text))
    return list(dict.fromkeys(name for name in found if name is not None))


_ATTRIBUTORS: dict[tuple[Person, ...], Attributor] = {}


def _attributor(people: list[Person]) -> Attributor:
    key = tuple(people)
    att = _ATTRIBUTORS.get(key)
    if att is None:
        att = _ATTRIBUTORS[key] = Attributor(people)
    return att


def speaker_of(text: str, before: str, people: list[Person]) -> str | None:
    """Who the passage's words belong to, or None when the text does not say."""
    att = _attributor(people)
    own = att.attributions(fold(text))
    if own:
        return own[0][1]
    folded_before = fold(before)
    folded = fold(text)
    pronoun = att.pronoun_attribution(folded)
    if pronoun is not None:
        # "他指出" refers to the last person named before it, in this passage or earlier
        return att.last_named(folded_before + "\n" + folded[:pronoun])
    # an unattributed passage continues the speech attributed last in the context before it
    prior = att.attributions(folded_before)
    return prior[-1][1] if prior else None


def attribute(
    text: str, before: str, after: str, people: list[Person]
) -> tuple[list[QuoteSpan], str | None]:
    """Quotations in ``text`` with their speakers, and the passage's speaker.

    ``before`` and ``after`` are the neighbouring text of the same article: an attribution
    may precede the quote (李彦宏表示：“…”) or follow it (“…,” Li said).
    """
    speaker = speaker_of(text, before, people)
    att = _attributor(people)
    folded = fold(text)
    spans: list[QuoteSpan] = []
    own = att.attributions(folded)
    follow = att.attributions(fold(after)[:80])
    for start, end in find_quotes(text):
        # the nearest attribution before the quote in this passage, else right after it
        prior = [who for pos, who in own if pos < start]
        later = [who for pos, who in own if pos >= end]
        who = prior[-1] if prior else (later[0] if later else None)
        if who is None and end >= len(text) - 2 and follow:
            who = follow[0][1]
        spans.append(QuoteSpan(start, end, who or speaker))
    return spans, speaker
