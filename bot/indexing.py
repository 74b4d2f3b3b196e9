"""Index building: corpus passages -> embeddings -> FAISS index on disk (via ``store``)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .corpus import corpus_hash, resolve_data_dir
from .lexical import simplified
from .passages import Passage, corpus_passages
from .settings import SETTINGS, Settings

log = logging.getLogger(__name__)

# passages encoded between two progress reports (a few seconds on two cores)
_PROGRESS_STEP = 64

# Bump when cleaning, splitting, speaker, linking or embedding rules change: old indexes are
# then rebuilt.
PIPELINE_VERSION = "12"


def pipeline_version(settings: Settings = SETTINGS) -> str:
    """The rules version plus the settings that shape passages and vectors."""
    s = settings
    key = f"{PIPELINE_VERSION}|{s.max_chars_zh}|{s.max_words_en}|{s.embed_heading}"
    if s.embed_simplified:  # (off, the key is the one indexes had before this setting)
        key += "|simplified"
    return f"{PIPELINE_VERSION}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def resolve_index_dir(index_dir: str | Path | None) -> Path:
    """The index directory to use (the default ``index/`` when None)."""
    return Path(index_dir) if index_dir is not None else SETTINGS.index_dir


def embed_text(p: Passage, settings: Settings = SETTINGS) -> str:
    """What the encoder sees for a passage: its heading gives it context (never shown)."""
    text = f"{p.heading}\n{p.text}" if settings.embed_heading and p.heading else p.text
    return embed_form(text, settings)


def embed_form(text: str, settings: Settings = SETTINGS) -> str:
    """Any text (passage, question, background line) as the encoder sees it."""
    return simplified(text) if settings.embed_simplified else text


def make_faiss(vectors: np.ndarray, settings: Settings = SETTINGS, kind: str | None = None) -> Any:
    """The inner-product index over L2-normalised vectors; its type follows their number.

    Up to ``settings.flat_max`` vectors: exact ``IndexFlatIP``; above: IVF over float16-coded
    vectors (``bot.ann``; the thresholds and why are in ``bench/RESULTS.md``). ``kind``
    forces one of ``bot.ann.KINDS`` (the benchmark compares them).
    """
    from . import ann

    return ann.build(vectors, kind or ann.choose_kind(len(vectors), settings.flat_max), settings)


def background_texts(data_dir: Path) -> list[str]:
    """Off-topic text: the package's background lines and the corpus's own stripped boilerplate."""
    from importlib import resources

    from .clean import dropped_lines
    from .corpus import load_catalog

    raw = resources.files("bot").joinpath("resources/background.txt").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    for doc in load_catalog(data_dir):
        lines.extend(dropped_lines(doc.read_text()))
    return list(dict.fromkeys(lines))


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI and the benchmark."""

    index_dir: Path
    passages: int
    dim: int
    model_id: str
    seconds_total: float
    seconds_encode: float
    encoded: int


_Known = dict[str, tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]]


def _reusable_vectors(index_dir: Path, model_id: str) -> _Known:
    """Vectors (and token vectors, if stored) of the current index keyed by the text they
    encode (empty if unusable)."""
    try:
        manifest = store.read_manifest(index_dir, "")
        if manifest.model_id != model_id or manifest.format_version != store.FORMAT_VERSION:
            return {}
        _, index, rows, tokens = store.load_with_tokens(index_dir, {}, "")
        vectors = store.vectors_array(index)
    except Exception:  # noqa: BLE001 - a broken old index only means nothing is reused
        return {}
    if len(rows) != len(vectors):
        return {}
    return {
        r["embed_text"]: (v, tokens.rows(i) if tokens is not None else None)
        for i, (r, v) in enumerate(zip(rows, vectors, strict=True))
        if "embed_text" in r
    }


def build_index(
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    settings: Settings = SETTINGS,
    show_progress: bool = False,
    reuse: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build the index of ``data_dir`` into ``index_dir`` (atomically; concurrent builds queue).

    With ``reuse``, vectors of passages whose text is unchanged are taken from the current
    index (same model) instead of being encoded again, so adding one article encodes only it.
    ``progress(done, total)`` is called as the new passages are encoded (the web chat's bar).
    """
    from . import ann
    from .align import link_passages
    from .annotate import annotate
    from .model import load_encoder

    t0 = time.perf_counter()
    data = resolve_data_dir(data_dir)
    target = resolve_index_dir(index_dir)
    store.check_target(target)  # before a lock file goes next to it, and before encoding
    with store.build_lock(target):
        store.remove_leftovers(target)  # of builds that were killed
        passages = corpus_passages(data, settings)
        if not passages:
            from .errors import CorpusError

            raise CorpusError(f"no passages in {data}: the catalog lists no readable article")
        encoder = load_encoder(model)
        texts = [embed_text(p, settings) for p in passages]
        # token vectors (late interaction) only where they stay small enough to keep
        late = len(passages) <= settings.late_max
        if not late:
            log.info("%d passages > late_max=%d: no token vectors, no late interaction",
                     len(passages), settings.late_max)
        known = _reusable_vectors(target, encoder.model_id) if reuse else {}
        todo = [
            t for t in dict.fromkeys(texts) if t not in known or (late and known[t][1] is None)
        ]
        t1 = time.perf_counter()
        # in slices when someone watches the count, else in one call (its own tqdm bar)
        step = _PROGRESS_STEP if progress is not None else max(len(todo), 1)
        for start in range(0, len(todo), step):
            part = todo[start : start + step]
            if late:
                fresh, fresh_tokens = encoder.encode_passages_with_tokens(part, show_progress)
                for t, v, tv in zip(part, fresh, fresh_tokens, strict=True):
                    known[t] = (v, (tv.ids, tv.vectors))
            else:
                fresh = encoder.encode_passages(part, show_progress=show_progress)
                known.update((t, (v, None)) for t, v in zip(part, fresh, strict=True))
            if progress is not None:
                progress(start + len(part), len(todo))
        t_encode = time.perf_counter() - t1
        vectors = np.stack([known[t][0] for t in texts]).astype(np.float32)
        tokens = None
        if late:
            per_passage = [known[t][1] for t in texts]
            tokens = store.TokenMatrix.stack([tv for tv in per_passage if tv is not None],
                                             int(vectors.shape[1]))
        log.info("encoded %d new passages, reused %d", len(todo), len(texts) - len(todo))
        bg_vectors = encoder.encode_passages(
            [embed_form(t, settings) for t in background_texts(data)]
        )
        rows = [{**p.to_json(), "embed_text": t} for p, t in zip(passages, texts, strict=True)]
        annotate(rows, data)
        link_passages(rows, vectors)
        dense_index = make_faiss(vectors, settings)
        store.save(
            target,
            dense_index,
            rows,
            {
                "model_id": encoder.model_id,
                "dim": int(vectors.shape[1]),
                "corpus_hash": corpus_hash(data),
                "pipeline_version": pipeline_version(settings),
                "index_type": ann.kind_of(dense_index),
            },
            background=make_faiss(bg_vectors),
            tokens=tokens,
        )
    report = BuildReport(
        target, len(rows), int(vectors.shape[1]), encoder.model_id,
        time.perf_counter() - t0, t_encode, len(todo),
    )
    log.info("built %s: %d passages in %.1fs", target, report.passages, report.seconds_total)
    return report
