"""Passages: quote-sized spans of the cleaned paragraphs, split at sentence ends, with offsets."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .clean import CJK, LATIN_WORD, Block, clean_blocks
from .corpus import DocInfo, get_doc, load_catalog
from .settings import SETTINGS, Settings

log = logging.getLogger(__name__)

# Split after a sentence end, keeping closing quotes with the sentence they close.
_ZH_SENT = r"(?<=[。！？!?；;])(?![”’」』\"'。！？!?])|(?<=[。！？!?；;][”’」』\"'])"
# (the scraped English sometimes has a space before a closing quote: `math. " In addition`)
_EN_SENT = r"(?<=[.!?;])\s+(?![\"”]\s)|(?<=[.!?;][\"”’'])\s+|(?<=[.!?;]\s[\"”])\s+"
_ZH_SEPARATORS = [r"\n\n", r"\n", _ZH_SENT, r"(?<=[，,、：:])", ""]
_EN_SEPARATORS = [r"\n\n", r"\n", _EN_SENT, r"(?<=[,:])\s+", r"\s+", ""]
_FFFD = "\ufffd"
# a character the scrape lost, written "?" where no question mark can stand: before the first
# word of a Chinese paragraph (?“智能体是…), or after its closing full stop (…差距的。?)
_LOST_LEAD = re.compile(r"^\?(?=[\u4e00-\u9fff“「『])")
_LOST_TAIL = re.compile(r"(?<=[。！？”」』])\?$")


@dataclass(frozen=True)
class Passage:
    """A retrievable span: ``text == source[start:end]`` of the document's file."""

    pid: int
    doc_id: str
    text: str
    start: int
    end: int
    lang: str
    paragraph: int
    heading: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``passages.jsonl`` row)."""
        return asdict(self)


@dataclass(frozen=True)
class Article:
    """A cleaned article: its catalog entry and its blocks (title, headings, numbered
    paragraphs)."""

    doc_id: str
    title: str | None
    outlet: str | None
    date: str | None
    lang: str
    source_path: str
    blocks: list[Block]
    label: str  # what to call it when there is no title (DocInfo.label)


@lru_cache(maxsize=4)
def _opencc(config: str) -> Any:
    from opencc import OpenCC

    return OpenCC(config)


@cache
def _shared_characters() -> frozenset[str]:
    """Characters OpenCC turns into traditional ones that traditional text writes as they are
    too (台 for 臺, 里, 后, 周, 游: the character is among its own traditional forms in OpenCC's
    table), so they tell no script; empty where the table cannot be read."""
    import opencc

    table = Path(opencc.__file__).parent / "dictionary" / "STCharacters.txt"
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except OSError:
        log.warning("OpenCC's character table is not at %s: 台 counts as simplified", table)
        return frozenset()
    shared = set()
    for line in lines:
        char, _, forms = line.partition("\t")
        if char in forms.split():
            shared.add(char)
    return frozenset(shared)


def detect_lang(text: str, default: str = "en") -> str:
    """``en``, ``zh-Hans`` or ``zh-Hant`` by script; ``default`` when the script does not tell."""
    han = CJK.findall(text)
    if len(han) < len(LATIN_WORD.findall(text)):
        return "en"
    if not han:
        return default
    chars = "".join(dict.fromkeys(han))
    trad = sum(a != b for a, b in zip(chars, _opencc("t2s").convert(chars), strict=False))
    # (台北 is as traditional as 臺北: a character both scripts write is no evidence)
    shared = _shared_characters()
    simp = sum(a != b and a not in shared
               for a, b in zip(chars, _opencc("s2t").convert(chars), strict=False))
    if trad > simp:
        return "zh-Hant"
    if simp > trad:
        return "zh-Hans"
    return default if default.startswith("zh") else "zh-Hans"


def _splitter(lang: str, settings: Settings) -> RecursiveCharacterTextSplitter:
    length: Callable[[str], int]
    if lang == "en":
        size, seps = settings.max_words_en, _EN_SEPARATORS

        def length(s: str) -> int:
            return len(s.split())
    else:
        size, seps, length = settings.max_chars_zh, _ZH_SEPARATORS, len
    return RecursiveCharacterTextSplitter(
        separators=seps,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=0,
        length_function=length,
        strip_whitespace=True,
    )


def split_block(block: Block, lang: str, settings: Settings = SETTINGS) -> list[tuple[int, int]]:
    """Split a paragraph into sentence-aligned spans ``[start, end)`` of the source file."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for chunk in _splitter(lang, settings).split_text(block.text):
        chunk = chunk.strip().rstrip(_FFFD).strip()
        if lang != "en":
            chunk = _LOST_TAIL.sub("", _LOST_LEAD.sub("", chunk))
        if not chunk:
            continue
        at = block.text.find(chunk, cursor)
        if at < 0:  # the splitter never rewrites text, but never trust an offset unchecked
            log.warning("chunk not found in its paragraph; keeping the whole paragraph")
            return [(block.start, block.end)]
        spans.append((block.start + at, block.start + at + len(chunk)))
        cursor = at + len(chunk)
    return spans


def document_passages(
    doc: DocInfo, text: str, first_pid: int = 0, settings: Settings = SETTINGS
) -> list[Passage]:
    """All passages of one document, numbered from ``first_pid``."""
    out: list[Passage] = []
    heading: str | None = None
    for block in clean_blocks(text):
        if block.kind == "title":
            continue
        if block.kind == "heading":
            heading = block.text
            continue
        lang = detect_lang(block.text, default=doc.lang)
        for start, end in split_block(block, lang, settings):
            piece = text[start:end]
            out.append(
                Passage(
                    pid=first_pid + len(out),
                    doc_id=doc.doc_id,
                    text=piece,
                    start=start,
                    end=end,
                    lang=detect_lang(piece, default=lang),
                    paragraph=block.paragraph,
                    heading=heading,
                )
            )
    return out


def corpus_passages(
    data_dir: str | Path | None = None, settings: Settings = SETTINGS
) -> list[Passage]:
    """Passages of every catalogued document, in catalog order."""
    out: list[Passage] = []
    for doc in load_catalog(data_dir):
        out.extend(document_passages(doc, doc.read_text(), len(out), settings))
    log.info("%d passages from the corpus", len(out))
    return out


def article(doc_id: str, data_dir: str | Path | None = None) -> Article:
    """The cleaned article ``doc_id`` (only catalogued documents can be opened)."""
    doc = get_doc(doc_id, data_dir)
    return Article(
        doc_id=doc.doc_id,
        title=doc.title,
        outlet=doc.outlet,
        date=doc.date,
        lang=doc.lang,
        source_path=doc.source_path,
        blocks=clean_blocks(doc.read_text()),
        label=doc.label,
    )


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text without whitespace (for whitespace-insensitive matching)."""
    return _WS.sub("", text)
