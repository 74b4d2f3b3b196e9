"""The engine end to end: real model, real FAISS index in a temp dir."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot import Hit, retrieve
from bot.errors import (
    IndexCorruptError,
    IndexLocationError,
    IndexMismatchError,
    InvalidArgumentTypeError,
    InvalidQueryError,
)
from bot.indexing import build_index
from bot.lexical import simplified
from bot.retrieve import Engine
from bot.settings import REPO_ROOT
from bot.store import MANIFEST, PASSAGES, VECTORS, read_rows


def ask(q: str, data_dir: Path, index_dir: Path, **kw) -> list[Hit]:
    return retrieve(q, data_dir=data_dir, index_dir=index_dir, **kw)


def source_text(hit: Hit) -> str:
    path = Path(hit.source_path)
    return (path if path.is_absolute() else REPO_ROOT / path).read_text(encoding="utf-8")


def test_manifest_and_passages(index_dir: Path):
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    for key in ("format_version", "model_id", "dim", "corpus_hash", "passage_count", "built_at"):
        assert key in manifest
    assert manifest["dim"] == 384
    rows = read_rows(index_dir)
    assert len(rows) == manifest["passage_count"] > 80


def test_hits_are_exact_cited_spans(data_dir: Path, index_dir: Path):
    hits = ask("why not open source?", data_dir, index_dir)
    assert hits
    for hit in hits:
        assert source_text(hit)[hit.start : hit.end] == hit.text
        assert hit.citation and f"¶{hit.paragraph}" in hit.citation
        assert hit.lang in {"en", "zh-Hans", "zh-Hant"}
        assert 0 < hit.score <= 1 and hit.match in {"strong", "good", "fair", "weak"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_passages_of_one_long_paragraph_have_their_own_citations(data_dir: Path, index_dir: Path):
    """The English article's second paragraph is split into many passages: each is cited with
    its part, so a copied citation locates it."""
    hits = retrieve("Robin Li open source closed source", 10, langs=["en"],
                    data_dir=data_dir, index_dir=index_dir)
    cited = [h.citation for h in hits if h.paragraph == 2]
    assert len(cited) >= 3 and len(set(cited)) == len(cited), cited
    assert all(re.search(r"¶2 \(part \d+ of \d+\)$", c) for c in cited), cited


def test_english_question_finds_chinese_only_answer(data_dir: Path, index_dir: Path):
    hits = ask("How many calls does ERNIE serve per day?", data_dir, index_dir)
    assert any("每天调用量超过6亿" in h.text for h in hits), [h.text[:40] for h in hits]


def test_chinese_question_finds_english_only_answer(data_dir: Path, index_dir: Path):
    hits = ask("王小川认为将来多少企业会用开源模型?", data_dir, index_dir, k=5)
    assert any("80% of enterprises" in h.text for h in hits), [h.text[:40] for h in hits]


def test_traditional_query_finds_simplified_passage_and_back(data_dir: Path, index_dir: Path):
    hits = ask("百度內部對於是否開源有過激烈的討論嗎?", data_dir, index_dir)
    assert any(h.lang == "zh-Hans" and "非常激烈的讨论" in h.text for h in hits)
    hits = ask("方汉怎么说推理成本?", data_dir, index_dir)
    assert any(h.lang == "zh-Hant" and "兩頭驢" in h.text for h in hits)


@pytest.mark.parametrize("question", ["李彥宏怎麼評價文心的性價比?", "方漢怎麼看推理成本?"])
def test_a_question_in_either_script_gets_the_same_answer(
    question: str, data_dir: Path, index_dir: Path
):
    # the encoder sees simplified characters (Settings.embed_simplified), the lexical side
    # folds: nothing is left that tells the two scripts apart
    simple = simplified(question)
    assert simple != question
    as_written = [(h.doc_id, h.start, h.score) for h in ask(question, data_dir, index_dir)]
    assert as_written
    assert as_written == [(h.doc_id, h.start, h.score) for h in ask(simple, data_dir, index_dir)]
    # ... while the traditional article's passages are shown as written, and encoded simplified
    rows = [r for r in read_rows(index_dir) if r["lang"] == "zh-Hant"]
    assert rows and all(r["embed_text"].endswith(simplified(r["text"])) for r in rows)
    assert any(simplified(r["text"]) != r["text"] for r in rows)


@pytest.mark.parametrize(
    "question",
    ["What is the weather in Paris tomorrow?", "今天比特币多少钱?", "如何煮一碗牛肉麵?"],
)
def test_off_topic_gets_no_answer(question: str, data_dir: Path, index_dir: Path):
    assert ask(question, data_dir, index_dir) == []


def test_min_score_loosens_and_tightens(data_dir: Path, index_dir: Path):
    q = "What is the weather in Paris tomorrow?"
    assert ask(q, data_dir, index_dir, min_score=0.0)  # loosest: always answers
    assert ask("why not open source?", data_dir, index_dir, min_score=1.01) == []


def test_filters(data_dir: Path, index_dir: Path):
    hits = ask("why not open source?", data_dir, index_dir, langs=["en"])
    assert hits and {h.lang for h in hits} == {"en"}
    hits = ask("why not open source?", data_dir, index_dir, doc_ids=["004_544973c9ced5136f"])
    assert hits and {h.doc_id for h in hits} == {"004_544973c9ced5136f"}


def test_a_filter_to_the_other_language_still_answers(data_dir: Path, index_dir: Path):
    # the plain cosine of a Chinese question to English passages is lower for all of them
    # alike; measured on language-neutral cosines the answer is still found
    hits = ask("百度为什么不开源?", data_dir, index_dir, langs=["en"])
    assert hits and {h.lang for h in hits} == {"en"}
    assert any("more Baidu one open source is not much" in h.text for h in hits)
    hits = ask("Why didn't Baidu open-source ERNIE?", data_dir, index_dir, langs=["zh-Hans"])
    assert hits and any("多百度一家开源不多" in h.text for h in hits)
    # ... and off-topic questions still get nothing
    assert ask("明天北京天气怎么样?", data_dir, index_dir, langs=["en"]) == []
    assert ask("What will the weather be in Paris?", data_dir, index_dir, langs=["zh-Hant"]) == []


def test_a_name_only_the_other_language_mentions_weighs_the_gap_across_languages(engine):
    """科大讯飞 is named by the English report alone and Fang Han by a Chinese one: the
    answer can only be a passage in the other language, which the plain cosine puts below
    the off-topic background of the question's own language."""
    mask = np.ones(len(engine.rows), dtype=bool)
    settings = engine.settings

    def evidence(question: str, on: bool = True) -> dict[str, float]:
        engine.settings = replace(settings, names_elsewhere_neutral=on)
        try:
            return engine.rank(question, mask)[1]
        finally:
            engine.settings = settings

    for question in ("科大讯飞推出了哪些行业的产品?",
                     "What example did Fang Han give about Nigeria?"):
        assert evidence(question)["neutral"] == 1.0, question
        assert evidence(question, on=False)["neutral"] == 0.0, question
    # named in the question's own language too, or nobody named: the plain gap
    for question in ("百度为什么不开源?", "方漢怎麼看推理成本?",
                     "What did Robin Li say about agents?"):
        assert evidence(question)["neutral"] == 0.0, question
    nigeria = "What example did Fang Han give about making films in Nigeria?"
    hits = engine.search(nigeria, 5)
    assert hits and "尼日利亞" in hits[0].text
    on, off = evidence(nigeria), evidence(nigeria, on=False)
    assert engine.confidence(on) > engine.confidence(off)


def test_a_filter_leaving_out_the_person_asked_about_gives_no_answer(
    data_dir: Path, index_dir: Path
):
    q = "What did Fang Han say about inference costs?"
    jiemian, nbd = "002_f6f756fde92d80d7", "004_544973c9ced5136f"
    assert ask(q, data_dir, index_dir, doc_ids=[nbd])[0].speaker == "Fang Han"
    # the Jiemian interview is Robin Li's: its passages on inference costs are not Fang Han's
    assert ask(q, data_dir, index_dir, doc_ids=[jiemian]) == []
    assert ask("方汉怎么看推理成本?", data_dir, index_dir, doc_ids=[jiemian]) == []
    # his own words count as mentioning him, named or not
    assert ask(q, data_dir, index_dir, speaker="Fang Han")
    # a product too: no English passage names SkyMusic (天工) or Tiangong
    assert ask("What is SkyMusic?", data_dir, index_dir, langs=["en"]) == []
    assert ask("What is SkyMusic?", data_dir, index_dir, doc_ids=[jiemian]) == []
    assert ask("What is SkyMusic?", data_dir, index_dir, doc_ids=[nbd])


def test_speaker_filter_takes_any_spelling_and_refuses_unknown_names(
    data_dir: Path, index_dir: Path
):
    q = "百度为什么不开源?"
    canonical = [(h.doc_id, h.start) for h in ask(q, data_dir, index_dir, speaker="Robin Li")]
    assert canonical
    for name in ["李彦宏", "李彥宏", "Li Yanhong", "robin li", " Yanhong Li ", "Robin  Li",
                 "Robin Li\u200b", "Li"]:  # (a pasted zero-width space; the surname alone)
        got = [(h.doc_id, h.start) for h in ask(q, data_dir, index_dir, speaker=name)]
        assert got == canonical, name
    for name in ["", "  ", "\u200b"]:
        with pytest.raises(InvalidQueryError, match="speaker is empty.*Fang Han, Robin Li"):
            ask(q, data_dir, index_dir, speaker=name)
    with pytest.raises(InvalidQueryError, match="Fang Han, Robin Li, Wang Xiaochuan"):
        ask(q, data_dir, index_dir, speaker="Elon Musk")
    # a Chinese name's family name comes first in its Latin spelling
    wang = ask("开源有什么好处?", data_dir, index_dir, speaker="Wang")
    assert wang and {h.speaker for h in wang} == {"Wang Xiaochuan"}
    with pytest.raises(InvalidQueryError, match="unknown document id 'nope'.*bot list"):
        ask(q, data_dir, index_dir, doc_ids=["nope"])
    # an empty filter list would allow nothing, and [] would read as "nothing answers"
    for empty in ({"langs": []}, {"doc_ids": ()}):
        with pytest.raises(InvalidQueryError, match="is empty.*pass None"):
            ask(q, data_dir, index_dir, **empty)


@pytest.mark.parametrize("who", [
    "陈平安怎么看闭源?", "王大锤怎么看开源?", "周鸿祎怎么看创业?",
    # a name that sounds like a word of the articles is no slip for it (张伟 / 长尾, 李勇 / 利用)
    "张伟怎么看开源大模型?", "李勇為什麼支持閉源?", "What does Zhang Wei think about open source?",
    # a family name and a title: the glossary's person of that family name, or nobody known
    "张总怎么看开源?",
])
def test_a_chinese_name_jieba_cuts_in_two_is_still_a_name(who: str, data_dir: Path,
                                                          index_dir: Path):
    # (陈 + 平安, 王 + 大锤: the given name is a common word, and was covered by the articles)
    assert ask(who, data_dir, index_dir) == []


@pytest.mark.parametrize("who", ["李总怎么看开源?", "李先生怎么看开源?", "小川怎么看开源?",
                                 "李燕宏为什么不开源?"])
def test_people_of_the_articles_by_title_or_given_name_are_known(who: str, engine) -> None:
    assert engine.lexical.unknown_names(who, engine.settings.name_max_zipf) == []


def test_a_speaker_filter_answers_its_side_of_a_comparison(engine) -> None:
    # Robin Li's words answer half of it; a question about someone else alone does not
    assert engine.search("How do Robin Li and Wang Xiaochuan differ on open source?", 5,
                         speaker="Robin Li")
    assert engine.search("方汉怎么看开源?", 5, speaker="Wang Xiaochuan") == []
    # the page lists people as "Robin Li · 李彦宏"; that label names him too
    assert engine.canonical_speaker("Robin Li · 李彦宏") == "Robin Li"
    # an added article's speaker, named in full or by a family name only they have
    saved = engine.other_speakers
    try:
        engine.other_speakers = ["Marisol Okonkwo-Reyes"]
        engine.__dict__.pop("_other_families", None)  # (cached from the engine's own speakers)
        for q in ("what does marisol okonkwo-reyes think?", "what does okonkwo-reyes think?"):
            assert engine._others_named(q) == ["Marisol Okonkwo-Reyes"]
        assert engine._others_named("what does marisol think?") == []
    finally:
        engine.other_speakers = saved
        engine.__dict__.pop("_other_families", None)


@pytest.mark.parametrize(
    "bare",
    ["ok", "好的", "嗯", "line one", "test", "哈哈", "line one line two", "line one\nline two"],
)
def test_a_bare_input_naming_nothing_gets_no_answer(bare: str, data_dir: Path, index_dir: Path):
    assert ask(bare, data_dir, index_dir) == []


@pytest.mark.parametrize("code", [
    "'; DROP TABLE passages; --", "SELECT * FROM users WHERE 1=1", "select * from 文章",
    "x' or '1'='1", "<img src=x onerror=alert(1)>", "UPDATE passages SET text='x'",
    "select id from users where id=1", "javascript:alert(1)",
    # (a third tester's: injections without quotes, one-column selects, hidden keywords)
    "1 OR 1=1", "1; DROP TABLE models", "open source' OR 'x'='x", "SELECT open_source FROM baidu",
    "SELECT DISTINCT speaker FROM passages", "SELECT COUNT(*) FROM passages", "admin'--",
    "Why not open source? SELECT * FROM users WHERE 1=1", "Robert'); DROP TABLE Students",
    "ＳＥＬＥＣＴ * ＦＲＯＭ users", "SEL\u200bECT * FROM users WHERE 1=1", "<svg/onload=alert(1)>",
])
def test_code_is_no_question(code: str, data_dir: Path, index_dir: Path):
    # the articles' dictionary knows "drop", "table" and "users": without this the coverage
    # of such input was complete and the tester saw five passages for it
    assert ask(code, data_dir, index_dir) == []


def test_questions_using_words_of_code_are_still_questions(data_dir: Path, index_dir: Path):
    from bot.lexical import is_code

    assert ask("Why did Baidu drop the open-source plan?", data_dir, index_dir)
    # (requests a tester wrote, which the first version of the check refused)
    for words in ("Select the best model from the table", "What does Li say about Oneself = ?",
                  "为什么 select 不开源?", "Select quotes from Robin Li about open source",
                  "select all from Fang Han on open source",
                  "Robin Li is against open source; update me on why",
                  "Is open source cheaper; drop the jargon please",
                  "I read it; -- why is Baidu closed source?",
                  "Did Robin Li say natural language will replace javascript: is code dead?",
                  "Select quotes from Baidu where Robin Li discusses agents",
                  "Create table comparing open source and closed source",
                  "Does the trade union select the AI model used at Baidu?",
                  "Open models < closed ones = Robin Li's view. Why?"):
        assert not is_code(words), words
    assert ask("Select quotes from Robin Li about open source", data_dir, index_dir)


@pytest.mark.parametrize("short", ["开源?", "GPU?", "inference costs", "百度"])
def test_a_short_question_naming_a_subject_is_answered(
    short: str, data_dir: Path, index_dir: Path
):
    assert ask(short, data_dir, index_dir)


def test_a_mistyped_index_folder_is_not_created(data_dir: Path, tmp_path: Path):
    target = tmp_path / "no" / "such" / "index"
    with pytest.raises(IndexLocationError, match="does not exist"):
        retrieve("why not open source?", data_dir=data_dir, index_dir=target)
    assert not (tmp_path / "no").exists()


def test_an_index_folder_holding_other_files_is_left_alone(data_dir: Path, tmp_path: Path):
    # a build swaps the whole directory: pointed at a folder of other things, it would
    # delete them, so it refuses before touching anything
    folder = tmp_path / "home"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    (folder / "sub" / "a.txt").write_text("and me", encoding="utf-8")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(IndexLocationError, match=r"2 file\(s\) or folder\(s\) that are not"):
        retrieve("why not open source?", data_dir=data_dir, index_dir=folder)
    with pytest.raises(IndexLocationError, match="not part of an index"):
        build_index(data_dir, folder)
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    with pytest.raises(IndexLocationError, match="is a file"):
        build_index(data_dir, tmp_path / "plain")
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert after == [*before, "plain"]  # nothing added, nothing removed (no lock file either)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(
    ("query", "k", "error"),
    [
        ("", 5, InvalidQueryError),
        ("   \n\t ", 5, InvalidQueryError),
        ("x" * 100_000, 5, InvalidQueryError),
        (None, 5, InvalidArgumentTypeError),
        (42, 5, InvalidArgumentTypeError),
        (["why"], 5, InvalidArgumentTypeError),
        ("why?", 0, InvalidQueryError),
        ("why?", -1, InvalidQueryError),
        ("why?", 10**9, InvalidQueryError),
        ("why?", 2.5, InvalidArgumentTypeError),
        ("why?", "5", InvalidArgumentTypeError),
        ("why?", True, InvalidArgumentTypeError),
    ],
)
def test_bad_input_gets_a_clear_error(query, k, error, data_dir: Path, index_dir: Path):
    with pytest.raises(error) as info:
        retrieve(query, k, data_dir=data_dir, index_dir=index_dir)
    assert str(info.value)


def test_control_characters_and_surrogates_are_dropped(data_dir: Path, index_dir: Path):
    hits = ask("why not\x00 open\x07 source?\ud800", data_dir, index_dir)
    assert hits


def test_same_remark_is_shown_once_with_also_in(data_dir: Path, index_dir: Path):
    hits = ask("闭源是有真正的商业模式的,是能够赚到钱的", data_dir, index_dir, k=10)
    top = hits[0]
    others = [r.doc_id for r in top.also_in]
    assert others, "the remark is reported by two articles"
    shown = {(h.doc_id, h.start) for h in hits}
    for rep in top.also_in:
        assert (rep.doc_id, rep.start) not in shown
        assert source_text(rep)[rep.start : rep.end] == rep.text  # type: ignore[arg-type]


def test_a_when_question_shows_the_report_that_dates_it(engine) -> None:
    """The Chinese report of the leaked speech says 日前 ("recently"), its English rendering
    "On April 11": for a when-question the dated one is the card, the other listed under it."""
    hits = engine.search("李彦宏的内部讲话是哪天流出的?", 5)
    assert hits[0].text.startswith("On April 11"), hits[0].text[:30]
    assert any("日前流出" in r.text for r in hits[0].also_in)
    # ... not for other questions, and never past a filter
    hits = engine.search("李彦宏的内部讲话说了什么?", 5)
    assert all(not h.text.startswith("On April 11") for h in hits)
    hits = engine.search("李彦宏的内部讲话是哪天流出的?", 5, langs=["zh-Hans"])
    assert hits and all(h.lang == "zh-Hans" for h in hits)


def test_parallel_counterpart(data_dir: Path, index_dir: Path):
    hits = ask("创业公司讲的双轮驱动是不是好模式", data_dir, index_dir, langs=["zh-Hans"])
    pair = next(h for h in hits if "双轮驱动" in h.text)
    assert pair.parallel is not None and pair.parallel.lang == "en"
    assert "two-wheel drive" in pair.parallel.text


def _copy_index(index_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(index_dir, dest)
    return dest


def test_round_trip_load_matches_saved(data_dir: Path, index_dir: Path, tmp_path: Path):
    copy = _copy_index(index_dir, tmp_path)
    a = Engine(data_dir, index_dir, build_if_missing=False)
    b = Engine(data_dir, copy, build_if_missing=False)
    assert a.rows == b.rows
    assert (a.vectors == b.vectors).all()


@pytest.mark.parametrize("name", [VECTORS, PASSAGES])
def test_truncated_file_is_refused_with_rebuild_command(
    name: str, data_dir: Path, index_dir: Path, tmp_path: Path
):
    copy = _copy_index(index_dir, tmp_path)
    blob = (copy / name).read_bytes()
    (copy / name).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(IndexCorruptError, match="python -m bot build"):
        Engine(data_dir, copy, build_if_missing=False)


def test_garbage_manifest_is_refused(data_dir: Path, index_dir: Path, tmp_path: Path):
    copy = _copy_index(index_dir, tmp_path)
    (copy / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Engine(data_dir, copy, build_if_missing=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [("model_id", "some/other-model"), ("corpus_hash", "0" * 64), ("format_version", 99)],
)
def test_mismatched_manifest_is_refused(
    field: str, value, data_dir: Path, index_dir: Path, tmp_path: Path
):
    copy = _copy_index(index_dir, tmp_path)
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest[field] = value
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="python -m bot build"):
        Engine(data_dir, copy, build_if_missing=False)


def test_changed_corpus_is_detected(data_dir: Path, index_dir: Path, tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    catalog = json.loads((data / "catalog.json").read_text(encoding="utf-8"))
    catalog["documents"][0]["title"] = "changed"
    (data / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="corpus_hash"):
        Engine(data, index_dir, build_if_missing=False)


def test_missing_index_is_built_and_rebuild_is_atomic(data_dir: Path, tmp_path: Path):
    target = tmp_path / "fresh"
    hits = retrieve("why not open source?", data_dir=data_dir, index_dir=target)
    assert hits and (target / MANIFEST).is_file()
    before = (target / MANIFEST).read_text(encoding="utf-8")
    report = build_index(data_dir, target)
    assert report.encoded == 0  # every passage's vector was reused
    assert (target / MANIFEST).read_text(encoding="utf-8") != before  # new build time
    assert not list(tmp_path.glob(".fresh.tmp-*"))


def test_speaker_filter_keeps_quotations_and_refuses_a_shared_surname(engine) -> None:
    # a reporter's paragraph quoting Robin Li is kept when asking for his words (one is
    # made so: the articles' own such paragraph now takes his name from its Chinese original)
    quoting = next(
        i for i, r in enumerate(engine.rows)
        if any(q.get("speaker") == "Robin Li" for q in r["quotes"])
    )
    saved = engine.speakers
    try:
        names = saved.tolist()
        names[quoting] = ""
        engine.speakers = np.array(names)
        engine._speaker_masks.clear()
        assert engine.filter_mask(speaker="Robin Li")[quoting]
        assert not engine.filter_mask(speaker="Fang Han")[quoting]
        names = saved.tolist()
        names[0], names[1] = "Maria Okafor", "Grace Okafor"
        engine.speakers = np.array(names)
        engine._speaker_masks.clear()
        with pytest.raises(InvalidQueryError, match="family name of Grace Okafor and Maria"):
            engine.filter_mask(speaker="Okafor")
        assert engine.filter_mask(speaker="Grace Okafor").sum() == 1
    finally:
        engine.speakers = saved
        engine._speaker_masks.clear()
