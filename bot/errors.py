"""Errors raised at the public boundary; all are ValueError/TypeError subclasses."""

from __future__ import annotations


class QuoteBotError(ValueError):
    """Base class for QuoteBot's own errors."""


class InvalidQueryError(QuoteBotError):
    """The question or an argument to ``retrieve`` is not acceptable."""


class InvalidArgumentTypeError(TypeError):
    """An argument has the wrong type (e.g. ``None`` where a question belongs)."""


class IndexMismatchError(QuoteBotError):
    """The index on disk does not belong to this corpus, model or format."""


class IndexCorruptError(QuoteBotError):
    """A file of the index is missing, truncated or unreadable."""


class IndexLocationError(QuoteBotError):
    """The index directory cannot take an index: it holds other files (building there would
    replace them), or the folder it would go in does not exist (a mistyped path)."""


class CorpusError(QuoteBotError):
    """The corpus (``data/``) or its catalog is missing or malformed."""


class ModelError(QuoteBotError):
    """The embedding model could not be prepared or loaded."""


class DocumentError(QuoteBotError):
    """A document cannot be added or removed (empty, binary, too large, unsupported, unreadable)."""


class ServeError(QuoteBotError):
    """The web chat cannot listen where it was asked to (port in use, unknown host)."""


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the pip install that fixes it."""
