"""Retrieval: dense (per-language balanced) + lexical ranking, fused; abstention; dedup."""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import store
from .align import ALSO_IN_MAX
from .corpus import CATALOG_NAME, LANGS, DocInfo, corpus_hash, load_catalog, resolve_data_dir
from .errors import (
    CorpusError,
    IndexMismatchError,
    InvalidArgumentTypeError,
    InvalidQueryError,
    QuoteBotError,
)
from .format import citation, match_label
from .indexing import build_index, embed_form, pipeline_version, resolve_index_dir
from .lexical import (
    GLOSSARY_NAME,
    Expander,
    LexicalIndex,
    asks_for,
    asks_reason,
    asks_view,
    attributes_asked,
    attributes_mentioned,
    figures,
    fold,
    gives_date,
    gives_disagreement,
    gives_reason,
    lists_topics,
    load_glossary,
    only_asks,
    only_introduces,
    pinyin_keys,
    subject_tokens,
)
from .passages import detect_lang
from .quotes import family_names, load_people, people_named, people_opposed, people_set_aside
from .settings import DEFAULT_MODEL, SETTINGS, Settings
from .types import Hit, Quote, Report

if TYPE_CHECKING:
    from .model import TokenVectors

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# terminal colour and cursor codes in a pasted question ("\x1b[1mWhy…"): all of it goes
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


# letters and marks that show nothing (Hangul fillers, the combining grapheme joiner, the
# blank braille cell): a question of these and format characters is empty
_BLANK_CHARS = frozenset("\u115f\u1160\u3164\uffa0\u034f\u2800\u17b4\u17b5")


def is_invisible(char: str) -> bool:
    """Whether a character shows nothing: whitespace, control, format (zero-width space,
    BOM), lone surrogates and the blank letters of ``_BLANK_CHARS``."""
    return (
        char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs")
        or char in _BLANK_CHARS
    )


def clean_query(query: object, settings: Settings = SETTINGS) -> str:
    """Validate and normalise a question; raises InvalidQueryError / InvalidArgumentTypeError."""
    if not isinstance(query, str):
        raise InvalidArgumentTypeError(
            f"the question must be a str, got {type(query).__name__}"
        )
    # lone surrogates cannot be encoded or embedded: drop them like control characters
    text = query.encode("utf-8", "ignore").decode("utf-8") if _has_surrogate(query) else query
    text = _CONTROL.sub(" ", _ANSI.sub("", text))
    text = " ".join(unicodedata.normalize("NFC", text).split())
    # a question of invisible format characters only (BOM, zero-width space) is empty too
    if all(is_invisible(c) for c in text):
        raise InvalidQueryError("the question is empty; type a question (1 to "
                                f"{settings.max_query_chars} characters)")
    if len(text) > settings.max_query_chars:
        raise InvalidQueryError(
            f"the question is {len(text)} characters long; the limit is "
            f"{settings.max_query_chars}. Shorten it to the part you want answered."
        )
    return text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_k(k: object, settings: Settings = SETTINGS) -> int:
    """Validate the number of passages asked for."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidArgumentTypeError(f"k must be an int, got {type(k).__name__}")
    if not 1 <= int(k) <= settings.max_k:
        raise InvalidQueryError(f"k={k} is out of range; ask for 1 to {settings.max_k} passages")
    return int(k)


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """Context manager: numpy's BLAS on the calling thread only."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _add_rrf(fused: np.ndarray, scores: np.ndarray, sel: np.ndarray, weight: float,
             rrf_k: float) -> None:
    """Add reciprocal-rank credit, ``weight / (rrf_k + rank)``, to the passages ``sel`` (a
    mask) ranked by ``scores``, best first."""
    idx = np.flatnonzero(sel)
    order = idx[np.argsort(-scores[idx], kind="stable")]
    fused[order] += weight / (rrf_k + np.arange(1, len(order) + 1))


@dataclass(frozen=True)
class Scored:
    """Internal: one candidate with its fused score and the evidence behind it."""

    idx: int
    fused: float
    dense: float
    lexical: float


class Engine:
    """A loaded index with its model and lexical side; thread-safe for queries."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        model: str | None = None,
        settings: Settings = SETTINGS,
        build_if_missing: bool = True,
    ):
        from .ingest import recover
        from .model import load_encoder

        self.settings = settings
        self.data_dir = resolve_data_dir(data_dir)
        recover(self.data_dir)  # an add or remove killed halfway is undone
        self.index_dir = resolve_index_dir(index_dir)
        self.model_name = model
        model_id = model or DEFAULT_MODEL
        hint = store.rebuild_hint(self.data_dir, self.index_dir, model)
        if build_if_missing and not store.exists(self.index_dir):
            if not self.index_dir.parent.is_dir():
                from .errors import IndexLocationError

                # a mistyped --index should not create folders wherever it points
                raise IndexLocationError(
                    f"no index at {self.index_dir}, and its folder {self.index_dir.parent} "
                    f"does not exist; check the path, or build one there: {hint}"
                )
            left = store.index_files(self.index_dir)
            if left:
                # a damaged index (its manifest deleted, or never written) is rebuilt as a
                # missing one is, but not without a word: other damage is reported
                log.warning("the index at %s has %s but no %s: rebuilding it from %s",
                            self.index_dir, ", ".join(left), store.MANIFEST, self.data_dir)
            else:
                log.info("no index at %s: building it", self.index_dir)
            build_index(self.data_dir, self.index_dir, model, settings, show_progress=True)
        # a model that cannot be loaded says so (a mistyped name), rather than that the index
        # was built with another one and should be rebuilt with it, which could not work
        self.encoder = load_encoder(model)
        # taken before anything is read, so that a change made while loading shows next time
        self.stamp = files_stamp(self.data_dir, self.index_dir)
        self.checked_at = time.monotonic()
        expect = {
            "model_id": model_id,
            "corpus_hash": corpus_hash(self.data_dir),
            "pipeline_version": pipeline_version(settings),
        }
        self.manifest, index, self.rows, self.tokens = store.load_with_tokens(
            self.index_dir, expect, hint
        )
        self.index = index
        # small corpora: every passage scored exactly, from a copy of the vectors; a large
        # one (IVF index, see bot.ann and Settings.flat_max): candidates from the index
        self.vectors = store.vectors_array(index) if self.manifest.index_type == "flat-ip" else None
        if self.encoder.dim != self.manifest.dim:
            raise IndexMismatchError(
                f"model {model_id} gives {self.encoder.dim}-d vectors, index has "
                f"{self.manifest.dim}-d; rebuild: {hint}"
            )
        self.langs = np.array([r["lang"] for r in self.rows])
        self.doc_ids = np.array([r["doc_id"] for r in self.rows])
        self.parts = _paragraph_parts(self.rows)
        # the embedding bias is between languages, not between the two Chinese scripts
        self.families = np.array(["en" if lang == "en" else "zh" for lang in self.langs])
        self.language_axis, self.language_coord = self._language_axis()
        self.docs: dict[str, DocInfo] = {d.doc_id: d for d in load_catalog(self.data_dir)}
        self.expander = Expander(load_glossary(self.data_dir))
        self.lexical = LexicalIndex(
            [r["text"] for r in self.rows],
            self.expander,
            settings.bridge_weight,
            glossed=(self.families == "zh") if settings.w_gloss else None,
            char_ngrams=settings.char_ngrams if settings.w_chars else (),
            known=[t for d in self.docs.values() for t in (d.title, d.outlet, d.author) if t],
        )
        self.people = load_people(self.data_dir / GLOSSARY_NAME)
        self.speakers = np.array([r.get("speaker") or "" for r in self.rows])
        # whose quotations each passage holds (a passage by one person may quote another)
        self.quoted = [
            {q.get("speaker") for q in r.get("quotes", []) if q.get("speaker")} for r in self.rows
        ]
        self._speaker_masks: dict[str, np.ndarray] = {}
        # people the articles quote who are not in the glossary (found when indexed)
        glossary = {p.canonical for p in self.people}
        said = {r.get("speaker") or "" for r in self.rows}.union(*self.quoted)
        self.other_speakers = sorted(said - glossary - {""})
        self.reasons = np.array([gives_reason(r["text"]) for r in self.rows], dtype=np.float64)
        self.disagreements = np.array(
            [gives_disagreement(r["text"]) for r in self.rows], dtype=np.float64)
        self.dates = np.array([gives_date(r["text"]) for r in self.rows], dtype=np.float64)
        self._term_shares: dict[re.Pattern[str], float] = {}
        # (someone's own rhetorical question is theirs: "…哪个开源模型可以说自己一天调用量是多少?")
        # (... and a line announcing what follows, 以下是…的原文摘要:, answers nothing either)
        self.questions = np.array(
            [(not r.get("speaker") and only_asks(r["text"], self.settings.question_max_chars))
             or only_introduces(r["text"], self.settings.question_max_chars)
             or lists_topics(r["text"])
             for r in self.rows], dtype=np.float64)
        stated = [figures(r["text"]) for r in self.rows]
        self.figure_words = np.array([words for words, _ in stated], dtype=bool)
        self.numbers = [digits for _, digits in stated]
        self.figures = np.array([w or bool(n) for w, n in stated], dtype=np.float64)
        self.background = store.background_array(self.index_dir)
        self.background_coord = (
            self.background @ self.language_axis
            if self.language_axis is not None and len(self.background)
            else None
        )
        self._mention_masks: dict[str, np.ndarray] = {}
        self.token_weight = self._token_weights(self.tokens)
        # float32 copy of the token vectors when small (converting per query costs more
        # than the matmul); a larger store is converted per query, candidates' rows only
        t = self.tokens
        small = t is not None and t.vectors.size <= settings.late_float32_max
        self.token_vectors32 = t.vectors.astype(np.float32) if t is not None and small else None

    def sources_unchanged(self) -> bool:
        """Whether the articles and the index this engine was loaded from are as they were
        (the catalog and glossary may have changed)."""
        then = dict(self.stamp)
        paths = [*(d.path for d in self.docs.values()), self.index_dir / store.MANIFEST]
        return all(then.get(str(p)) is not None and then.get(str(p)) == _stat(p) for p in paths)

    def _vector_chunks(self, size: int = 65_536) -> Iterator[tuple[int, np.ndarray]]:
        """The passages' vectors as (first row, block), without holding a large index's all."""
        if self.vectors is not None:
            yield 0, self.vectors
            return
        total = int(self.index.ntotal)
        for start in range(0, total, size):
            yield start, np.asarray(self.index.reconstruct_n(start, min(size, total - start)))

    def _language_axis(self) -> tuple[np.ndarray | None, np.ndarray]:
        """The unit vector from the Chinese to the English passages' mean embedding and each
        passage's coordinate on it; (None, zeros) for a one-language corpus or when
        ``Settings.neutral_language`` is off."""
        coord = np.zeros(len(self.rows), dtype=np.float32)
        is_en = self.families == "en"
        if not self.settings.neutral_language or is_en.all() or not is_en.any():
            return None, coord
        sum_en = np.zeros(self.manifest.dim, dtype=np.float64)
        sum_zh = np.zeros(self.manifest.dim, dtype=np.float64)
        for start, block in self._vector_chunks():
            en = is_en[start : start + len(block)]
            sum_en += block[en].sum(axis=0)
            sum_zh += block[~en].sum(axis=0)
        axis = sum_en / is_en.sum() - sum_zh / (~is_en).sum()
        norm = float(np.linalg.norm(axis))
        if norm < 1e-6:
            return None, coord
        axis = (axis / norm).astype(np.float32)
        for start, block in self._vector_chunks():
            coord[start : start + len(block)] = block @ axis
        return axis, coord

    def neutral_cosines(
        self, cosines: np.ndarray, q: np.ndarray, coord: np.ndarray | None = None
    ) -> np.ndarray:
        """``cosines`` (question ``q`` against every passage, or against the texts whose
        coordinates on the language axis are ``coord``) recomputed with the language
        direction taken out of both sides (``Settings.neutral_language``)."""
        if self.language_axis is None:
            return cosines
        a = self.language_coord if coord is None else coord
        b = float(q @ self.language_axis)
        # cos of the projections: (p.q - (p.u)(q.u)) / (|p - (p.u)u| |q - (q.u)u|), unit p, q
        norms = np.sqrt(np.maximum(1.0 - a * a, 1e-6) * max(1.0 - b * b, 1e-6))
        return np.asarray((cosines - a * b) / norms, dtype=np.float32)

    def _token_weights(self, tokens: store.TokenMatrix | None) -> dict[int, float]:
        """idf ** late_idf_power of every vocabulary id in the passages (late interaction)."""
        if tokens is None:
            return {}
        owner = np.repeat(np.arange(len(self.rows)), np.diff(tokens.offsets))
        pairs = np.unique(np.stack([owner, tokens.ids.astype(np.int64)]), axis=1)
        ids, df = np.unique(pairs[1], return_counts=True)
        idf = np.log((len(self.rows) + 1) / (df + 0.5))
        return dict(zip(ids.tolist(), (idf ** self.settings.late_idf_power).tolist(), strict=True))

    def late_scores(self, query: TokenVectors, candidates: np.ndarray) -> np.ndarray:
        """MaxSim of the query's token vectors against each candidate passage's, weighted by
        the pieces' idf (unseen pieces weigh most); NaN for passages not scored."""
        out = np.full(len(self.rows), np.nan)
        tokens = self.tokens
        if tokens is None or not len(query.ids) or not len(candidates):
            return out
        starts, ends = tokens.offsets[candidates], tokens.offsets[candidates + 1]
        lengths = ends - starts
        cands = candidates[lengths > 0]
        starts, lengths = starts[lengths > 0], lengths[lengths > 0]
        if not len(cands):
            return out
        # one BLAS thread: a multi-threaded OpenBLAS keeps its workers spinning after the
        # product, and on 2 cores they slow the next query's ONNX Runtime encode by 2x
        with _one_blas_thread():
            if self.token_vectors32 is not None and len(cands) == len(self.rows):
                sims = self.token_vectors32 @ query.vectors.T  # every passage: no gather
            else:
                # each piece's row: its passage's first row + its place within the passage
                rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
                rows += np.arange(lengths.sum())
                source = (
                    self.token_vectors32 if self.token_vectors32 is not None else tokens.vectors
                )
                sims = source[rows].astype(np.float32, copy=False) @ query.vectors.T
        best = np.maximum.reduceat(sims, np.cumsum(lengths) - lengths, axis=0)
        rare = float(np.log((len(self.rows) + 1) / 0.5) ** self.settings.late_idf_power)
        w = np.array([self.token_weight.get(int(i), rare) for i in query.ids])
        out[cands] = best @ (w / w.sum())
        return out

    # -- ranking ---------------------------------------------------------------------------

    def rank(
        self, query: str, mask: np.ndarray, timings: dict[str, float] | None = None
    ) -> tuple[list[Scored], dict[str, float]]:
        """All allowed passages, best first, and the evidence used for abstention.

        ``timings``, if given, receives the seconds spent encoding the query, in BM25 and in
        dense search (``encode``, ``lexical``, ``dense``; the benchmark's breakdown).
        """
        s = self.settings
        t0 = time.perf_counter()
        # "Robn Li", "GPT4", 李燕宏: ranked as the articles spell them
        query = self.lexical.as_the_articles_spell(query)
        folded = fold(query)
        q_family = "en" if detect_lang(query) == "en" else "zh"
        rest = self._topic_question(folded)
        # the topic question shares the forward pass (a batch of two: about 8 ms instead of 13)
        as_seen = embed_form(query, s)
        texts = [as_seen] if rest is None else [as_seen, rest]
        # the people it names (by name or by role): their words get the speaker prior below
        named = (people_named(folded, self.people) + self.expander.people_by_role(folded)
                 + self._others_named(folded))
        q_tokens = rest_tokens = None
        if self.tokens is not None and s.w_late:
            vecs, toks = self.encoder.encode_queries_with_tokens(texts)
            q_tokens = toks[0]
            if rest is not None and named and s.late_topic_share:
                rest_tokens = toks[1]
        else:
            vecs = self.encoder.encode_queries(texts)
        q, q_rest = vecs[0], (vecs[1] if rest is not None else None)
        t1 = time.perf_counter()
        lex = self.lexical.scores(query)
        chars = self.lexical.char_scores(query) if s.w_chars else None
        t2 = time.perf_counter()
        if self.vectors is not None:
            dense = self.vectors @ q
        else:  # large corpus: the candidates of each ranker stand in for it
            dense, mask = self._ann_candidates(query, q, lex, mask, chars)
        # ranking uses language-neutral cosines; abstention the plain ones (see confidence)
        ranking = self.neutral_cosines(dense, q)
        if timings is not None:
            timings.update(encode=t1 - t0, lexical=t2 - t1, dense=time.perf_counter() - t2)
        fused = np.zeros(len(self.rows), dtype=np.float64)
        # dense: rank within each language so one language cannot crowd out the others
        groups = self.families if s.balance == "family" else self.langs
        for lang in np.unique(groups):
            _add_rrf(fused, ranking, (groups == lang) & mask, s.w_dense, s.rrf_k)
        rest_cos = None if q_rest is None else self._cosines(q_rest, mask)
        if rest_cos is not None and q_rest is not None and s.w_topic_dense:
            # the question without the names in it ranks too: a name pulls the pooled vector
            # toward everything said by or about that person, away from what is asked
            rest_ranking = self.neutral_cosines(rest_cos, q_rest)
            for lang in np.unique(groups):
                _add_rrf(fused, rest_ranking, (groups == lang) & mask, s.w_topic_dense, s.rrf_k)
        lex_groups = self.families if s.balance_lexical else np.zeros(len(self.rows), dtype=bool)
        for group in np.unique(lex_groups):
            _add_rrf(fused, lex, (lex > 0) & mask & (lex_groups == group), s.w_lexical, s.rrf_k)
        # whether some allowed passage shares a word with the question, in any spelling
        matched = (lex > 0) & mask
        if s.w_gloss and q_family == "en":
            # an English question also ranks Chinese passages by their dictionary glosses
            gloss = self.lexical.gloss_scores(query)
            _add_rrf(fused, gloss, (gloss > 0) & mask, s.w_gloss, s.rrf_k)
            matched |= (gloss > 0) & mask
        if chars is not None:
            matched |= (chars > 0) & mask
        if q_tokens is not None:
            # late interaction: word-level matches the pooled vector blurs; scored for the
            # late_depth best candidates so far and ranked within each language family
            t3 = time.perf_counter()
            allowed = np.flatnonzero(mask)
            tie = 1e-9 * ranking[allowed]
            cands = allowed[np.argsort(-(fused[allowed] + tie), kind="stable")]
            picked = np.sort(cands[: s.late_depth])
            # a question naming a person: the name's word pieces match every passage by or
            # about that person (the speaker prior already favours their words), so part of
            # the weight goes to the question without the name, what it asks about
            share = s.late_topic_share if rest_tokens is not None else 0.0
            parts = [(q_tokens, 1.0 - share)]
            if rest_tokens is not None:
                parts.append((rest_tokens, share))
            for tokens, part in parts:
                late = self.late_scores(tokens, picked)
                for family in np.unique(self.families):
                    scored = ~np.isnan(late) & (self.families == family)
                    _add_rrf(fused, late, scored, s.w_late * part, s.rrf_k)
            if timings is not None:
                timings["late"] = time.perf_counter() - t3
        # after choosing the late-interaction candidates, which it would only crowd
        if chars is not None:
            _add_rrf(fused, chars, (chars > 0) & mask, s.w_chars, s.rrf_k)
        # a raw-score term breaks rank ties in favour of the closer passage
        fused += s.w_raw * ranking
        # "what did Fang Han say ..." (or "... Kunlun's CEO"): that person's own words come
        # before reports about him
        kind = asks_for(folded) if s.w_answer_kind else None
        # ... but not the one others are asked to disagree with: "Who disagrees with Robin Li?"
        # asks for the others' words, which come before his; nor one it sets aside:
        # "除了李彦宏,业内人士怎么看?" asks for the others (the topic check skips both too)
        opposed = people_opposed(folded, self.people)
        aside = opposed + people_set_aside(folded, self.people)
        if kind != "date":
            for person in dict.fromkeys(named):
                sign = -1.0 if person in aside else 1.0
                fused += sign * s.w_speaker * (self.speakers == person)
            if opposed:
                # ... and the passages where someone disagrees come first among those
                fused += s.w_disagreement * self.disagreements
        # a passage that only asks the question (an interviewer's) comes after the answer
        fused -= s.w_question * self.questions
        if s.w_reason and asks_reason(folded):
            fused += s.w_reason * self.reasons
        if kind is not None:
            gives = self.dates if kind == "date" else self._states_figure(folded)
            fused += s.w_answer_kind * gives
        allowed = np.flatnonzero(mask)
        best = allowed[np.argsort(-fused[allowed], kind="stable")]
        # "How old is Robin Li?": the best passages are his, but none gives an age
        asked = attributes_asked(folded) if s.attribute_depth else frozenset()
        if kind == "date" and s.attribute_depth:
            # "When did Microsoft release WizardLM-2?": the best passages name it, and no
            # date; a date is a fact the passages state or not, as an age is
            asked = asked | {"date"}
        # "How many parameters does Pangu have?": a passage giving Tiangong's counts only
        # when it names Pangu (or Huawei), or is Pangu's people's own words
        subjects = self.expander.subjects_in(folded) if asked else []
        # read off the few best passages when asked, not at load: a million passages would
        # take minutes
        # ... and one asking how much by a passage that gives a figure too: "how much revenue
        # did Baidu make?" is not answered by 收入质量不高
        counted = self._states_figure(folded) if kind == "amount" else None
        stated = frozenset().union(
            *(attributes_mentioned(self.rows[i]["text"], general=kind != "amount")
              | ({"date"} if self.dates[i] else set())
              for i in best[: s.attribute_depth]
              if self._about(int(i), subjects) and (counted is None or counted[i]))
        ) if asked else frozenset()
        unstated = asked - stated
        # "方汉对智能体怎么看?": his words are near, and so is the topic, but none of the best
        # passages has him on it
        off_person = self._person_off_topic(
            folded, [p for p in dict.fromkeys(named) if p not in aside], best)
        ranked = [Scored(int(i), float(fused[i]), float(dense[i]), float(lex[i])) for i in best]
        # a filter that leaves passages of the other language only (langs, or articles in
        # one language) would compare them with the question on the plain cosine, which the
        # language gap lowers for every passage alike: there the gap is taken on
        # language-neutral cosines, passages and background alike (Settings.abstain_gap_neutral)
        neutral = bool(
            0 < len(allowed) < len(self.rows)
            and self.background_coord is not None
            and q_family not in set(self.families[allowed].tolist())
        )
        gap_allowed = allowed
        if not neutral and s.names_elsewhere_neutral and self.background_coord is not None:
            other = self._named_only_elsewhere(folded, q_family, mask)
            if other is not None:
                neutral, gap_allowed = True, other
        top, bg = self._gap_sides(q, dense, gap_allowed, neutral)
        topic_top, topic_bg = top, bg
        if rest_cos is not None and q_rest is not None:
            topic_top, topic_bg = self._gap_sides(q_rest, rest_cos, gap_allowed, neutral)
        unknown = len(self.lexical.unknown_names(query, s.name_max_zipf))
        # filters that leave no passage sharing a word with the question (an article on
        # something else, for "why not open source?"): what is left is only near by chance
        unmatched = 0.0 < len(allowed) < len(self.rows) and not matched.any()
        if len(allowed) < len(self.rows):
            # "what did Fang Han say ..." over articles where he never appears: the name is
            # unknown to the passages searched, as a name the corpus never mentions is;
            # unless the question names someone they do mention too ("how do Robin Li and
            # Wang Xiaochuan differ?" over Robin Li's words: his side is an answer)
            outside = self._names_outside(folded, allowed)
            if outside and len(outside) == len(self._names_asked(folded)):
                unknown += len(outside)
        evidence = {
            "dense_top": top,
            "background_top": bg,
            "topic_top": topic_top,
            "topic_background": topic_bg,
            "lexical_top": float(lex[allowed].max()) if len(allowed) else 0.0,
            "coverage": self.lexical.coverage(query),
            "unknown_names": float(unknown),
            "neutral": float(neutral),
            "subject": float(self.lexical.has_subject(query, s.subject_max_words, s.subject_zipf)),
            "attributes_missing": float(len(unstated)),
            "person_off_topic": float(off_person),
            "filtered_unmatched": float(unmatched),
            "asks_date": float(kind == "date"),
        }
        return ranked, evidence

    def _person_off_topic(self, folded: str, people: list[str], best: np.ndarray) -> bool:
        """Whether a question names a glossary person and a specific glossary term (one at
        most ``Settings.topic_term_max_share`` of the passages mention: agent, benchmark, not
        open source), or another organisation or product, and none of the
        ``attribute_depth`` best passages is by or names one of those people and mentions one
        of those: "What does Wang Xiaochuan think about agents?" finds his words and others' on
        agents, never both in one. A question on what they think or say is checked so for its
        rare words too (``Settings.topic_words``, ``_rare_words``). ``people``: those the
        question names, less any it sets aside or names as the one disagreed with."""
        s = self.settings
        if s.topic_term_max_share is None or not s.attribute_depth or not people:
            return False
        terms = [pattern for pattern, _ in self.expander.term_rules
                 if pattern.search(folded) and self._share(pattern) <= s.topic_term_max_share]
        # ... or another organisation or product, not theirs ("What did Robin Li say about
        # Apple?": Apple is named once, by someone else)
        own = {self.expander.org_of.get(p) for p in people} | {p.canonical for p in self.people}
        terms += [pattern for name, pattern in self.expander.subjects_in(folded)
                  if name not in own and self._share(pattern) <= s.topic_term_max_share]
        names = {name: pattern for name, pattern in self.expander.subjects if name in people}
        top = [(int(i), fold(self.rows[int(i)]["text"])) for i in best[: s.attribute_depth]]

        def theirs(idx: int, text: str) -> bool:
            return self.speakers[idx] in people or any(p.search(text) for p in names.values())

        if terms and not any(theirs(i, t) and any(p.search(t) for p in terms) for i, t in top):
            return True
        # ... and a question on what they think of something rarely named ("What did Robin Li
        # say about Nigeria?": one passage, Fang Han's, speaks of it) or never ("… about his
        # childhood?"): one of the best passages is theirs and names it, or names a term the
        # question names (open source)
        words = self._rare_words(folded) if s.topic_words and asks_view(folded) else []
        if not words:
            return False
        named_terms = [p for p, _ in self.expander.term_rules if p.search(folded)]
        return not any(
            theirs(i, t) and (any(w[i] for w in words) or any(p.search(t) for p in named_terms))
            for i, t in top
        )

    def _rare_words(self, folded: str) -> list[np.ndarray]:
        """For each word of a (folded) question beside its names and glossary terms that at
        most ``topic_term_max_share`` of the passages hold, in any language (none, too):
        which passages hold it."""
        share = self.settings.topic_term_max_share or 0.0
        out = []
        for token in dict.fromkeys(subject_tokens(self.expander.strip_names(folded))):
            if token in self.expander.aliases:
                continue
            where = self.lexical.passages_with(token)
            if where.sum() <= share * len(where):
                out.append(where)
        return out

    def _share(self, pattern: re.Pattern[str]) -> float:
        """The share of passages a glossary term's pattern matches, counted when a question
        first names the term (not at load: a large corpus takes long to read through)."""
        share = self._term_shares.get(pattern)
        if share is None:
            texts = self.lexical.folded_texts
            share = sum(1 for t in texts if pattern.search(t)) / max(1, len(texts))
            self._term_shares[pattern] = share
        return share

    def _about(self, idx: int, subjects: list[tuple[str, re.Pattern[str]]]) -> bool:
        """Whether a passage is about one of the people, organisations or products a question
        names (any, when it names none): it names one, or is one's own words."""
        if not subjects:
            return True
        # folded here, for the few best passages (all of them folded would take minutes for
        # a million passages, on the first question that asks a fact)
        text = fold(self.rows[idx]["text"])
        return any(
            self.speakers[idx] == name or pattern.search(text) for name, pattern in subjects
        )

    def _gap_sides(
        self, q: np.ndarray, cosines: np.ndarray, allowed: np.ndarray, neutral: bool
    ) -> tuple[float, float]:
        """The best allowed passage's and the best background line's cosine to ``q``
        (language-neutral ones when ``neutral``)."""
        if not len(allowed):
            return -1.0, -1.0
        bg_cos = self.background @ q if len(self.background) else np.full(1, -1.0)
        if neutral:
            cosines = self.neutral_cosines(cosines, q)
            bg_cos = self.neutral_cosines(bg_cos, q, self.background_coord)
        return float(cosines[allowed].max()), float(bg_cos.max())

    def _named_only_elsewhere(
        self, folded: str, family: str, mask: np.ndarray
    ) -> np.ndarray | None:
        """The allowed passages of the other language family than the question's
        (``family``), when everything the question names (a person, organisation or
        product) is mentioned by allowed passages of that family only; else None."""
        asked = self._names_asked(folded)
        if not asked:
            return None
        own = self.families == family
        for name in asked:
            where = self._mentions(name) & mask
            if not where.any() or (where & own).any():
                return None
        other = np.flatnonzero(mask & ~own)
        return other if len(other) else None

    def _names_outside(self, folded: str, allowed: np.ndarray) -> list[str]:
        """The people, organisations and products the question names that no allowed
        passage mentions (by any alias, or as the passage's speaker): the glossary's, and the
        people the articles quote outside it ("Maria Delgado", found when an article was
        added)."""
        return [n for n in self._names_asked(folded) if not self._mentions(n)[allowed].any()]

    def _names_asked(self, folded: str) -> list[str]:
        """The people, organisations and products a folded question names (glossary names
        and roles, and the articles' other speakers), once each."""
        named = [n for n, _ in self.expander.subjects_in(folded)]
        named += self.expander.people_by_role(folded)
        return list(dict.fromkeys(named + self._others_named(folded)))

    def _others_named(self, folded: str) -> list[str]:
        """The speakers outside the glossary (people an added article quotes) that a folded
        question names: in full, or by a family name no other speaker has ("Okonkwo-Reyes")."""
        found = [n for n in self.other_speakers if re.search(_name_regex(n), folded)]
        for family, owner in self._other_families.items():
            if owner not in found and re.search(_name_regex(family), folded):
                found.append(owner)
        # ... or, one the articles name in Chinese, by its pinyin ("Zhou Mingyuan": 周明远)
        if self._pinyin_speakers:
            words = re.findall(r"[a-z]+", folded)
            for i in range(len(words) - 1):
                for n in (2, 3):
                    spoken = self._pinyin_speakers.get("".join(words[i : i + n]))
                    if spoken is not None and spoken not in found:
                        found.append(spoken)
        return found

    @cached_property
    def _pinyin_speakers(self) -> dict[str, str]:
        """Pinyin run together -> the speaker outside the glossary whom the articles name in
        Chinese only (周明远: zhoumingyuan)."""
        return {k: n for n in self.other_speakers if not n.isascii() for k in pinyin_keys(n)}

    @cached_property
    def chinese_names(self) -> dict[str, str]:
        """Speaker outside the glossary named in pinyin -> the Chinese name a Chinese passage
        of theirs writes (Zhou Mingyuan: 周明远; the indexer made the two one person)."""
        keys = {n: pinyin_keys(n) for n in self.other_speakers if n.isascii()}
        keys = {n: k for n, k in keys.items() if k}
        # their Chinese passages, in one pass over the rows
        theirs: dict[str, list[int]] = {n: [] for n in keys}
        for i, r in enumerate(self.rows):
            if self.families[i] == "zh":
                for n in {r.get("speaker") or "", *self.quoted[i]} & keys.keys():
                    theirs[n].append(i)
        out: dict[str, str] = {}
        for name, rows in theirs.items():
            found = next((run[j : j + n] for i in rows
                          for run in re.findall(r"[\u4e00-\u9fff]{2,}", self.rows[i]["text"])
                          for n in (3, 2) for j in range(len(run) - n + 1)
                          if pinyin_keys(run[j : j + n]) & keys[name]), None)
            if found:
                out[name] = found
        return out

    @cached_property
    def _other_families(self) -> dict[str, str]:
        """Family name -> the one speaker outside the glossary who bears it (Latin names
        only: a Chinese family name is one character, and 周 is in 每周 too), when no
        glossary person does."""
        by_family: dict[str, list[str]] = {}
        for n in self.other_speakers:
            for family in family_names(n) if n.isascii() else ():
                by_family.setdefault(family, []).append(n)
        taken = {f for p in self.people for f in family_names(p.canonical, p.aliases, p.family)}
        return {f: o[0] for f, o in by_family.items() if len(o) == 1 and f not in taken}

    def _mentions(self, name: str) -> np.ndarray:
        """Which passages mention ``name`` (a glossary person, organisation or product, or a speaker
        of the articles) or are its words; computed on first use (only filtered searches
        need it)."""
        got = self._mention_masks.get(name)
        if got is None:
            pattern = next(
                (p for n, p in self.expander.subjects if n == name),
                re.compile(_name_regex(name)),
            )
            got = np.array([bool(pattern.search(t)) for t in self.lexical.folded_texts],
                           dtype=bool)
            got |= self.speakers == name
            self._mention_masks[name] = got
        return got

    def _states_figure(self, folded: str) -> np.ndarray:
        """1.0 for each passage stating a figure other than those the question writes itself
        ("How many parameters does ERNIE 4.0 have?" is not answered by "文心4.0")."""
        _, asked = figures(folded)
        if not asked:
            return self.figures
        return np.array(
            [w or bool(n - asked) for w, n in zip(self.figure_words, self.numbers, strict=True)],
            dtype=np.float64,
        )

    def _topic_question(self, folded: str) -> str | None:
        """The question without the people and organisations it names, when that leaves
        something to ask (None otherwise, or when ``Settings.topic_margin`` is None).

        "李彦宏的太太是谁" is near the articles for naming 李彦宏; what it asks (的太太是谁)
        is not, and that is what tells an unanswerable question about a known person.
        """
        if self.settings.topic_margin is None:
            return None
        rest = self.expander.strip_names(folded)
        # "Tell me about Robin Li" asks about him in general: nothing is left to check
        return rest if rest != folded and subject_tokens(rest) else None

    def _cosines(self, q: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Cosine of ``q`` with every passage; for a large corpus (IVF index) with the
        ``mask``ed candidate pool only, -1 elsewhere."""
        if self.vectors is not None:
            return np.asarray(self.vectors @ q)
        from . import ann

        out = np.full(len(self.rows), -1.0, dtype=np.float32)
        pool = np.flatnonzero(mask)
        if len(pool):
            out[pool] = ann.cosines(self.index, pool, q)
        return out

    def _ann_candidates(
        self,
        query: str,
        q: np.ndarray,
        lex: np.ndarray,
        mask: np.ndarray,
        chars: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense scores and the narrowed mask for a large corpus (IVF index, ``bot.ann``).

        The best ``ann_candidates`` passages of each language group by the index, and of
        each language family by BM25 (and by gloss for English questions, by character
        n-grams for Chinese ones), stand in for the corpus; each gets its cosine from the
        index, every other passage is masked out.
        """
        from . import ann

        s = self.settings
        k = s.ann_candidates
        pool = np.zeros(len(self.rows), dtype=bool)
        dense = np.full(len(self.rows), -1.0, dtype=np.float32)
        groups = self.families if s.balance == "family" else self.langs
        for lang in np.unique(groups):
            ids, cos = ann.search_subset(self.index, q, (groups == lang) & mask, k, s)
            dense[ids] = cos
            pool[ids] = True
        ranker_scores = [lex] if chars is None else [lex, chars]
        if s.w_gloss and detect_lang(query) == "en":
            ranker_scores.append(self.lexical.gloss_scores(query))
        lexical = [
            ann.top_positive(scores, mask & (self.families == family), k)
            for scores in ranker_scores
            for family in np.unique(self.families)
        ]
        extra = np.setdiff1d(np.concatenate(lexical), np.flatnonzero(pool))
        dense[extra] = ann.cosines(self.index, extra, q)
        pool[extra] = True
        return dense, mask & pool

    def confidence(self, evidence: dict[str, float]) -> float:
        """How likely the corpus answers the question at all (0..1)."""
        s = self.settings
        if (not evidence.get("subject", 1.0) or evidence.get("attributes_missing", 0.0)
                or evidence.get("person_off_topic", 0.0)
                or evidence.get("filtered_unmatched", 0.0)):
            return 0.0
        # two rankers' evidence: how far the best passage beats off-topic text (dense), and
        # how much of the question the articles' vocabulary covers at all (lexical); a name
        # the articles never mention marks a question about something else
        gap = evidence["dense_top"] - evidence["background_top"]
        # ... and what it asks beyond the names it mentions must be near the articles too
        if s.topic_margin is not None and "topic_top" in evidence:
            topic = evidence["topic_top"] - evidence["topic_background"]
            gap = min(gap, topic + s.topic_margin)
        score = gap + s.coverage_weight * (evidence["coverage"] - 0.5)
        score -= s.unknown_name_weight * min(1.0, evidence.get("unknown_names", 0.0))
        centre = s.abstain_gap_neutral if evidence.get("neutral") else s.abstain_gap
        return float(1.0 / (1.0 + np.exp(-(score - centre) / s.abstain_scale)))

    def search(
        self,
        query: str,
        k: int,
        min_score: float | None = None,
        speaker: str | None = None,
        langs: Iterable[str] | None = None,
        doc_ids: Iterable[str] | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The top ``k`` passages for a validated query (see ``retrieve``; ``timings``: see
        ``rank``)."""
        mask = self.filter_mask(langs, doc_ids, speaker)
        if not mask.any():
            return []
        ranked, evidence = self.rank(query, mask, timings)
        conf = self.confidence(evidence)
        threshold = self.settings.min_confidence if min_score is None else min_score
        if conf < threshold:
            log.info("abstaining (confidence %.3f < %.3f): %s", conf, threshold, evidence)
            return []
        hits: list[Hit] = []
        shown: set[int] = set()
        top = ranked[0].fused
        # a passage's share of the best one's lead over the pack (the passage at rank
        # match_reference_rank, or past the last one asked for): fused scores of a
        # reciprocal-rank sum sit close together, and over the best one's alone every one
        # of the top five read "strong"
        base = ranked[min(max(k, self.settings.match_reference_rank), len(ranked) - 1)].fused
        lead = top - base
        for cand in ranked:
            if cand.idx in shown:
                continue
            # the reports of its reports too: a remark added in a third article may be linked
            # to the two Chinese reports and not to the English one that ranks first
            direct = self.rows[cand.idx].get("also_in", [])
            group = [
                g for g in dict.fromkeys(
                    [*direct, *(g for m in direct for g in self.rows[m].get("also_in", []))]
                ) if g != cand.idx and g not in shown
            ]
            shown.add(cand.idx)
            shown.update(group)
            # a when-question's card is the report that dates it when the best one does not
            # (日前 in the Chinese report, "On April 11" in the English one)
            if evidence.get("asks_date") and not self.dates[cand.idx]:
                dated = next((g for g in group if self.dates[g] and mask[g]), None)
                if dated is not None:
                    group = [cand.idx, *(g for g in group if g != dated)]
                    cand = Scored(dated, cand.fused, cand.dense, cand.lexical)
            share = (cand.fused - base) / lead if lead > 0 else 1.0
            hits.append(self._hit(cand, conf * max(share, _MIN_SHARE), group))
            if len(hits) == k:
                break
        return hits

    def filter_mask(
        self,
        langs: Iterable[str] | None = None,
        doc_ids: Iterable[str] | None = None,
        speaker: str | None = None,
    ) -> np.ndarray:
        """Which passages the filters allow (None: no filter); InvalidQueryError for an
        unknown document id or speaker."""
        mask = np.ones(len(self.rows), dtype=bool)
        if langs is not None:
            mask &= np.isin(self.langs, list(langs))
        if doc_ids is not None:
            unknown = sorted(set(doc_ids) - set(self.docs))
            if unknown:
                raise InvalidQueryError(
                    f"unknown document id {unknown[0]!r} in doc_ids ({len(self.docs)} documents "
                    "are indexed); `python -m bot list` shows their ids"
                )
            mask &= np.isin(self.doc_ids, list(doc_ids))
        if speaker is not None:
            who = self.canonical_speaker(speaker)
            if who not in self._speaker_masks:
                quoted = np.array([who in q for q in self.quoted], dtype=bool)
                self._speaker_masks[who] = (self.speakers == who) | quoted
            mask &= self._speaker_masks[who]
        return mask

    def speaker_list(self) -> list[str]:
        """Everyone a passage is attributed to or quotes, by canonical name, sorted."""
        return sorted(set(self.speakers.tolist()).union(*self.quoted) - {""})

    def filtered_away(
        self,
        query: str,
        langs: Iterable[str] | None = None,
        doc_ids: Iterable[str] | None = None,
        speaker: str | None = None,
    ) -> list[str] | None:
        """Why filters leave a question unanswered, when they are the reason: [] when they
        leave no passage at all; the people, organisations and products the question names
        that the articles mention but no passage the filters leave does ("方汉怎么看开源?"
        over the English passages), each as the question writes it ("SkyMusic", not the
        glossary's "Tiangong"); None when the filters are not the reason."""
        allowed = self.filter_mask(langs, doc_ids, speaker)
        if not allowed.any():
            return []
        cleaned = clean_query(query, self.settings)
        folded = fold(cleaned)
        everywhere = set(self._names_outside(folded, np.ones(len(self.rows), dtype=bool)))
        missing = [n for n in self._names_outside(folded, allowed) if n not in everywhere]
        return [self._as_written(n, folded, cleaned) for n in missing] or None

    def _as_written(self, name: str, folded: str, question: str) -> str:
        """A glossary name as the question writes it (its alias there, in its script)."""
        pattern = next((p for n, p in self.expander.subjects if n == name), None)
        found = pattern.search(folded) if pattern is not None else None
        if found is None or len(folded) != len(question):
            return name
        return question[found.start() : found.end()]

    def canonical_speaker(self, name: str) -> str:
        """The canonical name of a speaker given by any of the glossary's spellings
        ("李彥宏", "Li Yanhong" -> "Robin Li"); InvalidQueryError for a name that is neither
        a glossary person's nor any passage's speaker."""
        # spaced and cleaned as questions are (a zero-width space pasted with it is nothing)
        want = fold(" ".join("".join(" " if is_invisible(c) else c for c in name).split()))
        # the web page lists people as "Robin Li · 李彦宏": either half names them
        if " · " in want:
            want = want.split(" · ")[0]
        known = self.speaker_list()
        if not want:
            raise InvalidQueryError(
                f"speaker is empty; give a name ({', '.join(known) or 'none'}) or None"
            )
        for person in self.people:
            if want == fold(person.canonical) or want in person.aliases:
                return person.canonical
        for canonical in known:
            if want == fold(canonical):
                return canonical
        # someone the articles name in pinyin, by a Chinese name, or the reverse (周明远 and
        # "Zhou Mingyuan")
        keys = pinyin_keys(want)
        for canonical in known:
            if keys & pinyin_keys(canonical):
                return canonical
        # a family name alone, as articles write it after the first mention: last in
        # "Maria Delgado", first in a Chinese name (王小川, "Wang Xiaochuan"); "Han", Fang
        # Han's given name, names nobody
        glossary = {p.canonical: p for p in self.people}
        by_surname = [
            c for c in known
            if want in family_names(
                c, glossary[c].aliases if c in glossary else (),
                glossary[c].family if c in glossary else None,
            )
        ]
        if len(by_surname) == 1:
            return by_surname[0]
        if by_surname:
            raise InvalidQueryError(
                f"speaker {name!r} is the family name of {' and '.join(by_surname)}; give the "
                "full name"
            )
        raise InvalidQueryError(
            f"no passage is attributed to the speaker {name!r}; the speakers are: "
            f"{', '.join(known) or 'none'} (any spelling in the glossary, {GLOSSARY_NAME} "
            "in the data folder)"
        )

    # -- hits ------------------------------------------------------------------------------

    def _citation(self, idx: int) -> str:
        row = self.rows[idx]
        doc = self.docs[row["doc_id"]]
        return citation(doc.title, doc.outlet, doc.date, row["paragraph"], doc.source_name,
                        part=self.parts[idx])

    def _report(self, idx: int) -> Report:
        row = self.rows[idx]
        doc = self.docs[row["doc_id"]]
        return Report(
            doc_id=row["doc_id"],
            citation=self._citation(idx),
            lang=row["lang"],
            text=row["text"],
            source_path=doc.source_path,
            start=row["start"],
            end=row["end"],
            paragraph=row["paragraph"],
        )

    def _hit(self, cand: Scored, score: float, group: list[int]) -> Hit:
        row = self.rows[cand.idx]
        doc = self.docs[row["doc_id"]]
        parallel = row.get("parallel")
        return Hit(
            text=row["text"],
            source_path=doc.source_path,
            start=row["start"],
            end=row["end"],
            doc_id=row["doc_id"],
            title=doc.title,
            outlet=doc.outlet,
            date=doc.date,
            lang=row["lang"],
            paragraph=row["paragraph"],
            score=round(float(score), 4),
            citation=self._citation(cand.idx),
            heading=row.get("heading"),
            match=match_label(score),
            speaker=row.get("speaker"),
            quotes=tuple(Quote(**q) for q in row.get("quotes", [])),
            also_in=tuple(self._report(g) for g in group[:ALSO_IN_MAX]),
            parallel=self._report(parallel) if parallel is not None else None,
        )


# (a returned passage tied with the reference still scores above zero)
_MIN_SHARE = 1e-3
_ENGINES: dict[tuple[str, str, str | None], Engine] = {}
_LOCK = threading.Lock()


def _paragraph_parts(rows: list[dict[str, Any]]) -> list[tuple[int, int] | None]:
    """Each passage's place among the passages of its paragraph (part, count), or None when
    the paragraph is one passage: a long paragraph is cited part by part."""
    keys = [(r["doc_id"], r["paragraph"]) for r in rows]
    counts = Counter(keys)
    seen: dict[tuple[str, int], int] = {}
    parts: list[tuple[int, int] | None] = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        parts.append((seen[key], counts[key]) if counts[key] > 1 else None)
    return parts


def _name_regex(name: str) -> str:
    """A speaker's name as a pattern over folded text (whole words for Latin names)."""
    folded = re.escape(fold(" ".join(name.split())))
    return rf"(?<![a-z0-9]){folded}(?![a-z0-9])" if name.isascii() else folded


def files_stamp(data_dir: Path, index_dir: Path) -> tuple[tuple[str, Any], ...]:
    """Size, time and inode of the catalog, glossary, articles and index manifest: what
    changes when any of them is edited, added, removed or swapped for a rebuilt one."""
    paths = [data_dir / CATALOG_NAME, data_dir / GLOSSARY_NAME, index_dir / store.MANIFEST]
    try:
        paths += [d.path for d in load_catalog(data_dir)]
    except CorpusError:
        pass  # the catalog's own entry above changes when it is mended
    return tuple((str(path), _stat(path)) for path in paths)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def get_engine(
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
) -> Engine:
    """The process-wide engine for these directories and model (loaded once, and again when
    the files it was loaded from change: an article edited, added or removed by another
    process, or the index rebuilt; a corpus that no longer matches its index is then refused
    as it would be in a new process)."""
    data, index = resolve_data_dir(data_dir), resolve_index_dir(index_dir)
    key = (str(data.resolve()), str(index.resolve()), model)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(data_dir, index_dir, model)
            return engine
        now = time.monotonic()
        if now - engine.checked_at < engine.settings.reload_check_seconds:
            return engine
        engine.checked_at = now
        stamp = files_stamp(data, index)
        if stamp == engine.stamp:
            return engine
        try:
            fresh = Engine(data_dir, index_dir, model)
        except QuoteBotError as exc:
            # an article being added or removed: the catalog is written first, the index
            # rebuilt after (seconds). While every file this engine read is as it was, its
            # answers are still exact spans of them: it keeps serving until the index is in
            if isinstance(exc, IndexMismatchError) and engine.sources_unchanged():
                log.info("the catalog changed and the index is not rebuilt yet: answering "
                         "from the previous one")
                return engine
            del _ENGINES[key]  # refused as a new process would refuse it, every time
            raise
        log.info("the corpus or index changed on disk: loaded it again")
        _ENGINES[key] = fresh
        return fresh


def reset_engines() -> None:
    """Forget loaded engines (after a rebuild, the next query loads the new index)."""
    with _LOCK:
        _ENGINES.clear()


def retrieve(
    query: str,
    k: int = SETTINGS.k,
    *,
    data_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    min_score: float | None = None,
    speaker: str | None = None,
    langs: Iterable[str] | None = None,
    doc_ids: Iterable[str] | None = None,
) -> list[Hit]:
    """The verbatim passages that answer ``query``, best first; ``[]`` when none does.

    ``min_score`` replaces the confidence threshold (``Settings.min_confidence``, 0.5):
    lower answers more (0 or less: everything), higher less (above 1: nothing).
    ``speaker`` keeps only passages that are that person's words or quote them (any glossary
    spelling, e.g. "Fang Han", "方漢"); ``langs`` and ``doc_ids`` restrict the passages
    searched.
    """
    text = clean_query(query)
    k = check_k(k)
    if min_score is not None:
        if isinstance(min_score, bool) or not isinstance(min_score, int | float | np.floating):
            raise InvalidArgumentTypeError(
                f"min_score must be a number, got {type(min_score).__name__}"
            )
        if not np.isfinite(min_score):
            raise InvalidQueryError(
                f"min_score must be a finite number, got {min_score}: it is compared with a"
                " confidence of 0..1 (0 or less answers everything, above 1 nothing)"
            )
    for name, path in (("data_dir", data_dir), ("index_dir", index_dir)):
        if path is not None and not isinstance(path, str | Path):
            raise InvalidArgumentTypeError(
                f"{name} must be a path (str or Path) or None, got {type(path).__name__}"
            )
    for name, value in (("model", model), ("speaker", speaker)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentTypeError(
                f"{name} must be a str or None, got {type(value).__name__}"
            )
    lang_list = _str_list("langs", langs)
    if lang_list is not None and not set(lang_list) <= set(LANGS):
        bad = sorted(set(lang_list) - set(LANGS))
        raise InvalidQueryError(f"unknown language {bad[0]!r} in langs; use one of {LANGS}")
    doc_list = _str_list("doc_ids", doc_ids)
    engine = get_engine(data_dir, index_dir, model)
    return engine.search(text, k, min_score, speaker, lang_list, doc_list)


def _str_list(name: str, value: object) -> list[str] | None:
    """``value`` (None or an iterable of str) as a list; InvalidArgumentTypeError otherwise."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidArgumentTypeError(
            f"{name} must be a list of strings or None, got {type(value).__name__}"
        )
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgumentTypeError(
                f"{name} must be a list of strings; it holds a {type(item).__name__}"
            )
    if not items:
        # it would allow no passage at all, and [] would read as "nothing answers"
        raise InvalidQueryError(f"{name} is empty, which allows no passage; "
                                "pass None to search them all")
    return items


def evidence_for(query: str, engine: Engine) -> dict[str, Any]:
    """Debug helper: the abstention evidence for a query."""
    _, ev = engine.rank(clean_query(query), np.ones(len(engine.rows), dtype=bool))
    return {**ev, "confidence": engine.confidence(ev)}
