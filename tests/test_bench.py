"""The benchmark machinery (small sizes), the size-dependent index, and the fast encoder path
(ONNX Runtime) against the sentence-transformers reference."""

from __future__ import annotations

import dataclasses
import json
import shutil

import faiss
import numpy as np
import pytest

from bot import ann, bench, store
from bot.indexing import make_faiss
from bot.model import load_encoder
from bot.onnx_e5 import OnnxEncoder
from bot.retrieve import Engine, clean_query
from bot.settings import REPO_ROOT, SETTINGS

DEV = REPO_ROOT.parent / "shared" / "eval" / "dev.jsonl"
OWN = REPO_ROOT / "tests" / "data" / "questions.jsonl"


def _questions() -> list[str]:
    out = []
    for path in (DEV, OWN):
        if path.is_file():
            out += [json.loads(line)["query"] for line in path.read_text("utf-8").splitlines()
                    if line.strip()]
    return out


def _unit(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ------------------------------------------------------------------ index by corpus size


def test_make_faiss_picks_the_index_by_size():
    x = _unit(np.random.default_rng(1), 600)
    small = dataclasses.replace(SETTINGS, flat_max=1000)
    large = dataclasses.replace(SETTINGS, flat_max=500)
    assert ann.kind_of(make_faiss(x, small)) == "flat-ip"
    assert ann.kind_of(make_faiss(x, large)) == "ivf-fp16-ip"
    assert ann.choose_kind(SETTINGS.flat_max, SETTINGS.flat_max) == "flat-ip"
    assert ann.choose_kind(SETTINGS.flat_max + 1, SETTINGS.flat_max) == "ivf-fp16-ip"
    assert ann.ivf_lists(1_000_000) == 1024 and ann.ivf_probes(1024) == 128


@pytest.mark.parametrize("kind", ann.KINDS)
def test_every_kind_round_trips_and_gives_back_its_vectors(kind, tmp_path):
    x = _unit(np.random.default_rng(2), 400)
    index = make_faiss(x, kind=kind)
    path = tmp_path / "v.faiss"
    faiss.write_index(index, str(path))
    loaded = faiss.read_index(str(path))
    assert ann.kind_of(loaded) == kind and loaded.ntotal == 400
    back = store.vectors_array(loaded)  # what index reuse and the engine read
    tol = {"flat-ip": 0, "hnsw-flat-ip": 0, "hnsw-fp16-ip": 1e-3, "ivf-fp16-ip": 1e-3,
           "hnsw-sq8-ip": 2e-2}[kind]
    np.testing.assert_allclose(back, x, atol=tol)
    ids, cos = ann.search_subset(loaded, x[7], np.ones(400, bool), 5, exact_max=0)
    assert ids[np.argmax(cos)] == 7 and cos.max() == pytest.approx(1.0, abs=2e-2)


@pytest.mark.parametrize("kind", ["ivf-fp16-ip", "hnsw-fp16-ip"])
def test_search_subset_respects_the_filter(kind):
    x = _unit(np.random.default_rng(3), 3000)
    index = make_faiss(x, kind=kind)
    allowed = np.zeros(3000, bool)
    allowed[::3] = True
    for exact_max in (0, 10_000):  # the index search with a selector, and exact scoring
        ids, cos = ann.search_subset(index, x[9], allowed, 20, exact_max=exact_max)
        assert len(ids) >= 20 and allowed[ids].all()
        assert ids[np.argmax(cos)] == 9
    assert list(ann.top_positive(np.array([0.0, 3.0, 1.0, 2.0]), np.ones(4, bool), 2)) in (
        [1, 3], [3, 1])


# -------------------------------------------------------------------- scale machinery


def test_scale_bench_small(tmp_path):
    rng = np.random.default_rng(4)
    base = _unit(rng, 40)
    families = np.array(["en", "zh"] * 20)
    queries, _ = bench.synthetic_vectors(base, 30, seed=99)
    settings = dataclasses.replace(SETTINGS, flat_max=1000, ann_candidates=50)
    docs = [["open", "source", "model"], ["百度", "开源"], ["agent", "cost"]]
    rows = bench.scale_bench([500, 3000], base, families, queries, settings=settings,
                             compare_max=0, work_dir=tmp_path,
                             lexical=(docs, [["open", "cost"], ["开源"]]))
    assert [(r.n, r.kind, r.auto) for r in rows] == [
        (500, "flat-ip", True), (3000, "ivf-fp16-ip", True)]
    flat, ivf = rows
    assert flat.result["sweep"][0]["recall"] == 1.0
    head = next(s for s in ivf.result["sweep"] if s["default"])
    assert head["param"] == "nprobe" and head["value"] == ann.ivf_probes(ann.ivf_lists(3000))
    assert len(ivf.result["sweep"]) >= 3
    assert max(s["recall"] for s in ivf.result["sweep"]) >= 0.9 and head["p50"] > 0
    assert ivf.disk_mb > 0 and ivf.result["index_rss_mb"] >= 0
    assert ivf.result["filtered"]["n"] == 30 and ivf.lexical and ivf.lexical["n"] == 2
    assert not list(tmp_path.iterdir())  # the temp indexes are gone

    out = tmp_path / "RESULTS.md"
    text = bench.scale_markdown(rows, "python -m bot bench --scale 500,3000", bench.machine(),
                                [0.0, 0.0, 0.0], 30, 40, settings)
    bench.write_section(out, "scale", text)
    bench.write_section(out, "latency", "## latency\n\nfigures\n")
    written = out.read_text("utf-8")
    assert "| 3,000 | `ivf-fp16-ip` | yes |" in written and "## latency" in written
    assert written.index("## latency") < written.index("## Scale")
    bench.write_section(out, "latency", "## latency\n\nnew figures\n")  # replaces, keeps scale
    written = out.read_text("utf-8")
    assert "new figures" in written and "\nfigures" not in written and "## Scale" in written


def test_synthetic_vectors_are_unit_and_seeded():
    base = _unit(np.random.default_rng(5), 10)
    a, origin = bench.synthetic_vectors(base, 1000, chunk=300)
    b, _ = bench.synthetic_vectors(base, 1000, chunk=300)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a, b)
    assert ((a * base[origin]).sum(axis=1) > 0.4).all()  # near the base each came from


def test_generated_questions(data_dir, index_dir):
    pairs = bench.generate_questions(data_dir, store.read_rows(index_dir), 210)
    assert len(pairs) == len({q for _, q in pairs}) == 210
    assert {lang: sum(1 for x, _ in pairs if x == lang) for lang in ("en", "zh-Hans", "zh-Hant")} \
        == {"en": 70, "zh-Hans": 70, "zh-Hant": 70}
    assert all(q.isascii() for lang, q in pairs if lang == "en")
    assert all(not q.isascii() for lang, q in pairs if lang != "en")
    assert bench.generate_questions(data_dir, store.read_rows(index_dir), 210) == pairs


# ------------------------------------------------------- fast path == reference path


def test_default_model_is_served_by_onnx_with_reference_vectors():
    fast = load_encoder()
    ref = load_encoder(reference=True)
    assert isinstance(fast, OnnxEncoder) and not isinstance(ref, OnnxEncoder)
    assert fast.model_id == ref.model_id and fast.dim == ref.dim == 384
    questions = _questions()
    assert questions
    a, b = fast.encode_queries(questions), ref.encode_queries(questions)
    cos = (a * b).sum(axis=1)
    assert cos.min() >= 0.98  # the brief's bound; it is float32 rounding in fact:
    assert cos.min() >= 0.99999, questions[int(cos.argmin())]
    # one at a time (how questions are served) equals batched
    one = np.stack([fast.encode_queries([q])[0] for q in questions[:8]])
    np.testing.assert_allclose(one, a[:8], atol=1e-5)


def _top5(engine: Engine, questions: list[str]) -> list[list[tuple[str, int]]]:
    return [[(h.doc_id, h.start) for h in engine.search(clean_query(q), 5)] for q in questions]


@pytest.fixture(scope="module")
def reference_top5(data_dir, index_dir):
    engine = Engine(data_dir, index_dir)
    engine.encoder = load_encoder(reference=True)
    return _top5(engine, _questions())


def test_fast_path_answers_equal_reference(engine, reference_top5):
    assert isinstance(engine.encoder, OnnxEncoder)
    assert _top5(engine, _questions()) == reference_top5


@pytest.mark.parametrize("kind", ["ivf-fp16-ip", "hnsw-fp16-ip"])
def test_ann_engine_answers_equal_exact(kind, data_dir, index_dir, tmp_path, monkeypatch,
                                        reference_top5, engine):
    # the index of a large corpus (HNSW), forced on the small one: with candidates
    # covering each language family, the answers are the exact ones. Cosines from the index
    # differ from numpy's in the last bits (~1e-5 with float16 storage), which can swap two
    # passages whose fused scores tie up to the raw-cosine tie-breaker.
    settings = dataclasses.replace(SETTINGS, flat_max=10, ann_candidates=1000, ivf_scan=1.0)
    target = tmp_path / "ann-index"
    shutil.copytree(index_dir, target)
    manifest = store.read_manifest(target, "")
    vectors = store.vectors_array(faiss.read_index(str(target / store.VECTORS)))
    fields = {k: getattr(manifest, k) for k in
              ("model_id", "dim", "corpus_hash", "pipeline_version")}
    hnsw = make_faiss(vectors, settings, kind=kind)
    tokens = store.load_with_tokens(index_dir, {}, "")[3]  # late interaction as on the exact one
    store.save(target, hnsw, store.read_rows(target), {**fields, "index_type": ann.kind_of(hnsw)},
               background=faiss.read_index(str(target / store.BACKGROUND)), tokens=tokens)
    monkeypatch.setattr(ann, "EXACT_SUBSET", 0)  # the filtered index search, not exact scores
    approx = Engine(data_dir, target, settings=settings)
    assert approx.vectors is None and approx.manifest.index_type == kind
    # the language axis, read back block by block from the index, is the flat engine's
    np.testing.assert_allclose(approx.language_coord, engine.language_coord, atol=2e-3)
    got = _top5(approx, _questions())
    assert [sorted(x) for x in got] == [sorted(x) for x in reference_top5]
    assert sum(x == y for x, y in zip(got, reference_top5, strict=True)) >= 0.9 * len(got)
    timings: dict[str, float] = {}
    approx.search(clean_query("why not open source?"), 5, timings=timings)
    assert set(timings) == {"encode", "lexical", "dense", "late"}
    assert all(v >= 0 for v in timings.values())


def test_cedict_cache_equals_parse():
    from bot import lexical

    assert lexical._cedict() == lexical._parse_cedict()
    assert lexical._common_words() == lexical._parse_common_words()
    assert "扎堆" in lexical._common_words() and "李开复" not in lexical._common_words()


@pytest.mark.parametrize("flags", [["--scale", "abc"], ["--scale", "0"], ["--scale", "-5"],
                                   ["--scale", "1e5"], ["--queries", "0"]])
def test_bench_refuses_bad_sizes_with_a_message(flags: list[str], capsys) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "give a whole number" in err or "give whole numbers" in err
    assert "Traceback" not in err
