"""Quotations and speakers: direct quotes as spans, and who the text says is speaking.

A quotation is text between paired quote marks (“…”, 「…」, 『…』, "…"). The speaker of a
passage is the person an attribution names: ``<name> + speech verb`` (李彦宏表示, 方漢認為,
Robin Li said), ``said <name>``, a transcript label (``李彦宏:``), or a pronoun (他表示, He said)
that refers back to the last person named. A passage without one carries on the speech before
it only when the text says so (a quotation left open, the same interview answer, first-person
words, an opening quote mark); otherwise it is narration and has no speaker. Names come from
the glossary's ``kind: person`` entries, matched after simplified/traditional folding, so
every script maps to one canonical name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .clean import CJK
from .lexical import NOT_GIVEN_NAME as _NOT_GIVEN_NAME
from .lexical import ZH_SURNAMES as _ZH_SURNAMES
from .lexical import fold, pinyin_keys

# opening mark -> closing mark; straight double quotes pair with themselves
_PAIRS = {"“": "”", "「": "」", "『": "』", '"': '"'}
_CLOSING = {close: open_ for open_, close in _PAIRS.items() if close != open_}
# what a straight quote that opens follows, and one that closes precedes
_OPEN_BEFORE = "([{—–-/:"
_CLOSE_AFTER = ".,;:!?)]}—–-"
_MIN_QUOTE_CHARS = 2
# how far (in characters) a speech verb may sit after a name: "李彦宏在百度内部直言"
_VERB_GAP = 24
_ZH_VERBS = (
    # (not 说法, "a claim": 李彦宏此前“…”的说法 is no saying of his)
    "表示|说(?!法)|說(?!法)|认为|認為|坦言|直言|指出|强调|強調|称|稱|透露|提到|提出|回应|回應|"
    "解释|解釋|谈到|談到|谈及|談及|提及|告诉|告訴|补充|補充|判断|判斷|预测|預測|坚持认为|如是表示|"
    "看来|看來|觉得|覺得|痛斥|批评|批評|呼吁|呼籲|阐述|闡述|介绍|介紹|测算|測算|估算|估计|估計|"
    "续指|續指|又指|亦指|并指|並指|再指|不讳言|不諱言|建议|建議|提醒|分析|"
    # Hong Kong papers write 指 alone for "said" (方漢指，…); only before a comma or colon
    "指(?=[，,：:])"
)
_EN_VERBS = (
    r"said|says|say|believes|believe|argued|argues|added|adds|noted|notes|stated|states|"
    r"pointed out|explained|explains|told|thinks|insisted|insists|stressed|emphasized|"
    r"warned|claimed|claims|remarked|wrote|asked|saying|mentioned|mentions|talked about|"
    r"spoke|predicts|predicted|revealed|admitted|poured cold water|disagreed|agreed|replied|"
    r"responded|countered|cautioned|acknowledged|conceded|joked|recalled|arguing|adding|"
    r"noting|warning|insisting|estimated|estimates|described|describes|suggested|suggests|"
    r"recommended|reiterated|repeated|doubled down"
)
# the verbs that take what was said as a clause ("said the plan was weak")
_EN_SAYING = (
    r"said|says|told|added|noted|argued|insisted|warned|stressed|explained|claimed|believes|"
    r"thinks|estimated|predicted|admitted|acknowledged|conceded|countered|replied|cautioned"
)
_ZH_PRONOUN = "他|她"
_EN_PRONOUN = r"\b(?:he|she)\b"


@dataclass(frozen=True)
class Person:
    """A canonical name and the folded forms of all its aliases; ``surname`` (folded), when
    set, also attributes on its own ("Delgado said"), which a lone first name never does.
    ``family`` is the glossary's surname, which becomes ``surname`` only in an article that
    names the person in full (``with_surnames``): "Li" alone could be anyone."""

    canonical: str
    aliases: tuple[str, ...]
    surname: str | None = None
    family: str | None = None


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
        family = fold(str(e.get("surname") or "")).strip()
        people.append(Person(
            str(e["canonical"]),
            tuple(sorted(folded, key=len, reverse=True)),
            family=family if re.fullmatch(r"[a-z]+(?:-[a-z]+)?", family) else None,
        ))
    return people


def with_surnames(people: list[Person], text: str) -> list[Person]:
    """``people`` for one article: a glossary surname ("surname": "Li") attributes on its own
    ("…," Li said) once the article names the person in full (Robin Li, 李彦宏), as news
    text does after a first mention. When the article also names someone else who bears it
    (Li Ming), the surname stays with whoever it named first (news text writes a later
    namesake in full), as does a surname two of ``people`` share."""
    folded = fold(text)
    full = _name_pattern([replace(p, surname=None) for p in people])
    first: dict[str, int] = {}
    for m in full.finditer(folded) if full is not None else ():
        who = _canonical(people, m.group("name"))
        if who is not None:
            first.setdefault(who, m.start())
    active = []
    for p in people:
        if p.family and p.canonical in first:
            other = _other_bearer(p, p.family, text)
            if other is None or first[p.canonical] < other:
                p = replace(p, surname=p.family)
        active.append(p)
    # a surname several of them bear: whoever the article named first
    owner: dict[str, str] = {}
    for p in sorted(active, key=lambda p: first.get(p.canonical, len(folded))):
        if p.surname:
            owner.setdefault(p.surname, p.canonical)
    return [
        replace(p, surname=None) if p.surname and owner[p.surname] != p.canonical else p
        for p in active
    ]


def family_names(canonical: str, aliases: Sequence[str] = (), family: str | None = None
                 ) -> set[str]:
    """The folded family names a speaker may be called by alone: the glossary's (``family``,
    "li") and a Chinese alias's first character (李); for a name outside the glossary, its
    first word when that is a pinyin family name ("Liu Jianguo"), else its last ("Maria
    Delgado"), or a Chinese name's first character (陈静)."""
    names = {fold(family)} if family else set()
    names |= {fold(a)[0] for a in aliases if a and CJK.match(a)}
    words = canonical.split()
    if canonical.isascii() and len(words) > 1 and not family:
        names.add(_latin_family(words))
    elif CJK.match(canonical) and len(canonical) > 1:
        names.add(fold(canonical)[0])
    return names


def _latin_family(words: Sequence[str]) -> str:
    """A Latin-spelt name's family name, folded: first when it is a pinyin family name
    ("Liu Jianguo"), else last ("Maria Delgado")."""
    first = fold(words[0])
    return first if first in _PINYIN_SURNAMES else fold(words[-1])


def _other_bearer(person: Person, family: str, text: str) -> int | None:
    """Where the text first names someone other than ``person`` with the surname ``family``
    (a rarer-than-common capitalised word next to it that no alias of ``person`` has), or
    None."""
    from wordfreq import zipf_frequency

    fam = re.escape(family)
    pattern = re.compile(
        rf"(?<![A-Za-z])(?:([A-Z][a-z]+)\s+(?i:{fam})|(?i:{fam})\s+([A-Z][a-z]+))(?![A-Za-z])"
    )
    for m in pattern.finditer(text):
        other = next(g for g in m.groups() if g)
        if zipf_frequency(other.lower(), "en") >= _NAME_WORD_MAX_ZIPF:
            continue  # "Then Li said", "Li Said": not a name
        if not any(fold(m.group(0)) in a for a in person.aliases):
            return m.start()
    return None


def _straight_opens(text: str, i: int, open_kind: str | None, first: bool) -> bool:
    """Whether the straight quote at ``i`` opens a quotation, read from its neighbours
    (' "We' opens, 'free." ' closes). When they do not tell ('choice. " '), it closes an
    open one; or, as the passage's first mark and one left without a pair, the quotation
    the passage starts in."""
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    opens = (before.isspace() or before in _OPEN_BEFORE) and not after.isspace()
    closes = (after.isspace() or after in _CLOSE_AFTER) and not before.isspace()
    if opens != closes:
        return opens
    if open_kind == '"':
        return False
    return not (first and text.count('"') % 2)


# a single-quoted quotation: opened before a letter (not after one), closed right after the
# comma or stop that ends what was said; straight or typeset (‘Open source is free,’ he
# said: ’ between letters is an apostrophe there)
_SINGLE_QUOTED = re.compile(
    r"(?<![A-Za-z0-9])'((?=[A-Za-z])(?:[^'\n]|(?<=[A-Za-z])'(?=[A-Za-z]))+?[,.!?])'"
    r"|‘((?=[A-Za-z])(?:[^‘’\n]|(?<=[A-Za-z])’(?=[A-Za-z]))+?[,.!?])’"
)


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the quoted text (marks excluded), outermost pairs only.

    A quotation nested in one with the same marks (“…“泳裤”…”) stays inside it. A passage
    is often one paragraph of a quotation over several, which Chinese (and English straight
    quotes split by the passage) mark at its two ends only: a quotation left open runs to the
    passage's end, and a closing mark before any opening one ends a quotation that runs from
    the passage's start.
    """
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int) -> None:
        if end - start >= _MIN_QUOTE_CHARS and text[start:end].strip():
            spans.append((start, end))

    open_at, kind, depth, seen = -1, None, 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            mark, opens = ch, _straight_opens(text, i, kind, not seen)
        elif ch in _PAIRS:
            mark, opens = ch, True
        elif ch in _CLOSING:
            mark, opens = _CLOSING[ch], False
        else:
            continue
        if opens:
            if kind is None:
                open_at, kind, depth = i, mark, 1
            elif mark == kind:
                depth += 1
        elif kind is None:
            if not seen:
                add(0, i)
        elif mark == kind:
            depth -= 1
            if depth == 0:
                add(open_at + 1, i)
                kind = None
        seen = True
    if kind is not None:
        add(open_at + 1, len(text.rstrip()))
    # single quotes, outside those: "'people think that … in cost,'he said" (an apostrophe
    # between letters, it's or Li's, neither opens nor closes one)
    for m in _SINGLE_QUOTED.finditer(text):
        if not any(s <= m.start() < e or s < m.end() <= e for s, e in spans):
            group = 1 if m.group(1) is not None else 2
            add(m.start(group), m.end(group))
    return sorted(spans)


def _name_pattern(people: list[Person]) -> re.Pattern[str] | None:
    alts: list[str] = []
    for person in people:
        for alias in (*person.aliases, *([person.surname] if person.surname else [])):
            if re.fullmatch(r"[a-z]+", alias) and alias != person.surname:
                continue  # a lone first name ("robin") is not an attribution
            # not \b: between a Chinese character and a Latin letter there is no word boundary
            alts.append(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])" if alias.isascii()
                        else re.escape(alias))
    if not alts:
        return None
    return re.compile("(?P<name>" + "|".join(sorted(alts, key=len, reverse=True)) + ")")


# titles before a name are not part of it ("Spokesperson Lena Ortiz said"), and mark a person
# after "according to" ("according to Baidu spokesperson Zhang Hui")
_EN_TITLES = frozenset(
    "spokesperson spokesman spokeswoman chairman chairwoman chair ceo cto cfo founder "
    "co-founder president vice director minister secretary professor prof dr mr mrs ms "
    "senator governor mayor chief executive manager analyst engineer researcher scientist "
    "economist author editor reporter host moderator general judge official partner "
    "investor lawyer expert".split()
)
_EN_TITLE_WORDS = "|".join(sorted(_EN_TITLES, key=len, reverse=True))
# how long an appositive between a name and its verb may be ("Fang Han, chairman of Kunlun
# Tech, the Shenzhen-listed company behind the Skywork models, said")
_APPOSITIVE = 160
# a name as news text writes it before or after a speech verb: two or three capitalised words
_EN_NAME = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?: [A-Z][a-z]+(?:-[A-Z][a-z]+)?){1,2}"
# "Dr. Angela Novak", "Ms Novak": a courtesy title before the name is not part of it
_EN_HONORIFIC = r"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?"
# verbs that come before the speaker's name: `"…," said Tom Becker`
_EN_SAID_BEFORE = "said|says|added|told|noted|explained|wrote"
_EN_SAID_BY = re.compile(
    rf"(?<![A-Za-z])({_EN_NAME}),?\s+(?:also\s+)?(?:{_EN_VERBS})\b"
    rf"|\b(?:{_EN_SAID_BEFORE})\s+{_EN_HONORIFIC}({_EN_NAME})"
    rf"(?![A-Za-z])"
    # "said Kestrel's founder, Tomasz Wielgus" / "said the company's lead analyst, Helen Ng"
    rf"|\b(?:{_EN_SAID_BEFORE})\s+(?:the\s+)?(?:[A-Z]?[a-z]+'s\s+)?"
    rf"(?:[a-z-]+\s+){{0,3}}?(?:{_EN_TITLE_WORDS}),?\s+{_EN_HONORIFIC}({_EN_NAME})(?![A-Za-z])"
    # "Angela Novak, a venture investor, said" / "Priya Raman, who covers …, said"
    rf"|(?<![A-Za-z])({_EN_NAME}),\s+[^.\n]{{1,{_APPOSITIVE}}}?,\s+(?:also\s+)?"
    rf"(?:{_EN_VERBS})\b"
    # "according to Baidu spokesperson Zhang Hui", "according to Zhang Hui, a spokesperson"
    # (a title or an appositive: "according to Morgan Stanley" is a firm's figure)
    rf"|\b[Aa]ccording to\s+(?:[A-Z][a-z]+\s+)?(?:{_EN_TITLE_WORDS})\s+({_EN_NAME})(?![A-Za-z])"
    rf"|\b[Aa]ccording to\s+({_EN_NAME}),\s+(?:a|an|the)\s[^,.\n]{{0,60}}?"
    rf"\b(?:{_EN_TITLE_WORDS})\b[^,.\n]{{0,40}},"
)
# the first group of _EN_SAID_BY's "according to" forms
_ACCORDING_GROUP = 5
# one capitalised word with a speech verb: a surname ("Wang said", "said Li") or a pronoun
_EN_ONE_WORD_SAID = re.compile(
    rf"(?<![A-Za-z])([A-Z][a-z]+),?\s+(?:also\s+)?(?:{_EN_VERBS})\b"
    rf"|\b(?:{_EN_SAID_BEFORE})\s+{_EN_HONORIFIC}([A-Z][a-z]+)"
    rf"(?![A-Za-z])"
)
# words this common open a sentence rather than a name ("Then Maria Delgado said", "First
# Financial"); a first name may be commoner than a surname ("David" 5.1, "Kim" 4.6)
_NAME_OPENER_MIN_ZIPF = 5.5
_NAME_WORD_MAX_ZIPF = 5.0
# words of an organisation's name, not a person's ("Kunlun Tech", "Harbour Street Research")
_EN_ORG_WORDS = frozenset(
    "tech technology technologies group inc corp corporation co ltd limited capital "
    "research securities bank labs lab intelligence holdings partners ventures fund "
    "university institute college school academy media network networks cloud systems "
    "software motors games studio studios association council ministry agency bureau "
    "times post news daily journal review street robotics ai analytics dynamics "
    "semiconductor semiconductors industries solutions energy biotech therapeutics "
    "logistics airlines".split()
)
# a capitalised name right after one of these is a place or an organisation ("chairman of
# Kunlun Tech", "an analyst at Harbour Street")
_EN_BEFORE_ORG = re.compile(r"\b(?:of|at|for|from|with|by|behind|in|to|on|and)\s+$", re.I)


_ZH_NAME_PARTICLES = "则也还就都又亦"
# (a name jieba finds in running text is taken for a speaker's only this close to the verb)
_NAME_VERB_GAP = 8
# a name followed by one of these is an organisation's (艾瑞咨询, 映川科技)
_ZH_ORG_AFTER = re.compile(
    "咨询|公司|集团|科技|证券|银行|研究院|研究所|智能|资本|基金|网络|传媒|大学|学院|医院|汽车|"
    "控股|实验室|协会|基金会|电视台|日报|新闻"
)
_ZH_TITLES = re.compile(
    "执行长|执行官|总裁|董事长|创始人|创办人|制作人|分析师|主任|院长|教授|经理|总监|官员|"
    "合伙人|负责人|研究员|工程师|主席|部长|局长|校长|主编|发言人"
)


def discover_people(text: str, known: list[Person]) -> list[Person]:
    """People an article quotes who are not in the glossary, found by how news text
    attributes speech: "Maria Delgado said", "said Tom Becker", "雷军表示". Each gets the name
    as written as its canonical name (one script and spelling only: the glossary is what maps
    a person across scripts and languages), and an English name its last word as a surname.
    Organisations and roles are left out: a name must not contain a known alias, and an
    English name's words must be rarer than common words."""
    from wordfreq import zipf_frequency

    taken = {a for p in known for a in p.aliases}
    found: dict[str, Person] = {}
    for m in _EN_SAID_BY.finditer(text):
        group = next(i for i, g in enumerate(m.groups(), 1) if g)
        according = group >= _ACCORDING_GROUP  # ("according to" is no organisation's "to")
        if not according and _EN_BEFORE_ORG.search(
            text[max(0, m.start(group) - 12) : m.start(group)]
        ):
            continue
        if m.group(0).endswith("asked"):
            continue  # a moderator's or reporter's question, not someone's statement
        words = m.group(group).split()
        while words and (
            words[0].lower() in _EN_TITLES
            or zipf_frequency(words[0].lower(), "en") >= _NAME_OPENER_MIN_ZIPF
        ):
            words = words[1:]  # a title, or a capitalised sentence opener ("Then")
        if (
            len(words) < 2
            or zipf_frequency(words[-1].lower(), "en") >= _NAME_WORD_MAX_ZIPF
            or any(w.lower() in _EN_ORG_WORDS for w in words)
        ):
            continue
        name = " ".join(words)
        folded = fold(name)
        if any(a in folded for a in taken if len(a) > 2) or folded in found:
            continue
        # "Liu Jianguo" is written family name first, "Maria Delgado" last
        surname = _latin_family(words)
        found[folded] = Person(name, (folded,), surname if surname not in taken else None)
    # "Chen Yufei, chief executive of DeepRiver, was unimpressed. "…," Chen said": a surname
    # that speaks, and a full name the article gave before it
    surnames = taken | {p.surname for p in found.values() if p.surname}
    for m in _EN_ONE_WORD_SAID.finditer(text):
        word = next(g for g in m.groups() if g)
        if fold(word) in surnames or zipf_frequency(word.lower(), "en") >= _NAME_WORD_MAX_ZIPF:
            continue
        full = _full_name(text[: m.start()], word, taken)
        if full is not None and fold(full) not in found:
            found[fold(full)] = Person(full, (fold(full),), fold(word))
            surnames.add(fold(word))
    # 林嘉欣则对记者表示: a particle and a few words may come between the name and the verb
    verbs = re.compile(rf"[^。！？!?，,；;：:\n]{{0,{_NAME_VERB_GAP}}}?(?:{_ZH_VERBS})")
    folded_text = fold(text)
    names = list(_zh_names(folded_text))
    starts = [start for _, start, _ in names]
    for word, start, end in names:
        # … or labels a transcript's answer (林志豪：我尊重他的看法)
        at_line_start = start == 0 or folded_text[start - 1] == "\n"
        said = (
            verbs.match(folded_text, end)
            or (_LABEL.match(folded_text, end) if at_line_start else None)
            # 陈怡君去年购入一副AI眼镜，她表示…: the pronoun that speaks next refers to her
            # (a name led by a family name: jieba tags some phrases as names, 远高于)
            or (_SPEAKS_AS_PRONOUN.match(folded_text, end) if word[0] in _ZH_SURNAMES else None)
        )
        if (
            word not in found
            and not any(a in word or word in a for a in taken if not a.isascii())
            and said
            # the name nearest the verb, and no title between ("台湾独立音乐制作人吴若瑜表示":
            # the words before the title are an organisation's)
            and not any(end <= other < said.end() for other in starts)
            and not _ZH_TITLES.search(said.group(0))
            and not _ZH_ORG_AFTER.match(folded_text, end)
        ):
            # jieba glues a particle onto a name before a verb (周九则表示): not part of it
            name = word[:-1] if len(word) > 2 and word[-1] in _ZH_NAME_PARTICLES else word
            # shown as the article writes it (folding keeps the length, script aside)
            same = len(folded_text) == len(text)
            # a transliterated name's last part is its surname (德尔加多说)
            parts = re.split(f"[{_NAME_DOTS}]", name)
            found[name] = Person(text[start : start + len(name)] if same else name, (name,),
                                 parts[-1] if len(parts) > 1 else None)
    return list(found.values())


def same_people(found: dict[str, list[Person]]) -> dict[str, list[Person]]:
    """``discover_people`` of several articles, with a person named in Chinese by one and in
    pinyin by another made one: the Latin name is the canonical one (as the glossary's are),
    the Chinese an alias (张一鸣 in a Chinese report, "Zhang Yiming" in an English one)."""
    latin = {k: p for people in found.values() for p in people if p.canonical.isascii()
             for k in pinyin_keys(p.canonical)}
    out: dict[str, list[Person]] = {}
    for doc, people in found.items():
        merged = []
        for p in people:
            same = next((latin[k] for k in pinyin_keys(p.canonical) if k in latin), None)
            if same is not None and not p.canonical.isascii():
                p = Person(same.canonical, tuple(dict.fromkeys(p.aliases + same.aliases)),
                           p.surname, p.family)
            merged.append(p)
        out[doc] = merged
    return out


_LABEL = re.compile(r"\s*[:：]")
_SPEAKS_AS_PRONOUN = re.compile(
    rf"[^。！？!?\n他她]{{0,30}}[。，,；;]\s*(?:但|而|也|并|並)?(?:{_ZH_PRONOUN})"
    rf"[^。！？!?，,；;\n]{{0,6}}?(?:{_ZH_VERBS})"
)


def _full_name(before: str, surname: str, taken: set[str]) -> str | None:
    """The first two-word name in ``before`` that begins or ends with ``surname`` (Chen
    Yufei, Maria Delgado), introduced as a person is (an appositive after it, a title
    before it), and no organisation or known name; or None."""
    from wordfreq import zipf_frequency

    word = re.escape(surname)
    # (a hyphenated given name whole: Kai-Fu Lee, not "Fu Lee")
    given = r"[A-Z][a-z]+(?:-[A-Za-z][a-z]+)?"
    pattern = re.compile(
        rf"(?<![A-Za-z-])(?:{word} ({given})|({given}) {word})(?![A-Za-z-])(?P<comma>,)?"
    )
    for m in pattern.finditer(before):
        other = next(g for g in m.groups() if g)
        name = m.group(0).rstrip(",")
        if (
            zipf_frequency(other.lower(), "en") < _NAME_WORD_MAX_ZIPF
            and other.lower() not in _EN_TITLES | _EN_ORG_WORDS
            and not _EN_BEFORE_ORG.search(before[max(0, m.start() - 12) : m.start()])
            and not any(a in fold(name) for a in taken if len(a) > 2)
            and (m.group("comma") or _titled(before[: m.start()]))
        ):
            return name
    return None


def _titled(before: str) -> bool:
    """Whether ``before`` ends with a title ("analyst ", "Chief Executive ")."""
    words = before.split()
    return bool(words) and words[-1].lower().strip(",") in _EN_TITLES


# family names as English text spells them, first in a Chinese name ("Liu Jianguo")
_PINYIN_SURNAMES = frozenset(
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng "
    "liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan jiang cai yu du ye "
    "cheng su wei lu ding ren shen yao cui zhong tan fan jin shi liao jia xia fu fang bai zou "
    "meng xiong qin qiu yin xue lei hou long tao mao hao gong shao wan qian yan dai mo kong "
    "xiang ou".split()
)


_NAME_DOTS = "·・•‧"
# the rest of a transliterated name after its first part: a dot and a part, at least once,
# the last running to a title, a reporting verb or anything but a Chinese character
_DOTTED_REST = re.compile(
    rf"(?:[{_NAME_DOTS}][\u4e00-\u9fff]{{1,8}}?)+"
    rf"(?=博士|先生|女士|{_ZH_TITLES.pattern}|{_ZH_VERBS}|[^\u4e00-\u9fff{_NAME_DOTS}]|$)"
)


# jieba's tags for a character it knows only as a morpheme, as a name's rare last one is
_RARE_NAME_CHAR_TAGS = frozenset({"zg", "ng", "tg", "ag", "dg", "rg", "yg", "mg"})  # (not vg: 曰)


def _zh_names(folded: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) of each person's name in folded text: a word jieba tags as one
    (two characters or more, not a common word), or a family name jieba cut off from the
    given name after it (two or three characters in all), or a transliterated name with
    middle dots (玛丽亚·德尔加多)."""
    from .lexical import is_common_word, pos_tagged

    tagged = pos_tagged(folded)
    pos = 0
    skip = 0
    inside = 0  # the end of a dotted name whose words are being passed over
    for i, (word, flag) in enumerate(tagged):
        end = pos + len(word)
        if pos < inside:
            pos = end
            continue
        # jieba finds the part before the dot a name and cuts the rest anyhow (德尔加 + 多)
        rest = _DOTTED_REST.match(folded, end) if flag.startswith("nr") else None
        if rest is not None and CJK.fullmatch(word[0]):
            inside = rest.end()
            yield folded[pos:inside], pos, inside
            pos = end
            continue
        if skip:
            skip -= 1
            pos = end
            continue
        # a two-character name jieba tags may still lack its last character (吴佩 + 珊)
        whole = _with_given_name(word, flag, tagged[i + 1 : i + 2])
        shifted = _shifted_name(word, flag, tagged[i + 1 : i + 2], folded)
        if whole is not None:
            skip = 1
            # ... and a rare last character jieba leaves on its own (周 + 鸿 + 祎, tagged zg)
            third = tagged[i + 2] if i + 2 < len(tagged) else None
            if (len(whole) == 2 and third is not None and len(third[0]) == 1
                    and CJK.fullmatch(third[0]) and third[1] in _RARE_NAME_CHAR_TAGS):
                whole += third[0]
                skip = 2
            yield whole, pos, pos + len(whole)
        elif shifted is not None:
            yield shifted, pos + 1, pos + 1 + len(shifted)
            skip = 1
        elif flag == "nr" and len(word) > 1 and not is_common_word(word):
            yield word, pos, end
        pos = end


def _shifted_name(
    word: str, flag: str, after: list[tuple[str, str]], folded: str
) -> str | None:
    """茶农陈明日前…, cut 茶 / 农陈 / 明日: a two-character "name" that is no family name
    and a family name, read one character on (陈明) when the article writes that name again
    (陈明说); else None."""
    if (
        flag != "nr" or len(word) != 2 or word[0] in _ZH_SURNAMES
        or word[1] not in _ZH_SURNAMES or not after or not CJK.fullmatch(after[0][0][:1])
    ):
        return None
    name = word[1] + after[0][0][0]
    return name if folded.count(name) >= 2 else None


def _with_given_name(word: str, flag: str, after: list[tuple[str, str]]) -> str | None:
    """``word`` joined with the next word when the two read as one name (林 + 志远, 梁家 +
    豪), else None."""
    if not after or word[0] not in _ZH_SURNAMES or not CJK.fullmatch(word[0]):
        return None
    nxt, nflag = after[0]
    if (nflag == "v" and len(word) <= 2 and len(nxt) == 2 and nxt[1] == "说"
            and CJK.fullmatch(nxt[0]) and flag.startswith(("nr", "ns"))):
        return word + nxt[0]  # 陈 + 明说 ("to say outright"): 陈明 says
    if nflag.startswith(_NOT_GIVEN_NAME) or not all(CJK.fullmatch(c) for c in nxt):
        return None
    if len(word) == 1 and nxt in ("女士", "先生"):
        return word + nxt  # 刘女士: how an article names someone it gives no full name
    if len(word) == 1 and len(nxt) in (1, 2):
        return word + nxt
    if len(word) == 2 and len(nxt) == 1 and flag.startswith("nr"):
        return word + nxt
    return None


def _canonical(people: list[Person], folded_name: str) -> str | None:
    for person in people:
        if folded_name in person.aliases or folded_name == person.surname:
            return person.canonical
    return None


class Attributor:
    """Finds attributions in folded text; one per glossary."""

    def __init__(self, people: list[Person]):
        self.people = people
        names = _name_pattern(people)
        self._names = names
        self._pronoun = [
            re.compile(rf"(?:{_ZH_PRONOUN})[^。！？!?，,；;\n]{{0,10}}?(?:{_ZH_VERBS})"),
            re.compile(rf"{_EN_PRONOUN}\s+(?:also\s+|further\s+)?(?:{_EN_VERBS})\b"),
        ]
        if names is None:
            self._attrib: list[re.Pattern[str]] = []
            return
        n = names.pattern
        self._attrib = [
            # 李彦宏表示 / 方汉在会上认为
            # (not 方汉的判断: "his judgement" is a noun)
            re.compile(rf"{n}(?!的)[^。！？!?，,；;\n]{{0,{_VERB_GAP}}}?(?:{_ZH_VERBS})"),
            # 李彦宏选择坚持自己之前的观点,认为… / …大公司反应太慢,并批评…: the verb opens the
            # next clause, whose subject is still the name
            re.compile(
                rf"{n}[^。！？!?，,；;\n]{{0,{_VERB_GAP}}}[,，](?:并|也|还|更|又|则)?(?:{_ZH_VERBS})"
            ),
            # transcript label: 李彦宏: / 李彦宏：
            re.compile(rf"(?:^|\n|。)\s*{n}\s*[:：]"),
            # Robin Li said / Li Yanhong, the founder, said
            re.compile(
                rf"{n}(?:,[^.;\n]{{0,{_APPOSITIVE}}}?,)?\s+(?:also\s+|further\s+)?(?:{_EN_VERBS})\b"
            ),
            # "...," said Robin Li / according to Robin Li / said Dr. Angela Novak
            re.compile(rf"(?:{_EN_VERBS}|according to)\s+(?:(?:dr|mr|mrs|ms|prof)\.?\s+)?{n}"),
            # according to Baidu's chairman Robin Li
            re.compile(rf"according to\s+(?:[\w'’]+\s+){{1,3}}?{n}"),
            # "...," said Kestrel's founder, Tomasz Wielgus
            re.compile(
                rf"\b(?:{_EN_SAID_BEFORE})\s+(?:the\s+)?"
                rf"(?:[a-z]+['’]s\s+)?(?:[a-z-]+\s+){{0,3}}?(?:{_EN_TITLE_WORDS}),?\s+"
                rf"(?:(?:dr|mr|mrs|ms|prof)\.?\s+)?{n}"
            ),
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
        """The person named last in the text (for pronouns), or None; not one named as the
        one disagreed with: in 'Zhang disagreed with Robin Li's view. "…," he said' he is
        Zhang."""
        if self._names is None:
            return None
        last = None
        for m in self._names.finditer(folded):
            if not _OPPOSED_BEFORE.search(folded, max(0, m.start() - 40), m.start()):
                last = _canonical(self.people, m.group("name"))
        return last

    def pronoun_attributions(self, folded: str) -> list[tuple[int, str]]:
        """(position, speaker) of each 'he said' / 她表示 the text itself resolves: the person
        named last before it."""
        found = []
        for pattern in self._pronoun:
            for m in pattern.finditer(folded):
                who = self.last_named(folded[: m.start()])
                if who is not None:
                    found.append((m.start(), who))
        return found

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


# disagreeing, in Chinese (with a person, or with a claim)
_ZH_DISAGREE = "不同意|不认同|不认可|不赞同|反对|反驳|驳斥|质疑|否定"
# a person named as the one disagreed with, answered or criticised ("Who disagrees with Robin
# Li?", "谁不同意李彦宏的观点?"): the question asks for other people's words about theirs
_OPPOSED_BEFORE = re.compile(
    r"(?:(?<![a-z])(?:disagree[sd]?|disagreeing|dispute[sd]?|disputing|contradict(?:s|ed|ing)?"
    r"|rebut(?:s|ted|ting)?|refute[sd]?|refuting|argue[sd]? against|arguing against"
    r"|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?"
    r"|push(?:es|ed|ing)? back (?:on|against)|respond(?:s|ed|ing)? to|repl(?:y|ies|ied) to"
    r"|critici[sz](?:e|es|ed|ing)|oppose[sd]?|opposing|challenge[sd]?|challenging)"
    rf"(?: with)?|回应|批评|{_ZH_DISAGREE})\s*$"
)


def people_opposed(folded_text: str, people: list[Person]) -> list[str]:
    """Canonical names of the people a (folded) question names as the one others disagree
    with, answer or criticise (see _OPPOSED_BEFORE)."""
    return _people_after(folded_text, people, _OPPOSED_BEFORE)


# a person the question sets aside ("除了李彦宏,业内人士怎么看?", "Besides Robin Li, who …"):
# it asks about the others
_ASIDE_BEFORE = re.compile(
    r"(?:(?<![a-z])(?:besides|apart from|aside from|other than|except(?: for)?)"
    r"|除了|除开|除去)\s*$"
)


def people_set_aside(folded_text: str, people: list[Person]) -> list[str]:
    """Canonical names of the people a (folded) question sets aside to ask about the others
    (see _ASIDE_BEFORE)."""
    return _people_after(folded_text, people, _ASIDE_BEFORE)


def _people_after(folded_text: str, people: list[Person], before: re.Pattern[str]) -> list[str]:
    """Canonical names of the people named right after what ``before`` matches."""
    pattern = _attributor(people)._names
    if pattern is None:
        return []
    found = (
        _canonical(people, m.group("name")) for m in pattern.finditer(folded_text)
        if before.search(folded_text, max(0, m.start() - 40), m.start())
    )
    return list(dict.fromkeys(name for name in found if name is not None))


_ATTRIBUTORS: dict[tuple[Person, ...], Attributor] = {}


def _attributor(people: list[Person]) -> Attributor:
    key = tuple(people)
    att = _ATTRIBUTORS.get(key)
    if att is None:
        att = _ATTRIBUTORS[key] = Attributor(people)
    return att


# someone the glossary does not name is speaking ("主持人反问", "a developer told"): the words
# are not those of the person quoted before
_OTHER_ROLES_ZH = "主持人|记者|从业者|分析师|业内人士|专家|投资人"
_OTHER_ROLES_EN = (
    r"reporter|host|moderator|practitioner|developer|analyst|expert|insider|investor|observer"
)
# a claim the sentence disputes is not the speaker's words: 王小川不认同“开源模型会越来越落后”的
# 说法, 'rejected the claim that "…"' (whose it is, the sentence does not say)
_DISPUTED_ZH = re.compile(
    rf"(?:{_ZH_DISAGREE}|否认)[^。！？!?，,；;]{{0,6}}$"
)
_DISPUTED_CLAIM = re.compile(r"(?:这一|这种|这个|的)?(?:说法|观点|论断|论调|看法|判断|言论)")
# ... or disputed after it: 谈到李彦宏“…”的说法,张鹏并不完全认同
_DISPUTED_AFTER = re.compile(
    rf"{_DISPUTED_CLAIM.pattern}[,，]?[^。！？!?，,；;]{{0,8}}?"
    rf"(?:{_ZH_DISAGREE}|不(?:完全|太|大)?(?:认同|同意|认可|赞同))"
)
_DISPUTED_EN = re.compile(
    r"(?<![a-z])(?:disagree[sd]? with|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|dispute[sd]?"
    r"|den(?:y|ies|ied)|refute[sd]?|rebut(?:s|ted)?)\s+(?:the\s+|a\s+)?(?:[a-z-]+\s+)?"
    r"(?:view|claim|idea|notion|argument|assertion|suggestion)s?(?:\s+that)?[\s,:]*$"
)
# a "so-called" term is marked, not quoted: 所谓的“双轮驱动” is nobody's words
_SO_CALLED = re.compile(r"(?:所谓|so-called|so called)的?\s*$")
# ... and so is a term a sentence only puts in marks: 利用文心一言“重构”应用, 对于“是否开源”有过
# 讨论, 'OpenAI is "not open source"': a few characters or words, no punctuation; unless the
# sentence introduces it as speech (表示:“…”, said "…") or it ends as speech does (“挺无聊的”)
_TERM = re.compile(r"[\u4e00-\u9fff]{1,4}|[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,2}")
# ... or a name that mixes Chinese with Latin letters or digits: “天工3.0”, “天工SkyMusic”,
# “音乐界ChatGPT” (a version's point is no full stop)
_MIXED_NAME = re.compile(
    r"(?=.*[\u4e00-\u9fff])(?=.*[a-z0-9])(?:[\u4e00-\u9fffa-z0-9 -]|\.(?=\d)){2,12}"
)
_SPEECH_END = tuple("的了吗呢吧啊呀嘛")
_INTRODUCED = re.compile(
    r"(?:[:：]|说|道|称|问|表示|认为|坦言|直言|指出|强调"
    r"|(?<![a-z])(?:said|says|asked|told \w+),?)\s*$"
)


def _is_term(folded: str, start: int, end: int) -> bool:
    """Whether the quoted ``folded[start:end]`` is a term put in quotation marks rather than
    someone's words (see _TERM)."""
    quoted = folded[start:end].strip()
    return bool(
        (_TERM.fullmatch(quoted) or _MIXED_NAME.fullmatch(quoted))
        and not quoted.endswith(_SPEECH_END)
        and not _INTRODUCED.search(folded, max(0, start - 12), max(0, start - 1))
    )


_OTHER_SPEAKER = (
    # (not 对记者表示: the reporter is spoken to)
    re.compile(
        rf"(?<![对向跟和与诉])(?:{_OTHER_ROLES_ZH})[^。！？!?，,；;\n]{{0,6}}?(?:{_ZH_VERBS}|反问|问道)"
    ),
    re.compile(rf"\b(?:{_OTHER_ROLES_EN})s?\b[^.;]{{0,40}}?\b(?:{_EN_VERBS})\b"),
)
# an unattributed passage is still someone's speech when it speaks in the first person or
# opens with a quotation mark
# (not 我国 and the like: "our country" is a reporter's word too)
_FIRST_PERSON = re.compile(r"我(?![国省市县区校院军党])|(?<![a-z])(?:i|we|our|us)(?![a-z])")
_OPENS_QUOTE = re.compile(r"^\s*[“「『\"]")
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」")
# a transcript section headed by the interviewer's question ("问:…", "Q: …"): every paragraph
# under it is the answer, though only the first carries the answerer's label
_INTERVIEW_QUESTION = re.compile(r"\s*(?:问|q)\s*[:：.]")
# (a courtesy title's period ends no sentence: "said Dr. Angela Novak")
_SENTENCE_END = re.compile(
    r"(?<=[。！？!?])|(?<=[.;])(?<!\bdr\.)(?<!\bmr\.)(?<!\bms\.)(?<!\bmrs\.)(?<!\bprof\.)\s+"
)


@dataclass(frozen=True)
class Context:
    """What an article has established before a passage: whose speech is going on, who was
    named last (for pronouns), the section heading, and whether a quotation is still open."""

    speaker: str | None = None
    named: str | None = None
    heading: str | None = None
    open_quote: bool = False


def _known_name(name: str, people: list[Person]) -> bool:
    folded = fold(name)
    return any(
        folded == a or folded == p.surname or (len(a) > 2 and a in folded)
        for p in people for a in p.aliases
    )


def _speaks_unknown(text: str, people: list[Person]) -> bool:
    """Whether the text attributes speech to someone none of ``people`` is: a name the
    article's reading did not resolve ("said David Kim", "Wang said", 钱七表示). Their words
    are not those of the person quoted or named before."""
    from wordfreq import zipf_frequency

    for pattern in (_EN_SAID_BY, _EN_ONE_WORD_SAID):
        for m in pattern.finditer(text):
            words = next(g for g in m.groups() if g).split()
            # "He said", "It added", "Then Li said": not a name (or not all of one)
            while words and zipf_frequency(words[0].lower(), "en") >= _NAME_OPENER_MIN_ZIPF:
                words = words[1:]
            if words and not _known_name(" ".join(words), people):
                return True
    return _unknown_chinese_name(text, people, speaking=True)


def _unknown_chinese_name(text: str, people: list[Person], speaking: bool) -> bool:
    """Whether the text names (``speaking``: as saying something) a person jieba tags as a
    name and ``people`` does not know."""
    if not CJK.search(text):
        return False
    verbs = re.compile(rf"[^。！？!?，,；;\n]{{0,{_VERB_GAP}}}?(?:{_ZH_VERBS})")
    folded = fold(text)
    return any(
        not _known_name(word, people)
        and not any(word in a for p in people for a in p.aliases if not a.isascii())
        and (not speaking or verbs.match(folded, end))
        for word, _, end in _zh_names(folded)
    )


def speaker_in_context(
    text: str, people: list[Person], ctx: Context, heading: str | None = None
) -> tuple[str | None, Context]:
    """Who the passage's words belong to, given the article so far, and the context for the
    next passage. Passages are read in article order (``annotate``)."""
    att = _attributor(people)
    folded = fold(text)
    if _ASKED.match(folded):
        # the interviewer's question (问：你怎么看李彦宏说的…): nobody's answer, whoever it
        # names; the one asked answers next
        return None, Context(ctx.speaker, ctx.named, heading, False)
    if _ANSWERED.match(folded) and (ctx.speaker or ctx.named):
        # 答：… is the person the transcript interviews: who spoke before the question, or
        # the one its introduction named (王小川接受了本报记者专访。以下为采访实录：)
        answerer = ctx.speaker or ctx.named
        return answerer, Context(answerer, ctx.named, heading, False)
    named = att.last_named(folded) or ctx.named
    speaker: str | None = None  # whose speech goes on into the next passage
    own = att.attributions(folded)
    if own and _INTERVIEW_INTRO.search(folded):
        # 方汉日前接受本刊专访,谈及…。以下为访谈摘要: the interview follows; this introduces it
        return None, Context(own[-1][1], named, heading, False)
    if own:
        speaker = own[-1][1]
        tail = _last_sentence_start(folded)
        if (
            own[0][0] < tail or not tail or find_quotes(folded[tail:])
            or _REPORTED.search(folded, own[0][0])
            or _REPORTED_BEFORE.search(folded[tail : own[0][0]])
        ):
            who: str | None = own[0][1]
        else:
            # only the last sentence introduces someone ("... X told reporters."): the
            # passage is whatever came before it, and the next one is X's
            who = ctx.speaker if _continues(folded[:tail], ctx, heading) else None
    elif (pronoun := att.pronoun_attribution(folded)) is not None:
        # "he"/他 is the person named last, in this passage or before it; unless the passage
        # has named someone the article's reading did not resolve (钱七则持不同看法。他表示)
        who = att.last_named(folded[:pronoun])
        if who is None and not (
            _speaks_unknown(text[:pronoun], people)
            or _unknown_chinese_name(text[:pronoun], people, speaking=False)
        ):
            who = ctx.named
        speaker = who
    elif (
        not any(p.search(folded) for p in _OTHER_SPEAKER)
        and not _speaks_unknown(text, people)
        # "behind Li Yanhong's statement, …": a text naming the speaker outside a quotation,
        # and not as saying it, is about them (nobody speaks of himself by name)
        and ctx.speaker not in people_named(_QUOTED.sub("", folded), people)
        and _continues(folded, ctx, heading)
    ):
        who = speaker = ctx.speaker
    else:
        who = None  # narration, a question, or someone outside the glossary
    curly = text.count("“") + text.count("「") - text.count("”") - text.count("」")
    open_quote = curly > 0 or text.count('"') % 2 == 1
    return who, Context(speaker, named, heading, open_quote)


# the last sentence gives what was said ("Li Yanhong said today that …", 李彦宏表示,闭源…),
# not only who is about to speak ("… Wang Xiaochuan told reporters.", 李彦宏表示:)
_REPORTED = re.compile(
    rf"\b(?:{_EN_VERBS})\b(?:\s+[a-z]+){{0,5}}?\s+that\b"
    # "Wu said the argument ignored …", "Ko says vendor-reported rates are …": a saying
    # verb and a clause (not "told reporters.", "said in an interview.", nor "talked about
    # the dispute …", which names a topic)
    rf"|\b(?:{_EN_SAYING})\s+(?!(?:in|at|on|during|after|before|to|when|while|with|as|"
    rf"by|for|from)\b)[a-z][\w'’-]*(?:\s+[^\s.!?;]+){{3,}}"
    rf"|(?:{_ZH_VERBS})[,，]?[^。！？!?:：\n]{{8,}}[。！？!?]?\s*$"
)


# … or gives it before the name ("Baidu has no plans to release it, Li told reporters.")
_REPORTED_BEFORE = re.compile(rf"[^,，]{{20,}}[,，]\s*(?:(?:{_EN_VERBS})\s+)?$")
# a paragraph that is the interviewer's question, or the answer, by its label
_ASKED = re.compile(r"\s*(?:问|q|记者|主持人|host|reporter|interviewer)\s*[:：]")
_INTERVIEW_INTRO = re.compile(
    r"接受[^。！？!?\n]{0,12}?(?:采访|专访|访问|访谈)[^。！？!?\n]*[。！？!?]?\s*以下|以下[为是][^。\n]{0,8}[:：]\s*$"
)
_ANSWERED = re.compile(r"\s*(?:答|a)\s*[:：]")


def _last_sentence_start(folded: str) -> int:
    ends = [m.start() for m in _SENTENCE_END.finditer(folded.rstrip()) if m.start() > 0]
    return ends[-1] if ends else 0


def _continues(folded: str, ctx: Context, heading: str | None) -> bool:
    """Whether unattributed text carries on the speech before it: inside a quotation left
    open, under the same interview question, in the first person, or opening a quote."""
    if ctx.speaker is None:
        return False
    if ctx.open_quote:
        return True
    if heading and heading == ctx.heading and _INTERVIEW_QUESTION.match(fold(heading)):
        return True
    return bool(_FIRST_PERSON.search(_QUOTED.sub("", folded)) or _OPENS_QUOTE.match(folded))


def speaker_of(text: str, before: str, people: list[Person]) -> str | None:
    """Who the passage's words belong to, given the article text before it (one passage)."""
    ctx = Context()
    if before:
        _, ctx = speaker_in_context(before, people, Context())
    return speaker_in_context(text, people, ctx)[0]


def attribute(
    text: str, before: str, after: str, people: list[Person]
) -> tuple[list[QuoteSpan], str | None]:
    """Quotations in ``text`` with their speakers, and the passage's speaker.

    ``before`` and ``after`` are the neighbouring text of the same article: an attribution
    may precede the quote (李彦宏表示：“…”) or follow it (“…,” Li said).
    """
    speaker = speaker_of(text, before, people)
    spans = quote_spans(text, after, people, speaker)
    return spans, main_speaker(speaker, spans)


def main_speaker(speaker: str | None, spans: list[QuoteSpan]) -> str | None:
    """The passage's speaker when it quotes two people: the one it quotes at more than twice
    the other's length ("Fang said only that “…”. Ko … offers a longer rebuttal. “…,” she
    says. “…”"); else the one its reading found first."""
    quoted: dict[str, int] = {}
    for span in spans:
        if span.speaker is not None:
            quoted[span.speaker] = quoted.get(span.speaker, 0) + span.end - span.start
    if speaker not in quoted or len(quoted) < 2:
        return speaker
    most = max(quoted, key=quoted.__getitem__)
    return most if quoted[most] > 2 * quoted[speaker] else speaker


# between a quotation's closing mark and its speaker's name: the mark, a comma, "said"
_ATTRIBUTION_GAP = re.compile(
    r"[”」』\"',，。.!?！？\s]{0,4}(?:(?:said|says|added|told|wrote)\s+)?"
)


def quote_spans(
    text: str, after: str, people: list[Person], speaker: str | None
) -> list[QuoteSpan]:
    """The quotations of a passage whose speaker is ``speaker``, each with its own speaker:
    the nearest attribution before it in the passage, else right after it, else ``speaker``."""
    att = _attributor(people)
    folded = fold(text)
    spans: list[QuoteSpan] = []
    # (“…,” she says: the person named before the pronoun, as for the passage's speaker)
    own = sorted(att.attributions(folded) + att.pronoun_attributions(folded))
    follow = att.attributions(fold(after)[:80])
    # someone the glossary does not name asks or says it ("主持人反问,“…”")
    roles = [m.start() for p in _OTHER_SPEAKER for m in p.finditer(folded)]
    pronoun = att.pronoun_attribution(folded)
    for start, end in find_quotes(text):
        if start and _SO_CALLED.search(folded, max(0, start - 12), start - 1):
            continue
        if _is_term(folded, start, end):
            continue
        before = max(0, start - 1)
        if _DISPUTED_EN.search(folded, max(0, start - 60), before) or (
            _DISPUTED_ZH.search(folded, max(0, start - 12), before)
            and _DISPUTED_CLAIM.match(folded, end + 1)
        ) or _DISPUTED_AFTER.match(folded, end + 1):
            spans.append(QuoteSpan(start, end, None))
            continue
        prior = [who for pos, who in own if pos < start]
        last_named = max((pos for pos, _ in own if pos < start), default=-1)
        if any(last_named < r < start for r in roles):
            spans.append(QuoteSpan(start, end, None))
            continue
        later = [who for pos, who in own if pos >= end]
        # `"…," said Tom Becker` / `"…," Becker said`: the attribution right after the
        # closing mark is this quotation's, whoever spoke before it; not after a quotation
        # that ends its sentence (“…。”李彦宏表示同意 starts another)
        closed = text[start:end].rstrip()[-1:] in "。！？.!?"
        right_after = [
            who for pos, who in own
            if not closed and pos >= end and _ATTRIBUTION_GAP.fullmatch(folded[end:pos])
        ]
        who = right_after[0] if right_after else prior[-1] if prior else (
            later[0] if later else None
        )
        # (not a quotation the passage has introduced: 他表示:“…” with 他 unresolved)
        introduced = pronoun is not None and pronoun < start
        # (when the passage is someone's speech already, only a quotation its sentence
        # leaves open, “…,”: one ending the sentence is theirs, not the next speaker's)
        open_end = text[start:end].rstrip()[-1:] in ",，、"
        if (
            who is None and end >= len(text) - 2 and follow and not introduced
            and (speaker is None or open_end)
        ):
            who = follow[0][1]
        spans.append(QuoteSpan(start, end, who or speaker))
    return spans
