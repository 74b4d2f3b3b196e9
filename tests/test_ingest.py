"""Bring your own articles (bot.ingest): add, dedupe, refuse, remove; real model and index.

Index builds are expensive (~10-20 s each), so the whole add -> ask -> compare -> remove
lifecycle runs once in a module fixture and the tests look at what it recorded; every other
test works on a fresh copy of data/ without touching an index (``update_index=False``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import retrieve, ui
from bot.cli import main as cli_main
from bot.corpus import CATALOG_NAME, corpus_hash, load_catalog
from bot.errors import DocumentError, MissingExtraError, QuoteBotError
from bot.indexing import build_index
from bot.ingest import add_document, add_documents, prepare, reflow, remove_document
from bot.passages import article, corpus_passages
from bot.retrieve import get_engine
from bot.settings import REPO_ROOT, SETTINGS
from bot.store import TOKEN_FILES, VECTORS, read_rows, vectors_array

QUESTION = "What does the Lumenwing assistant do for farmers?"
BOILERPLATE = (
    "cookie", "Cookie", "Home", "Technology", "Markets slide", "Ten gadgets", "price of coffee",
    "Related articles", "Copyright", "All rights reserved", "Privacy policy", "newsletter",
    "Share this",
)

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Robin Li on the Lumenwing assistant | Example News</title>
<meta property="og:site_name" content="Example News">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-05-01T08:00:00Z">
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
By continuing to browse you accept our cookie policy. <button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/tech">Technology</a></li>
<li><a href="/markets">Markets</a></li><li><a href="/opinion">Opinion</a></li></ul></nav></header>
<main>
<article>
<div class="cookie-notice">We use cookies to give you the best experience on our site.
By continuing you accept our use of cookies.</div>
<h1>Robin Li on the Lumenwing assistant</h1>
<p>In a conversation with Example News, Baidu founder Robin Li described Lumenwing, a fictional
pocket assistant that his team built to translate bird songs into weather forecasts for
farmers.</p>
<p>"Lumenwing listens to the sparrows at dawn and tells a farmer whether it will rain before
noon," Li said. "We trained it on ten thousand mornings of birdsong from Hebei villages."</p>
<p>Li said the device would cost less than a bag of seed and that the first two hundred units
were handed to cooperatives in the spring, because farmers should not have to pay for a
forecast twice.</p>
<p>Asked whether Lumenwing would be open-sourced, Li said the bird-song model would stay closed
for now, but that the recordings would be shared with universities that study migration.</p>
<p>Share this article</p>
<h2>Related articles</h2>
<ul><li><a href="/a">Markets slide as chip stocks tumble on export worries</a></li>
<li><a href="/b">Ten gadgets that will change your kitchen this summer</a></li>
<li><a href="/c">Why the price of coffee keeps climbing across Asia</a></li></ul>
</article>
<aside class="related"><h2>Related articles</h2><ul>
<li><a href="/a">Markets slide as chip stocks tumble on export worries</a></li>
<li><a href="/b">Ten gadgets that will change your kitchen this summer</a></li>
<li><a href="/c">Why the price of coffee keeps climbing across Asia</a></li></ul></aside>
</main>
<footer><p>Copyright 2024 Example News Group. All rights reserved. Contact us | Privacy policy |
Terms of use</p><p>Subscribe to our newsletter for the latest headlines delivered daily.</p>
</footer>
</body>
</html>
"""

HANS = (
    "李彦宏谈虚构产品“稻语”\n\n"
    "在一次虚构的访谈中，李彦宏介绍了一款名为“稻语”的农业助手。他说，这款助手能够听懂稻田里青蛙的叫声，"
    "并据此提醒农民什么时候应该放水灌溉。\n\n"
    "他表示，团队用三年时间在湖南的村庄里录下了上万小时的蛙鸣，模型暂时不会开源，但录音会向研究生态的大学开放。\n"
)
HANT = (
    "李彥宏談虛構產品「山鈴」\n\n"
    "在一次虛構的訪談中，李彥宏介紹了一款名為「山鈴」的登山助手。他說，這款助手能夠聽懂山谷裡的風聲，"
    "並據此提醒登山者什麼時候應該下山避雨。\n\n"
    "他表示，團隊用兩年時間在雲南的山區裡錄下了上萬小時的風聲，模型暫時不會開源，但錄音會向研究氣象的大學開放。\n"
)


def make_pdf(lines: list[str], title: str | None = None, author: str | None = None) -> bytes:
    """A minimal one-page PDF with a Helvetica text layer (one text line per entry)."""
    body = "".join(f"({ln}) Tj T*\n" for ln in lines)
    content = f"BT /F1 12 Tf 72 720 Td 14 TL\n{body}ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    info = ""
    if title or author:
        parts = [f"/Title ({title})"] if title else []
        parts += [f"/Author ({author})"] if author else []
        objs.append("<< " + " ".join(parts) + " >>")
        info = f" /Info {len(objs)} 0 R"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n"
        .encode()
    )
    return out.getvalue()


PDF_LINES = [
    "Quarterly notes on the Moonferry project",
    "Robin Li told the staff meeting that the Moonferry courier robot had carried",
    "twelve thousand parcels across Wuhan without losing a single one.",
    "He said the robot would be rented to small shops by the hour, because a bakery",
    "should not have to buy a whole robot to deliver a birthday cake.",
]


def source_text(source_path: str) -> str:
    path = Path(source_path)
    return (path if path.is_absolute() else REPO_ROOT / path).read_text(encoding="utf-8")


def snapshot(data: Path) -> dict[str, bytes]:
    """Every file of a data directory with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(data.iterdir()) if p.is_file()}


def index_state(index: Path) -> tuple[list[dict[str, Any]], np.ndarray, list[np.ndarray]]:
    """Rows, passage vectors and the token-vector files (late interaction) of an index."""
    import faiss

    tokens = [np.load(index / name, allow_pickle=False) for name in TOKEN_FILES]
    return read_rows(index), vectors_array(faiss.read_index(str(index / VECTORS))), tokens


# -- the lifecycle: add an HTML article, ask, compare with a full rebuild, remove -----------


@pytest.fixture(scope="module")
def lifecycle(
    data_dir: Path, index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ingest")
    data, index = root / "data", root / "index"
    shutil.copytree(data_dir, data)
    shutil.copytree(index_dir, index)
    page = root / "lumenwing.html"
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    rec: dict[str, Any] = {"data": data, "index": index, "page": page}
    rec["base_catalog"] = (data / CATALOG_NAME).read_bytes()
    rec["base_hash"] = corpus_hash(data)
    rec["base_rows"], rec["base_vectors"], _ = index_state(index)
    # an engine loaded before the add: add_document must make retrieve drop it
    rec["hits_before"] = retrieve(QUESTION, data_dir=data, index_dir=index)

    calls: list[tuple[float, str]] = []
    result = add_document(page, data_dir=data, index_dir=index,
                          progress=lambda f, m: calls.append((f, m)))
    rec["result"], rec["progress"] = result, calls
    rec["files_after_add"] = snapshot(data)
    rec["hits_after_add"] = hits = retrieve(QUESTION, data_dir=data, index_dir=index)
    # the source files as they are now (the removal below deletes the added one)
    rec["spans_after_add"] = [(source_text(h.source_path)[h.start : h.end], h.text) for h in hits]
    rec["rows_after_add"], rec["vectors_after_add"], rec["tokens_after_add"] = index_state(index)

    full = root / "full"
    report = build_index(data, full, reuse=False)
    rec["full_report"] = report
    rec["rows_full"], rec["vectors_full"], rec["tokens_full"] = index_state(full)

    rec["again"] = add_document(page, data_dir=data, index_dir=index)
    rec["catalog_after_again"] = (data / CATALOG_NAME).read_bytes()

    rec["removed"] = remove_document(result.doc_id, data_dir=data, index_dir=index)
    rec["files_after_remove"] = snapshot(data)
    rec["hits_after_remove"] = retrieve(QUESTION, data_dir=data, index_dir=index)
    rec["rows_after_remove"], rec["vectors_after_remove"], _ = index_state(index)
    return rec


def test_added_html_is_catalogued_with_its_metadata(lifecycle: dict[str, Any]):
    r = lifecycle["result"]
    assert r.added and r.lang == "en"
    assert (r.title, r.outlet, r.author, r.date) == (
        "Robin Li on the Lumenwing assistant", "Example News", "Jane Doe", "2024-05-01"
    )
    assert r.url is None  # the page names none: nothing is invented
    number, digest = r.doc_id.split("_")
    assert number == "005" and len(digest) == 16
    files = lifecycle["files_after_add"]
    assert files[r.original] == lifecycle["page"].read_bytes()  # the original, byte for byte
    assert r.file == f"{r.doc_id}.txt" and r.original == f"{r.doc_id}.orig.html"
    entry = next(e for e in json.loads(files[CATALOG_NAME])["documents"] if e["doc_id"] == r.doc_id)
    assert entry["original"] == r.original and entry["file"] == r.file
    assert [d.doc_id for d in load_catalog(lifecycle["data"])] == [
        "000_483ad79ec9aeb76f", "001_38b38b26fc8d2c4c", "002_f6f756fde92d80d7",
        "003_30ab4711af8d814b", "004_544973c9ced5136f",
    ]  # after the removal: back to the original five
    fractions = [f for f, _ in lifecycle["progress"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_only_the_new_passages_are_encoded(lifecycle: dict[str, Any]):
    r = lifecycle["result"]
    base = len(lifecycle["base_rows"])
    assert r.passages == 4
    assert r.encoded == r.passages  # every other passage's vector was reused
    assert r.index_passages == base + r.passages == len(lifecycle["rows_after_add"])
    assert lifecycle["full_report"].passages == r.index_passages


def test_incremental_index_equals_a_full_rebuild(lifecycle: dict[str, Any]):
    assert lifecycle["rows_after_add"] == lifecycle["rows_full"]
    np.testing.assert_allclose(lifecycle["vectors_after_add"], lifecycle["vectors_full"],
                               atol=1e-5)
    # token vectors: the same pieces per passage; values equal up to float16 rounding
    (vec_a, ids_a, off_a), (vec_f, ids_f, off_f) = lifecycle["tokens_after_add"], lifecycle[
        "tokens_full"]
    assert (ids_a == ids_f).all() and (off_a == off_f).all()
    np.testing.assert_allclose(vec_a.astype(np.float32), vec_f.astype(np.float32), atol=2e-3)


def test_the_new_article_answers_with_an_exact_span(lifecycle: dict[str, Any]):
    doc_id = lifecycle["result"].doc_id
    assert all(h.doc_id != doc_id for h in lifecycle["hits_before"])
    hits = lifecycle["hits_after_add"]
    assert hits and hits[0].doc_id == doc_id, [(h.doc_id, h.text[:40]) for h in hits]
    assert "sparrows" in " ".join(h.text for h in hits if h.doc_id == doc_id)
    for span, text in lifecycle["spans_after_add"]:
        assert span == text
    top = hits[0]
    assert top.citation.startswith("Robin Li on the Lumenwing assistant — Example News, 2024-05-01")


def test_boilerplate_never_comes_back(lifecycle: dict[str, Any]):
    doc_id = lifecycle["result"].doc_id
    texts = [(r["text"], r.get("heading") or "") for r in lifecycle["rows_after_add"]
             if r["doc_id"] == doc_id]
    assert len(texts) == 4
    for text, heading in texts:
        for junk in BOILERPLATE:
            assert junk not in text, (junk, text)
            assert junk not in heading, (junk, heading)


def test_the_same_file_again_is_not_duplicated(lifecycle: dict[str, Any]):
    again = lifecycle["again"]
    assert not again.added and again.doc_id == lifecycle["result"].doc_id
    assert "already in the catalog" in again.message
    assert lifecycle["catalog_after_again"] == lifecycle["files_after_add"][CATALOG_NAME]


def test_remove_takes_out_entry_files_and_passages(lifecycle: dict[str, Any]):
    r = lifecycle["result"]
    removed = lifecycle["removed"]
    assert removed.doc_ids == (r.doc_id,) and set(removed.files) == {r.file, r.original}
    assert removed.encoded == 0  # the remaining passages were all in the index already
    files = lifecycle["files_after_remove"]
    assert r.file not in files and r.original not in files
    assert files[CATALOG_NAME] == lifecycle["base_catalog"]
    assert corpus_hash(lifecycle["data"]) == lifecycle["base_hash"]
    assert all(h.doc_id != r.doc_id for h in lifecycle["hits_after_remove"])
    assert all("Lumenwing" not in h.text for h in lifecycle["hits_after_remove"])
    assert lifecycle["rows_after_remove"] == lifecycle["base_rows"]
    np.testing.assert_allclose(lifecycle["vectors_after_remove"], lifecycle["base_vectors"],
                               atol=1e-5)


# -- formats and encodings (no index) ------------------------------------------------------


@pytest.fixture()
def data(data_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(data_dir, dest)
    return dest


def _spans_exact(data: Path, doc_id: str) -> int:
    doc = next(d for d in load_catalog(data) if d.doc_id == doc_id)
    text = doc.path.read_text(encoding="utf-8")
    passages = [p for p in corpus_passages(data) if p.doc_id == doc_id]
    for p in passages:
        assert text[p.start : p.end] == p.text
    return len(passages)


def test_utf8_text_is_stored_as_it_is(data: Path, tmp_path: Path):
    src = tmp_path / "transcript.txt"
    body = ("Robin Li said the Glasswren kettle learns how each family likes its tea and boils "
            "the water a minute before anyone wakes up.\r\nHe said it would never be sold with "
            "a subscription, because tea should not come with a monthly bill.\r\n")
    src.write_bytes(body.encode("utf-8"))
    r = add_document(src, data_dir=data, outlet="Example News", update_index=False)
    assert r.added and r.file == r.original == f"{r.doc_id}.txt"
    assert (data / r.file).read_bytes() == src.read_bytes()
    assert (r.outlet, r.title, r.date, r.lang, r.encoding) == (
        "Example News", None, None, "en", "utf-8"
    )
    assert _spans_exact(data, r.doc_id) == r.passages == 2


def test_an_added_article_names_its_own_speakers(
    data: Path, index_dir: Path, tmp_path: Path
):
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)  # a private copy, updated incrementally
    src = tmp_path / "greenhouse.txt"
    src.write_text(
        '"The Brightfield greenhouse heats itself with the compost under its benches," '
        "Maria Delgado said at the opening in Lyon.\n\n"
        "Later, Delgado added that the winter cost of running it had fallen to nothing.\n\n"
        '"The compost keeps the night frost off the tomatoes," said Tom Becker, who built it.\n',
        encoding="utf-8",
    )
    r = add_document(src, data_dir=data, index_dir=index)  # no title, outlet or date
    hits = retrieve("How does the Brightfield greenhouse stay warm?", data_dir=data,
                    index_dir=index, doc_ids=[r.doc_id])
    assert hits and {h.speaker for h in hits} <= {"Maria Delgado", "Tom Becker"}
    # nothing to cite it by but the name of the file it was added from
    assert {h.citation for h in hits} <= {f"greenhouse.txt — ¶{n}" for n in (1, 2, 3)}
    assert article(r.doc_id, data).label == "greenhouse.txt"
    quotes = {q.text[:20]: q.speaker for h in hits for q in h.quotes}
    assert quotes == {"The Brightfield gree": "Maria Delgado", "The compost keeps th": "Tom Becker"}
    only = retrieve("What keeps the frost off the greenhouse tomatoes?", data_dir=data,
                    index_dir=index, speaker="tom becker")
    assert only and {h.speaker for h in only} == {"Tom Becker"}
    # by the surname the article uses after the first mention
    assert retrieve("What keeps the frost off the greenhouse tomatoes?", data_dir=data,
                    index_dir=index, speaker="Becker") == only
    # a filter that leaves out everything by or about her: nothing answers a question on her
    # (as for the glossary's people), rather than the other articles' best guesses
    asked = "What does Maria Delgado say about the greenhouse compost?"
    assert retrieve(asked, data_dir=data, index_dir=index, doc_ids=[r.doc_id])
    others = [d.doc_id for d in load_catalog(data) if d.doc_id != r.doc_id]
    assert retrieve(asked, data_dir=data, index_dir=index, doc_ids=others) == []
    assert retrieve(asked, data_dir=data, index_dir=index, speaker="Robin Li") == []


def _added(data: Path, index_dir: Path, tmp_path: Path, name: str, text: str) -> tuple[Path, Any]:
    """A private copy of the index with a UTF-8 text article ``name`` added to it (updated
    incrementally, never the repository's), and the add's result."""
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    return index, add_document(src, data_dir=data, index_dir=index)


def test_a_person_named_in_pinyin_and_in_chinese_is_one(data: Path, index_dir: Path,
                                                        tmp_path: Path):
    """A tester's: after an English article quoting Zhang Yiming, 张一鸣怎么看智能体? got
    nothing (an unknown name), and with a Chinese one too the speakers listed "Zhang Yiming"
    and "张一鸣" as two people."""
    index, en = _added(data, index_dir, tmp_path, "harbour.txt", (
        "Harbour Robotics on farm agents\n\n"
        "Zhou Mingyuan, founder of Harbour Robotics, told staff on Monday that software agents "
        "will run greenhouses within three years. \"The agent waters the tomatoes before the "
        "farmer wakes up,\" Zhou said.\n\nHe added that the company would not train a "
        "foundation model of its own."))
    hits = retrieve("周明远怎么看智能体?", data_dir=data, index_dir=index)
    assert hits and hits[0].doc_id == en.doc_id and hits[0].speaker == "Zhou Mingyuan"
    assert retrieve("agents", data_dir=data, index_dir=index, speaker="周明远")
    zh = tmp_path / "harbour_zh.txt"
    zh.write_text("港湾机器人谈农业智能体\n\n港湾机器人创始人周明远表示,公司明年将在云南推广"
                  "温室智能体,帮助农户节约用水。", encoding="utf-8")
    cn = add_document(zh, data_dir=data, index_dir=index)
    engine = get_engine(data, index)
    assert "Zhou Mingyuan" in engine.speaker_list() and "周明远" not in engine.speaker_list()
    mine = {r["doc_id"] for r in engine.rows if r.get("speaker") == "Zhou Mingyuan"}
    assert mine == {en.doc_id, cn.doc_id}
    # ... listed under both names, as glossary people are (it was "Zhou Mingyuan" alone)
    assert ("Zhou Mingyuan · 周明远", "Zhou Mingyuan") in ui.speaker_choices(engine)
    assert ("Zhou Mingyuan", "周明遠") in ui.speaker_names(engine, "zh-Hant")
    # ... and the speaker filter, by either name, finds his words in both reports
    for name in ("周明远", "Zhou Mingyuan"):
        hits = retrieve("greenhouse agents", data_dir=data, index_dir=index, speaker=name, k=10)
        assert {h.doc_id for h in hits} == {en.doc_id, cn.doc_id}, name


def test_a_filter_to_an_article_on_something_else_gives_no_answer(
    data: Path, index_dir: Path, tmp_path: Path
):
    """Filtered to an article that shares no word with the question, its passages are near
    the question only by chance (a tester's lunar-farming article answered "why not open
    source?" at confidence 0.55 before)."""
    index, r = _added(data, index_dir, tmp_path, "lunar.txt", (
        "Zhang Wei says lunar greenhouses will feed astronauts by 2030\n\n"
        "Beijing, March 3, 2025 — Zhang Wei, chief scientist of the Lunar Agriculture Lab, "
        "said on Monday that sealed greenhouses on the Moon could grow enough lettuce and "
        "potatoes to feed a crew of four by 2030.\n\n"
        '"We have grown potatoes in simulated lunar soil for three full cycles, and the yield '
        'is already sixty percent of what we get on Earth," Zhang said at a press briefing.\n\n'
        'He added that the main obstacle is not the soil but radiation. "Shielding costs more '
        'than everything else combined," he said.\n'
    ))
    ask = partial(retrieve, "why not open source?", data_dir=data, index_dir=index)
    assert ask(doc_ids=[r.doc_id]) == []
    assert ask(doc_ids=[r.doc_id], min_score=0.0)  # loosened: the nearest passages
    assert ask()  # the articles on open source answer it
    assert retrieve("How much do lunar potatoes yield?", data_dir=data, index_dir=index,
                    doc_ids=[r.doc_id])


def test_a_name_jieba_reads_as_a_word_and_a_name_is_known_once_added(
    data: Path, index_dir: Path, tmp_path: Path
):
    """黃淑芬: jieba reads 黃 as "yellow" and 淑芬 as a name, and cuts the article's 黃淑芬則持
    another way; the question named an unknown 淑芬 and got nothing even after the article
    naming her was added (a tester's)."""
    question = "黃淑芬為什麼支持開源？"
    assert retrieve(question, data_dir=data, index_dir=index_dir) == []  # no article names her
    index, _ = _added(data, index_dir, tmp_path, "trad.txt", (
        "開源模型的春天\n\n"
        "台北一場論壇上，多位學者討論開源大模型的前景。\n\n"
        "黃淑芬則持不同看法。她認為開源模型讓大學實驗室也能做研究，成本低得多，"
        "所以她支持開源。\n"
    ))
    hits = retrieve(question, data_dir=data, index_dir=index)
    assert hits and "黃淑芬" in hits[0].text


def test_a_text_files_headline_is_its_title(data: Path, tmp_path: Path):
    """A .txt has no metadata but its first line: a headline over a byline is the title the
    article is cited by (before, it was cited by its file name)."""
    src = tmp_path / "chips.txt"
    src.write_text(
        "Chip makers bet on open models\n\nBy Jane Roe\n\n"
        '"Open weights let customers tune a model on their own servers," said Maria Delgado, '
        "chief executive of Lumenchip.\n",
        encoding="utf-8",
    )
    r = add_document(src, data_dir=data, update_index=False, outlet="Example News")
    entry = next(d for d in load_catalog(data) if d.doc_id == r.doc_id)
    assert entry.title == "Chip makers bet on open models"
    assert entry.label == "Chip makers bet on open models"


def test_markdown_keeps_its_file_and_gives_its_title(data: Path, tmp_path: Path):
    src = tmp_path / "notes.md"
    src.write_text(
        "# Notes on the Glasswren kettle\n\n"
        "Robin Li said the Glasswren kettle learns how each family likes its tea and boils the "
        "water a minute before anyone wakes up.\n\n"
        "## Pricing\n\n"
        "He said it would never be sold with a subscription, because tea should not come with a "
        "monthly bill.\n",
        encoding="utf-8",
    )
    r = add_document(src, data_dir=data, date="2024-06-02", update_index=False)
    assert r.file == r.original == f"{r.doc_id}.md"
    assert (data / r.file).read_bytes() == src.read_bytes()
    assert (r.title, r.date, r.lang) == ("Notes on the Glasswren kettle", "2024-06-02", "en")
    assert _spans_exact(data, r.doc_id) == 2


def test_pdf_text_layer_and_metadata(data: Path, tmp_path: Path):
    src = tmp_path / "report.pdf"
    src.write_bytes(make_pdf(PDF_LINES, title="Moonferry notes", author="Jane Doe"))
    r = add_document(src, data_dir=data, update_index=False)
    assert (r.title, r.author, r.date, r.outlet) == ("Moonferry notes", "Jane Doe", None, None)
    assert r.file == f"{r.doc_id}.txt" and r.original == f"{r.doc_id}.orig.pdf"
    assert (data / r.original).read_bytes() == src.read_bytes()
    text = (data / r.file).read_text(encoding="utf-8")
    # wrapped lines are rejoined into paragraphs, the sentences are intact
    assert ("the Moonferry courier robot had carried twelve thousand parcels across Wuhan "
            "without losing a single one.") in text
    assert "a bakery should not have to buy a whole robot" in text
    assert _spans_exact(data, r.doc_id) == r.passages == 2


def test_pdf_ligatures_become_letters(data: Path, tmp_path: Path):
    """A typeset ﬁ (StandardEncoding \\256) is stored as "fi": what a reader sees and a
    question types ("ﬁne-tuning" was kept, and matched no question)."""
    src = tmp_path / "ligatures.pdf"
    src.write_bytes(make_pdf([*PDF_LINES, "The of\\256ce robot was \\256ne-tuned for Wuhan."]))
    r = add_document(src, data_dir=data, update_index=False)
    text = (data / r.file).read_text(encoding="utf-8")
    assert "The office robot was fine-tuned for Wuhan." in text
    assert not any("\ufb00" <= c <= "\ufb06" for c in text)


def test_pdf_without_text_layer_or_broken_is_refused(data: Path, tmp_path: Path):
    before = snapshot(data)
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(make_pdf([]))
    with pytest.raises(DocumentError, match="no text layer"):
        add_document(scanned, data_dir=data, update_index=False)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(make_pdf(PDF_LINES)[:300])
    with pytest.raises(DocumentError, match="not a readable PDF"):
        add_document(broken, data_dir=data, update_index=False)
    assert snapshot(data) == before


@pytest.mark.parametrize(
    ("text", "encoding", "lang", "detected"),
    [(HANS, "gbk", "zh-Hans", "gb18030"), (HANT, "big5", "zh-Hant", "big5")],
)
def test_chinese_encodings_are_detected(
    data: Path, tmp_path: Path, text: str, encoding: str, lang: str, detected: str
):
    src = tmp_path / f"article-{encoding}.txt"
    src.write_bytes(text.encode(encoding))
    r = add_document(src, data_dir=data, update_index=False)
    assert r.encoding == detected and r.lang == lang
    assert r.original == f"{r.doc_id}.orig.txt" and r.file == f"{r.doc_id}.txt"
    assert (data / r.original).read_bytes() == src.read_bytes()
    assert (data / r.file).read_text(encoding="utf-8") == text
    assert _spans_exact(data, r.doc_id) >= 2


def test_html_declared_charset(data: Path, tmp_path: Path):
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>稻语</title></head><body><article>"
        + "".join(f"<p>{para}</p>" for para in HANS.split("\n\n")[1:])
        + "</article></body></html>"
    )
    src = tmp_path / "daoyu.htm"
    src.write_bytes(html.encode("gb18030"))
    r = add_document(src, data_dir=data, update_index=False)
    assert r.encoding == "gb18030" and r.lang == "zh-Hans"
    assert "青蛙的叫声" in (data / r.file).read_text(encoding="utf-8")
    assert (data / r.original).read_bytes() == src.read_bytes()


def test_same_text_in_another_encoding_or_spacing_is_a_duplicate(data: Path, tmp_path: Path):
    before = snapshot(data)
    existing = load_catalog(data)[2]
    text = existing.read_text()
    gbk = tmp_path / "copy.txt"
    gbk.write_bytes(text.encode("gb18030"))
    crlf = tmp_path / "copy2.txt"
    crlf.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    results = add_documents([gbk, crlf, existing.path], data_dir=data, update_index=False)
    assert [(r.added, r.doc_id) for r in results] == [(False, existing.doc_id)] * 3
    assert snapshot(data) == before


def test_a_batch_with_the_same_file_twice_adds_it_once(data: Path, tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    first, second = add_documents([src, src], data_dir=data, update_index=False)
    assert first.added and not second.added and second.doc_id == first.doc_id
    assert [d.doc_id for d in load_catalog(data)].count(first.doc_id) == 1


def _bad_files(tmp_path: Path) -> dict[str, tuple[Any, str]]:
    def put(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return {
        "empty": (put("empty.txt", b""), "empty"),
        "blank": (put("blank.md", b"  \n\n\t\n"), "empty"),
        "binary": (put("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8),
                   "binary"),
        "random": (put("noise.txt", bytes((i * 7919 + 13) % 256 for i in range(4000))),
                   "binary"),
        "type": (put("slides.pptx", b"PK\x03\x04 not really"), "unsupported file type"),
        "pdf": (put("fake.pdf", b"%PDF-1.4\nthis is not a pdf at all\n"), "not a readable PDF"),
        "no text": (put("menu.html", b"<html><body><nav><a href='/'>Home</a></nav>"
                                     b"<p>Hi</p></body></html>"), "no"),
        "missing": (tmp_path / "nowhere.txt", "no such file"),
        "folder": (tmp_path, "is a folder: give the files in it"),
        "not a path": (None, "a document is a file path"),
        "a number": (5, "a document is a file path"),
    }


def test_bad_files_are_refused_and_change_nothing(data: Path, tmp_path: Path):
    before = snapshot(data)
    for what, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(DocumentError, match=message):
            add_document(path, data_dir=data, update_index=False)
        assert snapshot(data) == before, what


def test_size_limit(data: Path, tmp_path: Path):
    src = tmp_path / "big.txt"
    src.write_text("Robin Li said many things about the kettle. " * 10, encoding="utf-8")
    small = dataclasses.replace(SETTINGS, max_document_bytes=100)
    with pytest.raises(DocumentError, match="big.txt is 440 bytes; the limit is 100 bytes"):
        add_document(src, data_dir=data, update_index=False, settings=small)
    # one byte over a limit in megabytes: the rounded sizes would read the same
    src.write_bytes(b"Robin Li said so. " * (2**20 // 18) + b"x" * (2**20 % 18 + 1))
    mb = dataclasses.replace(SETTINGS, max_document_bytes=2**20)
    with pytest.raises(DocumentError, match="is 1,048,577 bytes; the limit is 1,048,576 bytes"):
        add_document(src, data_dir=data, update_index=False, settings=mb)


def test_progress_counts_the_passages_encoded(data: Path, index_dir: Path, tmp_path: Path):
    """The web chat's bar moves while a long article is encoded (it sat at 45 % throughout)."""
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    src = tmp_path / "kiosks.txt"
    src.write_text("Ferry kiosks\n\n" + "".join(
        f"Kiosk {i} on the ferry line runs the open model offline, its operator said, because "
        f"the network at pier {i} is poor.\n\n" for i in range(70)
    ), encoding="utf-8")
    seen: list[tuple[float, str]] = []
    r = add_document(src, data_dir=data, index_dir=index,
                     progress=lambda f, m: seen.append((f, m)))
    counts = [m for _, m in seen if m.startswith("encoding the new passages (")]
    done = f"encoding the new passages ({r.encoded} of {r.encoded})"
    assert len(counts) >= 2 and counts[-1] == done, counts
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_language_the_text_is_not_in_is_refused(data: Path, tmp_path: Path):
    """--lang en for a Chinese article: the catalog said en, every passage zh-Hans."""
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    before = snapshot(data)
    with pytest.raises(DocumentError, match="lang 'en' was given, but its text reads as zh-Hans"):
        add_document(src, data_dir=data, update_index=False, lang="en")
    # ... and so is the other script: the article's own zh-Hant filter found nothing
    with pytest.raises(DocumentError, match="lang 'zh-Hant' was given, but its text reads as "
                                           "zh-Hans"):
        add_document(src, data_dir=data, update_index=False, lang="zh-Hant")
    assert snapshot(data) == before


def test_adding_keeps_files_readable(data: Path, index_dir: Path, tmp_path: Path):
    """The catalog and a new article keep an ordinary file's mode, the index an ordinary
    folder's (they became 600 and 700: private to the user who added it)."""
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    (data / CATALOG_NAME).chmod(0o644)
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    r = add_document(src, data_dir=data, index_dir=index)
    assert (data / CATALOG_NAME).stat().st_mode & 0o777 == 0o644
    assert (data / f"{r.doc_id}.txt").stat().st_mode & 0o777 == 0o644
    assert index.stat().st_mode & 0o777 == 0o755


def test_an_overlong_title_or_outlet_is_refused(data: Path, tmp_path: Path):
    """A tester's 1,260-character title filled a phone's screen in every citation."""
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    before = snapshot(data)
    with pytest.raises(DocumentError, match="title is 1,260 characters; at most 300"):
        add_document(src, data_dir=data, update_index=False, title="A" * 1260)
    with pytest.raises(DocumentError, match="outlet is 121 characters; at most 120"):
        add_document(src, data_dir=data, update_index=False, outlet="o" * 121)
    assert snapshot(data) == before


@pytest.mark.parametrize("bad", ["2024/05/01", "2024-02-30", "May 1, 2024", "24-05-01"])
def test_bad_date_is_refused(data: Path, tmp_path: Path, bad: str):
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    with pytest.raises(DocumentError, match="YYYY-MM-DD"):
        add_document(src, data_dir=data, date=bad, update_index=False)
    with pytest.raises(DocumentError, match="lang"):
        add_document(src, data_dir=data, lang="fr", update_index=False)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "example.com", "file:///etc/passwd",
                                 "https://", "http://a b"])
def test_a_url_must_be_a_web_address(data: Path, tmp_path: Path, bad: str):
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    before = (data / CATALOG_NAME).read_bytes()
    with pytest.raises(DocumentError, match="not a web address"):
        add_document(src, data_dir=data, url=bad, update_index=False)
    assert (data / CATALOG_NAME).read_bytes() == before
    r = add_document(src, data_dir=data, url=" https://example.com/a?b=1 ", update_index=False)
    assert r.url == "https://example.com/a?b=1"


def test_failed_index_update_rolls_everything_back(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import bot.indexing

    def broken(*args: object, **kwargs: object) -> None:
        raise QuoteBotError("simulated build failure")

    monkeypatch.setattr(bot.indexing, "build_index", broken)
    before = snapshot(data)
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    with pytest.raises(QuoteBotError, match="simulated"):
        add_document(src, data_dir=data, index_dir=tmp_path / "index")
    assert snapshot(data) == before
    doc_id = load_catalog(data)[0].doc_id
    with pytest.raises(QuoteBotError, match="simulated"):
        remove_document(doc_id, data_dir=data, index_dir=tmp_path / "index")
    assert snapshot(data) == before


@pytest.mark.parametrize("change", ["add", "remove"])
def test_an_add_or_remove_killed_halfway_is_undone(data: Path, tmp_path: Path, change: str):
    """A process killed while it updates the index (kill -9, a closed terminal: no handler
    runs) leaves its catalog change behind, and the index no longer matches it. The next
    engine opening the data directory puts the catalog and the files back as they were."""
    import subprocess

    index = tmp_path / "index"
    build_index(data, index)
    before = snapshot(data)
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    where = f"data_dir={str(data)!r}, index_dir={str(index)!r}"
    call = (f"ingest.add_document({str(src)!r}, {where})" if change == "add" else
            f"ingest.remove_document({load_catalog(data)[0].doc_id!r}, {where})")
    code = ("import os, bot.ingest as ingest\n"
            "ingest._update_index = lambda *a, **k: os._exit(9)\n" + call)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()
    assert snapshot(data) != before  # the catalog changed, and no one put it back
    assert retrieve("百度为什么不开源?", data_dir=data, index_dir=index)
    assert snapshot(data) == before


def test_remove_refuses_unknown_ids_and_the_last_document(data: Path):
    before = snapshot(data)
    with pytest.raises(DocumentError, match=r"a document id is a str .*got \['x'\]"):
        remove_document(["x"], data_dir=data, update_index=False)  # type: ignore[arg-type]
    with pytest.raises(DocumentError, match="no document"):
        remove_document("999_nope", data_dir=data, update_index=False)
    ids = [d.doc_id for d in load_catalog(data)]
    for doc_id in ids[1:]:
        remove_document(doc_id, data_dir=data, update_index=False)
    with pytest.raises(DocumentError, match="every document"):
        remove_document(ids[0], data_dir=data, update_index=False)
    assert sorted(snapshot(data)) == sorted(
        [CATALOG_NAME, "glossary.json", f"{ids[0]}.txt"]
    )
    assert before[f"{ids[0]}.txt"] == (data / f"{ids[0]}.txt").read_bytes()


def test_concurrent_adds_lose_no_entry(data: Path, tmp_path: Path):
    paths = []
    for i in range(6):
        p = tmp_path / f"note{i}.txt"
        p.write_text(f"Robin Li said note number {i} is about the Glasswren kettle and its tea, "
                     f"and that version {i} boils water faster than the one before it.\n",
                     encoding="utf-8")
        paths.append(p)
    errors: list[BaseException] = []

    def worker(chunk: list[Path]) -> None:
        try:
            for p in chunk:
                add_document(p, data_dir=data, update_index=False)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(paths[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    docs = load_catalog(data)
    assert len(docs) == 5 + 6
    assert len({d.doc_id.split("_")[0] for d in docs}) == len(docs)
    assert {d.path.name for d in docs} <= set(snapshot(data))


def test_missing_extra_names_the_install(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    src = tmp_path / "page.html"
    src.write_text(ARTICLE_HTML, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'quotebot\[ingest\]'"):
        add_document(src, data_dir=data, update_index=False)


def test_metadata_from_arguments_wins_and_missing_stays_null(tmp_path: Path):
    src = tmp_path / "page.html"
    src.write_text(ARTICLE_HTML.replace('<meta name="author" content="Jane Doe">', ""),
                   encoding="utf-8")
    p = prepare(src, title="My title", outlet="Other Outlet", url="https://example.com/a")
    assert p.meta == {"title": "My title", "outlet": "Other Outlet", "author": None,
                      "date": "2024-05-01", "url": "https://example.com/a"}


def test_a_byline_date_is_not_an_author(tmp_path: Path):
    """A tester's page: <p class="byline">By Ada Nwosu, June 2, 2024</p> was catalogued with
    the author "Ada Nwosu; June 2" (trafilatura reads the date's first half as a second
    name)."""
    src = tmp_path / "page.html"
    page = ARTICLE_HTML.replace('<meta name="author" content="Jane Doe">', "").replace(
        "<h1>Robin Li on the Lumenwing assistant</h1>",
        '<h1>Robin Li on the Lumenwing assistant</h1>\n'
        '<p class="byline">By Ada Nwosu, June 2, 2024</p>')
    src.write_text(page, encoding="utf-8")
    assert prepare(src).meta["author"] == "Ada Nwosu"


def test_a_chinese_byline_gives_date_and_outlet_and_a_bio_is_no_author(tmp_path: Path):
    """A tester's GBK page: the author box's bio (作者简介:…,资深记者,…) was catalogued as the
    author, and the byline's date and outlet were lost."""
    page = (
        '<html><head><meta charset="gbk"><title>张伟谈稻田助手_科技频道_某某网</title></head>'
        '<body><div class="nav">首页 | 科技 | 登录</div><div class="article">'
        "<h1>张伟谈稻田助手</h1>"
        '<div class="info">2024年06月03日 08:30 云岭科技 作者:刘芳 <a>评论(5)</a></div>'
        "<p>6月2日,稻田助手团队负责人张伟在发布会上表示,这款助手能听懂稻田里的蛙鸣,"
        "据此提醒农民何时放水。</p><p>张伟认为,模型暂时不会开源,团队会先服务本地农户,"
        "明年再考虑推广到其他省份。</p><p>他还提到,助手目前已有三万名用户。</p></div>"
        '<div class="author">作者简介:刘芳,云岭科技资深记者,长期关注农业科技,曾就职于多家媒体。'
        "</div></body></html>"
    )
    src = tmp_path / "page.html"
    src.write_bytes(page.encode("gbk"))
    meta = prepare(src).meta
    assert meta["author"] == "刘芳"
    # the byline's date, not the first date of the text (6月2日)
    assert meta["date"] == "2024-06-03" and meta["outlet"] == "云岭科技"
    # ... the author from the byline when trafilatura finds none (the bio without its label)
    src.write_bytes(page.replace("作者简介:", "").encode("gbk"))
    assert prepare(src).meta["author"] == "刘芳"


def test_an_english_byline_gives_author_and_date(tmp_path: Path):
    """A tester's page: "By Jane Doe, Tech Correspondent · May 12, 2024" left both unknown."""
    page = ARTICLE_HTML.replace('<meta name="author" content="Jane Doe">', "").replace(
        "<h1>Robin Li on the Lumenwing assistant</h1>",
        "<h1>Robin Li on the Lumenwing assistant</h1>\n"
        "<p>By Ada Nwosu, Tech Correspondent · May 12, 2024</p>")
    page = re.sub(r'<meta property="article:published_time"[^>]*>', "", page)
    src = tmp_path / "page.html"
    src.write_text(page, encoding="utf-8")
    meta = prepare(src).meta
    assert meta["author"] == "Ada Nwosu" and meta["date"] == "2024-05-12"


def test_a_text_files_byline_gives_its_metadata_too(tmp_path: Path):
    """A tester's: a .txt's "2024年07月10日 09:12 新浪科技 作者:陈明" and a .md's "By Jane Doe,
    Tech Correspondent · May 12, 2024" were dropped from the text as metadata, and the catalog
    had no date, outlet or author."""
    txt = tmp_path / "robotaxi.txt"
    txt.write_text("李彦宏谈自动驾驶出租车\n\n2024年07月10日 09:12 新浪科技 作者:陈明\n\n"
                   "7月9日,李彦宏在一次内部会议上谈到了自动驾驶出租车业务,他表示明年将进入更多城市。\n",
                   encoding="utf-8")
    meta = prepare(txt).meta
    assert (meta["date"], meta["outlet"], meta["author"]) == ("2024-07-10", "新浪科技", "陈明")
    md = tmp_path / "garden.md"
    md.write_text("# Robot gardeners\n\nBy Jane Doe, Tech Correspondent · May 12, 2024\n\n"
                  "Robin Li said on Monday that robot gardeners would water the city's parks "
                  "before dawn, and that the company would not build the robots itself.\n",
                  encoding="utf-8")
    meta = prepare(md).meta
    assert (meta["title"], meta["author"], meta["date"]) == (
        "Robot gardeners", "Jane Doe", "2024-05-12")
    # ... a date in the article's own sentences gives nothing
    txt.write_text("李彦宏谈自动驾驶出租车\n\n2024年7月9日,李彦宏在一次内部会议上谈到了自动驾驶"
                   "出租车业务,他表示明年将进入更多城市。\n", encoding="utf-8")
    assert prepare(txt).meta.get("date") is None


def test_reflow_keeps_chinese_lines_together():
    first = "李彦宏说，这款助手能够听懂稻田里青蛙的叫声，并据此提醒农民什么"
    pages = [f"{first}\n时候应该放水灌溉。\n3\n", "他表示，模型暂时不会开源。"]
    # wrapped Chinese lines join without a space; the page number goes
    assert reflow(pages) == f"{first}时候应该放水灌溉。\n\n他表示，模型暂时不会开源。"


def test_reflow_keeps_a_wrapped_headline_whole():
    """A tester's: a headline set large wraps into short lines, and each became a paragraph
    of its own (a passage "open-source models", another "Baidu's Robin Li on the future of")."""
    body = ("Robin Li told the staff meeting that the Moonferry courier robot had carried "
            "twelve thousand parcels.")
    wrapped = "Baidu's Robin Li on the future of\nopen-source models\n" + body
    headline = reflow([wrapped]).split("\n\n")[0]
    assert headline == "Baidu's Robin Li on the future of open-source models"
    # ... a headline whose second line starts in upper case is kept whole by the title the
    # PDF states; without it the lines stay apart
    chinese = "李彦宏谈开源与闭源\n大模型之争\n" + "他表示，模型暂时不会开源。"
    assert reflow([chinese], title="李彦宏谈开源与闭源 大模型之争").split("\n\n") == [
        "李彦宏谈开源与闭源大模型之争", "他表示，模型暂时不会开源。"]
    assert reflow([chinese]).split("\n\n")[:2] == ["李彦宏谈开源与闭源", "大模型之争"]
    # a short line that ends a sentence still ends its paragraph
    assert reflow(["It rained.\nthen it stopped, and the robots went back out to the fields."
                   ]).split("\n\n")[0] == "It rained."


def test_cli_add_duplicate_list_and_errors(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    dirs = ["--data", str(data), "--index", str(tmp_path / "index")]  # never the repo's
    existing = load_catalog(data)[0]
    assert cli_main(["add", str(existing.path), *dirs]) == 0
    assert "already in the catalog as " + existing.doc_id in capsys.readouterr().out
    src = tmp_path / "a.txt"
    src.write_text(HANS, encoding="utf-8")
    assert cli_main(["add", str(src), *dirs, "--date", "01/05/2024"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert cli_main(["add", str(empty), *dirs]) == 2
    assert "empty.txt is empty" in capsys.readouterr().err
    assert cli_main(["remove", "999_nope", *dirs]) == 2
    assert "no document" in capsys.readouterr().err
    assert cli_main(["list", "--data", str(data)]) == 0
    assert existing.doc_id in capsys.readouterr().out


def test_cli_add_with_every_flag_list_and_remove(
    data: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)  # a private copy: updated incrementally, never the repo's
    dirs = ["--data", str(data), "--index", str(index)]
    page = tmp_path / "lumenwing.html"
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    base = len(read_rows(index))
    assert cli_main(["add", str(page), *dirs, "--outlet", "Flag Outlet", "--date", "2024-05-02",
                     "--title", "Flag title", "--url", "https://example.com/lumenwing",
                     "--lang", "en"]) == 0
    out = capsys.readouterr().out
    entry = next(d for d in load_catalog(data) if d.title == "Flag title")
    assert (entry.outlet, entry.date, entry.url, entry.lang, entry.author) == (
        "Flag Outlet", "2024-05-02", "https://example.com/lumenwing", "en", "Jane Doe"
    )  # the flags win; the author (no flag given) comes from the page
    assert f"lumenwing.html: added as {entry.doc_id} — Flag title" in out
    # the note counts the passages: only the new document's were encoded
    assert f"index updated: {base + 4} passages, 4 newly encoded" in out
    assert len(read_rows(index)) == base + 4
    assert cli_main(["list", "--data", str(data)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert f"{entry.doc_id}\tFlag title\tFlag Outlet, 2024-05-02, en" in listed
    assert cli_main(["list", "--data", str(data), "--json"]) == 0
    listed_json = json.loads(capsys.readouterr().out)
    assert {"doc_id": entry.doc_id, "title": "Flag title", "outlet": "Flag Outlet",
            "author": "Jane Doe", "date": "2024-05-02", "lang": "en",
            "url": "https://example.com/lumenwing",
            "source_path": entry.source_path} in listed_json
    assert cli_main(["remove", entry.doc_id, *dirs]) == 0
    out = capsys.readouterr().out
    assert f"removed {entry.doc_id}" in out and f"index updated: {base} passages" in out
    assert entry.doc_id not in {d.doc_id for d in load_catalog(data)}
    assert all(r["doc_id"] != entry.doc_id for r in read_rows(index))


def test_short_western_text_in_windows_1252_is_not_read_as_a_dos_code_page():
    """charset-normalizer takes these bytes for cp775 (Baltic DOS): "Cafķ", "M³nchen"."""
    from bot.ingest import decode_bytes

    raw = ('Café owners in München said the AI price war was fierce. "Prices will fall '
           'again," said René Dubois.\n').encode("cp1252")
    text, encoding = decode_bytes(raw, "latin1.txt")
    assert (text, encoding) == (raw.decode("cp1252"), "cp1252")
    # ... and these for mac_latin2 ("The Cafť in MŁnchen")
    mac = "The Café in München is owned by René, who opened it in 2019.".encode("cp1252")
    assert decode_bytes(mac, "cafe.txt") == (mac.decode("cp1252"), "cp1252")
    # Russian in Windows-1251 is left as detected
    ru = "Привет, как дела? Это тест кодировки для проверки.".encode("cp1251")
    assert decode_bytes(ru, "ru.txt") == (ru.decode("cp1251"), "cp1251")
