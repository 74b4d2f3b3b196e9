"""Web chat (Gradio): ask in English or Chinese, read the cited passages, open them in context.

``build_demo`` makes the Blocks app, ``launch`` serves it, ``serve`` does both after loading the
index (``python app.py``). Everything shown is HTML built here from escaped text: no text from
a question or a document ever reaches the page as markup. ``/ask`` is the programmatic
endpoint: ``gradio_client.Client(url).predict(question, api_name="/ask")`` returns a list of
dicts with ``Hit``'s fields.
"""

# No `from __future__ import annotations` here: gr.api reads the /ask endpoint's types from the
# runtime annotations of its function.

import html
import logging
import math
import re
import socket
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import (
    IndexCorruptError,
    IndexMismatchError,
    InvalidQueryError,
    MissingExtraError,
    QuoteBotError,
    ServeError,
)

try:
    import gradio as gr
except ImportError as exc:  # pragma: no cover - exercised with gradio hidden from imports
    raise MissingExtraError(
        "the web chat needs Gradio, an optional dependency: pip install 'quotebot[ui]'"
    ) from exc

from .clean import CJK
from .corpus import LANGS, DocInfo, load_catalog
from .format import LANG_NAMES, NO_ANSWER
from .ingest import FORMATS, add_document
from .lexical import fold, traditional
from .passages import article, detect_lang
from .retrieve import clean_query, get_engine, is_invisible, retrieve
from .settings import SETTINGS
from .types import Hit, Report

log = logging.getLogger(__name__)

#: Turns kept on screen (and in the session state); older ones scroll away.
MAX_TURNS = 50
#: Characters of a question echoed back in the chat (the rest is elided).
ECHO_CHARS = 500
#: Upper bound of the "passages" slider (retrieve accepts up to Settings.max_k).
UI_MAX_K = 20
#: Requests served at once (the engine is thread-safe for queries).
CONCURRENCY = 8

EXAMPLES = [
    "Why didn't Baidu open-source ERNIE?",
    "How many calls does ERNIE serve per day?",
    "百度为什么不开源?",
    "李彦宏怎么看大模型创业公司?",
    "為什麼百度強調智能體?",
    "李彥宏如何看待開源模型?",
]

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "lead": "{n} passage{ns} from {m} article{ms}",
        "none": NO_ANSWER["en"],
        "filtered_out": (
            "No passage is in the chosen articles, languages and speaker; widen the filters."
        ),
        "speaker_gone": (
            "No passage is attributed to {name} any more; close and reopen Filters (or "
            "reload the page) to see the speakers there are now."
        ),
        "docs_gone": (
            "The chosen article is no longer in the catalog; close and reopen Filters (or "
            "reload the page) to see the articles there are now."
        ),
        "filtered_names": (
            "No passage the filters leave mentions {names}; other passages do. "
            "Widen the filters."
        ),
        "error": "Something went wrong while searching. Please try again.",
        "rebuild": (
            "The search index is out of date (the articles changed since it was built) or "
            "damaged: it cannot answer until it is rebuilt (whoever runs this app: "
            "python -m bot build)."
        ),
        "you": "You",
        "filtered_by": "Filtered: {what}",
        "n_articles": "{n} article{s}",
        "speaker": "Speaker",
        "colon": ": ",
        "also": "Also reported in",
        "parallel": "Counterpart in {lang}",
        "open": "Show in article",
        "show": "show",
        "copy": "Copy citation",
        "copy_short": "Copy",
        "copied": "Copied",
        "empty": "(empty question)",
        "ask_empty": "The question is empty; type a question (1 to {limit} characters).",
        "too_long": (
            "The question is {n} characters long; the limit is {limit}. "
            "Shorten it to the part you want answered."
        ),
        "elided": "… ({n} characters in all)",
        "strong": "strong match",
        "good": "good match",
        "fair": "fair match",
        "weak": "weak match",
        "highlighted": "Highlighted: ¶{p}, characters {s}–{e} of {path}",
        "close": "Close article",
        "article_text": "Article text",
        "stale": "The article has changed since this answer; ask the question again.",
        "gone": "That passage is no longer in this conversation; ask the question again.",
        "no_article": "That article is no longer in the catalog ({doc}); ask the question again.",
        "by_id": "Only the catalogued articles can be opened, by document id.",
    },
    "zh-Hans": {
        "lead": "找到 {n} 段出处，来自 {m} 篇文章",
        "none": NO_ANSWER["zh-Hans"],
        "filtered_out": "所选文章、语言和说话人之下没有任何段落，请放宽筛选条件。",
        "speaker_gone": (
            "已没有段落归于 {name}，"
            "请收起再展开“Filters / 筛选”（或刷新页面）查看现有发言人。"
        ),
        "docs_gone": (
            "所选文章已不在文章目录中，"
            "请收起再展开“Filters / 筛选”（或刷新页面）查看现有文章。"
        ),
        "filtered_names": (
            "筛选后的段落都没有提到 {names}，其他段落有。请放宽筛选条件。"
        ),
        "error": "检索时出错，请重试。",
        "rebuild": (
            "检索索引已过时（建立后文章有改动）或已损坏，重建后才能回答"
            "（运行本应用的人：python -m bot build）。"
        ),
        "you": "你",
        "filtered_by": "已筛选：{what}",
        "n_articles": "{n} 篇文章",
        "speaker": "说话人",
        "colon": "：",
        "also": "亦见于",
        "parallel": "{lang} 对照",
        "open": "在原文中查看",
        "show": "查看",
        "copy": "复制出处",
        "copy_short": "复制",
        "copied": "已复制",
        "empty": "（空问题）",
        "ask_empty": "问题是空的，请输入问题（1 到 {limit} 个字符）。",
        "too_long": "问题共 {n} 个字符，超过了 {limit} 个字符的上限。请只保留想问的部分。",
        "elided": "……（共 {n} 个字符）",
        "strong": "高度相关",
        "good": "相关",
        "fair": "部分相关",
        "weak": "弱相关",
        "highlighted": "高亮：第 {p} 段，{path} 的第 {s}–{e} 个字符",
        "close": "关闭原文",
        "article_text": "原文",
        "stale": "原文在回答之后已有改动，请重新提问。",
        "gone": "这段出处已不在当前对话中，请重新提问。",
        "no_article": "这篇文章已不在文章目录中（{doc}），请重新提问。",
        "by_id": "只能按文档编号打开目录中的文章。",
    },
    "zh-Hant": {
        "lead": "找到 {n} 段出處，來自 {m} 篇文章",
        "none": NO_ANSWER["zh-Hant"],
        "filtered_out": "所選文章、語言和說話人之下沒有任何段落，請放寬篩選條件。",
        "speaker_gone": (
            "已沒有段落歸於 {name}，"
            "請收起再展開「Filters / 篩選」（或重新載入頁面）查看現有發言人。"
        ),
        "docs_gone": (
            "所選文章已不在文章目錄中，"
            "請收起再展開「Filters / 篩選」（或重新載入頁面）查看現有文章。"
        ),
        "filtered_names": (
            "篩選後的段落都沒有提到 {names}，其他段落有。請放寬篩選條件。"
        ),
        "error": "檢索時出錯，請重試。",
        "rebuild": (
            "檢索索引已過時（建立後文章有改動）或已損壞，重建後才能回答"
            "（運行本應用的人：python -m bot build）。"
        ),
        "you": "你",
        "filtered_by": "已篩選：{what}",
        "n_articles": "{n} 篇文章",
        "speaker": "說話人",
        "colon": "：",
        "also": "亦見於",
        "parallel": "{lang} 對照",
        "open": "在原文中查看",
        "show": "查看",
        "copy": "複製出處",
        "copy_short": "複製",
        "copied": "已複製",
        "empty": "（空問題）",
        "ask_empty": "問題是空的，請輸入問題（1 到 {limit} 個字元）。",
        "too_long": "問題共 {n} 個字元，超過了 {limit} 個字元的上限。請只保留想問的部分。",
        "elided": "……（共 {n} 個字元）",
        "strong": "高度相關",
        "good": "相關",
        "fair": "部分相關",
        "weak": "弱相關",
        "highlighted": "標示：第 {p} 段，{path} 的第 {s}–{e} 個字元",
        "close": "關閉原文",
        "article_text": "原文",
        "stale": "原文在回答之後已有改動，請重新提問。",
        "gone": "這段出處已不在當前對話中，請重新提問。",
        "no_article": "這篇文章已不在文章目錄中（{doc}），請重新提問。",
        "by_id": "只能按文件編號打開目錄中的文章。",
    },
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
# a doc id is a plain catalog key: word characters, dots and dashes; no separators, no "..",
# no percent escapes (anything else is refused before the catalog is even read)
_DOC_ID = re.compile(r"\w[\w.-]{0,127}")


def texts(lang: str) -> dict[str, str]:
    """The UI strings for a question language (English for anything unknown)."""
    return _TEXT.get(lang, _TEXT["en"])


def esc(text: object) -> str:
    """Text made safe for HTML: control characters dropped, lone surrogates made "?", escaped."""
    s = text if isinstance(text, str) else ("" if text is None else str(text))
    s = s.encode("utf-8", "replace").decode("utf-8")
    return html.escape(_CONTROL.sub("", s), quote=True)


def is_blank(question: object) -> bool:
    """Whether a question holds nothing to ask: only whitespace, control characters, lone
    surrogates or invisible format characters (a zero-width space), as ``clean_query`` sees it."""
    return not isinstance(question, str) or all(is_invisible(c) for c in question)


# punctuation of Chinese text only (。、「」 and the full-width ，；：？！), not “…” English shares
_ZH_PUNCT = re.compile(r"[\u3000-\u303f\uff01\uff0c\uff1a\uff1b\uff1f]")


def question_lang(question: object, script: str = "zh-Hans") -> str:
    """The language of a question (``en`` when it has no letters to tell); ``script``, the
    reader's (``reader_script``), for Chinese that either script writes (百度的市值)."""
    if not isinstance(question, str):
        return "en"
    if _KANA.search(question):
        return "en"  # Japanese: its kanji are not Chinese to answer in; English is the fallback
    text = question[: SETTINGS.max_query_chars]
    # no letters but Chinese punctuation ("？！。，……", a tester's): typed on a Chinese keyboard
    if not CJK.search(text) and not re.search(r"[^\W\d_]", text) and _ZH_PUNCT.search(text):
        return script
    return detect_lang(text, default=script) if CJK.search(text) else detect_lang(text)


def lead(hits: Sequence[Hit], lang: str) -> str:
    """One line above the cards: how many passages from how many articles (plain text)."""
    if not hits:
        return texts(lang)["none"]
    n, m = len(hits), len({h.doc_id for h in hits})
    return texts(lang)["lead"].format(
        n=n, m=m, ns="" if n == 1 else "s", ms="" if m == 1 else "s"
    )


# -- conversation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One question and its answer: hits, or a message (no answer, bad input, error)."""

    question: str
    lang: str
    hits: tuple[Hit, ...] = ()
    message: str | None = None
    kind: str = "hits"  # "hits", "none" or "error"
    length: int = 0  # characters in the question as typed
    # speakers' names as the question's language writes them (Robin Li -> 李彦宏 / 李彥宏)
    names: tuple[tuple[str, str], ...] = ()
    # the filters it was asked under, in its language ("" without): see filters_line
    filters: str = ""


def answer(
    question: object,
    k: object = SETTINGS.k,
    doc_ids: Sequence[str] | None = None,
    langs: Sequence[str] | None = None,
    speaker: str | None = None,
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    script: str = "zh-Hans",
) -> Turn:
    """Ask ``retrieve`` and wrap the outcome in a Turn; never raises. ``script``: the
    reader's, for a Chinese question either script writes (``question_lang``)."""
    speaker = speaker or None  # the filter's "anyone" is the empty string
    text = question if isinstance(question, str) else ""
    lang = question_lang(text, script)
    echo = text[:ECHO_CHARS]
    if isinstance(k, float) and k.is_integer():  # sliders send floats
        k = int(k)
    if isinstance(question, str):
        # the two input mistakes a person makes, told in the question's language
        try:
            clean_query(question)
        except InvalidQueryError:
            # counted as clean_query counts (normalised: "क़" is two characters then)
            n = len(" ".join(unicodedata.normalize("NFC", text).split()))
            limit = SETTINGS.max_query_chars
            t = texts(lang)
            message = t["too_long"] if n > limit else t["ask_empty"]
            # (the elided echo counts as the message does)
            return Turn(echo, lang, message=message.format(n=n, limit=limit), kind="error",
                        length=n)
    try:
        engine = get_engine(data_dir, index_dir, model)
        if speaker is not None and isinstance(speaker, str):
            try:
                engine.canonical_speaker(speaker)
            except InvalidQueryError:
                # a person the page listed whose article has been removed since
                # (a Chinese name in the page's script, as the speaker list shows it)
                in_script = lang == "zh-Hant" and CJK.search(speaker)
                name = traditional(speaker) if in_script else speaker
                return Turn(echo, lang, message=texts(lang)["speaker_gone"].format(name=name),
                            kind="none", length=len(text))
        if doc_ids:
            # an article removed since the page listed it: the filter keeps the ones still there
            doc_ids = [d for d in doc_ids if d in engine.docs]
            if not doc_ids:  # ... and when none is, says so, not that the filters are narrow
                return Turn(echo, lang, message=texts(lang)["docs_gone"], kind="none",
                            length=len(text))
        hits = retrieve(
            question,  # type: ignore[arg-type]  # retrieve checks the type itself
            k,  # type: ignore[arg-type]
            data_dir=data_dir,
            index_dir=index_dir,
            model=model,
            doc_ids=list(doc_ids) if doc_ids else None,
            langs=list(langs) if langs else None,
            speaker=speaker,
        )
    except (IndexMismatchError, IndexCorruptError) as exc:
        # (the full message, with what changed, is for whoever runs the app)
        log.error("cannot answer: %s", exc)
        return Turn(echo, lang, message=texts(lang)["rebuild"], kind="error", length=len(text))
    except (QuoteBotError, TypeError) as exc:
        return Turn(echo, lang, message=str(exc), kind="error", length=len(text))
    except Exception:
        log.exception("search failed for a question of %d characters", len(text))
        return Turn(echo, lang, message=texts(lang)["error"], kind="error", length=len(text))
    names = speaker_names(engine, lang) if lang != "en" else ()
    # (on a phone the filters are far below the answer, and their header says nothing of
    # them: the answer says what it was searched under, a tester's)
    # (every article chosen narrows nothing, as every language ticked does not)
    chosen = doc_ids if doc_ids and set(engine.docs) - set(doc_ids) else None
    shown = filters_line(lang, chosen, langs, speaker and dict(names).get(speaker, speaker))
    if not hits:
        message = texts(lang)["none"]
        if doc_ids or langs or speaker:
            message = filtered_message(
                engine, text, lang, list(langs) if langs else None,
                list(doc_ids) if doc_ids else None, speaker,
            ) or message
        return Turn(echo, lang, message=message, kind="none", length=len(text), filters=shown)
    return Turn(echo, lang, hits=tuple(hits), length=len(text), names=names, filters=shown)


def filters_line(
    lang: str,
    doc_ids: Sequence[str] | None,
    langs: Sequence[str] | None,
    speaker: str | None,
) -> str:
    """What an answer was searched under, in ``lang`` ("Filtered: 1 article · English ·
    Speaker Fang Han"); "" without filters. All three languages ticked is no filter."""
    t = texts(lang)
    parts = []
    if doc_ids:
        n = len(doc_ids)
        parts.append(t["n_articles"].format(n=n, s="" if n == 1 else "s"))
    chosen = [x for x in LANGS if x in (langs or ())]
    if chosen and len(chosen) < len(LANGS):
        parts.append(("、" if lang != "en" else ", ").join(LANG_NAMES[x] for x in chosen))
    if speaker:
        parts.append(f'{t["speaker"]} {speaker}')
    return t["filtered_by"].format(what=" · ".join(parts)) if parts else ""


def filtered_message(
    engine: Any,
    question: str,
    lang: str,
    langs: list[str] | None,
    doc_ids: list[str] | None,
    speaker: str | None,
) -> str | None:
    """Why a filtered question got nothing, when the filters are the reason: they leave no
    passage at all, or none naming someone (or something) the question names and the other
    articles do ("方汉怎么看开源?" over the English passages only); None otherwise."""
    try:
        missing = engine.filtered_away(question, langs, doc_ids, speaker)
    except (QuoteBotError, TypeError):
        return None
    if missing is None:
        return None
    if not missing:
        return texts(lang)["filtered_out"]
    shown = dict(speaker_names(engine, lang)) if lang != "en" else {}
    names = "、".join(shown.get(n, n) for n in missing) if shown else ", ".join(missing)
    return texts(lang)["filtered_names"].format(names=names)


def speaker_choices(engine: Any, script: str = "zh-Hans") -> list[tuple[str, str]]:
    """The speaker filter's choices: anyone, then each person some passage is attributed to
    or quotes, by canonical name with the Chinese one beside it, in ``script`` (zh-Hans or
    zh-Hant)."""
    chinese = {c: z for c, z in speaker_names(engine, script)}
    choices = [(LABELS["anyone"], "")]
    for name in engine.speaker_list():
        shown = f"{name} · {chinese[name]}" if chinese.get(name, name) != name else name
        choices.append((shown, name))
    return choices


def speaker_names(engine: Any, lang: str) -> tuple[tuple[str, str], ...]:
    """Each glossary person's canonical name and the Chinese alias to show for it in ``lang``
    (simplified or traditional); people without a Chinese alias keep their name. A Chinese
    name outside the glossary (an article's own speaker, 陳大文) is shown in ``lang``'s
    script too."""
    out = []
    for person in engine.people:
        chinese = next((a for a in person.aliases if CJK.search(a)), None)
        if chinese:  # aliases are folded (simplified); a traditional page gets them back
            out.append((person.canonical, traditional(chinese) if lang == "zh-Hant" else chinese))
    # ... and so is one named in pinyin whose Chinese name a Chinese report gives
    in_chinese = getattr(engine, "chinese_names", {})
    for name in getattr(engine, "other_speakers", ()):
        written = name if CJK.search(name) else in_chinese.get(name)
        if written:
            simple = fold(written)  # a name of CJK characters only: folding is the script
            out.append((name, traditional(simple) if lang == "zh-Hant" else simple))
    return tuple(out)


def box_after(question: str | None, turn: Turn) -> str | None:
    """What to put in the question box after a turn: a question that could not be asked (too
    long, say) goes back to be shortened or fixed; otherwise None, the box is left alone (it
    was emptied when the question was sent, and may hold the next one being typed)."""
    return (question or "") if turn.kind == "error" else None


def slider_k(k: object) -> object:
    """The passages control's value as a whole number within the slider's range (its number
    box accepts any decimal); anything else goes to ``retrieve`` to be refused."""
    if k is None:
        return SETTINGS.k
    if isinstance(k, int | float) and not isinstance(k, bool) and math.isfinite(k):
        # halves up, as the slider shows them (round() would make 2.5 two)
        return min(max(math.floor(k + 0.5), 1), UI_MAX_K)
    return k


def passage_html(hit: Hit, names: Sequence[tuple[str, str]] = ()) -> str:
    """The passage, escaped, with its direct quotations in ``<em class="qb-quote">`` (their
    speaker as a tooltip, named as ``names`` say: Turn.names)."""
    shown = dict(names)
    text = hit.text
    spans: list[tuple[int, int, str | None]] = []
    for q in sorted(hit.quotes, key=lambda q: (q.start, q.end)):
        s, e = max(0, q.start - hit.start), min(len(text), q.end - hit.start)
        if e <= s or (spans and s < spans[-1][1]):
            continue  # outside the passage, empty, or overlapping the previous quotation
        spans.append((s, e, q.speaker))
    out, at = [], 0
    for s, e, speaker in spans:
        out.append(esc(text[at:s]))
        title = f' title="{esc(shown.get(speaker, speaker))}"' if speaker else ""
        out.append(f'<em class="qb-quote"{title}>{esc(text[s:e])}</em>')
        at = e
    out.append(esc(text[at:]))
    return "".join(out)


def _match_html(hit: Hit, t: dict[str, str]) -> str:
    score = min(1.0, max(0.0, float(hit.score)))
    word = hit.match if hit.match in ("strong", "good", "fair", "weak") else "fair"
    return (
        f'<span class="qb-match qb-match-{word}" data-match="{word}" '
        f'title="score {score:.2f}"><span class="qb-bar" aria-hidden="true">'
        f'<span style="width:{score * 100:.0f}%"></span></span>{esc(t[word])}</span>'
    )


# icons are inline SVG: no icon font or emoji font is needed to draw them
_ICON_COPY = (
    '<svg class="qb-icon" viewBox="0 0 24 24" aria-hidden="true"><rect x="9" y="9" width="11" '
    'height="11" rx="2"/><path d="M5 15V6a2 2 0 0 1 2-2h9"/></svg>'
)
_ICON_DOC = (
    '<svg class="qb-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 3h8l5 5v13H6z"/>'
    '<path d="M14 3v5h5M9 13h7M9 17h7"/></svg>'
)


def _cite_html(citation: str, t: dict[str, str], date: str | None = None) -> str:
    # the date is kept on one line ("2024-" / "09-24" across two lines reads as broken)
    shown = esc(citation)
    if date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) and date in shown:
        a, _, b = shown.partition(date)
        shown = f'{a}<span class="qb-nowrap">{date}</span>{b}'
    return (
        f'<div class="qb-cite-row"><cite class="qb-cite">{shown}</cite>'
        # (a screen reader names each button with its card's citation, not "Copy" five times)
        f'<button type="button" class="qb-copy" data-copy="{esc(citation)}" '
        f'aria-label="{esc(t["copy"])}{esc(t["colon"])}{esc(citation)}" '
        f'data-done="{esc(t["copied"])}" title="{esc(t["copy"])}">{_ICON_COPY}'
        f'<span class="qb-copy-label">{esc(t["copy_short"])}</span></button></div>'
    )


def _open_button(
    turn: int, card: int, which: str, label: str, cls: str = "", icon: str = "", lang: str = "en",
    of: str = "",
) -> str:
    """A button that opens a passage in its article; ``of`` (its citation) completes the
    name a screen reader gives it."""
    named = f' aria-label="{esc(label)}{esc(texts(lang)["colon"])}{esc(of)}"' if of else ""
    return (
        f'<button type="button" class="qb-open{cls}" data-turn="{turn}" data-card="{card}" '
        f'data-which="{esc(which)}" data-lang="{esc(lang)}"{named}>{icon}{esc(label)}</button>'
    )


_PART = re.compile(r" \(part (\d+) of (\d+)\)")


def shown_citation(citation: str, lang: str) -> str:
    """A citation as a ``lang`` answer shows (and copies) it: a long paragraph's "(part 2 of
    3)" reads "（第 2 部分，共 3 部分）" in a Chinese answer."""
    if lang == "en":
        return citation
    return _PART.sub(lambda m: f"（第 {m[1]} 部分，共 {m[2]} 部分）", citation)


def card_html(
    hit: Hit, n: int, turn: int, lang: str, names: Sequence[tuple[str, str]] = ()
) -> str:
    """One passage card (``n`` is 1-based; ``names`` as in Turn.names)."""
    t = texts(lang)
    citation = shown_citation(hit.citation or f"{hit.doc_id}, ¶{hit.paragraph}", lang)
    parts = [
        f'<li class="qb-card" id="qb-t{turn}-p{n}" data-doc="{esc(hit.doc_id)}">',
        '<div class="qb-card-head">',
        f'<span class="qb-num">{n}</span>',
        f'<span class="qb-lang">{esc(LANG_NAMES.get(hit.lang, hit.lang))}</span>',
        _match_html(hit, t),
        "</div>",
        f'<blockquote class="qb-text" lang="{esc(hit.lang)}">'
        f"{passage_html(hit, names)}</blockquote>",
    ]
    if hit.speaker:
        who = dict(names).get(hit.speaker, hit.speaker)
        hover = f' title="{esc(hit.speaker)}"' if who != hit.speaker else ""
        parts.append(
            f'<div class="qb-speaker">{esc(t["speaker"])}{esc(t["colon"])}'
            f'<span class="qb-who"{hover}>{esc(who)}</span></div>'
        )
    parts.append(_cite_html(citation, t, hit.date))
    # the counterpart in the other language is shown whole below, not listed again
    par = hit.parallel
    also = [
        (i, r) for i, r in enumerate(hit.also_in)
        if par is None or (r.doc_id, r.start, r.end) != (par.doc_id, par.start, par.end)
    ]
    if also:
        cited = [(i, shown_citation(r.citation, lang), r.lang) for i, r in also]
        items = "".join(
            f'<li><span lang="{esc(r_lang)}">{esc(c)}</span> '
            f"{_open_button(turn, n, f'also:{i}', t['show'], ' qb-link', lang=lang, of=c)}"
            "</li>"
            for i, c, r_lang in cited
        )
        parts.append(
            f'<div class="qb-also"><span class="qb-label">{esc(t["also"])}'
            f'{esc(t["colon"].strip())}</span>'
            f"<ul>{items}</ul></div>"
        )
    if hit.parallel is not None:
        p = hit.parallel
        label = t["parallel"].format(lang=LANG_NAMES.get(p.lang, p.lang))
        p_cited = shown_citation(p.citation, lang)
        parts.append(
            f'<details class="qb-parallel" open><summary>{esc(label)}</summary>'
            f'<blockquote class="qb-text" lang="{esc(p.lang)}">{esc(p.text)}</blockquote>'
            f'<div class="qb-parallel-cite"><span lang="{esc(p.lang)}">{esc(p_cited)}</span> '
            f"{_open_button(turn, n, 'parallel', t['show'], ' qb-link', lang=lang, of=p_cited)}"
            "</div></details>"
        )
    parts.append(
        '<div class="qb-actions">'
        f'{_open_button(turn, n, "hit", t["open"], icon=_ICON_DOC, lang=lang, of=citation)}</div>'
        "</li>"
    )
    return "".join(parts)


def turn_html(turn: Turn, index: int) -> str:
    """A question bubble and its answer."""
    t = texts(turn.lang)
    shown = esc(turn.question) if turn.question.strip() else esc(t["empty"])
    if turn.length > len(turn.question):
        shown += f'<span class="qb-elided">{esc(t["elided"].format(n=turn.length))}</span>'
    parts = [
        f'<section class="qb-turn" data-turn="{index}" data-kind="{esc(turn.kind)}">',
        f'<div class="qb-q" lang="{esc(turn.lang)}"><span class="qb-you">{esc(t["you"])}</span>'
        f'<span class="qb-qtext">{shown}</span></div>',
        f'<div class="qb-a" lang="{esc(turn.lang)}">',
    ]
    if turn.hits:
        # a heading: a screen reader jumps from answer to answer (the page's only one was
        # "QuoteBot"), and the skip button below the box brings the focus here
        parts.append(f'<h2 class="qb-lead" tabindex="-1">{esc(lead(turn.hits, turn.lang))}</h2>')
    else:
        cls = "qb-none" if turn.kind == "none" else "qb-error"
        parts.append(f'<p class="qb-message {cls}" tabindex="-1">'
                     f'{esc(turn.message or t["none"])}</p>')
    if turn.filters:
        parts.append(f'<p class="qb-filters">{esc(turn.filters)}</p>')
    if turn.hits:
        parts.append('<ol class="qb-cards">')
        parts.extend(
            card_html(h, n, index, turn.lang, turn.names) for n, h in enumerate(turn.hits, 1)
        )
        parts.append("</ol>")
    parts.append("</div></section>")
    return "".join(parts)


# the controls' labels, in both languages as the section headers are (one page serves both)
LABELS = {
    "docs": "Articles (none chosen = all) / 文章（不选即全部）",
    # (all three are ticked at first: "none ticked = all" read as a contradiction, a tester's)
    "langs": "Passage languages / 段落语言",
    "k": "Passages / 段落数",
    "speaker": "Speaker / 说话人",
    "anyone": "Anyone / 任何人",
    "file": "File / 文件",
    "outlet": "Outlet (optional) / 媒体（选填）",
    "date": "Date (optional) / 日期（选填）",
    "title": "Title (optional) / 标题（选填）",
    "url": "URL (optional) / 网址（选填）",
    "author": "Author (optional) / 作者（选填）",
    "lang": "Language / 语言",
    "detect": "Detect / 自动识别",
    "add": "Add to the articles / 添加",
    "clear": "Clear conversation / 清空对话",
    # an upload's outcome, above the (English) detail
    "added": "Added / 已添加",
    "already": "Already in the articles / 已在文章中",
    "not_added": "Not added / 未添加",
}


# after the question box and Ask: Enter on it brings the keyboard to the latest answer
SKIP_HTML = (
    '<button type="button" class="qb-skip">Go to the latest answer / 查看最新回答</button>'
)
FILTERS = "Filters / 筛选"
ADD_ARTICLE = "Add an article / 添加文章"


@cache
def labels_i18n() -> gr.I18n:
    """The fixed labels a traditional-Chinese browser (zh-TW) shows: the English / simplified
    ones with their Chinese in Taiwan's traditional script and words. Gradio picks the locale
    from the browser and shows the key itself, the English / simplified label, for any other;
    it knows zh-CN and zh-TW only, so a zh-HK browser gets the simplified labels."""
    from opencc import OpenCC

    taiwan = OpenCC("s2twp")  # Taiwan's words too: 檔案 for 文件, 新增 for 添加
    shown = [FILTERS, ADD_ARTICLE, UPLOAD_HINT, *LABELS.values()]
    return gr.I18n(**{"zh-TW": {text: str(taiwan.convert(text)) for text in shown}})


def fixed_label(text: str) -> Any:
    """A fixed label, in the reader's script where Gradio knows it (``labels_i18n``)."""
    return labels_i18n()(text)


WELCOME = (
    '<div class="qb-empty"><p><strong>QuoteBot</strong> answers with verbatim, cited passages '
    "from the articles in its catalog: five news articles on Robin Li (李彦宏) and large "
    "models (open vs closed source, AI start-ups, agents), and any you add.</p>"
    '<p lang="zh-Hans">用中文或英文提问，回答都是原文段落，附出处。</p>'
    '<p lang="zh-Hant">可用繁體中文提問。</p></div>'
)


def chat_html(turns: Sequence[Turn]) -> str:
    """The whole conversation."""
    if not turns:
        return WELCOME
    body = "".join(turn_html(t, i) for i, t in enumerate(turns))
    return f'<div class="qb-chat">{body}</div>'


# -- source viewer -----------------------------------------------------------------------------

SOURCE_PLACEHOLDER = (
    '<div class="qb-source-empty">Choose <em>Show in article</em> on a passage to read it '
    'in context. <span lang="zh-Hans">点击“在原文中查看”阅读上下文。</span> '
    '<span lang="zh-Hant">點擊「在原文中查看」閱讀上下文。</span></div>'
)


def _refusal(message: str, lang: str = "en") -> str:
    close = texts(lang)["close"]
    return (
        f'<div class="qb-source-error" role="alert" lang="{esc(lang)}">'
        f'<button type="button" class="qb-src-close" aria-label="{esc(close)}" '
        f'title="{esc(close)}">×</button>{esc(message)}</div>'
    )


def source_html(
    doc_id: object,
    start: int,
    end: int,
    data_dir: str | Path | None = None,
    lang: str = "en",
    paragraph: int | None = None,
    expect: str | None = None,
) -> str:
    """The cleaned article ``doc_id`` with ``[start, end)`` of its source highlighted.

    Only catalogued documents open, by id: anything else (a path, an unknown id) gets a
    message and no file is read. With ``expect`` (the passage's text), an article whose
    characters there are no longer that text (edited since the answer) gets a message too.
    """
    t = texts(lang)
    if not isinstance(doc_id, str) or not _DOC_ID.fullmatch(doc_id) or ".." in doc_id:
        return _refusal(t["by_id"], lang)
    docs: dict[str, DocInfo] = {d.doc_id: d for d in load_catalog(data_dir)}
    if doc_id not in docs:
        return _refusal(t["no_article"].format(doc=doc_id), lang)
    if expect is not None and docs[doc_id].read_text()[start:end] != expect:
        return _refusal(t["stale"], lang)
    art = article(doc_id, data_dir)
    heading = art.label
    meta = ", ".join(x for x in (art.outlet if art.title else None, art.date) if x)
    parts = [
        f'<article class="qb-source" lang="{esc(art.lang)}" data-doc="{esc(art.doc_id)}">',
        f'<header><h3 class="qb-src-title">{esc(heading)}</h3>',
    ]
    if meta:
        parts.append(f'<p class="qb-src-meta">{esc(meta)}</p>')
    if paragraph is not None:
        # the stored text's file name: offsets refer to it; the server's directories stay private
        name = Path(art.source_path).name
        note = t["highlighted"].format(p=paragraph, s=start, e=end, path=name)
        parts.append(f'<p class="qb-src-note" lang="{esc(lang)}">{esc(note)}</p>')
    # focusable, so that a keyboard reader lands in the article and scrolls it with the keys
    parts.append(f'</header><div class="qb-doc" tabindex="-1" role="region" '
                 f'aria-label="{esc(t["article_text"])}">')
    for block in art.blocks:
        s, e = max(start, block.start), min(end, block.end)
        if e > s:
            a, b = s - block.start, e - block.start
            body = (
                f'{esc(block.text[:a])}<mark class="qb-hl">{esc(block.text[a:b])}</mark>'
                f"{esc(block.text[b:])}"
            )
        else:
            body = esc(block.text)
        if block.kind == "title":
            if "".join(block.text.split()) == "".join(heading.split()) and e <= s:
                continue  # the header above shows it already
            parts.append(f'<h4 class="qb-doc-title">{body}</h4>')
        elif block.kind == "heading":
            parts.append(f'<p class="qb-doc-heading">{body}</p>')
        else:
            parts.append(
                f'<p class="qb-para" data-para="{block.paragraph}">'
                f'<span class="qb-pn">¶{block.paragraph}</span>{body}</p>'
            )
    # the × comes after the text (shown at the top): the reader lands in the text, and Tab
    # goes on to it (a tester's: it was before the text, reached only with Shift+Tab)
    parts.append(
        f'</div><button type="button" class="qb-src-close" lang="{esc(lang)}" '
        f'aria-label="{esc(t["close"])}" title="{esc(t["close"])}">×</button></article>'
    )
    return "".join(parts)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def pick(turns: Sequence[Turn], turn: object, card: object, which: object) -> Hit | Report | None:
    """The passage a "show" button names: hit ``card`` (1-based) of ``turn``, or one of its
    ``also:i`` reports or its ``parallel``; None when the reference is not in the session."""
    ti, ci = _as_int(turn), _as_int(card)
    if ti is None or ci is None or not 0 <= ti < len(turns):
        return None
    hits = turns[ti].hits
    if not 1 <= ci <= len(hits):
        return None
    hit = hits[ci - 1]
    if which in (None, "", "hit"):
        return hit
    if which == "parallel":
        return hit.parallel
    if isinstance(which, str) and which.startswith("also:"):
        i = _as_int(which[5:])
        if i is not None and 0 <= i < len(hit.also_in):
            return hit.also_in[i]
    return None


# -- adding an article -------------------------------------------------------------------------

#: Longest metadata field accepted from the upload form (a title, an outlet, a URL).
MAX_FIELD_CHARS = 500
#: The "language" choice of the upload form that leaves it to detection.
DETECT_LANG = "auto"
UPLOAD_HINT = (
    f"Add an article ({', '.join(FORMATS)}; one file at a time). Outlet, date and title are "
    "taken from the document when it has them; fields filled in here win; nothing is invented."
    "\n\n"
    "添加一篇文章，一次一个文件。媒体、日期和标题取自文档本身；在此填写的内容优先；"
    f"不会编造任何内容。支持的格式：{' '.join(FORMATS)}"
)


@dataclass(frozen=True)
class Upload:
    """What an upload did: ``ok`` (added, or already there) and a message for the user."""

    ok: bool
    message: str
    doc_id: str | None = None
    added: bool = False


def _upload_path(file: object) -> Path | None:
    """The server-side path of what ``gr.File`` handed over (a path, or a file-like object)."""
    if isinstance(file, Path):
        return file
    if isinstance(file, str):
        return Path(file) if file.strip() else None
    name = getattr(file, "path", None) or getattr(file, "name", None)
    return Path(name) if isinstance(name, str) and name else None


def _field(name: str, value: object) -> str | None:
    """A metadata field of the form: None when blank; QuoteBotError when absurd."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise QuoteBotError(f"{name} must be text")
    text = " ".join(_CONTROL.sub(" ", value).split())
    if len(text) > MAX_FIELD_CHARS:
        raise QuoteBotError(f"{name} is too long (at most {MAX_FIELD_CHARS} characters)")
    return text or None


def add_upload(
    file: object,
    *,
    title: object = None,
    outlet: object = None,
    date: object = None,
    url: object = None,
    lang: object = None,
    author: object = None,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    progress: Any = None,
) -> Upload:
    """Add one uploaded file to the catalog and the index (``bot.ingest.add_document``, as
    ``python -m bot add`` does) and load the updated index; never raises.

    ``progress(fraction, message)`` follows the steps. A file that cannot be added gets a
    message saying why, and then nothing has changed (ingest's all-or-nothing).
    """

    def step(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    path = _upload_path(file)
    if path is None:
        return Upload(False, f"Choose a file to add first ({', '.join(FORMATS)}).")
    try:
        language = _field("language", lang)
        result = add_document(
            path,
            data_dir=data_dir,
            index_dir=index_dir,
            model=model,
            title=_field("title", title),
            outlet=_field("outlet", outlet),
            date=_field("date", date),
            url=_field("url", url),
            author=_field("author", author),
            lang=None if language in (None, DETECT_LANG) else language,
            progress=lambda f, m: step(0.9 * f, m),
        )
    except (QuoteBotError, MissingExtraError) as exc:
        return Upload(False, str(exc))
    except Exception:
        log.exception("adding %s failed", path.name)
        return Upload(False, f"{path.name}: something went wrong while adding it; nothing was "
                             "changed. Please try again.")
    message = result.message
    if result.added:
        if result.index_passages is not None:
            message += (
                f". Index updated: {result.index_passages} passages, "
                f"{result.encoded} newly encoded."
            )
        for warning in result.warnings:
            message += f" Warning: {warning}."
        step(0.95, "loading the updated index")
        try:
            get_engine(data_dir, index_dir, model)  # the next question is answered at speed
        except QuoteBotError as exc:
            message += f" The updated index could not be loaded: {exc}"
            return Upload(False, message, result.doc_id, result.added)
    step(1.0, "done")
    log.info("upload: %s", message)
    return Upload(True, message, result.doc_id, result.added)


def upload_html(upload: Upload | None) -> str:
    """The upload's outcome, escaped (empty before anything was uploaded)."""
    if upload is None:
        return ""
    cls = "qb-upload-ok" if upload.ok else "qb-upload-error"
    role = "status" if upload.ok else "alert"
    doc = f' data-doc="{esc(upload.doc_id)}"' if upload.doc_id else ""
    head = LABELS["added" if upload.added else "already" if upload.ok else "not_added"]
    return (
        f'<div class="qb-upload {cls}" role="{role}"{doc}>'
        f'<strong class="qb-upload-head">{esc(head)}</strong> '
        f'<span class="qb-upload-msg">{esc(upload.message)}</span></div>'
    )


# -- the app -----------------------------------------------------------------------------------

CSS = """
.gradio-container { max-width: 1280px !important; margin-left: auto !important;
  margin-right: auto !important; }
.gradio-container, .qb-root {
  font-family: "IBM Plex Sans", system-ui, "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC",
    "Microsoft YaHei", sans-serif;
}
:lang(zh-Hans) { font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC",
  "Microsoft YaHei", system-ui, sans-serif; }
:lang(zh-Hant) { font-family: "Noto Sans CJK TC", "Noto Sans TC", "PingFang TC",
  "Microsoft JhengHei", system-ui, sans-serif; }
#qb-chat { max-height: 68vh; overflow-y: auto !important; padding-right: 0.25rem; }
.qb-empty { color: var(--body-text-color-subdued); padding: 1rem 0.25rem; line-height: 1.6; }
.qb-empty p { margin: 0.25rem 0; }
.qb-turn { margin: 0 0 1.5rem; }
.qb-q { margin: 0 0 0.6rem auto; width: fit-content; max-width: 85%;
  background: var(--color-accent-soft); color: var(--body-text-color);
  border-radius: 14px 14px 3px 14px; padding: 0.5rem 0.8rem;
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.55; }
.qb-you { display: block; font-size: 0.75rem; font-weight: 600; opacity: 0.7; }
.qb-elided { opacity: 0.7; }
.qb-lead { font-weight: 600; font-size: 1rem; margin: 0.2rem 0 0.6rem; }
.qb-filters { margin: -0.4rem 0 0.6rem; font-size: 0.85rem; opacity: 0.8; }
.qb-message + .qb-filters { margin-top: 0.3rem; }
.qb-lead:focus, .qb-message:focus { outline: 2px solid var(--color-accent, #6366f1);
  outline-offset: 2px; }
/* the skip button: shown only while it has the keyboard's focus */
#qb-skip-row { position: relative; height: 0; overflow: visible; padding: 0 !important;
  margin: 0 !important; border: 0 !important; min-height: 0 !important; }
button.qb-skip { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
button.qb-skip:focus { position: relative; width: auto; height: auto; clip: auto; z-index: 5;
  white-space: normal; max-width: 100%; text-align: left;
  padding: 0.3rem 0.7rem; border-radius: 8px;
  background: var(--button-primary-background-fill, #6366f1);
  color: var(--button-primary-text-color, #fff); }
.qb-message { margin: 0.2rem 0; padding: 0.6rem 0.8rem; border-radius: 10px;
  background: var(--background-fill-secondary); overflow-wrap: anywhere; }
.qb-error { border-left: 3px solid var(--error-border-color, #e5484d); }
ol.qb-cards { list-style: none; padding: 0 !important; margin: 0 !important;
  display: grid; gap: 0.8rem; }
li.qb-card { margin: 0 !important; padding: 0.75rem 0.9rem;
  border: 1px solid var(--border-color-primary); border-radius: 12px;
  background: var(--background-fill-primary); overflow-wrap: anywhere; }
li.qb-card::before { content: none !important; }
.qb-card-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem;
  font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qb-num { display: inline-grid; place-items: center; min-width: 1.5rem; height: 1.5rem;
  border-radius: 999px; background: var(--color-accent); color: white; font-weight: 700; }
.qb-match { display: inline-flex; align-items: center; gap: 0.35rem; }
.qb-bar { display: inline-block; width: 4rem; height: 0.4rem; border-radius: 999px;
  background: var(--border-color-primary); overflow: hidden; }
.qb-bar > span { display: block; height: 100%; background: var(--color-accent); }
.qb-match-strong .qb-bar > span { background: #2e9d5b; }
.qb-match-good .qb-bar > span { background: #d39b1e; }
.qb-match-fair .qb-bar > span { background: #9a9a9a; }
.qb-match-weak .qb-bar > span { background: #c9c9c9; }
blockquote.qb-text { margin: 0.5rem 0 !important; padding: 0 0 0 0.8rem !important;
  border-left: 3px solid var(--color-accent) !important; font-style: normal !important;
  font-size: 1.02rem; line-height: 1.75; white-space: pre-wrap; overflow-wrap: anywhere;
  color: var(--body-text-color); quotes: none; }
blockquote.qb-text::before, blockquote.qb-text::after { content: none !important; }
em.qb-quote { font-style: normal; font-weight: 600;
  background: linear-gradient(transparent 60%, rgba(255, 196, 0, 0.35) 60%); }
.qb-speaker { font-size: 0.9rem; margin: 0.2rem 0; }
.qb-who { font-weight: 600; }
.qb-cite-row { display: flex; align-items: flex-start; gap: 0.4rem; margin: 0.35rem 0; }
cite.qb-cite { flex: 1 1 auto; font-style: normal; font-size: 0.88rem; user-select: all;
  color: var(--body-text-color); opacity: 0.8; overflow-wrap: anywhere; padding-top: 0.3rem; }
.qb-nowrap { white-space: nowrap; }
button.qb-copy, button.qb-open { display: inline-flex; align-items: center; gap: 0.3rem;
  cursor: pointer; border: 1px solid var(--border-color-primary);
  border-radius: 8px; background: var(--background-fill-secondary);
  color: var(--body-text-color); font: inherit; font-size: 0.85rem; padding: 0.15rem 0.5rem;
  min-height: 2rem; }
button.qb-copy { flex: none; white-space: nowrap; }
.qb-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; margin: 0; }  /* read out, not shown */
svg.qb-icon { width: 1rem; height: 1rem; flex: none; fill: none; stroke: currentColor;
  stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
button.qb-copied { border-color: #2e9d5b; color: #2e9d5b; }
button.qb-open:hover, button.qb-copy:hover { border-color: var(--color-accent); }
button.qb-link { min-height: 0; padding: 0 0.4rem; font-size: 0.8rem; }
.qb-also { font-size: 0.85rem; margin: 0.3rem 0; }
.qb-also ul { margin: 0.2rem 0 0 1rem !important; padding: 0 !important; }
.qb-label { font-weight: 600; }
details.qb-parallel { margin: 0.4rem 0; font-size: 0.95rem; }
details.qb-parallel summary { cursor: pointer; font-size: 0.85rem; font-weight: 600; }
.qb-parallel-cite { font-size: 0.82rem; color: var(--body-text-color-subdued); }
.qb-actions { margin-top: 0.5rem; }
#qb-up-status { min-height: 3.5rem; }  /* room for the progress bar while a file is added */
.qb-upload { margin: 0.3rem 0; padding: 0.5rem 0.75rem; border-radius: 10px;
  background: var(--background-fill-secondary); overflow-wrap: anywhere; line-height: 1.5; }
.qb-upload-head { display: block; margin-bottom: 0.15rem; }
.qb-upload-ok { border-left: 3px solid #2e9d5b; }
.qb-upload-error { border-left: 3px solid #e5484d; }
.qb-up-hint p { font-size: 0.85rem; color: var(--body-text-color-subdued); margin: 0; }
#qb-source { border: 1px solid var(--border-color-primary); border-radius: 12px;
  padding: 0.75rem 0.9rem; }
.qb-source-empty { color: var(--body-text-color-subdued); line-height: 1.6; }
.qb-source-error { padding: 0.5rem 0.75rem; border-left: 3px solid #e5484d;
  background: var(--background-fill-secondary); overflow-wrap: anywhere; }
.qb-source { position: relative; }
.qb-src-title { margin: 0 0 0.25rem !important; font-size: 1.05rem;
  overflow-wrap: anywhere; padding-right: 2.5rem; }
.qb-source > .qb-src-close { position: absolute; top: 0; right: 0; margin: -0.2rem -0.2rem 0 0; }
.qb-src-close { float: right; margin: -0.2rem -0.2rem 0 0.5rem; width: 2rem; height: 2rem;
  padding: 0 !important; display: flex; align-items: center; justify-content: center;
  border-radius: 8px; font-size: 1.25rem; line-height: 1; color: var(--body-text-color-subdued);
  background: transparent; border: 1px solid var(--border-color-primary); cursor: pointer; }
.qb-src-close:hover, .qb-src-close:focus-visible { color: var(--body-text-color);
  border-color: var(--color-accent); }
.qb-src-meta, .qb-src-note { margin: 0.1rem 0 !important; font-size: 0.82rem;
  color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.qb-doc { max-height: 70vh; overflow-y: auto; margin-top: 0.5rem; padding-right: 0.3rem; }
.qb-doc p { line-height: 1.75; margin: 0 0 0.7rem !important; overflow-wrap: anywhere; }
.qb-doc-title { margin: 0 0 0.6rem !important; overflow-wrap: anywhere; }
.qb-doc-heading { font-weight: 600; }
.qb-pn { font-size: 0.75rem; color: var(--body-text-color-subdued); margin-right: 0.35rem; }
mark.qb-hl { background: rgba(255, 196, 0, 0.45); color: inherit; padding: 0.05rem 0;
  border-radius: 3px; box-shadow: 0 0 0 2px rgba(255, 196, 0, 0.45); }
#qb-examples { flex-wrap: wrap; gap: 0.4rem; }
#qb-examples > button { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important;
  font-size: 0.85rem; border-radius: 999px; padding: 0.3rem 0.75rem; }
@media (min-width: 900px) {
  #qb-side { position: sticky; top: 0.5rem; align-self: flex-start; }
  #qb-chat { max-height: calc(100vh - 17rem); min-height: 20rem; }
}
@media (max-width: 640px) {
  #qb-chat { max-height: 62vh; }
  .qb-q { max-width: 100%; }
  li.qb-card { padding: 0.6rem 0.65rem; }
  blockquote.qb-text { font-size: 1rem; padding-left: 0.6rem !important; }
  .qb-doc { max-height: 60vh; }
  #qb-examples { gap: 0.35rem; }
}
"""

# Clicks inside the conversation: copy a citation (clipboard API, or a hidden textarea where
# the page is not a secure context) or ask the server for a passage in context.
CHAT_JS = """
element.addEventListener('click', (ev) => {
  const btn = ev.target.closest('button');
  if (!btn || !element.contains(btn)) return;
  if (btn.classList.contains('qb-copy')) {
    const text = btn.dataset.copy || '';
    const label = btn.querySelector('.qb-copy-label');
    const before = label ? label.textContent : '';
    const done = () => {
      btn.classList.add('qb-copied');
      if (label) label.textContent = btn.dataset.done || 'Copied';
      setTimeout(() => {
        btn.classList.remove('qb-copied');
        if (label) label.textContent = before;
      }, 1500);
    };
    const fallback = () => {
      const ta = document.createElement('textarea');
      ta.value = text; ta.setAttribute('readonly', '');
      ta.style.position = 'fixed'; ta.style.opacity = '0';
      document.body.appendChild(ta); ta.select();
      try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
      ta.remove(); done();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else { fallback(); }
  } else if (btn.classList.contains('qb-open')) {
    // remembered so that closing the article brings the reader back to this button
    window.qbOpener = {turn: btn.dataset.turn, card: btn.dataset.card,
                       which: btn.dataset.which || 'hit'};
    trigger('click', {turn: Number(btn.dataset.turn), card: Number(btn.dataset.card),
                      which: btn.dataset.which || 'hit', lang: btn.dataset.lang || 'en'});
  }
});
// a screen reader hears each new answer's lead line (or its message) from a live region
// outside the conversation, which is drawn anew with every answer
const live = document.createElement('p');
live.className = 'qb-sr';
live.setAttribute('role', 'status');
(element.closest('#qb-chat') || element).insertAdjacentElement('afterend', live);
// Gradio's accordion toggles (Filters, Add an article) are buttons that only change a class
// when opened: a screen reader hears "Filters, button" either way, and its ▼ as a "triangle"
const syncToggles = () => {
  for (const t of document.querySelectorAll('.gr-accordion > button.label-wrap')) {
    const open = String(t.classList.contains('open'));
    if (t.getAttribute('aria-expanded') !== open) t.setAttribute('aria-expanded', open);
    const icon = t.querySelector('.icon');
    if (icon && !icon.hasAttribute('aria-hidden')) icon.setAttribute('aria-hidden', 'true');
  }
};
syncToggles();
new MutationObserver(syncToggles).observe(document.body, {
  subtree: true, childList: true, attributes: true, attributeFilter: ['class'],
});
// the skip button under the question box: the keyboard's way to the latest answer (else
// a dozen Tabs through the examples and the filters, a tester's)
document.addEventListener('click', (event) => {
  if (!event.target.closest || !event.target.closest('button.qb-skip')) return;
  const turns = element.querySelectorAll('.qb-turn');
  const target = turns.length
    ? turns[turns.length - 1].querySelector('.qb-lead, .qb-message')
    : element.querySelector('.qb-empty');
  if (target) {
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
});
// a new answer: scroll the conversation (not the page) to the start of the last turn
watch('value', () => {
  const box = element.closest('#qb-chat') || element;
  const turns = element.querySelectorAll('.qb-turn');
  if (!turns.length) { live.textContent = ''; return; }
  const last = turns[turns.length - 1];
  const said = last.querySelector('.qb-lead, .qb-message');
  live.textContent = said ? said.textContent : '';
  box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top;
});
"""

# Runs in the page as a question is sent: the box is emptied at once, so what is typed while
# the answer is on its way stays there (the server leaves the box alone unless the question
# could not be asked). The input event keeps Gradio's own copy of the value in step.
SEND_JS = """
(...args) => {
  const box = document.querySelector('#qb-input textarea');
  if (box && box.value) {
    box.value = '';
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  return args;
}
"""

# Gradio scopes the rules of `css` inside media queries to its content area; the page margins
# lie outside it, so this one goes into <head> as it is.
HEAD = """<style>
@media (max-width: 640px) {
  .gradio-container .main { padding-left: 0.5rem !important; padding-right: 0.5rem !important; }
}
/* Gradio's own announcer says "Loading" and then "common.complete" (an untranslated key)
   after every answer; the page's live region (.qb-sr) reads the answer's lead instead */
div.sr-only[role="status"][aria-atomic="true"] { display: none !important; }
</style>"""

SOURCE_JS = """
element.addEventListener('click', (ev) => {
  const btn = ev.target.closest('button.qb-src-close');
  if (btn && element.contains(btn)) {
    element.dataset.closing = '1';
    trigger('click', {close: true});
  }
});
// Escape closes an open article as its × does (not while a text box or a list has the key)
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape' || ev.defaultPrevented) return;
  if (ev.target.closest && ev.target.closest('input, textarea, select, [role="listbox"]')) return;
  const close = element.querySelector('button.qb-src-close');
  if (close) close.click();
});
// an article opened: centre the highlight in the article's scroll box, and bring the viewer
// on screen when it is out of sight (on a phone it sits below the conversation)
watch('value', () => {
  const closing = element.dataset.closing;
  delete element.dataset.closing;
  if (closing && !element.querySelector('.qb-source, .qb-source-error')) {
    // closed: focus (and on a phone, scroll back to) the button that opened the article
    const o = window.qbOpener;
    const back = o && document.querySelector(
      `#qb-chat button.qb-open[data-turn="${o.turn}"][data-card="${o.card}"]` +
      `[data-which="${CSS.escape(o.which)}"]`);
    if (back) {
      back.focus({preventScroll: true});
      const b = back.getBoundingClientRect();
      if (b.top < 0 || b.bottom > window.innerHeight) back.scrollIntoView({block: 'center'});
    }
    return;
  }
  const mark = element.querySelector('mark.qb-hl');
  const doc = element.querySelector('.qb-doc');
  if (mark && doc) {
    const m = mark.getBoundingClientRect(), d = doc.getBoundingClientRect();
    doc.scrollTop += m.top - d.top - (doc.clientHeight - m.height) / 2;
  }
  // (the highlight counts too: after the viewer was closed its top can be on screen while
  // the passage, further down, is not)
  const r = element.getBoundingClientRect();
  const h = mark ? mark.getBoundingClientRect() : r;
  if (r.top < 0 || r.top > window.innerHeight - 80 || h.bottom > window.innerHeight) {
    element.scrollIntoView({block: 'start'});
  }
  // the reader goes where the article opened (Tab and the arrow keys go on from there; its
  // × or Escape brings them back to the button)
  if (doc && window.qbOpener) doc.focus({preventScroll: true});
});
"""


def _theme() -> Any:
    # system and bundled fonts only: nothing is fetched from a font service
    return gr.themes.Default(
        primary_hue="indigo",
        font=[
            gr.themes.LocalFont("IBM Plex Sans"),
            "system-ui",
            "Noto Sans CJK SC",
            "PingFang SC",
            "Microsoft YaHei",
            "sans-serif",
        ],
        font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "monospace"],
    ).set(
        # the default (neutral 400, #bbbbc2) is 1.9:1 on white, too faint for the article's
        # date line and paragraph numbers; neutral 500 is 4.8:1 (WCAG AA asks 4.5)
        body_text_color_subdued="*neutral_500",
        body_text_color_subdued_dark="*neutral_400",
    )


def _article_choices(data_dir: str | Path | None) -> list[tuple[str, str]]:
    out = []
    for d in load_catalog(data_dir):
        name = _shorten(d.label, 64)
        extra = ", ".join(x for x in (d.outlet if d.title else None, d.date) if x)
        out.append((f"{name} — {_shorten(extra, 64)}" if extra else name, d.doc_id))
    return out


def _article_update(data_dir: str | Path | None) -> Any:
    """The article filter's choices as the catalog is now; unchanged while the catalog cannot
    be read (damaged by hand: the upload or the question says why, not a bare "Error")."""
    try:
        return gr.Dropdown(choices=_article_choices(data_dir))
    except QuoteBotError:
        log.warning("article filter: the catalog could not be read", exc_info=True)
        return gr.update()


def reader_script(accept_language: str | None) -> str:
    """zh-Hant for a browser whose first language is Chinese in traditional script (zh-TW,
    zh-HK, zh-MO, zh-Hant), else zh-Hans: the script the speaker list's Chinese names take."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    parts = first.split("-")
    if parts[0] != "zh" or "hans" in parts:  # (zh-Hans-HK: simplified, in Hong Kong)
        return "zh-Hans"
    return "zh-Hant" if {"hant", "tw", "hk", "mo"} & set(parts[1:]) else "zh-Hans"


def _script_of(request: Any) -> str:
    """``reader_script`` of a Gradio request's browser (zh-Hans without one)."""
    headers = getattr(request, "headers", None)
    return reader_script(headers.get("accept-language") if headers is not None else None)


def _speaker_choices(where: dict[str, Any], script: str = "zh-Hans") -> list[tuple[str, str]]:
    """``speaker_choices`` of the engine ``where`` names; anyone only while it cannot load
    (the page still opens, and a question then says why)."""
    try:
        return speaker_choices(get_engine(**where), script)
    except Exception:
        log.warning("speaker filter: the index could not be loaded", exc_info=True)
        return [(LABELS["anyone"], "")]


def _width(text: str) -> int:
    """Display width: a Chinese character takes two columns, a Latin letter one."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` columns (``_width``) with an ellipsis, at a space when one is
    near: an English title and a Chinese one of the same width are cut alike."""
    if _width(text) <= limit:
        return text
    end = 0
    while _width(text[: end + 1]) <= limit - 1:
        end += 1
    cut = text[:end]
    space = cut.rfind(" ")
    if space >= end // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + "…"


class Conversations:
    """Each browser session's conversation as the server last left it (the ``size`` most
    recent sessions), and one lock per session.

    Gradio gives each event the session's turns as they were when it started. Two questions
    sent close together (a chip clicked while an answer is on its way) would each add their
    turn to the same history, and whichever answer came back last would drop the other. A
    session's questions are answered one at a time here, each added to the latest history.
    Other sessions are not held up.
    """

    def __init__(self, size: int = 256):
        self._size = size
        self._turns: OrderedDict[str, list[Turn]] = OrderedDict()
        self._locks: OrderedDict[str, threading.Lock] = OrderedDict()
        self._guard = threading.Lock()

    @contextmanager
    def session(self, key: str | None) -> Iterator[None]:
        """Hold ``key``'s lock (no lock for a request without a session)."""
        if not key:
            yield
            return
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            self._locks.move_to_end(key)
            while len(self._locks) > self._size:
                self._locks.popitem(last=False)
        with lock:
            yield

    def latest(self, key: str | None, seen: list[Turn]) -> list[Turn]:
        """The session's latest turns (``seen``, the event's own copy, for a session not kept)."""
        with self._guard:
            return list(self._turns.get(key, seen)) if key else list(seen)

    def store(self, key: str | None, turns: list[Turn]) -> None:
        """Remember ``turns`` as the session's conversation."""
        if not key:
            return
        with self._guard:
            self._turns[key] = turns
            self._turns.move_to_end(key)
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)


def _session(request: Any) -> str | None:
    key = getattr(request, "session_hash", None)
    return key if isinstance(key, str) and key else None


def build_demo(
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    allow_upload: bool = True,
) -> gr.Blocks:
    """The Gradio app (not launched; see ``launch``). ``allow_upload`` shows the control that
    adds an article to the catalog and the index (``upload_is_safe`` says when by default)."""
    where: dict[str, Any] = {"data_dir": data_dir, "index_dir": index_dir, "model": model}
    conversations = Conversations()

    def on_ask(
        question: str | None,
        turns: list[Turn] | None,
        doc_ids: list[str] | None,
        langs: list[str] | None,
        k: float | None,
        speaker: str | None,
        request: gr.Request,
    ) -> tuple[Any, list[Turn], Any, Any]:
        key = _session(request)
        with conversations.session(key):
            out = ask_in_turn(key, question, list(turns or []), doc_ids, langs, k, speaker,
                              _script_of(request))
        # the passages box takes any number typed (0, 999, 2.5): it shows the one used
        return (*out, on_k(k))

    def on_k(k: float | None) -> Any:
        used = slider_k(k)
        # (sent back even when equal: the slider keeps 999 in its box while its value is 20)
        return gr.update(value=used) if isinstance(used, int) else gr.update()

    def ask_in_turn(
        key: str | None,
        question: str | None,
        seen: list[Turn],
        doc_ids: list[str] | None,
        langs: list[str] | None,
        k: float | None,
        speaker: str | None = None,
        script: str = "zh-Hans",
    ) -> tuple[Any, list[Turn], Any]:
        history = conversations.latest(key, seen)
        if is_blank(question):
            # nothing typed (or a second click after the box was cleared by the first):
            # a note, not a turn, so the conversation holds only questions that were asked
            limit = SETTINGS.max_query_chars
            if history:
                note = texts(history[-1].lang)["ask_empty"].format(n=0, limit=limit)
            else:  # nothing says yet which language (or script) the person reads
                note = " / ".join(
                    texts(lang)["ask_empty"].format(n=0, limit=limit)
                    for lang in ("en", "zh-Hans", "zh-Hant")
                )
            gr.Info(note, duration=4, title="QuoteBot")
            return gr.update(), history, gr.update()
        turn = answer(question, slider_k(k), doc_ids, langs, speaker, **where, script=script)
        log.info(
            "question (%s, %d chars): %s", turn.lang, turn.length,
            f"{len(turn.hits)} passages" if turn.hits else turn.kind,
        )
        history = [*history, turn][-MAX_TURNS:]
        conversations.store(key, history)
        after = box_after(question, turn)
        return chat_html(history), history, gr.update() if after is None else after

    def on_open(turns: list[Turn] | None, evt: gr.EventData) -> str:
        data = getattr(evt, "_data", None)
        data = data if isinstance(data, dict) else {}
        history = turns or []
        target = pick(history, data.get("turn"), data.get("card"), data.get("which"))
        ti = _as_int(data.get("turn"))
        if target is not None and ti is not None:
            lang = history[ti].lang
        else:  # (the server restarted since the page was drawn, say): the card's language
            given = data.get("lang")
            lang = given if isinstance(given, str) and given in _TEXT else "en"
        if target is None:
            return _refusal(texts(lang)["gone"], lang)
        try:
            return source_html(
                target.doc_id, target.start, target.end, where["data_dir"], lang, target.paragraph,
                expect=target.text,
            )
        except (QuoteBotError, TypeError) as exc:
            return _refusal(str(exc), lang)
        except Exception:
            log.exception("cannot show %s", target.doc_id)
            return _refusal(texts(lang)["error"], lang)

    def on_close() -> str:
        return SOURCE_PLACEHOLDER

    def on_clear(request: gr.Request) -> tuple[str, list[Turn], str, str]:
        key = _session(request)
        with conversations.session(key):
            conversations.store(key, [])
        return chat_html([]), [], SOURCE_PLACEHOLDER, ""

    def on_upload(
        file: Any,
        title: str | None,
        outlet: str | None,
        date: str | None,
        url: str | None,
        lang: str | None,
        author: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for progress
    ) -> tuple[Any, ...]:
        progress(0.0, desc="reading the file")
        outcome = add_upload(
            file, title=title, outlet=outlet, date=date, url=url, lang=lang, author=author,
            progress=lambda f, m: progress(f, desc=m), **where,
        )
        choices = _article_update(where["data_dir"])
        # the new article's speakers too
        people = gr.Dropdown(choices=_speaker_choices(where, _script_of(request)))
        if outcome.ok:  # a clean form for the next file
            return (upload_html(outcome), choices, people, None, "", "", "", "", DETECT_LANG,
                    "")
        keep = gr.update()
        return upload_html(outcome), choices, people, keep, keep, keep, keep, keep, keep, keep

    def ask(question: str, k: int = SETTINGS.k) -> list[dict[str, Any]]:
        """The passages that answer ``question`` (best first; [] when none does), each a dict
        with the fields of bot.Hit: text, source_path, start, end, doc_id, title, outlet, date,
        lang, paragraph, score, citation, heading, match, speaker, quotes, also_in, parallel."""
        return ask_speaker(question, k, "")

    def ask_speaker(question: str, k: int = SETTINGS.k, speaker: str = "") -> list[dict[str, Any]]:
        """``ask``, keeping one speaker's words and the passages quoting them (any spelling
        the glossary knows; "" for anyone). An endpoint of its own: a raw HTTP call must send
        every argument, and /ask's callers send two."""
        try:
            # ("" or blanks: anyone, as the page's "Anyone" is)
            who = speaker if isinstance(speaker, str) and speaker.strip() else None
            hits = retrieve(question, k, speaker=who, **where)
        except (QuoteBotError, TypeError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("/ask failed")
            raise gr.Error("internal error while searching", print_exception=False) from None
        return [h.to_dict() for h in hits]

    with gr.Blocks(title="QuoteBot — cited answers", analytics_enabled=False) as demo:
        turns = gr.State([])
        gr.HTML(
            '<div class="qb-root"><h1 style="margin:0.2rem 0">QuoteBot</h1>'
            '<p style="margin:0">Verbatim, cited passages from articles on Robin Li '
            '(<span lang="zh-Hans">李彦宏</span>) and any you add — '
            "English · 简体 · 繁體</p></div>",
            js_on_load=None,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chat = gr.HTML(
                    WELCOME, elem_id="qb-chat", js_on_load=CHAT_JS, elem_classes=["qb-root"]
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        placeholder="Ask… / 提问… / 提問…",
                        # (hidden, but a screen reader's name for the box; else "Textbox")
                        label="Question / 问题 / 問題",
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                        scale=5,
                        min_width=200,
                        elem_id="qb-input",
                    )
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=70,
                                        elem_id="qb-ask")
                gr.HTML(SKIP_HTML, elem_id="qb-skip-row", padding=False)
                with gr.Row(elem_id="qb-examples"):
                    example_btns = [
                        gr.Button(q, size="sm", variant="secondary", min_width=120,
                                  elem_classes=["qb-example"])
                        for q in EXAMPLES
                    ]
                with gr.Accordion(fixed_label(FILTERS), open=False) as filters:
                    docs = gr.Dropdown(
                        choices=_article_choices(data_dir),
                        value=[],
                        multiselect=True,
                        label=fixed_label(LABELS["docs"]),
                        elem_id="qb-docs",
                    )
                    langs = gr.CheckboxGroup(
                        choices=[(v, k) for k, v in LANG_NAMES.items()],
                        value=list(LANG_NAMES),
                        label=fixed_label(LABELS["langs"]),
                        elem_id="qb-langs",
                    )
                    speaker = gr.Dropdown(
                        choices=_speaker_choices(where),
                        value="",
                        label=fixed_label(LABELS["speaker"]),
                        elem_id="qb-speaker",
                    )
                    k_slider = gr.Slider(
                        1, UI_MAX_K, value=SETTINGS.k, step=1, label=fixed_label(LABELS["k"]),
                        elem_id="qb-k",
                    )
                if allow_upload:
                    with gr.Accordion(fixed_label(ADD_ARTICLE), open=False, elem_id="qb-add"):
                        gr.Markdown(fixed_label(UPLOAD_HINT), elem_classes=["qb-up-hint"])
                        up_file = gr.File(
                            label=fixed_label(LABELS["file"]),
                            file_count="single",
                            # (no file_types: Gradio drops another type without a word,
                            # and the person is then told to choose a file; ingest names the
                            # types it reads instead)
                            type="filepath",
                            height=120,
                            elem_id="qb-up-file",
                        )
                        with gr.Row():
                            up_outlet = gr.Textbox(label=fixed_label(LABELS["outlet"]), max_lines=1,
                                                   elem_id="qb-up-outlet", min_width=160)
                            up_date = gr.Textbox(label=fixed_label(LABELS["date"]), max_lines=1,
                                                 placeholder="YYYY-MM-DD",
                                                 elem_id="qb-up-date", min_width=160)
                        with gr.Row():
                            up_title = gr.Textbox(label=fixed_label(LABELS["title"]), max_lines=1,
                                                  elem_id="qb-up-title", min_width=160)
                            up_author = gr.Textbox(label=fixed_label(LABELS["author"]), max_lines=1,
                                                   elem_id="qb-up-author", min_width=160)
                        with gr.Row():
                            up_url = gr.Textbox(label=fixed_label(LABELS["url"]), max_lines=1,
                                                elem_id="qb-up-url", min_width=160)
                            up_lang = gr.Dropdown(
                                choices=[(LABELS["detect"], DETECT_LANG)]
                                + [(v, k) for k, v in LANG_NAMES.items()],
                                value=DETECT_LANG,
                                label=fixed_label(LABELS["lang"]),
                                elem_id="qb-up-lang",
                                min_width=160,
                            )
                        up_btn = gr.Button(fixed_label(LABELS["add"]), variant="primary",
                                           elem_id="qb-up-add")
                        up_status = gr.HTML("", elem_id="qb-up-status")
                clear = gr.Button(fixed_label(LABELS["clear"]), size="sm", variant="secondary")
            with gr.Column(scale=2, min_width=300, elem_id="qb-side"):
                source = gr.HTML(
                    SOURCE_PLACEHOLDER, elem_id="qb-source", js_on_load=SOURCE_JS,
                    elem_classes=["qb-root"],
                )

        ui_events: dict[str, Any] = {"api_visibility": "undocumented", "show_progress": "minimal"}
        ask_inputs = [box, turns, docs, langs, k_slider, speaker]
        ask_outputs = [chat, turns, box, k_slider]
        # every question sent is asked, also while the one before is being answered (Gradio
        # would drop a repeat of a pending trigger); a session's questions are answered in turn
        asking = {**ui_events, "trigger_mode": "multiple"}
        box.submit(on_ask, ask_inputs, ask_outputs, js=SEND_JS, **asking)
        ask_btn.click(on_ask, ask_inputs, ask_outputs, js=SEND_JS, **asking)
        for btn in example_btns:
            btn.click(on_ask, [btn, turns, docs, langs, k_slider, speaker], ask_outputs,
                      **asking)
        # a number typed into the passages box (0, 999, 2.5) is put within the slider's range
        # as soon as the box is left, not only by the next answer (a tester's)
        k_slider.release(on_k, [k_slider], [k_slider], queue=False, **ui_events)
        chat.click(on_open, [turns], [source], **ui_events)
        source.click(on_close, None, [source], **ui_events)  # the viewer's × button
        clear.click(on_clear, None, [chat, turns, source, box], **ui_events)
        if allow_upload:
            # one file at a time (ingest also locks the catalog), with a progress bar; the
            # outcome of the file before goes first (it showed under the next one's progress)
            up_btn.click(
                lambda: "", None, [up_status], api_visibility="undocumented",
                show_progress="hidden", queue=False,
            ).then(
                on_upload,
                [up_file, up_title, up_outlet, up_date, up_url, up_lang, up_author],
                [up_status, docs, speaker, up_file, up_title, up_outlet, up_date, up_url,
                 up_lang, up_author],
                api_visibility="undocumented",
                show_progress="full",
                show_progress_on=[up_status],
                concurrency_limit=1,
                concurrency_id="qb-upload",
            )
        gr.api(ask, api_name="ask")
        gr.api(ask_speaker, api_name="ask_speaker")

        def on_lists(
            chosen: list[str] | None, person: str | None, request: gr.Request
        ) -> tuple[Any, Any]:
            # the article and speaker lists as they are now: a page opened (or reloaded) after
            # an upload lists the new article too, and a page left open gets another page's
            # uploads and removals when its filters are opened; a choice whose article is gone
            # is dropped, as the list no longer shows it
            articles = _article_update(where["data_dir"])
            # (a traditional-Chinese reader's browser: 周鴻禕, not 周鸿祎)
            people = _speaker_choices(where, _script_of(request))
            shown = getattr(articles, "choices", None)  # None: the catalog could not be read
            if shown is not None:
                ids = {value for _, value in shown}
                articles = gr.Dropdown(choices=shown, value=[c for c in chosen or [] if c in ids])
            keep = person if person in {value for _, value in people} else ""
            return articles, gr.Dropdown(choices=people, value=keep)

        lists = {"api_visibility": "undocumented", "show_progress": "hidden"}
        demo.load(on_lists, [docs, speaker], [docs, speaker], **lists)
        filters.expand(on_lists, [docs, speaker], [docs, speaker], **lists)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    share: bool = False,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> tuple[Any, str, str | None]:
    """Serve ``demo`` (theme and CSS applied); returns Gradio's (app, local url, share url)."""
    app, local_url, share_url = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        show_error=False,
        ssr_mode=False,
        theme=_theme(),
        css=CSS,
        head=HEAD,
        # uploads over the document limit are cut off at the door, with Gradio's notice naming
        # the same limit ingest's message does (a tester's: it said 80 MB, four times it)
        max_file_size=SETTINGS.max_document_bytes,
        i18n=labels_i18n(),
    )
    return app, local_url, share_url


def warm_up(
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
) -> None:
    """Load the index (building it first if missing) and run one query, so the first
    question a user asks is answered at full speed."""
    t0 = time.perf_counter()
    log.info("loading the index (it is built first if missing; that takes a few minutes)")
    engine = get_engine(data_dir, index_dir, model)
    log.info(
        "index ready: %d passages from %d articles in %.1fs",
        len(engine.rows), len(engine.docs), time.perf_counter() - t0,
    )
    retrieve("open source", 1, data_dir=data_dir, index_dir=index_dir, model=model)
    log.info("warmed up in %.1fs", time.perf_counter() - t0)


def upload_is_safe(host: str, share: bool) -> bool:
    """Whether the upload control may be shown by default: only to this machine's users (a
    loopback address and no public share link), since an upload writes into ``data/``."""
    import ipaddress

    if share:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Raise ServeError, saying what to do, when ``host:port`` cannot be listened on."""
    if not 0 < port < 65536:
        raise ServeError(f"port {port} is out of range; give --port a number from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host!r}: {exc}; check --host") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the server will bind: a port in TIME_WAIT after a restart is free to it
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); another program "
                "(another QuoteBot?) may be using it: stop it, or pick another --port"
            ) from None


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    allow_upload: bool | None = None,
) -> None:
    """Load the index, then serve the chat until interrupted (``python app.py``).

    ``allow_upload=None`` shows the upload control only where ``upload_is_safe`` says so.
    """
    if allow_upload is None:  # anyone who can reach the page could write into data/
        allow_upload = upload_is_safe(host, share)
    check_port(host, port)  # before the seconds spent loading the index
    warm_up(data_dir, index_dir, model)
    demo = build_demo(data_dir, index_dir, model, allow_upload)
    try:
        _, local_url, share_url = launch(
            demo, host, port, share, prevent_thread_lock=True, quiet=True
        )
    except OSError as exc:  # taken meanwhile, or the address is not this machine's
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from None
    log.info("QuoteBot is serving on %s", local_url)
    if share_url:
        log.info("public share link: %s", share_url)
    demo.block_thread()  # until Ctrl+C
