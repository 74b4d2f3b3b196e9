"""Bring your own articles: add documents to the corpus and the index, or remove them.

Command line (``python -m bot add|remove``)::

    python -m bot add speech.html --outlet "Example News" --date 2024-05-01 [--title ...]
    python -m bot add notes.md report.pdf transcript.txt
    python -m bot list
    python -m bot remove 005_1f2e3d4c5b6a7988

Python API (what the web UI calls; one file at a time, with a progress callback)::

    from bot.ingest import add_document, remove_document

    result = add_document("speech.html", outlet="Example News", date="2024-05-01",
                          progress=lambda fraction, message: ...)
    result.doc_id     # "005_1f2e3d4c5b6a7988"
    result.added      # False: the same content was already there (doc_id is that document)
    result.message    # one line for the user
    remove_document(result.doc_id)

``add_document(path, *, data_dir=None, index_dir=None, model=None, title=None, outlet=None,
date=None, url=None, author=None, lang=None, progress=None, update_index=True) -> AddResult``
``add_documents(paths, ...) -> list[AddResult]`` (all or nothing, one index update)
``remove_document(doc_id, *, data_dir=None, index_dir=None, model=None, progress=None,
update_index=True) -> RemoveResult`` (``remove_documents(doc_ids, ...)`` for several)
``list_documents(data_dir=None) -> list[DocInfo]``

``progress(fraction, message)`` gets 0.0 .. 1.0 and a short description of the step. Every
failure is a :class:`bot.errors.DocumentError` (empty, binary, too large, unsupported type,
unreadable PDF, bad date ...) raised before anything changes: the catalog, ``data/`` and the
index are then exactly as they were. A missing optional dependency is a
:class:`bot.errors.MissingExtraError` naming ``pip install 'quotebot[ingest]'``.

Formats: ``.txt``, ``.md``/``.markdown`` (kept as they are), ``.html``/``.htm`` (main text and
metadata via trafilatura; navigation, banners and footers left out), ``.pdf`` (pypdf's text
layer, lines rejoined into paragraphs, ligatures such as ﬁ made letters; a scanned PDF without
text is refused). Text encodings
are detected (UTF-8, GB18030/GBK, Big5, UTF-16 ...; a ``<meta charset>`` is honoured), never
assumed.

Storage: the original file is copied into ``data/`` byte for byte. When its text had to be
extracted (HTML, PDF, text that is not plain UTF-8) the extracted UTF-8 text is stored next to
it as ``<doc_id>.txt`` and the original as ``<doc_id>.orig.<ext>``; the catalog's ``file`` names
the text that offsets refer to, ``original`` the copy of the original. Doc ids are the next free
three-digit number and 16 hex digits of the text's sha256 (``005_1f2e3d4c5b6a7988``).

Metadata comes from the arguments, else from the document (HTML meta tags via trafilatura, PDF
document info, a Markdown ``# title``, else the headline line cleaning found), else stays null:
nothing is invented. The language is
``lang`` or detected from the text. The same content added twice (same original bytes, or the
same text up to whitespace) is reported, not duplicated.

The catalog is rewritten atomically under a lock (``.<data dir name>.lock`` next to the data
directory), so concurrent adds and removes queue instead of losing entries. The index is then
rebuilt with ``reuse=True``: only passages whose text is new are encoded.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date as _date
from pathlib import Path
from types import ModuleType
from typing import Any

from . import store
from .clean import CJK, NUMERIC, SENTENCE_END, clean_blocks
from .corpus import CATALOG_FORMAT, CATALOG_NAME, LANGS, DocInfo, load_catalog, resolve_data_dir
from .errors import CorpusError, DocumentError, MissingExtraError
from .settings import SETTINGS, Settings

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: file suffix -> kind of reader
FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
INSTALL_HINT = "pip install 'quotebot[ingest]'"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# encodings whose supersets decode more of what is labelled with them
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "cp950",
             "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
# PDF titles that are file names or tool defaults, not the document's title
_JUNK_TITLE = re.compile(
    r"^(?:untitled|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pdf|pptx?|odt|rtf|tex))$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AddResult:
    """What adding one file did.

    ``added`` is False when the same content was already catalogued: ``doc_id`` is then the
    existing document and nothing changed. ``passages`` counts the document's passages;
    ``encoded`` and ``index_passages`` describe the index update (None when not updated).
    """

    path: Path
    doc_id: str
    added: bool
    file: str
    original: str | None
    title: str | None
    outlet: str | None
    author: str | None
    date: str | None
    lang: str
    url: str | None
    passages: int
    encoding: str | None = None
    encoded: int | None = None
    index_passages: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """One line for the user."""
        if not self.added:
            return f"{self.path.name}: already in the catalog as {self.doc_id} (not added again)"
        meta = ", ".join(x for x in (self.outlet, self.date, self.lang) if x)
        title = self.title or (
            "(no title)" if self.outlet else f"(no title or outlet: cited as {self.path.name})"
        )
        return (
            f"{self.path.name}: added as {self.doc_id} — {title} [{meta}], "
            f"{self.passages} passage{'' if self.passages == 1 else 's'}"
        )


@dataclass(frozen=True)
class RemoveResult:
    """What removing documents did: the ids, the files deleted from the data directory."""

    doc_ids: tuple[str, ...]
    files: tuple[str, ...]
    encoded: int | None = None
    index_passages: int | None = None

    @property
    def message(self) -> str:
        """One line for the user."""
        return f"removed {', '.join(self.doc_ids)} ({', '.join(self.files)})"


@dataclass(frozen=True)
class Prepared:
    """A file read, extracted and checked, not yet written anywhere (``prepare``)."""

    path: Path
    kind: str
    raw: bytes
    text: str
    extracted: bool  # True: ``text`` is stored as its own UTF-8 file next to the original
    encoding: str | None
    meta: dict[str, str | None]
    lang: str
    passages: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def raw_sha256(self) -> str:
        """sha256 of the original bytes."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def text_key(self) -> str:
        """sha256 of the text with whitespace collapsed: the same article, however spaced."""
        return text_key(self.text)


def text_key(text: str) -> str:
    """sha256 of ``text`` with runs of whitespace collapsed (what duplicates are judged by)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


# -- optional dependencies -------------------------------------------------------------------


def _extra(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"reading this file needs the '{module}' package of the ingest extra: {INSTALL_HINT}"
        ) from exc


# -- metadata --------------------------------------------------------------------------------


def check_date(value: str | None) -> str | None:
    """``value`` if it is an ISO date ``YYYY-MM-DD`` (None passes); DocumentError otherwise."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if not _DATE.match(text):
            raise ValueError("not YYYY-MM-DD")
        _date.fromisoformat(text)
    except ValueError as exc:
        raise DocumentError(
            f"date {value!r} is not an ISO date: write it as YYYY-MM-DD, e.g. 2024-05-01"
        ) from exc
    return text


_WEB_ADDRESS = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)
# a byline's date that trafilatura reads as a second author ("By Ada Nwosu, June 2, 2024" gives
# "Ada Nwosu; June 2"): a part with a digit is no name
_NOT_A_NAME = re.compile(r"\d")


# ... and an author box's bio that it reads as the author ("作者简介:陈明,新浪科技资深记者,…"
# gives "作者简介陈明; 新浪科技资深记者; …"): the name after the label, not the bio
_AUTHOR_LABEL = re.compile(
    r"^(?:作者简介|作者介绍|关于作者|作者|about the author|author bio|by)\s*[:：]?\s*",
    re.IGNORECASE,
)
_BIO = re.compile(
    r"记者|编辑|作家|媒体|关注|曾|毕业|专栏|reporter|journalist|editor|writer|columnist|covers"
    r"|previously|author of", re.IGNORECASE
)
_NAME_MAX_CHARS = 40


def _byline_names(author: object) -> str | None:
    """trafilatura's author field with the parts that are dates or a bio left out."""
    parts = [_AUTHOR_LABEL.sub("", p.strip()) for p in str(author or "").split(";")]
    names = [
        p for p in parts
        if p and not _NOT_A_NAME.search(p) and not _BIO.search(p) and len(p) <= _NAME_MAX_CHARS
    ]
    return _opt("; ".join(names))


# a page's byline, which trafilatura may leave to the markup: a Chinese one (2024年05月10日
# 09:12 新浪科技 作者:陈明) gives the date, the outlet before the author's label and the author;
# only a line with that label counts, as the article's text has dates of its own. An English
# one ("By Jane Doe, Tech Correspondent · May 12, 2024") gives the author and the date.
_ZH_BYLINE = re.compile(
    r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
    r"\s*(?:来源[:：]\s*)?(?P<outlet>[\u4e00-\u9fffA-Za-z]{2,12})?\s*(?:作者|记者|文)\s*[:：/|]"
    r"\s*(?P<author>[\u4e00-\u9fff·]{2,6}(?![\u4e00-\u9fff]))?"
)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_EN_BYLINE = re.compile(
    r"^\s*By\s+(?P<author>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3})(?=\s*(?:[,·|–—-]|$))"
    r"(?:.*?\b(?P<month>[A-Z][a-z]{2,8})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>(?:19|20)\d\d)\b)?"
)
_TAG = re.compile(r"<[^>]+>")
# how far into a text file a byline is looked for (below that, a date is the article's)
_BYLINE_LINES = 12


def _byline(html: str) -> dict[str, str | None]:
    """date, outlet and author from a byline of the page (Nones for what it does not give)."""
    for line in _TAG.sub("\n", html).splitlines():
        zh = _ZH_BYLINE.search(line)
        if zh is not None:
            try:
                date = check_date(f"{zh['y']}-{int(zh['m']):02d}-{int(zh['d']):02d}")
            except DocumentError:
                continue
            return {"date": date, "outlet": zh["outlet"], "author": zh["author"]}
        en = _EN_BYLINE.match(line)
        if en is not None:
            date = None
            month = (en["month"] or "").lower()
            if en["y"] and month[:3] in {m[:3] for m in _MONTHS}:
                number = next(i for i, m in enumerate(_MONTHS, 1) if m[:3] == month[:3])
                try:
                    date = check_date(f"{en['y']}-{number:02d}-{int(en['d']):02d}")
                except DocumentError:
                    date = None
            return {"date": date, "outlet": None, "author": en["author"]}
    return {"date": None, "outlet": None, "author": None}


def check_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) address (None passes); DocumentError otherwise."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if not _WEB_ADDRESS.fullmatch(text):
        raise DocumentError(
            f"url {value!r} is not a web address: write it as https://…, e.g. "
            "https://example.com/news/1"
        )
    return text


def check_lang(value: str | None) -> str | None:
    """``value`` if it is one of the corpus languages (None passes); DocumentError otherwise."""
    if value is None or not str(value).strip():
        return None
    if value not in LANGS:
        raise DocumentError(f"lang {value!r} is not one of {', '.join(LANGS)}")
    return value


def check_label(value: str | None, name: str, limit: int) -> str | None:
    """A title, outlet or author given by hand, at most ``limit`` characters (it is shown in
    every citation); DocumentError otherwise."""
    text = _opt(value)
    if text is not None and len(text) > limit:
        raise DocumentError(
            f"{name} is {len(text):,} characters; at most {limit} (every citation shows it): "
            "shorten it"
        )
    return text


def _opt(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _doc_date(value: object, name: str) -> str | None:
    """A date found in the document, if it is a valid ISO date (never guessed further)."""
    text = _opt(value)
    if text is None:
        return None
    try:
        return check_date(text[:10])
    except DocumentError:
        log.info("%s: ignoring the document's date %r (not YYYY-MM-DD)", name, text)
        return None


# -- decoding --------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_DOS_CODEPAGES = frozenset(
    {"cp437", "cp775", "cp850", "cp858", "cp861", "cp863", "cp865", "cp1257", "mac_roman",
     "mac_iceland", "mac_latin2"}
)


def _western_letters(text: str) -> int:
    """Letters of Latin-1's upper half (à, é, ü, ß ...) in ``text``."""
    return sum(1 for c in text if "\u00c0" <= c <= "\u00ff" and c not in "\u00d7\u00f7")


def _try_decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_bytes(raw: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """The text of ``raw`` and the encoding it was read with.

    A byte-order mark, then strict UTF-8, then the encoding the document declares (HTML
    ``<meta charset>``), then charset-normalizer's detection (GB18030/GBK, Big5, ...).
    DocumentError for binary data or bytes no encoding reads.
    """
    text: str | None = None
    encoding = ""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            text, encoding = _try_decode(raw, enc), enc
            break
    if text is None and encoding == "":
        text = _try_decode(raw, "utf-8")
        encoding = "utf-8"
    if text is None and declared:
        enc = declared.lower().replace("_", "-")
        for candidate in (_SUPERSET.get(enc, enc), enc):
            text = _try_decode(raw, candidate)
            if text is not None:
                encoding = candidate
                break
    if text is None:
        if b"\x00" in raw:
            raise DocumentError(f"{name} looks like a binary file, not text")
        cn = _extra("charset_normalizer")
        best = cn.from_bytes(raw).best()
        if best is None:
            raise DocumentError(
                f"{name} looks like a binary file, or text in an encoding that cannot be "
                "detected; save it as UTF-8 and add it again"
            )
        encoding = str(best.encoding)
        text = str(best)
        if encoding in _DOS_CODEPAGES:
            # short Western text (Café, München) is often detected as a DOS, Baltic or old Mac
            # code page, which reads its accented letters as others (Cafķ, M³nchen);
            # Windows-1252 is the usual encoding of such files: kept when its reading has
            # more such letters (Windows-1250 is left alone: Czech or Polish reads the same)
            western = _try_decode(raw, "cp1252")
            if western is not None and _western_letters(western) > _western_letters(text):
                text, encoding = western, "cp1252"
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > max(2, len(text) // 200):
        raise DocumentError(f"{name} looks like a binary file, not text")
    return text, encoding


def _universal_newlines(text: str) -> str:
    # what Path.read_text (universal newlines) turns the file into
    return text.replace("\r\n", "\n").replace("\r", "\n")


# -- readers ---------------------------------------------------------------------------------


def _read_text(raw: bytes, name: str, kind: str) -> tuple[str, bool, str, dict[str, str | None]]:
    text, encoding = decode_bytes(raw, name)
    # plain UTF-8 is stored as it is: offsets index Path.read_text of the original itself
    extracted = encoding != "utf-8"
    text = _universal_newlines(text)
    meta: dict[str, str | None] = {}
    if kind == "markdown":
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        if first.startswith("# "):
            meta["title"] = _opt(first[2:].strip().strip("#"))
    # a byline near the top gives what it gives, as a page's does (a tester's: the cleaning
    # dropped "2024年07月10日 09:12 新浪科技 作者:陈明" as metadata, and the catalog had none of it)
    byline = _byline("\n".join(text.splitlines()[:_BYLINE_LINES]))
    meta.update({key: value for key, value in byline.items() if value})
    return text, extracted, encoding, meta


def _read_html(raw: bytes, name: str) -> tuple[str, str, dict[str, str | None]]:
    trafilatura = _extra("trafilatura")
    found = _META_CHARSET.search(raw[:4096])
    declared = found.group(1).decode("ascii") if found else None
    html, encoding = decode_bytes(raw, name, declared)
    params = {
        "original_date": True,
        "extensive_search": False,  # dates from the markup, not guessed from the text
        "max_date": _date.today().isoformat(),
    }
    try:
        doc = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            date_extraction_params=params,
        )
    except Exception as exc:  # noqa: BLE001 - trafilatura/lxml raise many kinds on bad input
        raise DocumentError(f"{name}: cannot parse the HTML ({exc})") from exc
    if doc is None:
        raise DocumentError(f"{name}: no article text found in the HTML")
    got: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    text = _universal_newlines(str(got.get("text") or ""))
    text = "\n".join(ln.rstrip() for ln in text.split("\n")).strip("\n")
    meta = {
        "title": _opt(got.get("title")),
        "outlet": _opt(got.get("sitename")),
        "author": _byline_names(got.get("author")),
        "date": _doc_date(got.get("date"), name),
        # a page's own address when it states a web one (not javascript:, file: ...)
        "url": _opt(got.get("url")) if _WEB_ADDRESS.fullmatch(str(got.get("url") or "")) else None,
    }
    if None in (meta["date"], meta["outlet"], meta["author"]):
        byline = _byline(html)
        for key in ("date", "outlet", "author"):
            meta[key] = meta[key] or byline[key]
    return text, encoding, meta


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _join(left: str, right: str) -> str:
    if not left:
        return right
    if CJK.match(left[-1]) or CJK.match(right[0]) or (left.endswith("-") and left[-2:-1].isalpha()):
        return left + right
    return f"{left} {right}"


def reflow(pages: Sequence[str], title: str | None = None) -> str:
    """Rejoin a PDF's text lines into paragraphs (one per line, blank lines between).

    A paragraph ends at a blank line, at a line clearly shorter than the page's text width,
    or at a sentence end on a line short of the width; number-only lines (page
    numbers) are dropped. A short line without a sentence end goes on when the next one
    starts in lower case (a headline set large wraps into short lines), and the first lines
    are one paragraph when together they are the document's ``title``. Nothing inside a line
    is changed.
    """
    lines_by_page = [[ln.strip() for ln in page.splitlines()] for page in pages]
    widths = sorted(_width(ln) for page in lines_by_page for ln in page if ln)
    if not widths:
        return ""
    # the text width: the longest line, or near it when there are enough lines for outliers
    full = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= 10 else widths[-1]
    lines = [ln for page in lines_by_page for ln in page if not (ln and NUMERIC.match(ln))]
    head = _title_lines(lines, title) if title else 0
    paras: list[str] = []
    cur = ""
    for i, ln in enumerate(lines):
        if not ln:
            if cur:
                paras.append(cur)
            cur = ""
            continue
        cur = _join(cur, ln)
        if i < head - 1:
            continue
        w = _width(ln)
        ends = bool(SENTENCE_END.search(ln))
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if (w < 0.7 * full and not (not ends and nxt[:1].isascii() and nxt[:1].islower())
                or (ends and w < 0.9 * full) or i == head - 1):
            paras.append(cur)
            cur = ""
    if cur:
        paras.append(cur)
    return "\n\n".join(paras)


def _title_lines(lines: Sequence[str], title: str) -> int:
    """How many of the first ``lines`` (two or more) together spell ``title`` (0 if none)."""
    want = "".join(title.split()).casefold()
    got = ""
    for n, ln in enumerate(lines[:6], 1):
        got += "".join(ln.split()).casefold()
        if not want.startswith(got):
            return 0
        if got == want:
            return n if n > 1 else 0
    return 0


_LIGATURES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
})


def _read_pdf(raw: bytes, name: str) -> tuple[str, dict[str, str | None], list[str]]:
    pypdf = _extra("pypdf")
    warnings: list[str] = []
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name} is password-protected; save an unprotected copy first")
        # typeset ligatures (ﬁ, ﬀ, ﬃ ...) are the letters a reader sees and a question types
        pages = [(page.extract_text() or "").translate(_LIGATURES) for page in reader.pages]
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on broken files
        raise DocumentError(f"{name} is not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise DocumentError(f"{name}: the PDF has no pages")
    empty = [i + 1 for i, p in enumerate(pages) if not p.strip()]
    if len(empty) == len(pages):
        raise DocumentError(
            f"{name} has no text layer (a scanned PDF?): run OCR on it first "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and add the result"
        )
    if empty:
        warnings.append(f"pages without text (scanned?): {', '.join(map(str, empty))}")
    meta: dict[str, str | None] = {"title": None, "author": None}
    try:
        info = reader.metadata
        if info is not None:
            meta = {"title": _opt(info.title), "author": _opt(info.author)}
    except Exception as exc:  # noqa: BLE001 - a broken info dictionary only loses metadata
        log.info("%s: unreadable PDF document info (%s)", name, exc)
    if meta["title"] and _JUNK_TITLE.match(meta["title"]):
        meta["title"] = None
    # the PDF's CreationDate is when the file was made, not when the article was published
    return reflow(pages, meta["title"]), meta, warnings


# -- preparing a file ------------------------------------------------------------------------


def prepare(
    path: str | Path,
    *,
    title: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    url: str | None = None,
    author: str | None = None,
    lang: str | None = None,
    settings: Settings = SETTINGS,
) -> Prepared:
    """Read, extract and check one file without writing anything (DocumentError if unusable)."""
    from .passages import detect_lang, document_passages

    path = _as_path(path)
    name = path.name
    if path.is_dir():
        raise DocumentError(f"{path} is a folder: give the files in it ({', '.join(FORMATS)})")
    date = check_date(date)
    url = check_url(url)
    lang = check_lang(lang)
    title = check_label(title, "title", settings.max_title_chars)
    outlet = check_label(outlet, "outlet", settings.max_label_chars)
    author = check_label(author, "author", settings.max_label_chars)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(
            f"{name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(FORMATS)}"
        )
    if not path.is_file():
        raise DocumentError(f"{path}: no such file")
    size = path.stat().st_size
    if size > settings.max_document_bytes:
        shown, limit = _size(size), _size(settings.max_document_bytes)
        if shown == limit:  # just over: rounded, the two would read the same
            shown, limit = f"{size:,} bytes", f"{settings.max_document_bytes:,} bytes"
        raise DocumentError(
            f"{name} is {shown}; the limit is {limit} per file"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc}") from exc
    if not raw.strip():
        raise DocumentError(f"{name} is empty")

    warnings: list[str] = []
    encoding: str | None
    if kind == "html":
        text, encoding, found = _read_html(raw, name)
        extracted = True
    elif kind == "pdf":
        text, found, warnings = _read_pdf(raw, name)
        encoding, extracted = None, True
    else:
        text, extracted, encoding, found = _read_text(raw, name, kind)
    if not text.strip():
        raise DocumentError(f"{name} has no text")

    blocks = clean_blocks(text)
    body = "\n".join(b.text for b in blocks if b.kind == "para")
    if not body:
        raise DocumentError(
            f"{name}: no paragraph of running text found (only headings, lists or boilerplate); "
            "nothing in it could be quoted"
        )
    detected = detect_lang(body)
    if lang is not None and lang != detected:
        # the passages are labelled by their own script: the catalog would say another
        # language (or script: zh-Hant for simplified text) than every passage, and a
        # language filter would miss them
        raise DocumentError(
            f"{name}: lang {lang!r} was given, but its text reads as {detected}; "
            "leave lang out to detect it, or give the right one"
        )
    lang = lang or detected
    given = {"title": title, "outlet": outlet, "author": author, "date": date, "url": url}
    meta = {k: _opt(v) or _opt(found.get(k)) for k, v in given.items()}
    if meta["title"] is None:
        # the document's own headline: the line cleaning took for its title (a first line
        # over metadata or before the text, not a sentence of it)
        meta["title"] = next((_opt(b.text) for b in blocks if b.kind == "title"), None)
    probe = DocInfo("probe", name, None, None, None, None, lang, None, path)
    n = len(document_passages(probe, text, 0, settings))
    if n == 0:
        raise DocumentError(f"{name}: no passages after cleaning; nothing in it could be quoted")
    if extracted and not text.endswith("\n"):
        text += "\n"
    return Prepared(path, kind, raw, text, extracted, encoding, meta, lang, n, tuple(warnings))


# -- the catalog -----------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes it private: keep the mode of the file it replaces, else an ordinary
        # file's (a tester's catalog.json became 600 after an add)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# what an add or remove in progress would undo: the catalog before it and the files it wrote.
# A process killed before its index was updated (kill -9, a closed terminal) leaves it behind,
# and the next one to open the data directory puts the catalog back (recover)
_PENDING = ".catalog.pending.json"


def _begin(data: Path, old_catalog: bytes, files: Sequence[Path]) -> None:
    record = {"catalog": old_catalog.decode("utf-8"), "files": [f.name for f in files]}
    _atomic_write(data / _PENDING, json.dumps(record, ensure_ascii=False).encode("utf-8"))


def _roll_back(data: Path) -> bool:
    """Undo the change a ``_PENDING`` record describes (with the catalog lock held)."""
    path = data / _PENDING
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        old = str(record["catalog"]).encode("utf-8")
        files = [_plain_name(f) for f in record.get("files", [])]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable %s (%s)", path, exc)
        path.unlink(missing_ok=True)
        return False
    _atomic_write(data / CATALOG_NAME, old)
    for name in files:
        if name:
            (data / name).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    log.warning("an add or remove in %s was interrupted before the index was updated; "
                "the catalog is back as it was before it", data)
    return True


def recover(data_dir: str | Path | None = None) -> bool:
    """Undo an add or remove that was killed before it updated the index (the catalog and
    ``data/`` back as they were); False when there was none, or one is still running."""
    data = resolve_data_dir(data_dir)
    if not (data / _PENDING).exists():
        return False
    with store.build_lock(data.resolve(), wait=False) as held:
        return held and _roll_back(data)


def _dump_catalog(raw: dict[str, Any]) -> bytes:
    return (json.dumps(raw, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _read_catalog(data: Path) -> tuple[bytes, dict[str, Any]]:
    load_catalog(data)  # validates (CorpusError with a clear message)
    old = (data / CATALOG_NAME).read_bytes()
    raw = json.loads(old)
    raw.setdefault("format", CATALOG_FORMAT)
    raw["documents"] = list(raw.get("documents") or [])
    return old, raw


def _plain_name(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    p = Path(name)
    return name if not p.is_absolute() and ".." not in p.parts and len(p.parts) == 1 else None


def _known_content(data: Path, entries: list[dict[str, Any]]) -> dict[str, str]:
    """sha256 keys (original bytes, whitespace-collapsed text) -> doc_id of the catalog."""
    known: dict[str, str] = {}
    for entry in entries:
        doc_id = str(entry["doc_id"])
        text_file = data / str(entry["file"])
        original = _plain_name(entry.get("original")) or str(entry["file"])
        raw_sha = entry.get("sha256")
        if not raw_sha:
            try:
                raw_sha = hashlib.sha256((data / original).read_bytes()).hexdigest()
            except OSError:
                raw_sha = None
        key = entry.get("text_sha256")
        if not key:
            try:
                key = text_key(text_file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                key = None
        for k in (raw_sha, key):
            if k:
                known.setdefault(str(k), doc_id)
    return known


def _next_number(entries: list[dict[str, Any]]) -> int:
    numbers = [int(m.group(1)) for e in entries if (m := re.match(r"^(\d+)_", str(e["doc_id"])))]
    return max(numbers, default=-1) + 1


def list_documents(data_dir: str | Path | None = None) -> list[DocInfo]:
    """The catalogued documents, in catalog order (``bot.corpus.load_catalog``)."""
    return load_catalog(data_dir)


def _reset_engines() -> None:
    # loaded engines hold the old index; the next query loads the new one
    retrieve = sys.modules.get("bot.retrieve")
    if retrieve is not None:
        retrieve.reset_engines()


def _step(progress: Progress | None, fraction: float, message: str) -> None:
    log.info("%3.0f%% %s", fraction * 100, message)
    if progress is not None:
        progress(fraction, message)


def _update_index(
    data: Path,
    index_dir: str | Path | None,
    model: str | None,
    settings: Settings,
    show_progress: bool,
    progress: Progress | None = None,
) -> tuple[int, int]:
    from .indexing import build_index

    def encoded(done: int, total: int) -> None:  # (the bar's stretch from 0.5 to 0.95)
        _step(progress, 0.5 + 0.45 * done / max(total, 1),
              f"encoding the new passages ({done} of {total})")

    report = build_index(data, index_dir, model, settings, show_progress=show_progress,
                         progress=encoded if progress is not None else None)
    log.info(
        "index %s updated: %d passages, %d encoded, %d reused (%.1fs, encoding %.1fs)",
        report.index_dir, report.passages, report.encoded, report.passages - report.encoded,
        report.seconds_total, report.seconds_encode,
    )
    return report.encoded, report.passages


# -- adding ----------------------------------------------------------------------------------


def commit(
    prepared: Sequence[Prepared],
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    settings: Settings = SETTINGS,
    update_index: bool = True,
    show_progress: bool = False,
    progress: Progress | None = None,
) -> list[AddResult]:
    """Store prepared files in the data directory and catalog, then update the index.

    All or nothing: if anything fails (the index build included) the catalog and the data
    directory are put back as they were and the error is raised.
    """
    data = resolve_data_dir(data_dir)
    out: list[AddResult] = []
    written: list[Path] = []
    old_catalog: bytes | None = None
    encoded = total = None
    _step(progress, 0.4, "saving")
    with store.build_lock(data.resolve()):  # one catalog change at a time
        _roll_back(data)  # one killed before it finished
        try:
            old_catalog, raw = _read_catalog(data)
            entries: list[dict[str, Any]] = raw["documents"]
            known = _known_content(data, entries)
            number = _next_number(entries)
            for p in prepared:
                dup = known.get(p.raw_sha256) or known.get(p.text_key)
                if dup is not None:
                    log.info("%s: same content as %s, not added", p.path, dup)
                    out.append(_result(p, _entry_of(entries, dup), added=False))
                    continue
                entry, files = _store_files(data, p, number)
                number = int(entry["doc_id"].split("_", 1)[0]) + 1
                written.extend(files)
                entries.append(entry)
                known[p.raw_sha256] = known[p.text_key] = entry["doc_id"]
                out.append(_result(p, entry, added=True))
            if written:
                _begin(data, old_catalog, written)
                _atomic_write(data / CATALOG_NAME, _dump_catalog(raw))
                load_catalog(data)  # the new catalog reads back
                if update_index:
                    _step(progress, 0.5, "updating the index (encoding the new passages)")
                    encoded, total = _update_index(
                        data, index_dir, model, settings, show_progress, progress
                    )
                (data / _PENDING).unlink(missing_ok=True)
        except BaseException:
            if written and old_catalog is not None:
                _atomic_write(data / CATALOG_NAME, old_catalog)
            for f in written:
                f.unlink(missing_ok=True)
            (data / _PENDING).unlink(missing_ok=True)
            raise
    if not written:
        _step(progress, 1.0, "already in the catalog")
        return out
    _reset_engines()
    _step(progress, 1.0, "done")
    return [replace(r, encoded=encoded, index_passages=total) if r.added else r for r in out]


def _size(n: int) -> str:
    """A byte count as people read it: 20 MB, 21.7 MB, 1.2 GB, 350 KB, 100 bytes."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _entry_of(entries: list[dict[str, Any]], doc_id: str) -> dict[str, Any]:
    return next(e for e in entries if e["doc_id"] == doc_id)


def _result(p: Prepared, entry: dict[str, Any], added: bool) -> AddResult:
    return AddResult(
        path=p.path,
        doc_id=str(entry["doc_id"]),
        added=added,
        file=str(entry["file"]),
        original=_opt(entry.get("original")),
        title=_opt(entry.get("title")),
        outlet=_opt(entry.get("outlet")),
        author=_opt(entry.get("author")),
        date=_opt(entry.get("date")),
        lang=str(entry.get("lang")),
        url=_opt(entry.get("url")),
        passages=p.passages,
        encoding=p.encoding,
        warnings=p.warnings,
    )


def _store_files(data: Path, p: Prepared, number: int) -> tuple[dict[str, Any], list[Path]]:
    """Write the original (and extracted text) under a fresh doc id; the catalog entry."""
    digest = hashlib.sha256(p.text.encode("utf-8")).hexdigest()[:16]
    suffix = p.path.suffix.lower()
    while True:
        doc_id = f"{number:03d}_{digest}"
        if p.extracted:
            file, original = f"{doc_id}.txt", f"{doc_id}.orig{suffix}"
        else:
            file = original = f"{doc_id}{suffix}"
        if not (data / file).exists() and not (data / original).exists():
            break
        number += 1  # a stray file holds this name: never overwrite it
    written: list[Path] = []
    try:
        _atomic_write(data / original, p.raw)
        written.append(data / original)
        if p.extracted:
            _atomic_write(data / file, p.text.encode("utf-8"))
            written.append(data / file)
    except OSError as exc:
        for f in written:
            f.unlink(missing_ok=True)
        raise DocumentError(f"cannot write into {data}: {exc}") from exc
    entry: dict[str, Any] = {
        "doc_id": doc_id,
        "file": file,
        "title": p.meta.get("title"),
        "outlet": p.meta.get("outlet"),
        "author": p.meta.get("author"),
        "date": p.meta.get("date"),
        "lang": p.lang,
        "url": p.meta.get("url"),
        "original": original,
        "source_name": p.path.name,
        "encoding": p.encoding,
        "sha256": p.raw_sha256,
        "text_sha256": p.text_key,
    }
    return entry, written


def _as_path(path: object) -> Path:
    if not isinstance(path, str | Path) or not str(path):
        raise DocumentError(f"a document is a file path (str or Path), got {path!r}")
    return Path(path)


def add_documents(
    paths: Iterable[str | Path],
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    title: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    url: str | None = None,
    author: str | None = None,
    lang: str | None = None,
    progress: Progress | None = None,
    update_index: bool = True,
    show_progress: bool = False,
    settings: Settings = SETTINGS,
) -> list[AddResult]:
    """Add several files with one index update; all or nothing (DocumentError names the file).

    The metadata arguments apply to every file; ``title`` and ``url`` only make sense for one.
    """
    files = [_as_path(p) for p in paths]
    if len(files) > 1 and (title or url):
        raise DocumentError("title and url describe one document: add the files one at a time")
    prepared = []
    for i, path in enumerate(files):
        _step(progress, 0.35 * i / max(1, len(files)), f"reading {path.name}")
        prepared.append(
            prepare(path, title=title, outlet=outlet, date=date, url=url, author=author,
                    lang=lang, settings=settings)
        )
    return commit(
        prepared, data_dir=data_dir, index_dir=index_dir, model=model, settings=settings,
        update_index=update_index, show_progress=show_progress, progress=progress,
    )


def add_document(
    path: str | Path,
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    title: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    url: str | None = None,
    author: str | None = None,
    lang: str | None = None,
    progress: Progress | None = None,
    update_index: bool = True,
    settings: Settings = SETTINGS,
) -> AddResult:
    """Add one file (.txt .md .html .htm .pdf) to the catalog and the index.

    Metadata arguments override what the document says; ``date`` must be ``YYYY-MM-DD``;
    ``lang`` is ``en``, ``zh-Hans`` or ``zh-Hant`` (detected when None). Raises
    DocumentError (nothing changed) or MissingExtraError. ``result.added`` is False when
    the content was already there.
    """
    (result,) = add_documents(
        [path], data_dir=data_dir, index_dir=index_dir, model=model, title=title,
        outlet=outlet, date=date, url=url, author=author, lang=lang, progress=progress,
        update_index=update_index, settings=settings,
    )
    return result


# -- removing --------------------------------------------------------------------------------


def remove_documents(
    doc_ids: Iterable[str],
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    progress: Progress | None = None,
    update_index: bool = True,
    show_progress: bool = False,
    settings: Settings = SETTINGS,
) -> RemoveResult:
    """Remove documents: their catalog entries, their files in the data directory and (with
    ``update_index``) their passages from the index. All or nothing: an unknown id, or
    removing every document, is a DocumentError and changes nothing.
    """
    if isinstance(doc_ids, str | bytes):
        raise DocumentError(f"doc_ids is a list of document ids, got the string {doc_ids!r}")
    given = list(doc_ids)
    bad = [d for d in given if not isinstance(d, str)]
    if bad:
        raise DocumentError(f"a document id is a str (see `bot list`), got {bad[0]!r}")
    ids = list(dict.fromkeys(given))
    data = resolve_data_dir(data_dir)
    _step(progress, 0.1, "updating the catalog")
    with store.build_lock(data.resolve()):
        _roll_back(data)  # one killed before it finished
        old_catalog, raw = _read_catalog(data)
        entries: list[dict[str, Any]] = raw["documents"]
        present = {str(e["doc_id"]) for e in entries}
        missing = [d for d in ids if d not in present]
        if missing:
            raise DocumentError(
                f"no document {', '.join(map(repr, missing))} in the catalog; "
                "`python -m bot list` shows the ids"
            )
        keep = [e for e in entries if str(e["doc_id"]) not in ids]
        if not keep:
            raise DocumentError(
                "that would remove every document and leave nothing to search; "
                "add another document first"
            )
        gone = [e for e in entries if str(e["doc_id"]) in ids]
        still_named = {str(e["file"]) for e in keep} | {str(e.get("original")) for e in keep}
        files = list(dict.fromkeys(
            name
            for e in gone
            for name in (_plain_name(e.get("file")), _plain_name(e.get("original")))
            if name and name not in still_named
        ))
        raw["documents"] = keep
        encoded = total = None
        try:
            _begin(data, old_catalog, [])
            _atomic_write(data / CATALOG_NAME, _dump_catalog(raw))
            if update_index:
                _step(progress, 0.3, "updating the index")
                encoded, total = _update_index(data, index_dir, model, settings, show_progress)
            (data / _PENDING).unlink(missing_ok=True)
        except BaseException:
            _atomic_write(data / CATALOG_NAME, old_catalog)
            (data / _PENDING).unlink(missing_ok=True)
            raise
        for name in files:  # only once nothing names them any more
            try:
                (data / name).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not delete %s: %s", data / name, exc)
    _reset_engines()
    _step(progress, 1.0, "done")
    return RemoveResult(tuple(ids), tuple(files), encoded, total)


def remove_document(
    doc_id: str,
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    progress: Progress | None = None,
    update_index: bool = True,
    settings: Settings = SETTINGS,
) -> RemoveResult:
    """Remove one document (catalog entry, files, passages); DocumentError if unknown."""
    return remove_documents(
        [doc_id], data_dir=data_dir, index_dir=index_dir, model=model, progress=progress,
        update_index=update_index, settings=settings,
    )


# -- command line ----------------------------------------------------------------------------


def _noop(_: str) -> None:
    return None


def add_command(
    args: Any, out: Callable[[str], None] = _noop, err: Callable[[str], None] = _noop
) -> int:
    """``bot add``: files that cannot be read are reported (``err``) and skipped; the others
    are added with one index update. Exit status 0, or 2 when some file was refused."""
    paths: list[Path] = [Path(p) for p in args.files]
    if len(paths) > 1 and (args.title or args.url):
        raise DocumentError("--title and --url describe one document: add the files one at a time")
    meta = {"title": args.title, "outlet": args.outlet, "date": args.date, "url": args.url,
            "author": args.author, "lang": args.lang}
    check_date(args.date)
    check_url(args.url)
    check_lang(args.lang)
    prepared: list[Prepared] = []
    refused = 0
    for path in paths:
        try:
            prepared.append(prepare(path, **meta))
        except DocumentError as exc:
            err(f"error: {exc}")
            refused += 1
    if prepared:
        results = commit(prepared, data_dir=args.data, index_dir=args.index, model=args.model,
                         show_progress=True)
        for r in results:
            out(r.message)
            for w in r.warnings:
                out(f"  warning: {w}")
        done = next((r for r in results if r.index_passages is not None), None)
        if done is not None:
            out(f"index updated: {done.index_passages} passages, {done.encoded} newly encoded")
    if refused and len(paths) > 1:
        err(f"{refused} of {len(paths)} files not added")
    return 2 if refused else 0


def remove_command(
    args: Any, out: Callable[[str], None] = _noop, err: Callable[[str], None] = _noop
) -> int:
    """``bot remove DOC_ID...``: remove documents and their passages."""
    result = remove_documents(args.doc_id, data_dir=args.data, index_dir=args.index,
                              model=args.model, show_progress=True)
    out(result.message)
    if result.index_passages is not None:
        out(f"index updated: {result.index_passages} passages")
    return 0


__all__ = [
    "FORMATS",
    "AddResult",
    "CorpusError",
    "DocumentError",
    "MissingExtraError",
    "Prepared",
    "RemoveResult",
    "add_command",
    "add_document",
    "add_documents",
    "check_date",
    "commit",
    "decode_bytes",
    "list_documents",
    "prepare",
    "reflow",
    "remove_command",
    "remove_document",
    "remove_documents",
]
