"""Documents: the catalog in ``data/catalog.json`` and the source files it names."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .settings import REPO_ROOT, SETTINGS

log = logging.getLogger(__name__)

CATALOG_NAME = "catalog.json"
CATALOG_FORMAT = "quotebot-catalog/1"
LANGS = ("en", "zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class DocInfo:
    """One catalogued source document; ``path`` is the file whose characters offsets refer to."""

    doc_id: str
    file: str
    title: str | None
    outlet: str | None
    author: str | None
    date: str | None
    lang: str
    url: str | None
    path: Path
    # the name the file had when it was added (uploads): what a citation names when the
    # document has neither title nor outlet
    source_name: str | None = None

    @property
    def label(self) -> str:
        """What to call the document: its title, else outlet, else file name as added, else id."""
        return self.title or self.outlet or self.source_name or self.doc_id

    @property
    def source_path(self) -> str:
        """The file's path relative to the repo root when it lies inside it, else absolute."""
        try:
            return self.path.resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            return str(self.path.resolve())

    def read_text(self) -> str:
        """The source text exactly as offsets index it (``Path.read_text(encoding="utf-8")``)."""
        try:
            # Path.read_text is what users check offsets against, so index the same string
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CorpusError(f"cannot read {self.path}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"{self.path} is not UTF-8 ({exc}); re-add it with `bot add`"
            ) from exc


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data directory to use (the default ``data/`` when None)."""
    return Path(data_dir) if data_dir is not None else SETTINGS.data_dir


def _opt_str(entry: dict[str, object], key: str) -> str | None:
    value = entry.get(key)
    return str(value) if value not in (None, "") else None


def load_catalog(data_dir: str | Path | None = None) -> list[DocInfo]:
    """Read ``catalog.json`` from the data directory; raises CorpusError when it is unusable."""
    root = resolve_data_dir(data_dir)
    path = root / CATALOG_NAME
    if not path.is_file():
        raise CorpusError(
            f"no catalog at {path}; a data directory needs {CATALOG_NAME} next to its articles "
            "(see README, 'Corpus')"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != CATALOG_FORMAT:
        raise CorpusError(f"{path}: expected format {CATALOG_FORMAT!r}")
    docs: list[DocInfo] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("documents") or []):
        if not isinstance(entry, dict) or not entry.get("doc_id") or not entry.get("file"):
            raise CorpusError(f"{path}: document #{i} needs 'doc_id' and 'file'")
        doc_id, file = str(entry["doc_id"]), str(entry["file"])
        if doc_id in seen:
            raise CorpusError(f"{path}: duplicate doc_id {doc_id!r}")
        seen.add(doc_id)
        # the catalog may only name files inside the data directory
        if Path(file).is_absolute() or ".." in Path(file).parts:
            raise CorpusError(f"{path}: file {file!r} must be a plain name inside {root}")
        lang = str(entry.get("lang") or "")
        if lang not in LANGS:
            raise CorpusError(f"{path}: {doc_id} has lang {lang!r}; expected one of {LANGS}")
        docs.append(
            DocInfo(
                doc_id=doc_id,
                file=file,
                title=_opt_str(entry, "title"),
                outlet=_opt_str(entry, "outlet"),
                author=_opt_str(entry, "author"),
                date=_opt_str(entry, "date"),
                lang=lang,
                url=_opt_str(entry, "url"),
                path=root / file,
                source_name=_opt_str(entry, "source_name"),
            )
        )
    return docs


def get_doc(doc_id: str, data_dir: str | Path | None = None) -> DocInfo:
    """The catalog entry for ``doc_id``; CorpusError when the catalog has none."""
    for doc in load_catalog(data_dir):
        if doc.doc_id == doc_id:
            return doc
    raise CorpusError(f"no document {doc_id!r} in the catalog; `python -m bot list` shows the ids")


def corpus_hash(data_dir: str | Path | None = None) -> str:
    """sha256 over the catalog and every catalogued file's bytes: changes when anything does."""
    root = resolve_data_dir(data_dir)
    docs = load_catalog(root)  # CorpusError when there is no usable catalog
    h = hashlib.sha256()
    try:
        h.update((root / CATALOG_NAME).read_bytes())
    except OSError as exc:
        raise CorpusError(f"cannot read {root / CATALOG_NAME}: {exc}") from exc
    for doc in docs:
        try:
            data = doc.path.read_bytes()
        except OSError as exc:
            raise CorpusError(f"catalogued file missing: {doc.path} ({exc})") from exc
        h.update(doc.doc_id.encode())
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()
