"""Cleaning: from a scraped article to its body blocks (headings and paragraphs), with offsets.

The rules look at the shape of lines (length, sentence punctuation, runs of short lines,
numbers-only lines), their position (header before the first prose line, footer after the
first footer marker) and marker words (bylines, credits, disclaimers, reprint notices).
Nothing here knows a particular file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# a line that ends a sentence (optionally followed by closing quotes/brackets)
SENTENCE_END = re.compile(r"[。！？!?.;；…:：][”’\"'」』)）]*\s*$")

# Lines after which the article is over: related articles, hot lists, disclaimers, bios.
FOOTER = re.compile(
    r"^\s*(?:"
    r"免责声明|免責聲明|风险提示|風險提示|差价合约|差價合約|相关文章|相關文章|相关阅读|相關閱讀|"
    r"延伸阅读|延伸閱讀|推荐阅读|推薦閱讀|热门|熱門|新闻热榜|新聞熱榜|猜你喜欢|猜你喜歡|"
    r"如需转载|如需轉載|未经.{0,20}授权|未經.{0,20}授權|版权声明|版權聲明|读者热线|讀者熱線|"
    r"特别提醒|特別提醒|欢迎关注|歡迎關注|这篇文章有帮到你吗|這篇文章有幫到你嗎|关于我们|關於我們|"
    r"goTop\b|Author\s*:|About the author|Related (?:articles|posts|stories)|"
    r"Leave a (?:comment|reply)|This post has \d+ comments?|Disclaimer\b|Risk warning|"
    r"Share this|Recommended for you|Read more\b"
    r")",
    re.IGNORECASE,
)

# A teaser for another article inside this one ("Read more: Baidu's ERNIE turns two"): that
# line goes, the article goes on (FOOTER ends it only where no paragraph follows the teaser)
_TEASER_MARK = r"Read (?:more|also)|See also|相关阅读|相關閱讀|延伸阅读|延伸閱讀|推荐阅读|推薦閱讀"
TEASER = re.compile(rf"^\s*(?:{_TEASER_MARK}|Related)\s*[:：]\s*\S", re.IGNORECASE)
# ... or the marker alone on its line, the teased title on the next one
TEASER_BARE = re.compile(rf"^\s*(?:{_TEASER_MARK})\s*[:：]?\s*$", re.IGNORECASE)

# Metadata lines anywhere in the body: bylines, credits, sources, counters.
META = re.compile(
    r"^\s*(?:"
    r"来源\s*[:：|]|來源\s*[:：|]|原文来源|原文來源|文章转载来源|文章轉載來源|图片来源|圖片來源|"
    r"责任编辑|責任編輯|发布时间|發佈時間|發布時間|更新于|更新於|摄影|攝影|转载$|轉載$|"
    r"作者\s*[|｜:：]|Author\s*[|｜:]|\**\s*Author\s*\|?|By\s+[A-Z][a-z]+|Photo(?:graph)?\s*:|Source\s*:|"
    r"Number of words in this article|reading time|coverImg$|placeholder$|quote$|"
    r"Advertisement:?$|Story continues below(?: this| the)? advertisement$|广告$|廣告$|"
    r"\d+\s*(?:天前|小时前|小時前|分钟前|分鐘前|days? ago|hours? ago)"
    r")",
    re.IGNORECASE,
)
# bylines such as "界面新闻记者 | 崔鹏", "每經記者 李少婷 每經編輯 魏官紅"
BYLINE = re.compile(
    r"(?:记者|記者|编辑|編輯|撰文|编译|編譯)\s*[|｜:：]?\s*(?:\S{1,12}\s*){1,3}$"
)
# a dateline: outlet name followed by a date (and time)
DATELINE = re.compile(r"^\s*\S{1,20}\s+\d{4}-\d{2}-\d{2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
# ... or a date (and time) first, then the outlet and a credit: "2024年05月10日 09:12 新浪科技
# 作者:陈明" (a tester's: an added page showed it as a section heading)
DATE_FIRST = re.compile(
    r"^\s*(?:19|20)\d\d\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[-/.]\d{1,2}[-/.]\d{1,2})"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?(?![\d:])"
)
_CLAUSE_MARK = re.compile(r"[。！？!?，,；;]")
NUMERIC = re.compile(r"^[\s\d.,:/•·*\-–—|]*$")
# view counters, "点击下载", bullet lines of lists
LISTY = re.compile(r"^\s*(?:[•·▪◦●]\s*\d*|点击下载|點擊下載|射击枪战|.*/热度[:：]\d+)\s*$")

# an interviewer's question in a Q&A transcript is context for the answer under it
QUESTION = re.compile(r"^\s*(?:问|問|Q)\s*[:：]")
LIST_RUN = 3  # this many short lines in a row are a list (hot news), not headings
TITLE_MAX_SIZE = 40  # reading units: a first line this short over metadata is a headline


@dataclass(frozen=True)
class Block:
    """A span of the source: ``kind`` is "title", "heading" or "para".

    ``paragraph`` counts paragraphs (1-based).
    """

    text: str
    start: int
    end: int
    kind: str
    paragraph: int = 0


@dataclass(frozen=True)
class _Line:
    text: str
    start: int
    end: int


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            out.append(_Line(stripped, pos + lead, pos + lead + len(stripped)))
        pos += len(raw)
    return out


def text_size(text: str) -> int:
    """Size in 'reading units': CJK characters plus Latin words."""
    return len(CJK.findall(text)) + len(LATIN_WORD.findall(text))


def is_prose(text: str) -> bool:
    """A line that reads as running text: long enough, or a finished sentence."""
    size = text_size(text)
    if size >= 40:
        return True
    return size >= 6 and bool(SENTENCE_END.search(text))


def is_meta(text: str) -> bool:
    """Bylines, credits, sources, counters, dateline and list furniture."""
    return bool(NUMERIC.match(text) or LISTY.match(text)) or _credits(text)


# Markdown around a heading ("## 关于开源", "**Q: Why agents?**"): not part of what it says
_MARKUP_LEAD = re.compile(r"^(?:#{1,6}\s+|[*_]{1,3}(?=\S))")
_MARKUP_TAIL = re.compile(r"(?<=\S)[*_]{1,3}$")


def _unmarked(ln: _Line) -> _Line:
    """The line without Markdown heading marks or emphasis around it (a narrower span)."""
    lead = _MARKUP_LEAD.match(ln.text)
    a = lead.end() if lead else 0
    tail = _MARKUP_TAIL.search(ln.text, a)
    b = tail.start() if tail else len(ln.text)
    text = ln.text[a:b].strip()
    if not text or (a == 0 and b == len(ln.text)):
        return ln
    start = ln.start + ln.text.index(text, a)
    return _Line(text, start, start + len(text))


def _credits(text: str) -> bool:
    """A byline, source or dateline (not a number or list furniture)."""
    if META.match(text) or DATELINE.match(text):
        return True
    if DATE_FIRST.match(text) and text_size(text) <= 20 and not _CLAUSE_MARK.search(text):
        return True
    return text_size(text) <= 20 and bool(BYLINE.search(text))


def clean_blocks(text: str) -> list[Block]:
    """Split a scraped article into title, headings and numbered paragraphs; drop boilerplate."""
    lines = _lines(text)
    blocks: list[Block] = []
    first_prose = next(
        (i for i, ln in enumerate(lines) if is_prose(ln.text) and not is_meta(ln.text)), None
    )
    if first_prose is None:
        return blocks
    if first_prose == 0 and len(lines) > 1 and _credits(lines[1].text) and (
        text_size(lines[0].text) <= TITLE_MAX_SIZE and not lines[0].text.endswith(("。", "."))
    ):
        # a headline that reads as a sentence ("開源大模型的春天來了嗎?") over a byline or a
        # dateline is still the title
        first_prose = next(
            (i for i, ln in enumerate(lines) if i > 0 and is_prose(ln.text)
             and not is_meta(ln.text)),
            None,
        )
        if first_prose is None:
            return blocks
    # the header: a leading title line (if it is one) and then metadata only
    head = lines[0]
    if first_prose > 0 and not is_meta(head.text) and not FOOTER.match(head.text):
        title = _unmarked(head)
        blocks.append(Block(title.text, title.start, title.end, "title"))
    body = lines[first_prose:]

    def teaser(i: int) -> int:
        """How many lines from ``i`` are teasers in the flow of the article (0: none): "Read
        more: X" lines, or a bare "Read more" with the teased title on the next line, when
        the article goes on after them (past metadata and at most one subheading)."""
        j = i
        while j < len(body):
            if TEASER.match(body[j].text):
                j += 1
            elif (
                TEASER_BARE.match(body[j].text) and j + 1 < len(body)
                and not is_prose(body[j + 1].text)
            ):
                j += 2
            else:
                break
        if j == i:
            return 0
        # (the next two lines that are not metadata, not all of the rest: this runs for
        # every line, and a 1 MB file took minutes)
        rest = islice((ln.text for ln in islice(body, j, None) if not is_meta(ln.text)), 2)
        goes_on = next((t for t in rest if is_prose(t)), None)
        return j - i if goes_on is not None and not FOOTER.match(goes_on) else 0

    teasers: set[int] = set()
    i = 0
    while i < len(body):
        n = teaser(i)
        teasers.update(range(i, i + n))
        i += max(n, 1)
    end = next(
        (i for i, ln in enumerate(body) if i > 0 and FOOTER.match(ln.text) and i not in teasers),
        len(body),
    )
    body = body[:end]

    keep = [not is_meta(ln.text) and i not in teasers for i, ln in enumerate(body)]
    short = [k and not is_prose(ln.text) for k, ln in zip(keep, body, strict=True)]
    # runs of short lines (or short lines broken only by numbers) are lists, not headings
    i = 0
    while i < len(body):
        if not short[i]:
            i += 1
            continue
        j = i
        count = 0
        while j < len(body) and (short[j] or not keep[j]):
            count += short[j]
            j += 1
        if count >= LIST_RUN:
            for m in range(i, j):
                keep[m] = False
        i = j

    para = 0
    for ln, k, s in zip(body, keep, short, strict=True):
        if not k:
            continue
        h = _unmarked(ln)
        if s or QUESTION.match(h.text):
            blocks.append(Block(h.text, h.start, h.end, "heading"))
        else:
            para += 1
            blocks.append(Block(ln.text, ln.start, ln.end, "para", para))
    return blocks


def dropped_lines(text: str, min_size: int = 8) -> list[str]:
    """The substantial lines cleaning removed (hot news, blurbs): off-topic background."""
    kept = {(b.start, b.end) for b in clean_blocks(text)}
    return [
        ln.text
        for ln in _lines(text)
        if (ln.start, ln.end) not in kept and text_size(ln.text) >= min_size
        and not is_meta(ln.text)
    ]
