"""Persistence of the index: plain files, written atomically, checked on load.

Layout of an index directory:
  manifest.json   format version, model id, dimension, corpus hash, counts, checksums
  passages.jsonl  one passage per line (text, offsets, language, paragraph, links)
  vectors.faiss   the FAISS index over the L2-normalised passage vectors
  background.faiss  vectors of off-topic text (what abstention compares against)
  tokens.npy, token_ids.npy, token_offsets.npy  every passage's token vectors (float16),
                  their vocabulary ids and where each passage's rows start (late interaction,
                  ``bot.retrieve``); absent for corpora above ``Settings.late_max`` passages

A build writes a sibling temporary directory and swaps it in with one atomic rename
(``renameat2(RENAME_EXCHANGE)`` where the kernel has it), so the directory holds the old index
or the new one, never a mix; a loader that was reading while a swap happened reads again
(``load``). A killed build leaves only a temporary directory that no loader ever reads and
the next build of that index removes (``remove_leftovers``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexLocationError, IndexMismatchError

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: token vectors (late interaction)
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.faiss"
BACKGROUND = "background.faiss"
TOKENS = "tokens.npy"
TOKEN_IDS = "token_ids.npy"
TOKEN_OFFSETS = "token_offsets.npy"
TOKEN_FILES = (TOKENS, TOKEN_IDS, TOKEN_OFFSETS)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; compared with the current corpus and model on load."""

    format_version: int
    model_id: str
    dim: int
    corpus_hash: str
    passage_count: int
    pipeline_version: str
    index_type: str
    built_at: str
    checksums: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class TokenMatrix:
    """The token vectors of all passages: passage ``i`` owns rows ``offsets[i]:offsets[i+1]``."""

    vectors: np.ndarray  # float16 [T, dim], L2-normalised rows
    ids: np.ndarray  # int32 [T], vocabulary ids
    offsets: np.ndarray  # int64 [passages + 1]

    @classmethod
    def stack(cls, per_passage: list[tuple[np.ndarray, np.ndarray]], dim: int) -> TokenMatrix:
        """From (ids, vectors) per passage, in passage order."""
        counts = [len(ids) for ids, _ in per_passage]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if not per_passage or not offsets[-1]:
            return cls(np.zeros((0, dim), np.float16), np.zeros(0, np.int32), offsets)
        return cls(
            np.concatenate([v for _, v in per_passage]).astype(np.float16),
            np.concatenate([i for i, _ in per_passage]).astype(np.int32),
            offsets,
        )

    def rows(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float16 vectors) of passage ``i``."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.ids[a:b], self.vectors[a:b]


def rebuild_hint(data_dir: Path, index_dir: Path, model: str | None) -> str:
    """The command that rebuilds this index."""
    cmd = f"python -m bot build --data {data_dir} --index {index_dir}"
    return cmd + (f" --model {model}" if model else "")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


@contextmanager
def build_lock(index_dir: Path, wait: bool = True) -> Iterator[bool]:
    """Serialise builds of one index directory (a second build waits for the first). With
    ``wait=False`` it does not wait, and yields whether it holds the lock."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_target(index_dir: Path) -> None:
    """Refuse to build into a directory that holds anything but index files.

    A build swaps the whole directory for the new index and deletes the old one, so an
    ``--index`` that names a folder of other things (a home, ``/tmp``) would lose them.
    """
    index_dir = Path(index_dir)
    if not index_dir.exists() and not index_dir.is_symlink():
        return
    if not index_dir.is_dir():
        raise IndexLocationError(
            f"{index_dir} is a file, not an index directory; give --index a new or empty "
            "directory, or one that holds an index"
        )
    try:
        foreign = sorted(
            p.name for p in index_dir.iterdir() if p.name not in (MANIFEST, *INDEX_FILES)
        )
    except OSError as exc:
        raise IndexLocationError(f"cannot list {index_dir}: {exc}") from exc
    if foreign:
        shown = ", ".join(repr(n) for n in foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise IndexLocationError(
            f"{index_dir} holds {len(foreign)} file(s) or folder(s) that are not part of an "
            f"index ({shown}); "
            "a build replaces the whole directory, so it refuses. Give --index a new or empty "
            "directory (the default is index/ in the repo), or move those files away"
        )


def save(
    index_dir: Path,
    faiss_index: Any,
    rows: list[dict[str, Any]],
    manifest_fields: dict[str, Any],
    background: Any = None,
    tokens: TokenMatrix | None = None,
) -> Manifest:
    """Write a complete index next to ``index_dir`` and swap it in atomically."""
    import faiss

    index_dir = Path(index_dir)
    check_target(index_dir)  # the swap below deletes what the directory held
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the index is an ordinary folder
        faiss.write_index(faiss_index, str(tmp / VECTORS))
        names = [VECTORS, PASSAGES]
        if background is not None:
            faiss.write_index(background, str(tmp / BACKGROUND))
            names.append(BACKGROUND)
        if tokens is not None:
            for name, arr in zip(
                TOKEN_FILES, (tokens.vectors, tokens.ids, tokens.offsets), strict=True
            ):
                np.save(tmp / name, arr, allow_pickle=False)
            names.extend(TOKEN_FILES)
        with open(tmp / PASSAGES, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        checksums = {name: _sha256(tmp / name) for name in names}
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            passage_count=len(rows),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            checksums=checksums,
            **manifest_fields,
        )
        (tmp / MANIFEST).write_text(
            json.dumps(manifest.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        for name in (*names, MANIFEST):
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if index_dir.exists():
            if _exchange(tmp, index_dir):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old index
            else:
                old = index_dir.with_name(f".{index_dir.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.rename(index_dir, old)
                os.rename(tmp, index_dir)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, index_dir)
        _fsync_dir(index_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("index written to %s (%d passages)", index_dir, len(rows))
    return manifest


def remove_leftovers(index_dir: Path) -> None:
    """Delete what builds of ``index_dir`` that died (``kill -9``, power loss) left beside it.

    Call with ``build_lock(index_dir)`` held: then no live build of this index has a
    temporary directory. Loaders never read these; this only frees the space.
    """
    index_dir = Path(index_dir)
    name = glob.escape(index_dir.name)
    stale = list(index_dir.parent.glob(f".{name}.tmp-*"))
    old = index_dir.with_name(f".{index_dir.name}.old")
    if (index_dir / MANIFEST).is_file() and old.exists():
        stale.append(old)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            log.info("removing %s, left by a build that did not finish", path)
            shutil.rmtree(path, ignore_errors=True)


def exists(index_dir: Path) -> bool:
    """Whether ``index_dir`` holds an index (or a recoverable previous one)."""
    _recover(index_dir)
    return (Path(index_dir) / MANIFEST).is_file()


def index_files(index_dir: Path) -> list[str]:
    """The names of the index files (other than the manifest) ``index_dir`` holds."""
    names = (PASSAGES, VECTORS, BACKGROUND, TOKENS, TOKEN_IDS, TOKEN_OFFSETS)
    return [n for n in names if (Path(index_dir) / n).is_file()]


def _recover(index_dir: Path) -> None:
    # only the non-atomic fallback swap can leave this state: the old index set aside
    old = Path(index_dir).with_name(f".{Path(index_dir).name}.old")
    if not Path(index_dir).exists() and (old / MANIFEST).is_file():
        log.warning("restoring the previous index from %s", old)
        os.rename(old, index_dir)


def read_manifest(index_dir: Path, hint: str) -> Manifest:
    """Parse ``manifest.json``; IndexCorruptError with ``hint`` when unreadable."""
    path = Path(index_dir) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        wanted = [f.name for f in fields(Manifest) if f.default is MISSING]
        missing = [name for name in wanted if name not in raw]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        manifest = Manifest(**raw)
    except FileNotFoundError as exc:
        raise IndexCorruptError(
            f"no index at {index_dir} (missing {MANIFEST}); build it: {hint}"
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}); rebuild: {hint}") from exc
    kinds = {"format_version": int, "dim": int, "passage_count": int, "checksums": dict}
    wrong = [
        name for f in fields(Manifest)
        if not isinstance(getattr(manifest, name := f.name), kinds.get(name, str))
        or isinstance(getattr(manifest, name), bool)
    ]
    if isinstance(manifest.checksums, dict) and not all(
        isinstance(v, str) for v in manifest.checksums.values()
    ):
        wrong.append("checksums")
    if wrong:
        raise IndexCorruptError(
            f"{path} has fields of the wrong type ({', '.join(dict.fromkeys(wrong))}); "
            f"rebuild: {hint}"
        )
    return manifest


#: The files an index may have; a manifest naming anything else is refused (no path games).
INDEX_FILES = (VECTORS, PASSAGES, BACKGROUND, *TOKEN_FILES)
_OPTIONAL = (BACKGROUND, *TOKEN_FILES)
#: Fields every row of ``passages.jsonl`` has.
ROW_FIELDS = ("text", "start", "end", "doc_id", "lang", "paragraph")
_LOAD_ATTEMPTS = 3


def _dir_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def load(
    index_dir: Path, expect: dict[str, Any], hint: str
) -> tuple[Manifest, Any, list[dict[str, Any]]]:
    """Load and verify an index; ``expect`` maps manifest fields to required values
    (``load_with_tokens`` without the token vectors)."""
    manifest, vectors, rows, _ = load_with_tokens(index_dir, expect, hint)
    return manifest, vectors, rows


def load_with_tokens(
    index_dir: Path, expect: dict[str, Any], hint: str
) -> tuple[Manifest, Any, list[dict[str, Any]], TokenMatrix | None]:
    """Load and verify an index, its token vectors too (None when it has none).

    A build swaps a whole new directory in (see ``save``); files are never changed in place.
    So when the directory is the same one before and after reading, everything read belongs
    to one index; when a build swapped in another one meanwhile, it is read again.
    """
    index_dir = Path(index_dir)
    for _ in range(_LOAD_ATTEMPTS):
        _recover(index_dir)
        before = _dir_id(index_dir)
        try:
            result = _load_once(index_dir, expect, hint)
        except (IndexCorruptError, IndexMismatchError):
            if _dir_id(index_dir) != before:
                log.info("index at %s was replaced while being read; reading it again", index_dir)
                continue
            raise
        if _dir_id(index_dir) == before:
            return result
    raise IndexCorruptError(
        f"index at {index_dir} kept being replaced while it was read (builds running?); "
        "try again when they are done"
    )


def _load_once(
    index_dir: Path, expect: dict[str, Any], hint: str
) -> tuple[Manifest, Any, list[dict[str, Any]], TokenMatrix | None]:
    manifest = read_manifest(index_dir, hint)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {manifest.format_version} at {index_dir}, this version reads "
            f"{FORMAT_VERSION}; rebuild: {hint}"
        )
    for key, want in expect.items():
        have = getattr(manifest, key)
        if have != want:
            raise IndexMismatchError(
                f"index at {index_dir} was built with {key}={have!r} but {want!r} is needed; "
                f"rebuild: {hint}"
            )
    # every file is covered by a checksum (a file damaged in the middle still parses)
    unknown = sorted(set(manifest.checksums) - set(INDEX_FILES))
    unlisted = [
        name for name in INDEX_FILES
        if name not in manifest.checksums and (name not in _OPTIONAL or (index_dir / name).exists())
    ]
    listed_tokens = [name for name in TOKEN_FILES if name in manifest.checksums]
    if listed_tokens and len(listed_tokens) != len(TOKEN_FILES):
        unlisted += sorted(set(TOKEN_FILES) - set(listed_tokens))
    if unknown or unlisted:
        raise IndexCorruptError(
            f"{index_dir / MANIFEST} does not list the index files' checksums "
            f"(unknown: {unknown}, missing: {unlisted}); rebuild: {hint}"
        )
    for name, digest in manifest.checksums.items():
        path = index_dir / name
        if not path.is_file() or _sha256(path) != digest:
            raise IndexCorruptError(
                f"{path} is missing or does not match its checksum (truncated or modified); "
                f"rebuild: {hint}"
            )
    vectors = _read_faiss(index_dir / VECTORS, hint)
    rows = read_rows(index_dir, hint)
    if not (len(rows) == manifest.passage_count == vectors.ntotal) or vectors.d != manifest.dim:
        raise IndexCorruptError(
            f"index at {index_dir} is inconsistent: {len(rows)} passages, {vectors.ntotal} "
            f"vectors of dim {vectors.d}, manifest says {manifest.passage_count} x {manifest.dim}; "
            f"rebuild: {hint}"
        )
    if BACKGROUND in manifest.checksums:
        background = _read_faiss(index_dir / BACKGROUND, hint)
        if background.d != manifest.dim:
            raise IndexCorruptError(
                f"{index_dir / BACKGROUND} holds {background.d}-d vectors, the index "
                f"{manifest.dim}-d; rebuild: {hint}"
            )
    tokens = _read_tokens(index_dir, manifest, hint) if listed_tokens else None
    return manifest, vectors, rows, tokens


def _read_tokens(index_dir: Path, manifest: Manifest, hint: str) -> TokenMatrix:
    try:
        vectors, ids, offsets = (
            np.load(index_dir / name, allow_pickle=False) for name in TOKEN_FILES
        )
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"cannot read the token vectors in {index_dir} ({exc}); "
                                f"rebuild: {hint}") from exc
    n = manifest.passage_count
    ok = (
        vectors.dtype == np.float16 and vectors.ndim == 2 and vectors.shape[1] == manifest.dim
        and ids.dtype == np.int32 and ids.shape == (len(vectors),)
        and offsets.dtype == np.int64 and offsets.shape == (n + 1,)
        and offsets[0] == 0 and offsets[-1] == len(vectors) and bool(np.all(np.diff(offsets) >= 0))
    )
    if not ok:
        raise IndexCorruptError(
            f"the token vectors in {index_dir} do not fit the index ({vectors.shape} "
            f"{vectors.dtype}, {ids.shape} ids, {offsets.shape} offsets for {n} passages of "
            f"dim {manifest.dim}); rebuild: {hint}"
        )
    return TokenMatrix(vectors, ids, offsets)


def _read_faiss(path: Path, hint: str) -> Any:
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"cannot read {path}: {exc}; rebuild: {hint}") from exc


def read_rows(index_dir: Path, hint: str = "") -> list[dict[str, Any]]:
    """The rows of ``passages.jsonl``; IndexCorruptError on a line that is not a passage."""
    rows: list[dict[str, Any]] = []
    path = Path(index_dir) / PASSAGES
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise IndexCorruptError(
                        f"{path} line {n} is not JSON; rebuild: {hint}"
                    ) from exc
                if not isinstance(row, dict) or any(f not in row for f in ROW_FIELDS):
                    raise IndexCorruptError(
                        f"{path} line {n} is not a passage (needs {', '.join(ROW_FIELDS)}); "
                        f"rebuild: {hint}"
                    )
                rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"cannot read {path} ({exc}); rebuild: {hint}") from exc
    return rows


def vectors_array(faiss_index: Any) -> np.ndarray:
    """All stored vectors of the index as a float32 matrix.

    Exact for ``flat-ip`` and ``hnsw-flat-ip``; float16- or 8-bit-decoded for
    ``hnsw-fp16-ip`` / ``hnsw-sq8-ip`` (``bot.ann``; tests/test_bench.py checks each kind).
    """
    return faiss_index.reconstruct_n(0, faiss_index.ntotal)


def background_array(index_dir: Path) -> np.ndarray:
    """The background vectors (empty when the index has none); call after ``load``."""
    import faiss

    path = Path(index_dir) / BACKGROUND
    if not path.is_file():
        return np.zeros((0, 1), dtype=np.float32)
    return vectors_array(faiss.read_index(str(path)))
