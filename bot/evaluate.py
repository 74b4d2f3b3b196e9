"""Evaluation: recall@k, MRR and abstention on a JSONL question set, overall and by language
pair."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidQueryError, QuoteBotError
from .passages import detect_lang, squash
from .types import Hit

log = logging.getLogger(__name__)

Retriever = Callable[[str], list[Hit]]


@dataclass(frozen=True)
class Question:
    """One line of an evaluation file."""

    id: str
    lang: str
    query: str
    expect: tuple[str, ...]
    abstain: bool


@dataclass
class Outcome:
    """What happened to one question."""

    question: Question
    rank: int | None  # 1-based rank of the first passage with an expected snippet
    returned: int
    pair_ranks: dict[str, int | None] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)
    # as pair_ranks, a snippet also counting when it is in a hit's also_in reports (the same
    # remark in another outlet, shown once under the best version: the English report of a
    # Chinese question's answer is then listed under the Chinese passage, not a card of its own)
    pair_ranks_reports: dict[str, int | None] = field(default_factory=dict)


def load_questions(path: str | Path) -> list[Question]:
    """Read a JSONL file with ``id, lang, query, expect[, abstain]`` per line; a line that is
    not such an object raises QuoteBotError naming the file and line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise QuoteBotError(f"cannot read {path}: {exc}") from exc
    out: list[Question] = []
    seen: dict[str, int] = {}
    for n, raw_line in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), 1):
        where = f"{path}:{n}"
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QuoteBotError(f"{where}: not UTF-8 text ({exc})") from exc
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise QuoteBotError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise QuoteBotError(f"{where}: expected an object with query and expect, "
                                f"got a {type(raw).__name__}")
        query, expect, abstain = raw.get("query"), raw.get("expect", []), raw.get("abstain", False)
        if not isinstance(query, str) or not query.strip():
            raise QuoteBotError(f"{where}: 'query' must be a non-empty string")
        if not isinstance(expect, list) or not all(isinstance(e, str) and e for e in expect):
            raise QuoteBotError(f"{where}: 'expect' must be a list of answer snippets (strings)")
        if not isinstance(abstain, bool):
            raise QuoteBotError(f"{where}: 'abstain' must be true or false")
        if not expect and not abstain:
            # no snippet to find: the only way to score it is as a question nothing answers
            log.warning("%s: no 'expect' snippets; scored as off-topic (abstain)", where)
            abstain = True
        lang = raw.get("lang") or detect_lang(query)
        qid = str(raw.get("id", n))
        if qid in seen:
            # (the misses list and a per-question comparison would mix the two up)
            raise QuoteBotError(f"{where}: id {qid!r} was already used on line {seen[qid]}; "
                                "give each question its own id")
        seen[qid] = n
        out.append(Question(id=qid, lang=str(lang), query=query,
                            expect=tuple(expect), abstain=abstain))
    if not out:
        raise QuoteBotError(f"no questions in {path}: one JSON object per line, e.g. "
                            '{"id": "q1", "query": "why not open source?", "expect": ["..."]}')
    return out


def _family(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def pair_of(query_lang: str, snippet_lang: str) -> str:
    """The language-pair bucket of a question/answer combination."""
    if query_lang == snippet_lang:
        return "same language"
    if _family(query_lang) == _family(snippet_lang):
        return "zh-Hans<->zh-Hant"
    return "en->zh" if query_lang == "en" else "zh->en"


def _first_rank(hits: list[Hit], snippets: list[str], reports: bool = False) -> int | None:
    """1-based rank of the first hit holding a snippet (``reports``: or one of its also_in
    reports holding it)."""
    wanted = [squash(s) for s in snippets if squash(s)]
    for r, hit in enumerate(hits, 1):
        texts = [hit.text, *(a.text for a in hit.also_in)] if reports else [hit.text]
        if any(w in squash(t) for t in texts for w in wanted):
            return r
    return None


def _keep_best(ranks: dict[str, int | None], pair: str, r: int | None) -> None:
    prev = ranks.get(pair)
    ranks[pair] = r if prev is None else (min(prev, r) if r else prev)


def run(questions: list[Question], retriever: Retriever, k: int = 5) -> list[Outcome]:
    """Ask every question and record where (if anywhere) an answer came back."""
    outcomes = []
    for q in questions:
        try:
            hits = retriever(q.query)[:k]
        except InvalidQueryError as exc:  # too long, say: unanswered, and the run goes on
            log.warning("question %r is refused, counted as unanswered: %s", q.id, exc)
            hits = []
        rank = _first_rank(hits, list(q.expect))
        outcome = Outcome(q, rank, len(hits), top=[h.text for h in hits])
        by_lang: dict[str, list[str]] = {}
        for s in q.expect:
            by_lang.setdefault(detect_lang(s), []).append(s)
        for lang, snippets in by_lang.items():
            pair = pair_of(q.lang, lang)
            _keep_best(outcome.pair_ranks, pair, _first_rank(hits, snippets))
            _keep_best(outcome.pair_ranks_reports, pair, _first_rank(hits, snippets, True))
        outcomes.append(outcome)
    return outcomes


def summarize(outcomes: list[Outcome], lengths: list[int]) -> dict[str, Any]:
    """The figures: recall@1/3/5, MRR, abstention, wrong abstention, by pair, median length."""
    answerable = [o for o in outcomes if not o.question.abstain]
    offtopic = [o for o in outcomes if o.question.abstain]
    n = max(len(answerable), 1)

    def recall(at: int, ranks: list[int | None]) -> float:
        return sum(1 for r in ranks if r is not None and r <= at) / max(len(ranks), 1)

    ranks = [o.rank for o in answerable]
    pairs: dict[str, dict[str, float]] = {}
    for name in ("en->zh", "zh->en", "zh-Hans<->zh-Hant", "same language"):
        pr = [o.pair_ranks[name] for o in answerable if name in o.pair_ranks]
        if pr:
            grouped = [o.pair_ranks_reports[name] for o in answerable if name in o.pair_ranks]
            pairs[name] = {
                "n": len(pr),
                "recall@5": recall(5, pr),
                "mrr": sum(1 / r for r in pr if r) / len(pr),
                "recall@5_with_reports": recall(5, grouped),
            }
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "recall@1": recall(1, ranks),
        "recall@3": recall(3, ranks),
        "recall@5": recall(5, ranks),
        "mrr": sum(1 / r for r in ranks if r) / n,
        "offtopic": len(offtopic),
        "abstained_offtopic": sum(1 for o in offtopic if o.returned == 0) / max(len(offtopic), 1),
        "wrongly_unanswered": sum(1 for o in answerable if o.returned == 0) / n,
        "median_passage_chars": statistics.median(lengths) if lengths else 0,
        "by_pair": pairs,
    }


def report(outcomes: list[Outcome], summary: dict[str, Any], seconds: float) -> str:
    """Printable report: figures, per-pair table, then the misses."""
    s = summary
    lines = [
        f"questions: {s['questions']} ({s['answerable']} answerable, {s['offtopic']} off-topic)"
        f"  in {seconds:.1f}s",
        f"recall@1 {s['recall@1']:.3f}  recall@3 {s['recall@3']:.3f}  recall@5 {s['recall@5']:.3f}"
        f"  MRR {s['mrr']:.3f}",
        f"off-topic unanswered {s['abstained_offtopic']:.0%}  answerable left unanswered "
        f"{s['wrongly_unanswered']:.1%}  median passage {s['median_passage_chars']:g} chars",
        "by language pair (question -> answer snippet):",
        "  (a question counts once in each pair its snippets fall in, so the n can add up to more"
        " than the questions;",
        "   'with reports' also counts a snippet found in a hit's 'also reported in' list)",
    ]
    for name, p in s["by_pair"].items():
        lines.append(f"  {name:<18} n={p['n']:<3} recall@5 {p['recall@5']:.3f}  MRR {p['mrr']:.3f}"
                     f"  recall@5 with reports {p['recall@5_with_reports']:.3f}")
    misses = [o for o in outcomes if (o.question.abstain and o.returned) or
              (not o.question.abstain and (o.rank is None or o.rank > 1))]
    if misses:
        lines.append("misses (answer not at rank 1, or off-topic answered):")
    for o in misses:
        q = o.question
        found = f"rank {o.rank}" if o.rank else "not in top 5"
        what = "answered off-topic" if q.abstain else found
        lines.append(f"  {q.id} [{q.lang}] {what}: {q.query}")
        if o.top and (q.abstain or o.rank is None):
            lines.append(f"      top: {o.top[0][:90]}")
    return "\n".join(lines)


def evaluate(path: str | Path, retriever: Retriever, k: int = 5) -> tuple[dict[str, Any], str]:
    """Run a question file through ``retriever``; returns (figures, printable report)."""
    questions = load_questions(path)
    t0 = time.perf_counter()
    outcomes = run(questions, retriever, k)
    seconds = time.perf_counter() - t0
    lengths = [len(t) for o in outcomes for t in o.top]
    summary = summarize(outcomes, lengths)
    return summary, report(outcomes, summary, seconds)
