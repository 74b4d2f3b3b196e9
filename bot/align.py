"""Links between passages: the same remark reported twice (``also_in``), by two articles or
by one that repeats itself, and a passage's counterpart in the other language (``parallel``).

Two Chinese passages are linked when each is the other's best match in the other article
(mutual best) by shared wording. An English and a Chinese passage are linked when one is the
other's best match by embedding cosine plus dictionary evidence (the share of the English
words found among the Chinese passage's CC-CEDICT glosses): one Chinese passage may be
rendered by several shorter English ones. Either way the match must be strong enough and the
links of one article pair must keep the order of both articles (the longest chain increasing
in both positions): reports and translations follow the speech they render, so a crossing
link is more likely noise than a match.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import combinations
from typing import Any

import numpy as np

from .lexical import Glosser, fold, tokenize

log = logging.getLogger(__name__)

# cosine of multilingual-e5-small between a passage and its rendering in the other language,
# plus PARALLEL_GLOSS_WEIGHT x the share of the English passage's words among the Chinese
# passage's dictionary glosses: the cosine alone cannot tell a rendering from a passage on the
# same topic (0.80-0.86 for both), the glosses can. Two articles count as renderings of one
# another only when a long order-preserving chain of such matches links them.
PARALLEL_GLOSS_WEIGHT = 0.1
PARALLEL_MIN_SCORE = 0.88
PARALLEL_MIN_SHARE = 0.25
PARALLEL_MIN_LINKS = 3
# ... and within two such articles, a passage next to a linked one, rendering the same passage
# (one side the other's best match) at this score: the English article splits a Chinese
# paragraph in two, and the half that says less scores lower (0.845-0.872 for the four such
# halves of the hand alignment; down to 0.78 nothing else next to a link qualifies)
PARALLEL_NEIGHBOUR_MIN_SCORE = 0.84
# the same remark reported in two languages by articles that do not render one another
# (English 001 and traditional 004): mutual best, the same speaker, and at least this score.
# In the five articles the one such pair reaches 0.897 ("the reasoning cost of the
# closed-source model must be lower" / 閉源模型的推理成本一定是更低的); the best mutual pair
# that says different things, 0.873
CROSS_REMARK_MIN_SCORE = 0.89
# share of folded character bigrams of the shorter passage found in the longer one
SAME_TEXT_MIN_OVERLAP = 0.45
# ... and at least this many bigrams in common
SAME_TEXT_MIN_SHARED = 20
# ... for a passage an article repeats itself (a lead restated in the body): nearly word for
# word. In the five articles two pairs reach 0.97; the next closest, a quotation and its
# paraphrase in one interview, 0.63
SAME_ARTICLE_MIN_OVERLAP = 0.9
# ... or one run of text, word for word, that is this share of the shorter passage and this
# long (folded, spaces removed): a summary quoting an interview answer the article also
# prints ("文心大模型每天调用量超过6亿…", 50 characters, half the answer). The next longest
# run between two unlinked Chinese passages of the five articles is a conference's name (24)
SAME_RUN_MIN_SHARE = 0.4
SAME_RUN_MIN_CHARS = 30
# reports of one passage a result lists (``Hit.also_in``), the strongest first: one remark an
# article repeats thirty times is one result, with ten of its reports
ALSO_IN_MAX = 10
# articles longer than this (passages) are not searched for repeats: the check is pairwise
SAME_ARTICLE_MAX_PASSAGES = 2_000


def _bigrams(text: str, lang: str = "zh") -> set[str]:
    """Folded character bigrams; for English, word bigrams (any two English passages on one
    subject share most letter pairs)."""
    if lang == "en":
        w = tokenize(text)
        return {f"{a} {b}" for a, b in zip(w, w[1:], strict=False)}
    t = "".join(fold(text).split())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _overlap(a: set[str], b: set[str]) -> float:
    shared = len(a & b)
    # a headline of ten characters is half made of any long passage on its subject: a remark
    # reported twice shares a sentence at least (the five articles' links share 32 to 72)
    if shared < SAME_TEXT_MIN_SHARED:
        return 0.0
    return shared / min(len(a), len(b))


def _monotone(
    pairs: list[tuple[int, int, float]], one_to_many: bool = False
) -> list[tuple[int, int, float]]:
    """The longest chain of pairs increasing in both positions; with ``one_to_many``, not
    decreasing (one passage rendered by several consecutive ones)."""
    pairs = sorted(pairs, key=lambda p: (p[0], p[1] if one_to_many else -p[1]))
    tails: list[int] = []
    tail_idx: list[int] = []
    prev: list[int] = [-1] * len(pairs)
    place = bisect.bisect_right if one_to_many else bisect.bisect_left
    for n, (_, j, _) in enumerate(pairs):
        pos = place(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_idx.append(n)
        else:
            tails[pos] = j
            tail_idx[pos] = n
        prev[n] = tail_idx[pos - 1] if pos else -1
    chain: list[tuple[int, int, float]] = []
    n = tail_idx[-1] if tail_idx else -1
    while n >= 0:
        chain.append(pairs[n])
        n = prev[n]
    return chain[::-1]


def _mutual_best(score: np.ndarray, minimum: float) -> list[tuple[int, int, float]]:
    if score.size == 0:
        return []
    best_j = score.argmax(axis=1)
    best_i = score.argmax(axis=0)
    return [
        (i, int(j), float(score[i, j]))
        for i, j in enumerate(best_j)
        if best_i[j] == i and score[i, j] >= minimum
    ]


def _best_either_way(score: np.ndarray, minimum: float) -> list[tuple[int, int, float]]:
    """Pairs where one side is the other's best match (in either direction)."""
    if score.size == 0:
        return []
    found = {(i, int(j)) for i, j in enumerate(score.argmax(axis=1))}
    found |= {(int(i), j) for j, i in enumerate(score.argmax(axis=0))}
    return sorted((i, j, float(score[i, j])) for i, j in found if score[i, j] >= minimum)


def _grown(
    chain: list[tuple[int, int, float]], near: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """``chain`` with each pair of ``near`` that shares one side with a linked pair and sits
    next to it on the other (a paragraph rendered in two consecutive passages), repeatedly."""
    links = {(a, b): s for a, b, s in chain}
    grown = True
    while grown:
        grown = False
        for a, b, s in near:
            if (a, b) not in links and any(
                (a, b + d) in links or (a + d, b) in links for d in (-1, 1)
            ):
                links[(a, b)] = s
                grown = True
    return [(a, b, s) for (a, b), s in sorted(links.items())]


def _gloss_share(chinese: set[str], english: set[str]) -> float:
    return len(chinese & english) / len(english) if english else 0.0


def find_links(
    rows: Sequence[dict[str, Any]], vectors: np.ndarray
) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
    """(same-remark pairs, parallel pairs) as (passage index, passage index, strength)."""
    by_doc: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_doc.setdefault(row["doc_id"], []).append(i)
    grams = [_bigrams(r["text"], r["lang"]) for r in rows]
    words = _word_sets(rows)
    same: list[tuple[int, int, float]] = []
    parallel: list[tuple[int, int, float]] = []
    for da, db in combinations(by_doc, 2):
        ia, ib = by_doc[da], by_doc[db]
        en_a = np.array([rows[i]["lang"] == "en" for i in ia])
        en_b = np.array([rows[j]["lang"] == "en" for j in ib])
        # Chinese-Chinese (either script): shared wording after folding
        zz = np.array(
            [[_overlap(grams[i], grams[j]) if not (ea or eb) else 0.0
              for j, eb in zip(ib, en_b, strict=True)]
             for i, ea in zip(ia, en_a, strict=True)]
        )
        for a, b, s in _monotone(_mutual_best(zz, SAME_TEXT_MIN_OVERLAP)):
            same.append((ia[a], ib[b], s))
        # English-Chinese: embeddings and dictionary glosses, only across languages
        cross = vectors[ia] @ vectors[ib].T
        cross += PARALLEL_GLOSS_WEIGHT * np.array(
            [[_gloss_share(words[j], words[i]) if ea and not eb else
              _gloss_share(words[i], words[j]) if eb and not ea else 0.0
              for j, eb in zip(ib, en_b, strict=True)]
             for i, ea in zip(ia, en_a, strict=True)]
        )
        cross[en_a[:, None] == en_b[None, :]] = -1.0
        chain = _split_renderings(
            _monotone(_best_either_way(cross, PARALLEL_MIN_SCORE), one_to_many=True)
        )
        smaller = min(len(ia), len(ib))
        # distinct passages on both sides: one passage that is every other's best match (a
        # long article of keywords, each near the same lead paragraph) renders nothing
        linked = min(len({a for a, _, _ in chain}), len({b for _, b, _ in chain}))
        if linked >= max(PARALLEL_MIN_LINKS, PARALLEL_MIN_SHARE * smaller):
            links = _grown(chain, _best_either_way(cross, PARALLEL_NEIGHBOUR_MIN_SCORE))
            parallel.extend((ia[a], ib[b], s) for a, b, s in links)
        else:
            # two articles that are no renderings of one another may still report one remark
            # in two languages: each passage the other's best match, and closer than any
            # rendering that is not one
            same.extend(
                (ia[a], ib[b], s) for a, b, s in _mutual_best(cross, CROSS_REMARK_MIN_SCORE)
                if _one_speaker(rows[ia[a]], rows[ib[b]])
            )
    for members in by_doc.values():
        if len(members) > SAME_ARTICLE_MAX_PASSAGES:
            continue
        for i, j in combinations(members, 2):
            if rows[i]["lang"] != rows[j]["lang"]:
                continue
            score = _overlap(grams[i], grams[j])
            # (a run that long shares as many bigrams: the overlap is the cheap test first)
            if score >= SAME_ARTICLE_MIN_OVERLAP or (
                score >= SAME_RUN_MIN_SHARE and _shares_run(rows[i]["text"], rows[j]["text"])
            ):
                same.append((i, j, score))
    return same, parallel


def _split_renderings(chain: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """``chain`` without the pairs that repeat a passage of the pair before unless the other
    side is the next passage: a paragraph is rendered in consecutive passages, not in ones
    scattered over the other article."""
    out: list[tuple[int, int, float]] = []
    for a, b, s in chain:
        if out and ((a == out[-1][0] and b != out[-1][1] + 1)
                    or (b == out[-1][1] and a != out[-1][0] + 1)):
            continue
        out.append((a, b, s))
    return out


def _one_speaker(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two passages are known to be one person's words. Across languages, where
    the wording cannot be compared, a remark reported twice is someone's remark: not an
    analyst's answer to it, nor a paragraph of keywords near its subject."""
    return bool(a.get("speaker")) and a.get("speaker") == b.get("speaker")


def _shares_run(a: str, b: str) -> bool:
    """Whether two texts share one run of text that is SAME_RUN_MIN_SHARE of the shorter
    and SAME_RUN_MIN_CHARS long (folded, spaces removed)."""
    x, y = ("".join(fold(t).split()) for t in (a, b))
    run = SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y))
    return run.size >= max(SAME_RUN_MIN_CHARS, SAME_RUN_MIN_SHARE * min(len(x), len(y)))


def _word_sets(rows: Sequence[dict[str, Any]]) -> list[set[str]]:
    """English passages: their word stems; Chinese ones: the stems of their glosses."""
    glosser: Glosser | None = None
    out: list[set[str]] = []
    for row in rows:
        if row["lang"] == "en":
            out.append(set(tokenize(row["text"])))
            continue
        glosser = glosser or Glosser()
        out.append(set(tokenize(" ".join(glosser.gloss(row["text"])), folded=True)))
    return out


def link_passages(rows: list[dict[str, Any]], vectors: np.ndarray) -> None:
    """Add ``also_in`` (list of passage ids) and ``parallel`` (id or None) to every row."""
    same, parallel = find_links(rows, vectors)
    strength: list[dict[int, float]] = [{} for _ in rows]
    for i, j, s in [*same, *parallel]:
        for a, b in ((i, j), (j, i)):
            strength[a][b] = max(s, strength[a].get(b, s))
    # strongest first: a card lists the first ALSO_IN_MAX (retrieve), and hides them all
    also = [sorted(links, key=links.__getitem__, reverse=True) for links in strength]
    best_parallel: dict[int, tuple[float, int]] = {}
    for i, j, s in parallel:
        for a, b in ((i, j), (j, i)):
            if a not in best_parallel or best_parallel[a][0] < s:
                best_parallel[a] = (s, b)
    for i, row in enumerate(rows):
        row["also_in"] = also[i]
        row["parallel"] = best_parallel[i][1] if i in best_parallel else None
    # a rendering of someone's words is theirs: an English passage of a translated speech
    # ("This is based on the judgment at that time …") names nobody, its Chinese original
    # does (李彦宏坦言, …)
    for row in rows:
        other = row["parallel"]
        if row.get("speaker") or other is None or not rows[other].get("speaker"):
            continue
        who = rows[other]["speaker"]
        if any(q.get("speaker") not in (None, who) for q in row.get("quotes", [])):
            continue  # it gives words of its own to someone else
        row["speaker"] = who
        for quote in row.get("quotes", []):
            quote["speaker"] = row["speaker"]
    log.info("links: %d same-remark pairs, %d parallel pairs", len(same), len(parallel))
