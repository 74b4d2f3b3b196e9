"""Dense search for large corpora: candidates from an approximate FAISS index.

Small corpora (``Settings.flat_max`` passages or fewer) use an exact ``IndexFlatIP`` and the
engine scores every passage. Above that, :func:`bot.indexing.make_faiss` builds an IVF index
over float16-coded vectors (:func:`choose_kind`; HNSW variants can be built for comparison)
and the engine asks this module for the best ``ann_candidates`` passages of each language
group (an ``IDSelectorBitmap`` restricts the search to the group and to the caller's
filters), plus the cosine of any other passage it wants (the lexical rankers' candidates).
Why IVF and these parameters: ``bench/RESULTS.md`` (``python -m bot bench --scale ...``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .settings import SETTINGS, Settings

#: Index kinds :func:`bot.indexing.make_faiss` can build (the first two are chosen by size).
KINDS = ("flat-ip", "ivf-fp16-ip", "hnsw-fp16-ip", "hnsw-sq8-ip", "hnsw-flat-ip")
#: Subsets up to this size are scored exactly rather than by a filtered index search
#: (decoding a vector costs ~2 us; a filtered search ~1.5-5 ms, and more for rare subsets).
EXACT_SUBSET = 2048


def _faiss() -> Any:
    """The faiss module, untyped (its stubs miss the search-parameter classes)."""
    import faiss

    return faiss


def choose_kind(n: int, flat_max: int) -> str:
    """The index kind for ``n`` vectors: exact up to ``flat_max``, IVF (float16) above."""
    return "flat-ip" if n <= flat_max else "ivf-fp16-ip"


def ivf_lists(n: int, settings: Settings = SETTINGS) -> int:
    """Inverted lists for ``n`` vectors: ``settings.ivf_lists`` or the power of two nearest
    sqrt(n) (1,024 for a million), at least 16 and at most n / 39 (k-means needs points)."""
    if settings.ivf_lists:
        return settings.ivf_lists
    nlist = 2 ** round(math.log2(max(math.sqrt(max(n, 1)), 1.0)))
    return int(max(1, min(max(nlist, 16), n // 39)))


def ivf_probes(nlist: int, settings: Settings = SETTINGS) -> int:
    """Lists searched per query: the share ``settings.ivf_scan`` of them (at least one)."""
    return max(1, round(nlist * settings.ivf_scan))


def build(vectors: np.ndarray, kind: str, settings: Settings = SETTINGS) -> Any:
    """A FAISS inner-product index of ``kind`` (see :data:`KINDS`) holding ``vectors``."""
    faiss = _faiss()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = x.shape
    sq = faiss.ScalarQuantizer
    index: Any
    if kind == "flat-ip":
        index = faiss.IndexFlatIP(d)
    elif kind == "ivf-fp16-ip":
        nlist = ivf_lists(n, settings)
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, nlist, sq.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        index.nprobe = ivf_probes(nlist, settings)
    elif kind in ("hnsw-fp16-ip", "hnsw-sq8-ip"):
        qtype = sq.QT_fp16 if kind == "hnsw-fp16-ip" else sq.QT_8bit
        index = faiss.IndexHNSWSQ(d, qtype, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    elif kind == "hnsw-flat-ip":
        index = faiss.IndexHNSWFlat(d, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown index kind {kind!r}; expected one of {KINDS}")
    if kind.startswith("hnsw"):
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.hnsw.efSearch = settings.hnsw_ef_search
    if not index.is_trained:
        # k-means for the lists, each dimension's range for 8 bits: a sample is plenty
        size = max(100_000, 64 * getattr(index, "nlist", 0))
        index.train(x[np.random.default_rng(0).permutation(n)[:size]] if n > size else x)
    if n:
        index.add(x)
    if kind.startswith("ivf"):
        index.make_direct_map()  # reconstruct() by id: the engine's lexical candidates
    return index


def kind_of(index: Any) -> str:
    """The :data:`KINDS` name of a FAISS index built by :func:`build`."""
    faiss = _faiss()
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexFlat):
        return "flat-ip"
    if isinstance(index, faiss.IndexHNSWSQ):
        sq = faiss.downcast_index(index.storage).sq
        return "hnsw-fp16-ip" if sq.qtype == faiss.ScalarQuantizer.QT_fp16 else "hnsw-sq8-ip"
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw-flat-ip"
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return "ivf-fp16-ip" if index.sq.qtype == faiss.ScalarQuantizer.QT_fp16 else "ivf-sq"
    return type(index).__name__


def is_exact(index: Any) -> bool:
    """Whether ``index`` scores every vector exactly (a flat index)."""
    return kind_of(index) == "flat-ip"


def cosines(index: Any, ids: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cosine of ``q`` with the stored vectors ``ids`` (float16-decoded for the fp16 kinds)."""
    if not len(ids):
        return np.zeros(0, dtype=np.float32)
    vecs = index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))
    return np.asarray(vecs @ q, dtype=np.float32)


def search_subset(
    index: Any, q: np.ndarray, allowed: np.ndarray, k: int, settings: Settings = SETTINGS,
    exact_max: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` (ids, cosines) among the vectors where ``allowed`` is true (unsorted).

    A subset of at most ``exact_max`` (default :data:`EXACT_SUBSET`) vectors is scored
    exactly (every one of them, more than ``k`` then); a larger one by the index's own
    search restricted to it (IVF: the ``ivf_scan`` share of lists; HNSW: efSearch).
    """
    faiss = _faiss()
    ids = np.flatnonzero(allowed)
    limit = EXACT_SUBSET if exact_max is None else exact_max
    kind = kind_of(index)
    if len(ids) <= limit or kind == "flat-ip":
        return ids, cosines(index, ids, q)
    bitmap = np.packbits(allowed, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    if kind.startswith("ivf"):
        nprobe = ivf_probes(faiss.extract_index_ivf(index).nlist, settings)
        params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
    else:
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(settings.hnsw_ef_search, k))
    scores, found = index.search(np.ascontiguousarray(q[None, :], dtype=np.float32), k,
                                 params=params)
    keep = found[0] >= 0
    return found[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)


def top_positive(scores: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Ids of the (at most) ``k`` highest positive ``scores`` where ``allowed``."""
    ids = np.flatnonzero((scores > 0) & allowed)
    if len(ids) > k:
        ids = ids[np.argpartition(-scores[ids], k)[:k]]
    return ids
