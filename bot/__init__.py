"""QuoteBot: bilingual quote retrieval with exact citations."""

from __future__ import annotations

from .corpus import DocInfo, load_catalog
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexLocationError,
    IndexMismatchError,
    InvalidArgumentTypeError,
    InvalidQueryError,
    QuoteBotError,
)
from .indexing import build_index
from .passages import Article, article
from .retrieve import retrieve
from .settings import SETTINGS, Settings
from .types import Hit, Quote, Report

__all__ = [
    "Article",
    "CorpusError",
    "DocInfo",
    "Hit",
    "IndexCorruptError",
    "IndexLocationError",
    "IndexMismatchError",
    "InvalidArgumentTypeError",
    "InvalidQueryError",
    "Quote",
    "QuoteBotError",
    "Report",
    "SETTINGS",
    "Settings",
    "article",
    "build_index",
    "load_catalog",
    "retrieve",
]
