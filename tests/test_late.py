"""Late interaction: token vectors from the real model, stored in the index, and MaxSim."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot import retrieve
from bot.errors import IndexCorruptError
from bot.evaluate import load_questions, run
from bot.indexing import build_index
from bot.model import load_encoder
from bot.retrieve import Engine, clean_query
from bot.settings import SETTINGS
from bot.store import MANIFEST, TOKEN_FILES, TOKEN_IDS, TOKEN_OFFSETS, TOKENS, _sha256, read_rows

OWN_SET = Path(__file__).parent / "data" / "questions.jsonl"

QUESTIONS = [
    "Why did Baidu keep Wenxin closed source?",
    "李彦宏怎么看创业公司既做模型又做应用?",
    "昆侖萬維的天工SkyMusic會收費嗎?",
]


def test_token_vectors_match_the_reference_model():
    """The ONNX path gives the same pieces and vectors as sentence-transformers/torch."""
    fast, ref = load_encoder(), load_encoder(reference=True)
    pooled_f, tokens_f = fast.encode_queries_with_tokens(QUESTIONS)
    pooled_r, tokens_r = ref.encode_queries_with_tokens(QUESTIONS)
    np.testing.assert_allclose(pooled_f, fast.encode_queries(QUESTIONS), atol=1e-5)
    assert ((pooled_f * pooled_r).sum(1) > 0.9999).all()
    for f, r in zip(tokens_f, tokens_r, strict=True):
        assert f.ids.tolist() == r.ids.tolist()
        assert ((f.vectors * r.vectors).sum(1) > 0.9999).all()
        np.testing.assert_allclose(np.linalg.norm(f.vectors, axis=1), 1.0, atol=1e-5)


def test_prefix_specials_and_punctuation_are_left_out():
    enc = load_encoder()
    _, (tokens,) = enc.encode_queries_with_tokens(["Why did Baidu keep Wenxin closed source?"])
    pieces = enc.tokenizer.encode("query: Why did Baidu keep Wenxin closed source?").tokens
    kept = [enc.tokenizer.id_to_token(int(i)) for i in tokens.ids]
    assert kept == [p for p in pieces[4:-1] if p != "?"]  # <s> que ry : ... ? </s>
    assert kept[0] == "▁Why" and "▁source" in kept


def test_index_holds_the_token_vectors_of_every_passage(engine: Engine):
    tokens = engine.tokens
    assert tokens is not None
    assert tokens.vectors.dtype == np.float16 and tokens.vectors.shape[1] == engine.manifest.dim
    assert len(tokens.offsets) == len(engine.rows) + 1
    assert (np.diff(tokens.offsets) > 0).all()
    # the stored rows are the passage's own pieces: encoding its text again gives them back
    picked = list(range(0, len(engine.rows), 17))
    _, again = engine.encoder.encode_passages_with_tokens(
        [engine.rows[i]["embed_text"] for i in picked]
    )
    for i, fresh in zip(picked, again, strict=True):
        ids, vectors = tokens.rows(i)
        assert ids.tolist() == fresh.ids.tolist()
        np.testing.assert_allclose(vectors.astype(np.float32), fresh.vectors, atol=2e-3)


def test_a_sentence_finds_its_own_passage_first(engine: Engine):
    """MaxSim with one sentence of a passage as the question: that passage scores highest."""
    all_rows = np.arange(len(engine.rows))
    picked = [i for i, r in enumerate(engine.rows) if 40 <= len(r["text"]) <= 200][::9]
    assert len(picked) >= 8
    for i in picked:
        text = engine.rows[i]["text"]
        _, (q,) = engine.encoder.encode_queries_with_tokens([text[: len(text) // 2]])
        scores = engine.late_scores(q, all_rows)
        assert int(np.nanargmax(scores)) == i, (i, text)


def test_rare_pieces_weigh_more_than_common_ones(engine: Engine):
    _, (common, rare) = engine.encoder.encode_queries_with_tokens(["模型", "SkyMusic"])
    w = engine.token_weight
    assert all(int(i) in w for i in common.ids)  # "模型" is in most passages
    rare_seen = [w[int(i)] for i in rare.ids if int(i) in w]  # in a handful
    assert rare_seen and max(w[int(i)] for i in common.ids) < min(rare_seen)


def test_only_candidates_are_scored(engine: Engine):
    _, (q,) = engine.encoder.encode_queries_with_tokens(["天工SkyMusic會收費嗎"])
    scores = engine.late_scores(q, np.array([3, 7]))
    assert not np.isnan(scores[[3, 7]]).any()
    assert np.isnan(np.delete(scores, [3, 7])).all()


def test_late_interaction_raises_mrr_on_our_question_set(engine: Engine):
    """The late term earns its place: our own questions, with and without it."""
    questions = [q for q in load_questions(OWN_SET) if not q.abstain]

    def mrr() -> float:
        ranks = [o.rank for o in run(questions, lambda q: engine.search(clean_query(q), 5))]
        return sum(1 / r for r in ranks if r) / len(ranks)

    with_late = mrr()
    engine.settings = replace(SETTINGS, w_late=0.0)
    try:
        without = mrr()
    finally:
        engine.settings = SETTINGS
    assert with_late >= without + 0.05, (with_late, without)


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(index_dir, dest)
    return dest


def _rewrite_checksums(index: Path) -> None:
    manifest = json.loads((index / MANIFEST).read_text(encoding="utf-8"))
    manifest["checksums"] = {n: _sha256(index / n) for n in manifest["checksums"]}
    (index / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_truncated_token_file_is_refused(data_dir: Path, index_dir: Path, tmp_path: Path):
    copy = _copy(index_dir, tmp_path)
    blob = (copy / TOKENS).read_bytes()
    (copy / TOKENS).write_bytes(blob[: len(blob) // 3])
    with pytest.raises(IndexCorruptError, match="python -m bot build"):
        Engine(data_dir, copy, build_if_missing=False)


@pytest.mark.parametrize("name", [TOKEN_OFFSETS, TOKEN_IDS])
def test_forged_token_files_that_do_not_fit_are_refused(
    name: str, data_dir: Path, index_dir: Path, tmp_path: Path
):
    """Checksums that match (rewritten) but arrays that do not fit the index."""
    copy = _copy(index_dir, tmp_path)
    arr = np.load(copy / name, allow_pickle=False)
    np.save(copy / name, arr[:-1], allow_pickle=False)
    _rewrite_checksums(copy)
    with pytest.raises(IndexCorruptError, match="do not fit"):
        Engine(data_dir, copy, build_if_missing=False)


def test_a_missing_token_file_is_refused(data_dir: Path, index_dir: Path, tmp_path: Path):
    copy = _copy(index_dir, tmp_path)
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    del manifest["checksums"][TOKEN_IDS]
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="token_ids.npy"):
        Engine(data_dir, copy, build_if_missing=False)


def test_above_late_max_the_index_has_no_token_vectors_and_still_answers(
    data_dir: Path, tmp_path: Path
):
    target = tmp_path / "big"
    build_index(data_dir, target, settings=replace(SETTINGS, late_max=10))
    assert not any((target / n).exists() for n in TOKEN_FILES)
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    assert not set(TOKEN_FILES) & set(manifest["checksums"])
    engine = Engine(data_dir, target, build_if_missing=False)
    assert engine.tokens is None
    hits = retrieve("昆侖萬維的天工SkyMusic會收費嗎?", data_dir=data_dir, index_dir=target)
    assert hits and "SkyMusic" in " ".join(h.text for h in hits[:3])
    # rebuilding with token vectors encodes again only to get them, and then has them
    report = build_index(data_dir, target)
    assert report.encoded == len({r["embed_text"] for r in read_rows(target)})
    assert all((target / n).is_file() for n in TOKEN_FILES)
