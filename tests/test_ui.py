"""The web chat: HTML rendering and escaping (unit), the /ask endpoint over gradio_client, and
the page itself in headless Chromium (real app, real index, real browser)."""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import logging
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import fields, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gradio")

from bot import ui  # noqa: E402
from bot.corpus import CATALOG_NAME, load_catalog  # noqa: E402
from bot.errors import InvalidQueryError, MissingExtraError, ServeError  # noqa: E402
from bot.ingest import remove_document  # noqa: E402
from bot.retrieve import retrieve  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402
from bot.types import Hit, Quote, Report  # noqa: E402

ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 60_000

EVIL = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> "
    '<a href="javascript:alert(3)">x</a> [click](javascript:alert(4)) **bold** '
    '"quoted" \'single\' & ${alert(5)} `tick` {{value}}'
)
EN_Q = "How many calls does ERNIE serve per day?"
ZH_Q = "百度为什么不开源?"
OFF_TOPIC = "What's the weather in Paris tomorrow?"
NO_ANSWER = {
    "en": "No passage in these articles answers that.",
    "zh-Hans": "这些文章中没有回答这个问题的段落。",
    "zh-Hant": "這些文章中沒有回答這個問題的段落。",
}
# an article made by the tests: it answers a question nothing else answers, inside a page of
# navigation, cookie banners, related links and a footer that must not come back
UPLOAD_Q = "What does the Quillfinch hive sensor tell beekeepers?"
UPLOAD_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Robin Li on the Quillfinch hive sensor | Example Gazette</title>
<meta property="og:site_name" content="Example Gazette">
<meta property="article:published_time" content="2024-03-12T09:30:00Z">
</head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
By continuing to browse you accept our cookie policy. <button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Frontpage</a></li><li><a href="/tech">Technology</a></li>
<li><a href="/markets">Markets</a></li><li><a href="/opinion">Opinion</a></li></ul></nav></header>
<main><article>
<h1>Robin Li on the Quillfinch hive sensor</h1>
<p>In a conversation with Example Gazette, Baidu founder Robin Li described Quillfinch, a
fictional hive sensor that listens to the hum of a beehive and tells beekeepers when the colony
is about to swarm.</p>
<p>"Quillfinch hears the change in pitch two days before a swarm leaves, so the beekeeper can
split the hive in time," Li said. "We recorded four thousand hives in Yunnan to teach it."</p>
<p>Li said the sensor runs for a whole season on one coin battery and that the first thousand
units were lent to beekeeping cooperatives free of charge.</p>
<p>Share this article</p>
<h2>Related articles</h2>
<ul><li><a href="/a">Markets slide as chip stocks tumble on export worries</a></li>
<li><a href="/b">Ten gadgets that will change your kitchen this summer</a></li>
<li><a href="/c">Why the price of coffee keeps climbing across Asia</a></li></ul>
</article></main>
<footer><p>Copyright 2024 Example Gazette Group. All rights reserved. Contact us | Privacy policy
| Terms of use</p><p>Subscribe to our newsletter for the latest headlines delivered daily.</p>
</footer></body></html>
"""
BOILERPLATE = (
    "cookie", "Cookie", "Frontpage", "Technology", "Markets slide", "Ten gadgets",
    "price of coffee", "Related articles", "Copyright", "All rights reserved", "Privacy policy",
    "newsletter", "Share this",
)
# a simplified-Chinese article in GBK, for the browser's upload
UPLOAD_ZH = (
    "在一次虚构的访谈中，李彦宏介绍了一款名为“稻语”的农业助手。他说，这款助手能够听懂稻田里青蛙的叫声，"
    "并据此提醒农民什么时候应该放水灌溉。\n\n"
    "他表示，团队用三年时间在湖南的村庄里录下了上万小时的蛙鸣，模型暂时不会开源，但录音会向研究生态的大学开放。\n"
)
UPLOAD_ZH_Q = "稻语助手能听懂什么声音?"
UPLOAD_ZH_TITLE = "稻语：虚构的农业助手"
SAFE_TAGS = {
    "article", "blockquote", "button", "cite", "details", "div", "em", "h2", "h3", "h4", "header",
    "li", "mark", "ol", "p", "path", "rect", "section", "span", "strong", "summary", "svg", "ul",
}
SAFE_ATTRS = {
    "aria-hidden", "aria-label", "class", "d", "data-card", "data-copy", "data-doc", "data-done",
    "data-kind", "data-lang", "data-match", "data-para", "data-turn", "data-which", "height",
    "id", "lang", "open", "role", "rx", "style", "tabindex", "title", "type", "viewbox", "width",
    "x", "y",
}


class _Collect(HTMLParser):
    """Tags, attributes and text of an HTML fragment, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._stack: list[str] = []
        self.marked: list[str] = []
        self.quoted: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "mark" in self._stack:
            self.marked.append(data)
        if "em" in self._stack:
            self.quoted.append(data)


def parse(fragment: str) -> _Collect:
    p = _Collect()
    p.feed(fragment)
    p.close()
    return p


def assert_inert(fragment: str) -> _Collect:
    """Only our own tags and attributes: no script, image, link, handler or URL anywhere."""
    p = parse(fragment)
    for tag, attrs in p.tags:
        assert tag in SAFE_TAGS, f"unexpected <{tag}> in {fragment[:200]!r}"
        for name, value in attrs.items():
            assert name in SAFE_ATTRS, f"unexpected attribute {name}={value!r} on <{tag}>"
            assert not name.startswith("on")
        style = attrs.get("style")
        assert style is None or re.fullmatch(r"width:\d{1,3}%", style), style
    return p


def make_hit(text: str = "plain text", start: int = 1000, **kw: Any) -> Hit:
    base: dict[str, Any] = dict(
        text=text, source_path="data/x.txt", start=start, end=start + len(text),
        doc_id="000_483ad79ec9aeb76f", title="T", outlet="O", date="2024-01-01", lang="en",
        paragraph=3, score=0.8, citation="T — O, 2024-01-01, ¶3", match="strong",
    )
    base.update(kw)
    return Hit(**base)


def source_text(source_path: str) -> str:
    path = Path(source_path)
    return (path if path.is_absolute() else REPO_ROOT / path).read_text(encoding="utf-8")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- rendering ----------------------------------------------------------------------------------


def test_passage_markup_is_escaped() -> None:
    report = Report("001_38b38b26fc8d2c4c", EVIL, "en", EVIL, "data/y.txt", 5, 9, 2)
    other = Report("004_544973c9ced5136f", EVIL, "zh-Hant", EVIL, "data/z.txt", 7, 9, 3)
    hit = make_hit(
        EVIL, title=EVIL, outlet=EVIL, citation=EVIL, speaker=EVIL, heading=EVIL,
        quotes=(Quote(EVIL[:10], 1000, 1010, EVIL),), also_in=(report, other), parallel=report,
    )
    out = ui.card_html(hit, 1, 0, "en")
    for bad in ("<script", "<img", "<a ", '"javascript:'):
        assert bad not in out  # (`href=` and `onerror=` do occur, as escaped text)
    p = assert_inert(out)
    text = "".join(p.text)
    assert "<script>alert(1)</script>" in text  # shown as text, verbatim
    assert "[click](javascript:alert(4))" in text
    assert "${alert(5)}" in text and "{{value}}" in text
    copy = [a["data-copy"] for t, a in p.tags if t == "button" and "data-copy" in a]
    assert copy == [EVIL]  # the copy button carries the citation exactly


def test_citations_name_what_is_known() -> None:
    from bot.format import citation

    assert citation("T", "O", "2024-01-01", 3) == "T — O, 2024-01-01, ¶3"
    assert citation(None, "O", None, 3, "notes.txt") == "O, ¶3"
    assert citation(None, None, "2024-01-01", 3, "notes.txt") == "notes.txt — 2024-01-01, ¶3"
    assert citation(None, None, None, 3) == "¶3"
    # a paragraph split into passages is cited part by part
    assert citation(None, "O", None, 2, part=(5, 23)) == "O, ¶2 (part 5 of 23)"
    assert citation(None, "O", None, 2, part=(1, 1)) == "O, ¶2"


def test_a_chinese_answer_cites_a_part_in_chinese() -> None:
    cited = "T — O, 2024-01-01, ¶19 (part 2 of 3)"
    report = Report("001_38b38b26fc8d2c4c", "T2 — O2, ¶4 (part 1 of 2)", "en", "r", "data/y.txt",
                    5, 9, 4)
    hit = make_hit(citation=cited, also_in=(report,))
    for lang in ("zh-Hans", "zh-Hant"):
        shown = ui.card_html(hit, 1, 0, lang)
        assert "¶19（第 2 部分，共 3 部分）" in shown and "¶4（第 1 部分，共 2 部分）" in shown
        assert "part 2 of 3" not in shown  # the copy button copies what is shown
    assert "¶19 (part 2 of 3)" in ui.card_html(hit, 1, 0, "en")
    assert ui.shown_citation("T — O, ¶3", "zh-Hans") == "T — O, ¶3"


def test_citation_keeps_its_date_on_one_line() -> None:
    hit = make_hit(citation="T — O, 2024-01-01, ¶3", date="2024-01-01")
    p = parse(ui.card_html(hit, 1, 0, "en"))
    cite = next(i for i, (t, _) in enumerate(p.tags) if t == "cite")
    assert p.tags[cite + 1] == ("span", {"class": "qb-nowrap"})
    assert "2024-01-01" in p.text and "T — O, 2024-01-01, ¶3" in "".join(p.text)
    # a date that is not an ISO date is left alone (and escaped like the rest)
    odd = make_hit(citation="T — O, <b>soon</b>", date="<b>soon</b>")
    assert "qb-nowrap" not in ui.card_html(odd, 1, 0, "en")


def test_question_markup_is_escaped() -> None:
    turn = ui.Turn(question=EVIL, lang="en", message=NO_ANSWER["en"], kind="none", length=len(EVIL))
    out = ui.chat_html([turn])
    assert "<script" not in out and "<img" not in out
    p = assert_inert(out)
    assert EVIL in "".join(p.text)
    assert ui.esc("a\x00b\x07c\ud800") == "abc?"  # control characters and lone surrogates


def test_long_question_is_elided_and_control_characters_dropped() -> None:
    question = "x" * 100_000
    turn = ui.Turn(question[: ui.ECHO_CHARS], "en", message="too long", kind="error",
                   length=len(question))
    out = ui.turn_html(turn, 0)
    assert len(out) < 5_000 and "100000 characters" in out
    assert "\x00" not in ui.turn_html(replace(turn, question="a\x00b"), 0)


def test_quotations_are_emphasized_at_their_offsets() -> None:
    text = "He said “open source is an IQ tax” and “closed models lead”."
    s1, s2 = text.index("open"), text.index("closed")
    hit = make_hit(
        text,
        quotes=(
            Quote("closed models lead", 1000 + s2, 1000 + s2 + 18, "Robin Li"),
            Quote("open source is an IQ tax", 1000 + s1, 1000 + s1 + 24, None),
            Quote("overlapping", 1000 + s1 + 3, 1000 + s1 + 10, None),  # skipped
            Quote("outside", 5, 9, None),  # not in the passage: skipped
        ),
    )
    p = parse(ui.passage_html(hit))
    assert p.quoted == ["open source is an IQ tax", "closed models lead"]
    assert "".join(p.text) == text
    assert [a.get("title") for t, a in p.tags if t == "em"] == [None, "Robin Li"]


def test_real_quotations_match_their_source(engine: Any, data_dir: Path, index_dir: Path) -> None:
    hits = retrieve(ZH_Q, 10, data_dir=data_dir, index_dir=index_dir)
    quoted = [h for h in hits if h.quotes]
    assert quoted, "expected a passage with a direct quotation"
    for hit in quoted:
        p = parse(ui.passage_html(hit))
        assert "".join(p.text) == hit.text
        src = source_text(hit.source_path)
        assert set(p.quoted) <= {src[q.start:q.end] for q in hit.quotes}


def test_examples_in_three_scripts() -> None:
    langs = [ui.question_lang(q) for q in ui.EXAMPLES]
    assert set(langs) == {"en", "zh-Hans", "zh-Hant"}, langs


def test_a_question_of_chinese_punctuation_only_is_answered_in_chinese() -> None:
    """A tester's: "？！。，、……" got the English no-answer line."""
    assert ui.question_lang("？！。，、……") == "zh-Hans"
    assert ui.question_lang("?!?!") == "en" and ui.question_lang("“…”") == "en"
    assert ui.question_lang("why not open source？") == "en"


def test_a_question_either_script_writes_is_answered_in_the_readers() -> None:
    """A tester's: 台北今天天氣如何？ on a zh-TW browser got the simplified no-answer line (台
    counted as simplified, as OpenCC writes 臺); 百度的市值 tells no script, so the reader's
    browser decides."""
    from bot.passages import detect_lang

    assert detect_lang("台北今天天氣如何？") == "zh-Hant"
    assert detect_lang("台北的開源模型") == "zh-Hant"
    assert detect_lang("台湾的开源模型") == "zh-Hans"  # 湾, 开 are simplified only
    assert detect_lang("百度为什么不开源?") == "zh-Hans" and detect_lang("開源") == "zh-Hant"
    assert ui.question_lang("百度的市值") == "zh-Hans"
    assert ui.question_lang("百度的市值", "zh-Hant") == "zh-Hant"
    assert ui.question_lang("百度为什么不开源?", "zh-Hant") == "zh-Hans"  # the script tells
    assert ui.question_lang("？！。", "zh-Hant") == "zh-Hant"
    assert ui.question_lang("123", "zh-Hant") == "en"
    assert ui.question_lang("why?", "zh-Hant") == "en"
    turn = ui.answer("百度的市值是多少", script="zh-Hant")
    assert turn.lang == "zh-Hant"


def test_an_answer_says_what_it_was_filtered_by() -> None:
    assert ui.filters_line("en", ["a", "b"], ["en"], "Fang Han") == (
        "Filtered: 2 articles · English · Speaker Fang Han")
    assert ui.filters_line("zh-Hans", ["a"], ["zh-Hans", "zh-Hant"], "方汉") == (
        "已筛选：1 篇文章 · 简体中文、繁體中文 · 说话人 方汉")
    # all three languages ticked, or none, is no filter
    assert ui.filters_line("en", None, ["en", "zh-Hans", "zh-Hant"], None) == ""
    assert ui.filters_line("zh-Hant", [], [], "") == ""
    turn = ui.answer("開源有什麼好處?", 5, None, None, "Fang Han", script="zh-Hant")
    assert turn.kind == "hits" and turn.filters == "已篩選：說話人 方漢"
    assert '<p class="qb-filters">已篩選：說話人 方漢</p>' in ui.turn_html(turn, 0)
    bare = ui.answer("why not open source?")
    assert bare.filters == "" and "qb-filters" not in ui.turn_html(bare, 0)
    none = ui.answer("方汉怎么看开源?", 5, None, ["en"])
    assert none.kind == "none" and none.filters == "已筛选：English"
    # every article chosen narrows nothing, as every language ticked does not
    every = sorted(ui.get_engine().docs)
    assert ui.answer("why not open source?", 5, every).filters == ""
    assert ui.answer("why not open source?", 5, every[:2]).filters == "Filtered: 2 articles"


def test_lead_in_three_scripts() -> None:
    hits = [make_hit(doc_id=d) for d in ("a", "b", "b", "c")]
    assert ui.lead(hits, "en") == "4 passages from 3 articles"
    assert ui.lead(hits[:1], "en") == "1 passage from 1 article"
    assert ui.lead(hits, "zh-Hans") == "找到 4 段出处，来自 3 篇文章"
    assert ui.lead(hits, "zh-Hant") == "找到 4 段出處，來自 3 篇文章"
    for lang, message in NO_ANSWER.items():
        assert ui.lead([], lang) == message


@pytest.mark.parametrize(
    ("question", "lang"),
    [(OFF_TOPIC, "en"), ("明天巴黎天气怎么样?", "zh-Hans"), ("明天巴黎天氣怎麼樣?", "zh-Hant")],
)
def test_no_answer_in_the_question_language(
    engine: Any, data_dir: Path, index_dir: Path, question: str, lang: str
) -> None:
    turn = ui.answer(question, data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.lang, turn.message, turn.hits) == ("none", lang, NO_ANSWER[lang], ())
    p = assert_inert(ui.turn_html(turn, 0))
    assert NO_ANSWER[lang] in "".join(p.text)


def test_speakers_are_named_in_the_script_of_the_question(
    engine: Any, data_dir: Path, index_dir: Path
) -> None:
    for question, name in (("百度为什么不开源?", "李彦宏"), ("為什麼百度不開源?", "李彥宏"),
                           ("why not open source?", "Robin Li")):
        turn = ui.answer(question, data_dir=data_dir, index_dir=index_dir)
        assert any(h.speaker == "Robin Li" for h in turn.hits)  # Hit keeps the canonical name
        html = ui.turn_html(turn, 0)
        shown = re.findall(r'class="qb-who"[^>]*>([^<]*)<', html)
        assert shown and set(shown) <= {name, "方汉", "方漢", "王小川"}, (question, shown)
        assert name in shown
        # ... and so are the tooltips of the quotations they said
        said = re.findall(r'<em class="qb-quote" title="([^"]*)"', html)
        assert said and set(said) <= {name, "方汉", "方漢", "王小川"}, (question, said)


def test_answer_with_filters(engine: Any, data_dir: Path, index_dir: Path) -> None:
    turn = ui.answer("why not open source?", 2.0, None, ["en"], data_dir=data_dir,
                     index_dir=index_dir)
    assert turn.kind == "hits" and 1 <= len(turn.hits) <= 2
    assert {h.lang for h in turn.hits} == {"en"}
    turn = ui.answer(ZH_Q, 3, [], ["zh-Hans"], data_dir=data_dir, index_dir=index_dir)
    assert turn.hits and {h.lang for h in turn.hits} == {"zh-Hans"}
    doc = "002_f6f756fde92d80d7"
    turn = ui.answer("文心大模型每天调用量是多少?", 3, [doc], None, data_dir=data_dir,
                     index_dir=index_dir)
    assert turn.hits and {h.doc_id for h in turn.hits} == {doc}
    assert any("每天调用量超过6亿" in h.text for h in turn.hits)
    # an article in traditional Chinese with English passages only: nothing left to search
    turn = ui.answer("百度为什么不开源?", 3, ["004_544973c9ced5136f"], ["en"],
                     data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == ("none", ui.texts("zh-Hans")["filtered_out"])
    turn = ui.answer("明天北京天气怎么样?", 3, None, ["en"], data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == ("none", ui.texts("zh-Hans")["none"])
    # a filter naming an article removed since the page was loaded: the others still count
    turn = ui.answer("文心大模型每天调用量是多少?", 3, [doc, "009_gone"], None,
                     data_dir=data_dir, index_dir=index_dir)
    assert turn.hits and {h.doc_id for h in turn.hits} == {doc}
    turn = ui.answer(ZH_Q, 3, ["009_gone"], None, data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == ("none", ui.texts("zh-Hans")["docs_gone"])
    # the speaker filter: that person's words, or passages quoting them; "" is anyone
    turn = ui.answer("开源有什么好处?", 5, None, None, "王小川", data_dir=data_dir,
                     index_dir=index_dir)
    expected = retrieve("开源有什么好处?", 5, speaker="Wang Xiaochuan", data_dir=data_dir,
                        index_dir=index_dir)
    assert turn.hits and [(h.doc_id, h.start) for h in turn.hits] == [
        (h.doc_id, h.start) for h in expected
    ]
    assert ui.answer("开源有什么好处?", 5, None, None, "", data_dir=data_dir,
                     index_dir=index_dir).hits == ui.answer(
        "开源有什么好处?", 5, data_dir=data_dir, index_dir=index_dir).hits
    # filters that leave out everyone the question names say so, in the page's script
    turn = ui.answer("方漢怎麼看開源?", 5, None, ["en"], data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == (
        "none", ui.texts("zh-Hant")["filtered_names"].format(names="方漢"))
    # ... as the question writes the name (SkyMusic, not the glossary's Tiangong)
    turn = ui.answer("What is SkyMusic?", 5, None, ["en"], data_dir=data_dir,
                     index_dir=index_dir)
    assert (turn.kind, turn.message) == (
        "none", ui.texts("en")["filtered_names"].format(names="SkyMusic"))
    turn = ui.answer("why", 5, None, ["en"], "Fang Han", data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == ("none", ui.texts("en")["filtered_out"])
    # ... but a name the articles never mention is no filter's doing
    turn = ui.answer("What does Elon Musk think of open source?", 5, None, ["en"],
                     data_dir=data_dir, index_dir=index_dir)
    assert (turn.kind, turn.message) == ("none", ui.texts("en")["none"])


def test_a_speaker_no_longer_in_the_articles_is_told_plainly(
    engine: Any, data_dir: Path, index_dir: Path
) -> None:
    # (a page listing a person whose article was removed since: no server path, no English)
    turn = ui.answer("开源有什么好处?", 5, None, None, "周明远", data_dir=data_dir,
                     index_dir=index_dir)
    assert (turn.kind, turn.message) == (
        "none", ui.texts("zh-Hans")["speaker_gone"].format(name="周明远"))
    assert str(data_dir) not in turn.message
    # ... named in the page's script (a tester saw 张晓明 in a traditional sentence)
    turn = ui.answer("開源有什麼好處?", 5, None, None, "周明远", data_dir=data_dir,
                     index_dir=index_dir)
    assert turn.message == ui.texts("zh-Hant")["speaker_gone"].format(name="周明遠")


def test_match_labels_have_a_weak_band() -> None:
    from bot.format import match_label

    assert [match_label(x) for x in (1.0, 0.93, 0.7, 0.2)] == ["strong", "good", "fair", "weak"]
    assert "weak" in ui._match_html(make_hit(score=0.1, match="weak"), ui.texts("en"))


def test_the_speaker_filter_lists_who_speaks(engine: Any) -> None:
    choices = ui.speaker_choices(engine)
    assert choices[0] == (ui.LABELS["anyone"], "")
    assert ("Robin Li · 李彦宏", "Robin Li") in choices
    assert {v for _, v in choices[1:]} == set(engine.speaker_list())


def test_a_traditional_reader_gets_the_speakers_in_traditional_script(engine: Any) -> None:
    choices = ui.speaker_choices(engine, "zh-Hant")
    assert ("Robin Li · 李彥宏", "Robin Li") in choices
    assert ("Fang Han · 方漢", "Fang Han") in choices
    # the values stay the canonical names the filter takes
    assert [v for _, v in choices] == [v for _, v in ui.speaker_choices(engine)]


@pytest.mark.parametrize(
    ("header", "script"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant-TW,zh;q=0.8", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-Hans-HK", "zh-Hans"),  # simplified, in Hong Kong
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("zh-Hans-CN", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("en-US,en;q=0.9,zh-TW;q=0.8", "zh-Hans"),
        ("", "zh-Hans"),
        (None, "zh-Hans"),
        ("*", "zh-Hans"),
    ],
)
def test_reader_script_follows_the_browsers_first_language(
    header: str | None, script: str
) -> None:
    assert ui.reader_script(header) == script


def test_fixed_labels_have_a_traditional_version() -> None:
    tw = ui.labels_i18n().translations_dict["zh-TW"]
    assert tw[ui.FILTERS] == "Filters / 篩選"
    assert tw[ui.LABELS["speaker"]] == "Speaker / 說話人"
    assert tw[ui.LABELS["file"]] == "File / 檔案"  # Taiwan's word, not 文件
    assert set(tw) == {ui.FILTERS, ui.ADD_ARTICLE, ui.UPLOAD_HINT, *ui.LABELS.values()}
    assert "一次一個檔案" in tw[ui.UPLOAD_HINT]


@pytest.mark.parametrize(
    ("question", "k", "needle"),
    [
        ("", 5, "empty"),
        ("  \n\t ", 5, "empty"),
        ("\x00\x01\x02", 5, "empty"),
        ("x" * 100_000, 5, "limit"),
        (None, 5, "must be a str"),
        ("open source", 0, "out of range"),
        ("open source", "five", "k must be an int"),
    ],
)
def test_bad_input_gets_a_message(
    engine: Any, data_dir: Path, index_dir: Path, question: Any, k: Any, needle: str
) -> None:
    turn = ui.answer(question, k, data_dir=data_dir, index_dir=index_dir)
    assert turn.kind == "error" and turn.message and needle in turn.message
    assert "Traceback" not in ui.turn_html(turn, 0)


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("李彦宏" * 1000, "问题共 3000 个字符，超过了 2000 个字符的上限"),
        ("李彥宏" * 1000, "問題共 3000 個字元，超過了 2000 個字元的上限"),
        ("why? " * 600, "The question is 2999 characters long; the limit is 2000"),
        ("\u0958" * 1500, "The question is 3000 characters long"),  # two once normalised
        ("   ", "The question is empty"),
    ],
)
def test_input_mistakes_are_told_in_the_question_language_and_kept(
    engine: Any, data_dir: Path, index_dir: Path, question: str, said: str
) -> None:
    turn = ui.answer(question, data_dir=data_dir, index_dir=index_dir)
    assert turn.kind == "error" and turn.message and said in turn.message
    assert ui.box_after(question, turn) == question  # left in the box to be shortened
    if turn.length:  # the echo's "(N characters in all)" says the message's N
        assert f"{turn.length} " in turn.message
    answered = ui.answer("why not open source?", data_dir=data_dir, index_dir=index_dir)
    assert ui.box_after("why not open source?", answered) is None  # the box is left alone


def test_the_passages_box_takes_any_number() -> None:
    # the slider's number box accepts decimals and numbers out of range
    assert [ui.slider_k(v) for v in (2.5, 3.7, 0, 999, -4, None, 7.0)] == [3, 4, 1, 20, 1, 5, 7]
    assert ui.slider_k("five") == "five"  # left for retrieve to refuse, with its message


def test_invisible_characters_only_are_an_empty_question() -> None:
    for blank in ("", "   ", "\u200b", "\u00a0\u3000\u200b", "\ufeff\n\t", "\x00\x1b", None,
                  "\u3164", "\u115f\u034f", "\u2800 \u2800"):
        assert ui.is_blank(blank), repr(blank)
        if isinstance(blank, str):  # the API agrees
            with pytest.raises(InvalidQueryError, match="empty"):
                ui.clean_query(blank)
    for asked in ("a", "\u200b百度", " ? "):
        assert not ui.is_blank(asked), repr(asked)


def test_one_sessions_questions_are_answered_one_at_a_time() -> None:
    """Two questions of one session answered at once both stay in its conversation; another
    session is not held up meanwhile."""
    conversations = ui.Conversations(size=4)
    started = threading.Barrier(2)

    def ask(key: str, text: str, pause: float) -> None:
        started.wait()
        with conversations.session(key):
            history = conversations.latest(key, [])
            time.sleep(pause)  # the search
            conversations.store(key, [*history, ui.Turn(text, "en")])

    threads = [threading.Thread(target=ask, args=("s1", q, 0.3)) for q in ("one", "two")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(t.question for t in conversations.latest("s1", [])) == ["one", "two"]
    # a session the server no longer keeps falls back to the event's own turns
    for key in ("a", "b", "c", "d"):
        with conversations.session(key):
            conversations.store(key, [])
    mine = [ui.Turn("kept by the page", "en")]
    assert conversations.latest("s1", mine) == mine
    assert conversations.latest(None, mine) == mine


def test_viewer_messages_can_be_closed_and_speak_the_question_language() -> None:
    gone = ui._refusal(ui.texts("zh-Hant")["gone"], "zh-Hant")
    assert "這段出處已不在當前對話中" in gone and 'lang="zh-Hant"' in gone
    assert 'class="qb-src-close"' in gone and 'aria-label="關閉原文"' in gone


def test_unexpected_errors_are_logged_not_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> list[Hit]:
        raise RuntimeError("secret internals at /srv/x.py line 3")

    monkeypatch.setattr(ui, "retrieve", broken)
    with caplog.at_level(logging.ERROR, logger="bot.ui"):
        turn = ui.answer("为什么不开源")
    assert turn.kind == "error" and turn.message == "检索时出错，请重试。"
    assert "secret" not in ui.turn_html(turn, 0)
    assert "secret internals" in caplog.text


# -- source viewer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc_id",
    ["../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "data/catalog.json", "..",
     "", "000_483ad79ec9aeb76f/../../x", "x..", "C:\\Windows\\win.ini", "~root", "a b", None,
     123, ["000"]],
)
def test_source_viewer_refuses_paths(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, doc_id: Any
) -> None:
    opened: list[str] = []
    me = threading.get_ident()  # (other threads' files are not this test's business)

    def spy(name: str) -> Any:
        real = getattr(Path, name)

        def wrapper(self: Path, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == me:
                opened.append(str(self))
            return real(self, *args, **kwargs)

        return wrapper

    real_open = builtins.open

    def open_spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == me:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    for name in ("read_text", "read_bytes", "open"):
        monkeypatch.setattr(Path, name, spy(name))
    monkeypatch.setattr(builtins, "open", open_spy)
    monkeypatch.setattr(ui, "article", lambda *a, **k: pytest.fail("article() was called"))
    out = ui.source_html(doc_id, 0, 10, data_dir)
    monkeypatch.undo()
    assert "qb-source-error" in out and "Only the catalogued articles" in out
    assert opened == []
    assert_inert(out)


def test_source_viewer_refuses_unknown_ids(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setattr(ui, "article", lambda *a, **k: pytest.fail("article() was called"))
    out = ui.source_html("999_<b>nope</b>", 0, 10, data_dir)
    assert "qb-source-error" in out and "<b>" not in out
    for doc_id in ("999_nope", "catalog.json", "000_483ad79ec9aeb76f.txt"):
        out = ui.source_html(doc_id, 0, 10, data_dir)
        assert "qb-source-error" in out and doc_id in out and "in the catalog" in out
    # (an article removed since the answer: said in the card's language)
    out = ui.source_html("999_nope", 0, 10, data_dir, "zh-Hant")
    assert "這篇文章已不在文章目錄中" in out and 'lang="zh-Hant"' in out


def test_source_viewer_highlights_the_passage(
    engine: Any, data_dir: Path, index_dir: Path
) -> None:
    for question in (EN_Q, ZH_Q, "為什麼百度強調智能體?"):
        hit = retrieve(question, 1, data_dir=data_dir, index_dir=index_dir)[0]
        out = ui.source_html(hit.doc_id, hit.start, hit.end, data_dir, "en", hit.paragraph)
        p = assert_inert(out)
        assert "".join(p.marked) == hit.text
        paras = [a.get("data-para") for t, a in p.tags if a.get("class") == "qb-para"]
        assert str(hit.paragraph) in paras
        assert f"¶{hit.paragraph}" in "".join(p.text)
        same = ui.source_html(hit.doc_id, hit.start, hit.end, data_dir, "en", hit.paragraph,
                              expect=hit.text)
        assert same == out
    # the title is shown once, in the header (the file's title line is not repeated under it)
    title = "李彦宏内部讲话:闭源模型在能力上会持续领先,大模型创业公司应足够专注"
    head = ui.source_html("000_483ad79ec9aeb76f", 0, 0, data_dir, "en")
    assert head.count(title) == 1 and "qb-src-title" in head
    # the article edited since the answer: the span no longer holds the passage
    stale = ui.source_html(hit.doc_id, hit.start + 1, hit.end + 1, data_dir, "zh-Hant",
                           hit.paragraph, expect=hit.text)
    assert "qb-source-error" in stale and "原文在回答之後已有改動" in stale


def test_the_counterpart_is_not_listed_twice() -> None:
    en = Report("001_38b38b26fc8d2c4c", "Yicai ¶3", "en", "t", "data/y.txt", 5, 9, 3)
    hant = Report("004_544973c9ced5136f", "NBD ¶15", "zh-Hant", "u", "data/z.txt", 7, 9, 15)
    out = ui.card_html(make_hit(also_in=(en, hant), parallel=en), 1, 0, "en")
    also = out[out.index("qb-also"):out.index("qb-parallel")]
    assert "NBD ¶15" in also and "Yicai ¶3" not in also
    assert 'also:1' in also  # the button still opens the right report
    assert "qb-also" not in ui.card_html(make_hit(also_in=(en,), parallel=en), 1, 0, "en")


def test_pick_only_follows_references_into_the_session() -> None:
    report = Report("001_38b38b26fc8d2c4c", "c", "en", "t", "data/y.txt", 5, 9, 2)
    hit = make_hit(also_in=(report,), parallel=report)
    turns = [ui.Turn("q", "en", hits=(hit,))]
    assert ui.pick(turns, 0, 1, "hit") is hit
    assert ui.pick(turns, "0", 1.0, None) is hit
    assert ui.pick(turns, 0, 1, "also:0") is report
    assert ui.pick(turns, 0, 1, "parallel") is report
    for ref in [(1, 1, "hit"), (0, 0, "hit"), (0, 2, "hit"), (-1, 1, "hit"), (0, 1, "also:1"),
                (0, 1, "also:x"), (0, 1, "../../etc/passwd"), (True, 1, "hit"),
                ("0; rm", 1, "hit"), (None, None, None), (0.5, 1, "hit")]:
        assert ui.pick(turns, *ref) is None, ref


# -- packaging ----------------------------------------------------------------------------------


def test_missing_gradio_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gradio", None)  # makes `import gradio` fail
    monkeypatch.delitem(sys.modules, "bot.ui")
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'quotebot[ui]'")):
        importlib.import_module("bot.ui")


def _load_app() -> Any:
    spec = importlib.util.spec_from_file_location("quotebot_app", REPO_ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_app_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _load_app()
    args = app.parse_args([])
    assert (args.host, args.port, args.share, args.data, args.index, args.model, args.upload) == (
        "127.0.0.1", 7860, False, None, None, None, None,
    )
    calls: list[tuple[Any, ...]] = []
    real_serve = ui.serve
    monkeypatch.setattr(ui, "serve", lambda *a: calls.append(a))
    assert app.main(["--host", "0.0.0.0", "--port", "8080", "--share", "--data", "d",
                     "--index", "i", "--model", "m", "--no-upload"]) == 0
    assert calls[-1] == ("0.0.0.0", 8080, True, Path("d"), Path("i"), "m", False)
    # by default the upload control is there only for a loopback-only server; serve decides,
    # so it runs for real here, with the index, the Gradio app and the server stubbed out
    shown: list[bool] = []

    class _Demo:
        def block_thread(self) -> None:
            pass

    def fake_build_demo(*a: Any) -> _Demo:
        shown.append(a[3])
        return _Demo()

    monkeypatch.setattr(ui, "serve", real_serve)
    monkeypatch.setattr(ui, "warm_up", lambda *a: None)
    monkeypatch.setattr(ui, "check_port", lambda *a: None)  # (no address here is bound)
    monkeypatch.setattr(ui, "build_demo", fake_build_demo)
    monkeypatch.setattr(ui, "launch", lambda *a, **kw: (None, "http://x", None))
    for argv, upload in (
        ([], True),
        (["--host", "localhost"], True),
        (["--host", "::1"], True),
        (["--host", "0.0.0.0"], False),
        (["--host", "192.0.2.7"], False),
        (["--host", "example.org"], False),
        (["--share"], False),
        (["--host", "0.0.0.0", "--upload"], True),
        (["--no-upload"], False),
    ):
        assert app.main(argv) == 0
        assert shown[-1] is upload, argv


# -- adding an article -------------------------------------------------------------------------


def copy_dirs(data_dir: Path, index_dir: Path, root: Path) -> tuple[Path, Path]:
    """Private copies of the corpus and its index (uploads never touch the shared ones)."""
    data, index = root / "data", root / "index"
    shutil.copytree(data_dir, data)
    shutil.copytree(index_dir, index)
    return data, index


def tree(*dirs: Path) -> dict[str, bytes]:
    """Every file under ``dirs`` with its bytes."""
    return {
        str(f.relative_to(d.parent)): f.read_bytes()
        for d in dirs for f in sorted(d.rglob("*")) if f.is_file()
    }


def test_upload_adds_an_article_and_the_chat_answers_from_it(
    data_dir: Path, index_dir: Path, tmp_path: Path
) -> None:
    data, index = copy_dirs(data_dir, index_dir, tmp_path)
    where: dict[str, Any] = {"data_dir": data, "index_dir": index}
    page = tmp_path / "quillfinch.html"
    page.write_text(UPLOAD_HTML, encoding="utf-8")
    evil = tmp_path / "<img src=x onerror=alert(1)>.txt"
    evil.write_bytes(b"")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    pptx = tmp_path / "slides.pptx"
    pptx.write_bytes(b"PK\x03\x04 not really")
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.4\nthis is not a pdf at all\n")

    # bad uploads: a clear message each, and nothing changes
    before = tree(data, index)
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (None, {}, "Choose a file"),
        ("  ", {}, "Choose a file"),
        (evil, {}, "<img src=x onerror=alert(1)>.txt is empty"),
        (binary, {}, "binary"),
        (str(pptx), {}, "unsupported file type"),
        (pdf, {}, "not a readable PDF"),
        (page, {"date": "01/05/2024"}, "YYYY-MM-DD"),
        (page, {"title": "x" * 600}, "too long"),
        (page, {"lang": "fr"}, "lang"),
        (page, {"outlet": 42}, "must be text"),
        (page, {"author": "x" * 600}, "too long"),
    ]
    for file, meta, needle in cases:
        out = ui.add_upload(file, **meta, **where)
        assert not out.ok and not out.added and out.doc_id is None, (file, out)
        assert needle in out.message, (needle, out.message)
        shown = ui.upload_html(out)
        assert "qb-upload-error" in shown and "<img" not in shown
        assert needle in "".join(assert_inert(shown).text)
        assert ui.LABELS["not_added"] in shown
    assert tree(data, index) == before

    # a good one: added with the form's outlet, the page's title and date, progress to 1.0
    steps: list[tuple[float, str]] = []
    out = ui.add_upload(
        str(page), outlet=" Field Notes\tWeekly ", title="   ", date="", url=None,
        lang=ui.DETECT_LANG, author=" Ada  Nwosu ", progress=lambda f, m: steps.append((f, m)),
        **where,
    )
    assert out.ok and out.added, out.message
    assert f"added as {out.doc_id}" in out.message and "newly encoded" in out.message
    fractions = [f for f, _ in steps]
    assert len(steps) >= 4 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("index" in m for _, m in steps)
    doc = {d.doc_id: d for d in load_catalog(data)}[out.doc_id]
    assert (doc.title, doc.outlet, doc.date, doc.url, doc.lang) == (
        "Robin Li on the Quillfinch hive sensor", "Field Notes Weekly", "2024-03-12", None, "en"
    )
    assert doc.author == "Ada Nwosu"  # the form's author field (a tester's: there was none)
    assert out.doc_id in [value for _, value in ui._article_choices(data)]  # the filter's list
    assert 'data-doc="' + out.doc_id in ui.upload_html(out)
    assert ui.LABELS["added"] in ui.upload_html(out)

    # the chat now answers from it, with exact spans, and the article view has no boilerplate
    turn = ui.answer(UPLOAD_Q, **where)
    assert turn.kind == "hits" and turn.hits[0].doc_id == out.doc_id, turn
    for hit in turn.hits:
        assert source_text(hit.source_path)[hit.start : hit.end] == hit.text
    top = turn.hits[0]
    assert "Quillfinch" in top.text
    assert top.citation.startswith("Robin Li on the Quillfinch hive sensor — Field Notes Weekly")
    only = ui.answer(UPLOAD_Q, 5, [out.doc_id], None, **where)
    assert only.hits and {h.doc_id for h in only.hits} == {out.doc_id}
    view = assert_inert(ui.source_html(out.doc_id, top.start, top.end, data, "en", top.paragraph))
    assert "".join(view.marked) == top.text
    for junk in BOILERPLATE:
        assert junk not in "".join(view.text), junk

    # the same content again: reported, not duplicated
    catalog = (data / CATALOG_NAME).read_bytes()
    again = ui.add_upload(page, **where)
    assert again.ok and not again.added and again.doc_id == out.doc_id
    assert "already in the catalog" in again.message
    assert ui.LABELS["already"] in ui.upload_html(again)
    assert (data / CATALOG_NAME).read_bytes() == catalog


def test_an_article_edited_under_the_app_is_said_in_the_questions_language(
    data_dir: Path, index_dir: Path, tmp_path: Path
) -> None:
    """The index no longer matches the articles: the chat says so in the question's language
    (it showed the developer's message, corpus hashes and all, in English)."""
    data, index = tmp_path / "data", tmp_path / "index"
    shutil.copytree(data_dir, data)
    shutil.copytree(index_dir, index)
    doc = load_catalog(data)[0]
    doc.path.write_text(doc.path.read_text(encoding="utf-8") + "\n补充一段。\n", encoding="utf-8")
    turn = ui.answer("百度为什么不开源?", 5, data_dir=data, index_dir=index)
    assert turn.kind == "error" and turn.message == ui.texts("zh-Hans")["rebuild"]
    assert "corpus_hash" not in turn.message
    english = ui.answer("why not open source?", 5, data_dir=data, index_dir=index)
    assert english.message == ui.texts("en")["rebuild"]


def test_a_damaged_catalog_is_said_not_a_bare_error(data_dir: Path, tmp_path: Path) -> None:
    """A catalog cut short by hand under the running app: the upload says what is wrong and
    the article list keeps its choices (it raised, and the page showed only "Error")."""
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    (data / CATALOG_NAME).write_bytes((data / CATALOG_NAME).read_bytes()[:300])
    page = tmp_path / "a.txt"
    page.write_text("A title\n\nSome text about open models that is long enough.\n")
    out = ui.add_upload(page, data_dir=data, index_dir=tmp_path / "index")
    assert not out.ok and CATALOG_NAME in out.message
    assert ui._article_update(data) == ui.gr.update()


def test_a_port_in_use_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}.*pick another --port"):
            ui.check_port("127.0.0.1", port)
        app = _load_app()
        assert app.main(["--port", str(port)]) == 2  # refused before the index is loaded
        err = capsys.readouterr().err
        assert err.startswith("error: cannot listen") and "Traceback" not in err
    ui.check_port("127.0.0.1", port)  # free again
    with pytest.raises(ServeError, match="1 to 65535"):
        ui.check_port("127.0.0.1", 70000)


def test_upload_control_can_be_left_out(data_dir: Path, index_dir: Path) -> None:
    def elem_ids(demo: Any) -> set[str]:
        return {c.get("props", {}).get("elem_id") for c in demo.config["components"]} - {None}

    with_upload = ui.build_demo(data_dir, index_dir)
    without = ui.build_demo(data_dir, index_dir, allow_upload=False)
    assert {"qb-up-file", "qb-up-add", "qb-up-status"} <= elem_ids(with_upload)
    assert not {i for i in elem_ids(without) if i.startswith("qb-up")}
    assert "qb-input" in elem_ids(without)


# -- the running app ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(data_dir: Path, index_dir: Path) -> Iterator[str]:
    ui.warm_up(data_dir, index_dir)
    demo = ui.build_demo(data_dir, index_dir)
    _, url, _ = ui.launch(demo, "127.0.0.1", _free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def test_ask_endpoint(server: str, data_dir: Path, index_dir: Path) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server, verbose=False)
    keys = {f.name for f in fields(Hit)}
    for question in (EN_Q, ZH_Q):
        result = client.predict(question, api_name="/ask")
        assert isinstance(result, list) and result
        for item in result:
            assert isinstance(item, dict) and set(item) == keys
            assert source_text(item["source_path"])[item["start"]:item["end"]] == item["text"]
        expected = retrieve(question, data_dir=data_dir, index_dir=index_dir)
        assert [(r["doc_id"], r["start"], r["end"]) for r in result] == [
            (h.doc_id, h.start, h.end) for h in expected
        ]
    assert any("每天调用量超过6亿" in r["text"] for r in client.predict(EN_Q, api_name="/ask"))
    assert len(client.predict(ZH_Q, 2, api_name="/ask")) == 2
    assert client.predict(OFF_TOPIC, api_name="/ask") == []
    # the speaker filter, in any spelling the glossary knows
    only = client.predict("开源有什么好处?", 5, "王小川", api_name="/ask_speaker")
    assert only and [(r["doc_id"], r["start"]) for r in only] == [
        (h.doc_id, h.start) for h in retrieve("开源有什么好处?", 5, speaker="Wang Xiaochuan",
                                              data_dir=data_dir, index_dir=index_dir)
    ]
    with pytest.raises(AppError, match="no passage is attributed"):
        client.predict(EN_Q, 5, "Elon Musk", api_name="/ask_speaker")
    for bad, needle in (("   ", "empty"), ("x" * 100_000, "limit")):
        with pytest.raises(AppError, match=needle):
            client.predict(bad, api_name="/ask")
    # several requests at once are all served
    jobs = [client.submit(q, 3, api_name="/ask") for q in (EN_Q, ZH_Q, EN_Q, ZH_Q)]
    assert all(len(job.result(timeout=60)) == 3 for job in jobs)
    client.close()


def test_ask_serves_several_requests_at_once(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio_client import Client

    lock = threading.Lock()
    inflight = {"now": 0, "peak": 0}
    real = ui.retrieve

    def slow(*args: Any, **kwargs: Any) -> list[Hit]:
        with lock:
            inflight["now"] += 1
            inflight["peak"] = max(inflight["peak"], inflight["now"])
        try:
            time.sleep(0.5)  # long enough for the others to arrive
            return real(*args, **kwargs)
        finally:
            with lock:
                inflight["now"] -= 1

    monkeypatch.setattr(ui, "retrieve", slow)  # the app runs in this process
    client = Client(server, verbose=False)
    try:
        jobs = [client.submit(q, 2, api_name="/ask") for q in (EN_Q, ZH_Q, EN_Q, ZH_Q)]
        assert all(len(job.result(timeout=60)) == 2 for job in jobs)
    finally:
        client.close()
    assert inflight["peak"] >= 2, "requests were served one at a time"


@pytest.mark.browser
@pytest.mark.slow
def test_chat_in_a_browser(
    server: str, data_dir: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian package `chromium`; the test never downloads one)")
    from playwright.sync_api import sync_playwright

    en_hits = retrieve(EN_Q, data_dir=data_dir, index_dir=index_dir)
    zh_hits = retrieve(ZH_Q, data_dir=data_dir, index_dir=index_dir)
    ernie = next((h for h in en_hits if "每天调用量超过6亿" in h.text), None)
    assert ernie is not None, f"retrieve no longer finds the ERNIE figure: {en_hits}"
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server, timeout=WAIT_MS)
            box = page.locator("#qb-input textarea")
            box.wait_for()

            def ask(question: str, n: int) -> Any:
                box.fill(question)
                box.press("Enter")
                page.wait_for_function(
                    f"document.querySelectorAll('#qb-chat .qb-turn').length === {n}",
                    timeout=WAIT_MS,
                )
                return page.locator("#qb-chat .qb-turn").nth(n - 1)

            # the box has a name for a screen reader ("Textbox" before; a tester's)
            assert page.get_by_role("textbox", name="Question / 问题 / 問題").count() == 1
            # English question: lead, cards, the expected passage with its citation
            turn = ask(EN_Q, 1)
            assert turn.locator(".qb-lead").inner_text() == ui.lead(en_hits, "en")
            # ... the lead read out from the live region, and each card's buttons named by its
            # citation, not "Copy" five times
            status = page.locator("p.qb-sr[role=status]")
            assert status.count() == 1 and status.text_content() == ui.lead(en_hits, "en")
            # ... and only there: Gradio's announcer ("Loading", "common.complete") is silenced
            assert page.evaluate(
                "(() => { const a = [...document.querySelectorAll('div.sr-only[role=status]')];"
                " return a.length > 0"
                " && a.every(e => getComputedStyle(e).display === 'none'); })()")
            assert page.get_by_role("button", name=f"Copy citation: {ernie.citation}").count() == 1
            cards = turn.locator(".qb-card")
            assert cards.count() == len(en_hits)
            i = en_hits.index(ernie)
            card = cards.nth(i)
            assert squash(card.locator(".qb-text").first.inner_text()) == squash(ernie.text)
            assert card.locator(".qb-cite").inner_text() == ernie.citation
            assert card.locator(".qb-match").get_attribute("data-match") == ernie.match

            # Chinese question: Chinese lead, the same passages retrieve gives
            turn = ask(ZH_Q, 2)
            assert turn.locator(".qb-lead").inner_text() == ui.lead(zh_hits, "zh-Hans")
            texts = [squash(t) for t in turn.locator(".qb-card > .qb-text").all_inner_texts()]
            assert texts == [squash(h.text) for h in zh_hits]

            # the citation is copied to the clipboard
            copy = cards.nth(i).locator("button.qb-copy")
            copy.click()
            page.wait_for_function(
                "() => document.querySelector('#qb-chat button.qb-copied') !== null",
                timeout=WAIT_MS,
            )
            assert page.evaluate("navigator.clipboard.readText()") == ernie.citation

            # the passage in its article, highlighted
            cards.nth(i).locator("button.qb-open:not(.qb-link)").click()
            mark = page.locator("#qb-source mark.qb-hl")
            mark.wait_for()
            assert squash(mark.inner_text()) == squash(ernie.text)
            assert page.locator("#qb-source .qb-source").get_attribute("data-doc") == ernie.doc_id
            page.screenshot(path=str(ARTIFACTS / "ui-desktop.png"))
            # ... and closed again with its × button
            page.locator("#qb-source button.qb-src-close").click()
            page.locator("#qb-source .qb-source-empty").wait_for()
            assert page.locator("#qb-source mark").count() == 0
            # ... or with Escape, from the button that opened it
            opener = cards.nth(i).locator("button.qb-open:not(.qb-link)")
            opener.click()
            page.locator("#qb-source mark.qb-hl").wait_for()
            page.keyboard.press("Escape")
            page.locator("#qb-source .qb-source-empty").wait_for()

            # off-topic: the plain no-answer message
            turn = ask(OFF_TOPIC, 3)
            assert turn.locator(".qb-none").inner_text() == NO_ANSWER["en"]

            # markup in a question is shown as text and runs nothing
            evil = "<script>alert(1)</script><img src=x onerror=alert(2)> ${alert(3)} {{value}}"
            turn = ask(evil, 4)
            assert turn.locator(".qb-qtext").inner_text() == evil
            page.wait_for_timeout(1000)
            assert dialogs == []
            assert page.locator("#qb-chat img, #qb-chat script").count() == 0

            # Ask clicked twice in a row: one question, one turn (the second click finds the
            # box emptied by the first and adds nothing)
            box.fill(EN_Q)
            ask_btn = page.locator("#qb-ask")
            ask_btn.click()
            ask_btn.click()
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 5", timeout=WAIT_MS
            )
            page.wait_for_timeout(2000)  # time for a second turn, were one coming
            assert page.locator("#qb-chat .qb-qtext").all_inner_texts()[4:] == [EN_Q]

            # an example question asks itself; traditional Chinese gets a traditional lead
            page.get_by_role("button", name="為什麼百度強調智能體?").click()
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 6", timeout=WAIT_MS
            )
            lead = page.locator("#qb-chat .qb-turn").nth(5).locator(".qb-lead").inner_text()
            assert lead.startswith("找到") and "出處" in lead

            # the box empties as a question is sent; what is typed while the answer is on its
            # way stays there (the search is slowed so that there is time to type)
            real = ui.retrieve

            def slow(*args: Any, **kwargs: Any) -> list[Hit]:
                time.sleep(2)
                return real(*args, **kwargs)

            monkeypatch.setattr(ui, "retrieve", slow)  # the app runs in this process
            box.fill(ZH_Q)
            box.press("Enter")
            page.wait_for_function(
                "document.querySelector('#qb-input textarea').value === ''", timeout=WAIT_MS
            )
            box.type("next question")
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 7", timeout=WAIT_MS
            )
            page.wait_for_timeout(500)
            assert box.input_value() == "next question"
            # a question sent and an example clicked while it is being answered: both turns
            # stay (each event starts from the turns of its own start; the later answer used
            # to replace the conversation without the earlier one)
            box.fill(EN_Q)
            box.press("Enter")
            page.wait_for_timeout(300)
            page.get_by_role("button", name="百度为什么不开源?").click()
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 9", timeout=WAIT_MS
            )
            page.wait_for_timeout(1000)
            asked = page.locator("#qb-chat .qb-qtext").all_inner_texts()
            assert sorted(asked[7:]) == sorted([EN_Q, "百度为什么不开源?"]), asked
            assert page.locator("#qb-chat .qb-turn").count() == 9
            # a second question sent with Enter while the first is answered is asked too
            box.fill("百度为什么不开源?")
            box.press("Enter")
            page.wait_for_timeout(100)
            box.fill(ZH_Q)
            box.press("Enter")
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 11", timeout=WAIT_MS
            )
            asked = page.locator("#qb-chat .qb-qtext").all_inner_texts()
            assert sorted(asked[9:]) == sorted([ZH_Q, "百度为什么不开源?"]), asked
            monkeypatch.setattr(ui, "retrieve", real)
            # nothing but invisible characters is an empty question: a note, no turn
            box.fill("\u200b\u00a0\u3000\u200b")
            box.press("Enter")
            page.wait_for_timeout(1500)
            assert page.locator("#qb-chat .qb-turn").count() == 11
            box.fill("")

            # the speaker filter: only Fang Han's words and the passages quoting him; the
            # toggle tells a screen reader whether it is open (a tester's: it did not)
            toggle = page.get_by_role("button", name="Filters / 筛选")
            assert toggle.get_attribute("aria-expanded") == "false"
            toggle.click()
            page.wait_for_function(
                "document.querySelector('.gr-accordion > button.label-wrap.open')"
                "?.getAttribute('aria-expanded') === 'true'", timeout=WAIT_MS)
            page.locator("#qb-speaker input").click()
            page.get_by_role("option", name="Fang Han · 方汉").click()
            page.keyboard.press("Escape")
            turn = ask("开源有什么好处?", 12)
            fang = retrieve("开源有什么好处?", speaker="Fang Han", data_dir=data_dir,
                            index_dir=index_dir)
            shown = turn.locator(".qb-card > .qb-text").all_inner_texts()
            assert fang and [squash(t) for t in shown] == [squash(h.text) for h in fang]
            page.screenshot(path=str(ARTIFACTS / "ui-speaker-filter.png"))
            page.locator("#qb-speaker input").click()
            page.get_by_role("option", name="Anyone / 任何人").click()
            page.keyboard.press("Escape")
            # the passages box takes any number typed: 999 asks for the most it allows, and
            # the box then shows that number (it kept showing 999)
            number = page.locator("#qb-k input[type=number]")
            # ... as soon as the box is left, before any question (a tester's: it kept 0, -3)
            number.fill("-3")
            number.press("Tab")
            page.wait_for_function(
                "document.querySelector('#qb-k input[type=number]').value === '1'",
                timeout=WAIT_MS)
            number.fill("999")
            number.press("Tab")
            turn = ask("why not open source?", 13)
            page.wait_for_function(
                f"document.querySelector('#qb-k input[type=number]').value === '{ui.UI_MAX_K}'",
                timeout=WAIT_MS,
            )
            assert turn.locator(".qb-card").count() == ui.UI_MAX_K
            number.fill("5")
            number.press("Tab")

            # phone width: nothing wider than the screen, the passage text still legible
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(500)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            size = page.locator("#qb-chat .qb-card .qb-text").first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            )
            assert size >= 14
            page.screenshot(path=str(ARTIFACTS / "ui-phone.png"))
            zh_turn = page.locator("#qb-chat .qb-turn").nth(1)
            zh_turn.locator("button.qb-open:not(.qb-link)").first.click()
            # (the previous article's highlight is still there until the new one arrives)
            page.wait_for_function(
                """([doc, text]) => {
                  const view = document.querySelector('#qb-source .qb-source');
                  const mark = document.querySelector('#qb-source mark.qb-hl');
                  return view && mark && view.dataset.doc === doc
                    && mark.innerText.replace(/\\s+/g, '') === text;
                }""",
                arg=[zh_hits[0].doc_id, squash(zh_hits[0].text)],
                timeout=WAIT_MS,
            )
            page.screenshot(path=str(ARTIFACTS / "ui-phone-source.png"))
            # opened: the keyboard is in the article, and Tab goes on to its × (a tester's: it
            # went past it, to the page's footer)
            page.wait_for_function(
                "() => document.activeElement && document.activeElement.matches("
                "'#qb-source .qb-doc')", timeout=WAIT_MS)
            page.keyboard.press("Tab")
            assert page.evaluate(
                "document.activeElement.matches('#qb-source button.qb-src-close')")
            # ... shown at the top right of the viewer, above the text
            close_box = page.locator("#qb-source button.qb-src-close").bounding_box()
            doc_box = page.locator("#qb-source .qb-doc").bounding_box()
            assert close_box is not None and doc_box is not None
            assert close_box["y"] + close_box["height"] <= doc_box["y"] + 1, (close_box, doc_box)
            # closed: the reader is back at the button that opened it (on screen, focused)
            page.locator("#qb-source button.qb-src-close").click()
            page.locator("#qb-source .qb-source-empty").wait_for()
            page.wait_for_function(
                """() => {
                  const b = document.activeElement;
                  if (!b || !b.matches('#qb-chat button.qb-open')) return false;
                  const r = b.getBoundingClientRect();
                  return b.dataset.turn === '1' && r.top >= 0 && r.bottom <= window.innerHeight;
                }""",
                timeout=WAIT_MS,
            )
            # ... and opened again: the page scrolls to the highlight, which the short
            # closed viewer would otherwise leave below the screen's edge
            zh_turn.locator("button.qb-open:not(.qb-link)").nth(1).click()
            page.locator("#qb-source mark.qb-hl").wait_for()
            page.wait_for_timeout(800)
            box_hl = page.locator("#qb-source mark.qb-hl").bounding_box()
            assert box_hl is not None
            assert 0 <= box_hl["y"] and box_hl["y"] + box_hl["height"] <= 844, box_hl
            assert dialogs == []
        finally:
            browser.close()


@pytest.fixture(scope="module")
def upload_server(
    data_dir: Path, index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """An app of its own over private copies of the corpus and index (uploads change them)."""
    if shutil.which("chromium") is None:
        pytest.skip("no chromium on PATH (Debian package `chromium`; the test never downloads one)")
    data, index = copy_dirs(data_dir, index_dir, tmp_path_factory.mktemp("upload"))
    demo = ui.build_demo(data, index)
    _, url, _ = ui.launch(demo, "127.0.0.1", _free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, data, index
    finally:
        demo.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.slow
def test_a_traditional_chinese_browser(server: str, data_dir: Path, index_dir: Path) -> None:
    """A zh-TW browser (a tester's): the fixed labels and the speakers' Chinese names in
    traditional script, and the filter still works; an English browser keeps simplified. And
    the keyboard's way from the question box to the answer (it took 15 Tabs, a tester's)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian package `chromium`; the test never downloads one)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        try:
            seen: dict[str, tuple[str, list[str]]] = {}
            for locale in ("zh-TW", "en-US"):
                page = browser.new_context(locale=locale).new_page()
                page.set_default_timeout(WAIT_MS)
                page.goto(server, timeout=WAIT_MS)
                page.locator("#qb-input textarea").wait_for()
                toggle = page.locator(".gr-accordion > button.label-wrap").first
                toggle.click()
                page.locator("#qb-speaker input").click()
                page.get_by_role("option", name="Fang Han", exact=False).first.wait_for()
                options = page.get_by_role("option").all_inner_texts()
                seen[locale] = (toggle.inner_text(), options)
                if locale == "zh-TW":
                    assert page.get_by_text("Speaker / 說話人").count() >= 1
                    page.get_by_role("option", name="Fang Han · 方漢").click()
                    page.keyboard.press("Escape")
                    question = "開源有什麼好處?"
                    page.locator("#qb-input textarea").fill(question)
                    page.locator("#qb-input textarea").press("Enter")
                    page.wait_for_function(
                        "document.querySelectorAll('#qb-chat .qb-turn').length === 1",
                        timeout=WAIT_MS)
                    shown = page.locator("#qb-chat .qb-card > .qb-text").all_inner_texts()
                    fang = retrieve(question, speaker="Fang Han", data_dir=data_dir,
                                    index_dir=index_dir)
                    assert fang and [squash(t) for t in shown] == [squash(h.text) for h in fang]
                    # the answer says what it was searched under (a tester's, on a phone)
                    said = page.locator("#qb-chat .qb-turn .qb-filters").inner_text()
                    assert said == "已篩選：說話人 方漢", said
                    # a question either script writes is answered in the reader's
                    page.locator("#qb-input textarea").fill("百度的市值")
                    page.locator("#qb-input textarea").press("Enter")
                    page.wait_for_function(
                        "document.querySelectorAll('#qb-chat .qb-turn').length === 2",
                        timeout=WAIT_MS)
                    last = page.locator("#qb-chat .qb-turn").nth(1).locator(".qb-a")
                    assert last.get_attribute("lang") == "zh-Hant"
                else:
                    # the keyboard's way to the answer: from the box, Tab to Ask, Tab to the
                    # skip button, Enter: the answer's heading; Tab: its first card's button
                    page.keyboard.press("Escape")
                    box = page.locator("#qb-input textarea")
                    box.fill(EN_Q)
                    box.press("Enter")
                    page.wait_for_function(
                        "document.querySelectorAll('#qb-chat .qb-turn').length === 1",
                        timeout=WAIT_MS)
                    box.focus()
                    page.keyboard.press("Tab")
                    page.keyboard.press("Tab")
                    focused = "document.activeElement.className"
                    assert "qb-skip" in page.evaluate(focused)
                    page.keyboard.press("Enter")
                    assert page.evaluate("document.activeElement.tagName") == "H2"
                    assert page.evaluate("document.activeElement.textContent") == ui.lead(
                        retrieve(EN_Q, data_dir=data_dir, index_dir=index_dir), "en")
                    page.keyboard.press("Tab")
                    assert "qb-copy" in page.evaluate(focused)
                page.context.close()
        finally:
            browser.close()
    tw_toggle, tw_options = seen["zh-TW"]
    en_toggle, en_options = seen["en-US"]
    assert tw_toggle.startswith("Filters / 篩選"), tw_toggle
    assert en_toggle.startswith("Filters / 筛选"), en_toggle
    assert "Robin Li · 李彥宏" in tw_options and "Fang Han · 方漢" in tw_options, tw_options
    assert "Robin Li · 李彦宏" in en_options and "Fang Han · 方汉" in en_options, en_options


def test_upload_in_a_browser(upload_server: tuple[str, Path, Path], tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    url, data, index = upload_server
    # (every kind of bad file gets its message in test_upload_adds_an_article_and_...; here
    # one of them goes through the page)
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    article = tmp_path / "daoyu-gbk.txt"
    article.write_bytes(UPLOAD_ZH.encode("gbk"))
    docx = tmp_path / "notes.docx"
    docx.write_bytes(b"PK\x03\x04 not really a document")
    catalog = (data / CATALOG_NAME).read_bytes()
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS, timeout=WAIT_MS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            status = page.locator("#qb-up-status")

            def choose(path: Path) -> None:
                """Open the page's upload form and put ``path`` in it. Gradio's uploader now
                and then misses the end of a very fast upload and stays on "Uploading"
                (its progress stream can finish before it listens; more often on a busy
                machine): then load afresh, up to twice."""
                for attempt in (1, 2, 3):
                    page.goto(url, timeout=WAIT_MS)
                    page.locator("#qb-input textarea").wait_for()
                    page.get_by_text("Add an article / 添加文章").click()
                    page.locator("#qb-up-file").get_by_text("Click to Upload").wait_for()
                    page.locator("#qb-up-file input[type=file]").set_input_files(str(path))
                    try:
                        page.locator("#qb-up-file").get_by_text(path.name).wait_for(
                            timeout=15_000
                        )
                        return
                    except PlaywrightTimeoutError:
                        if attempt == 3:
                            raise

            # a binary file: a clear message, the catalog unchanged
            choose(binary)
            page.locator("#qb-up-add").click()
            status.locator(".qb-upload-error").wait_for()
            assert status.locator(".qb-upload-msg").inner_text().strip() == (
                "photo.txt looks like a binary file, not text")
            # the outcome in both languages above the detail
            assert status.locator(".qb-upload-head").inner_text() == "Not added / 未添加"
            assert (data / CATALOG_NAME).read_bytes() == catalog
            # a type it cannot read: named, with the ones it can (the picker used to drop it
            # without a word, and the form then asked for a file)
            choose(docx)
            page.locator("#qb-up-add").click()
            status.locator(".qb-upload-error").wait_for()
            assert "unsupported file type '.docx'; supported: .txt" in status.inner_text()
            assert (data / CATALOG_NAME).read_bytes() == catalog

            # a page opened before the upload and left open (another tab)
            stale = browser.new_page(viewport={"width": 1280, "height": 900})
            stale.set_default_timeout(WAIT_MS)
            stale.goto(url, timeout=WAIT_MS)
            stale.locator("#qb-input textarea").wait_for()

            # a Chinese article in GBK, with an outlet, a date and a title from the form
            choose(article)
            page.locator("#qb-up-outlet textarea, #qb-up-outlet input").first.fill("示例日报")
            page.locator("#qb-up-date textarea, #qb-up-date input").first.fill("2024-06-03")
            page.locator("#qb-up-title textarea, #qb-up-title input").first.fill(UPLOAD_ZH_TITLE)
            page.locator("#qb-up-author textarea, #qb-up-author input").first.fill("林晓")
            page.locator("#qb-up-add").click()
            # progress is shown while the index is updated (several seconds)
            page.wait_for_function(
                "() => document.querySelector('#qb-up-status').innerText.includes('index')",
                timeout=WAIT_MS,
            )
            ok = status.locator(".qb-upload-ok")
            ok.wait_for()
            doc_id = ok.get_attribute("data-doc")
            assert doc_id and f"daoyu-gbk.txt: added as {doc_id}" in ok.inner_text()
            assert {d.doc_id: d.author for d in load_catalog(data)}.get(doc_id) == "林晓"
            for field in ("title", "author"):  # the form is ready for the next file
                assert page.locator(
                    f"#qb-up-{field} textarea, #qb-up-{field} input").first.input_value() == ""


            # the article filter lists it, and the chat answers from it
            page.get_by_text("Filters / 筛选").click()
            page.locator("#qb-docs input").click()
            options = page.get_by_role("option").all_inner_texts()
            name = f"{UPLOAD_ZH_TITLE} — 示例日报, 2024-06-03"
            assert name in options, options
            box = page.locator("#qb-input textarea")
            box.fill(UPLOAD_ZH_Q)
            box.press("Enter")
            turn = page.locator("#qb-chat .qb-turn").first
            turn.wait_for()
            assert turn.locator(".qb-lead").inner_text().startswith("找到")
            card = turn.locator(".qb-card").first
            assert card.get_attribute("data-doc") == doc_id
            # with the new article chosen in the filter, every passage comes from it
            page.locator("#qb-docs input").click()
            page.get_by_role("option", name=name).click()
            page.keyboard.press("Escape")
            box.fill(UPLOAD_ZH_Q)
            box.press("Enter")
            page.wait_for_function(
                "document.querySelectorAll('#qb-chat .qb-turn').length === 2", timeout=WAIT_MS
            )
            only = page.locator("#qb-chat .qb-turn").nth(1).locator(".qb-card")
            assert only.count() >= 1
            assert {c.get_attribute("data-doc") for c in only.all()} == {doc_id}
            assert card.locator(".qb-cite").inner_text().startswith(f"{UPLOAD_ZH_TITLE} — 示例日报")
            hit = retrieve(UPLOAD_ZH_Q, 1, data_dir=data, index_dir=index)[0]
            assert hit.doc_id == doc_id and "青蛙" in hit.text
            assert squash(card.locator(".qb-text").first.inner_text()) == squash(hit.text)
            page.locator("#qb-add").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "ui-upload.png"), full_page=True)
            # the upload form fits a phone's width too
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(500)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.locator("#qb-add").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "ui-upload-phone.png"))
            # a page opened afterwards (another tab, a reload) lists the new article too,
            # and so does the page left open since before the upload, once its filters are
            # opened (they are read afresh then)
            fresh = browser.new_page(viewport={"width": 1280, "height": 900})
            fresh.set_default_timeout(WAIT_MS)
            fresh.goto(url, timeout=WAIT_MS)
            fresh.locator("#qb-input textarea").wait_for()
            for tab in (fresh, stale):
                tab.get_by_text("Filters / 筛选").click()
                tab.locator("#qb-docs input").click()
                tab.get_by_role("option", name=name).wait_for()
            # removed again (from the command line, say): the page left open drops it from
            # its list, and from its choice, when its filters are opened again
            stale.get_by_role("option", name=name).click()
            stale.keyboard.press("Escape")
            chosen = stale.locator("#qb-docs .token")
            assert chosen.count() == 1
            remove_document(doc_id, data_dir=data, index_dir=index)
            stale.get_by_text("Filters / 筛选").click()  # closed
            stale.get_by_text("Filters / 筛选").click()  # and opened again
            chosen.first.wait_for(state="detached")
            stale.locator("#qb-docs input").click()
            stale.get_by_role("option").first.wait_for()
            assert name not in stale.get_by_role("option").all_inner_texts()
            assert len(stale.get_by_role("option").all()) == len(load_catalog(data))
        finally:
            browser.close()


def test_speakers_outside_the_glossary_are_named_in_the_pages_script() -> None:
    from types import SimpleNamespace

    engine = SimpleNamespace(people=[], other_speakers=["陳大文", "张伟", "Maria Delgado"])
    assert dict(ui.speaker_names(engine, "zh-Hans")) == {"陳大文": "陈大文", "张伟": "张伟"}
    assert dict(ui.speaker_names(engine, "zh-Hant")) == {"陳大文": "陳大文", "张伟": "張偉"}
