"""Index building: corpus passages -> embeddings -> FAISS index on disk (via ``store``)."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .corpus import corpus_hash, resolve_data_dir
from .passages import Passage, corpus_passages
from .settings import SETTINGS, Settings

log = logging.getLogger(__name__)

# Bump when cleaning, splitting or embedding rules change: old indexes are then rebuilt.
PIPELINE_VERSION = "1"


def pipeline_version(settings: Settings = SETTINGS) -> str:
    """The rules version plus the settings that shape passages and vectors."""
    key = f"{PIPELINE_VERSION}|{settings.max_chars_zh}|{settings.max_words_en}|{settings.embed_heading}"
    return f"{PIPELINE_VERSION}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def resolve_index_dir(index_dir: str | Path | None) -> Path:
    """The index directory to use (the default ``index/`` when None)."""
    return Path(index_dir) if index_dir is not None else SETTINGS.index_dir


def embed_text(p: Passage, settings: Settings = SETTINGS) -> str:
    """What the encoder sees for a passage: its heading gives it context (never shown)."""
    if settings.embed_heading and p.heading:
        return f"{p.heading}\n{p.text}"
    return p.text


def make_faiss(vectors: np.ndarray) -> Any:
    """An exact inner-product index over L2-normalised vectors."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


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


def build_index(
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    settings: Settings = SETTINGS,
    show_progress: bool = False,
) -> BuildReport:
    """Build the index of ``data_dir`` into ``index_dir`` (atomically; concurrent builds queue)."""
    from .align import link_passages
    from .model import load_encoder
    from .annotate import annotate

    t0 = time.perf_counter()
    data = resolve_data_dir(data_dir)
    target = resolve_index_dir(index_dir)
    with store.build_lock(target):
        passages = corpus_passages(data, settings)
        if not passages:
            from .errors import CorpusError

            raise CorpusError(f"no passages in {data}: the catalog lists no readable article")
        encoder = load_encoder(model)
        t1 = time.perf_counter()
        vectors = encoder.encode_passages(
            [embed_text(p, settings) for p in passages], show_progress=show_progress
        )
        t_encode = time.perf_counter() - t1
        bg_vectors = encoder.encode_passages(background_texts(data))
        rows = [p.to_json() for p in passages]
        annotate(rows, data)
        link_passages(rows, vectors)
        store.save(
            target,
            make_faiss(vectors),
            rows,
            {
                "model_id": encoder.model_id,
                "dim": int(vectors.shape[1]),
                "corpus_hash": corpus_hash(data),
                "pipeline_version": pipeline_version(settings),
                "index_type": "flat-ip",
            },
            background=make_faiss(bg_vectors),
        )
    report = BuildReport(
        target, len(rows), int(vectors.shape[1]), encoder.model_id,
        time.perf_counter() - t0, t_encode,
    )
    log.info("built %s: %d passages in %.1fs", target, report.passages, report.seconds_total)
    return report
