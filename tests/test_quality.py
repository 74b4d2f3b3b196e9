"""Retrieval quality and quote intelligence: folding, aliases, abstention, quotes, speakers.

Real model, real index (the session fixtures in conftest.py).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot import retrieve
from bot.errors import CorpusError, QuoteBotError
from bot.evaluate import load_questions, run, summarize
from bot.lexical import (
    Bridge,
    Expander,
    LexicalIndex,
    _cedict,
    _gloss_name,
    _spells_pinyin,
    asks_for,
    asks_reason,
    attributes_asked,
    cjk_ngrams,
    figures,
    fold,
    gives_date,
    gives_disagreement,
    gives_reason,
    lists_topics,
    load_glossary,
    only_asks,
    only_introduces,
    subject_tokens,
    tokenize,
)
from bot.quotes import (
    Context,
    attribute,
    discover_people,
    find_quotes,
    load_people,
    people_named,
    people_opposed,
    people_set_aside,
    quote_spans,
    speaker_in_context,
)
from bot.retrieve import evidence_for
from bot.settings import REPO_ROOT

TEST_DATA = REPO_ROOT / "tests" / "data"
OWN_SET = TEST_DATA / "questions.jsonl"


def test_folding_maps_traditional_and_full_width_to_one_form():
    assert fold("開源模型") == fold("开源模型") == "开源模型"
    assert fold("ＥＲＮＩＥ　４.０") == "ernie 4.0"
    assert "开源" in tokenize("李彥宏為什麼不開源")


def test_glossary_aliases_expand_across_languages(data_dir: Path):
    expander = Expander(load_glossary(data_dir))
    extra = expander.expand(fold("What does Li Yanhong think of Wenxin?"))
    assert "李彦宏" in extra and "文心一言" in extra
    assert "closed source" in expander.expand(fold("闭源有什么好处"))
    assert expander.expand(fold("What is the weather today?")) == []
    # an English alias in the plural (the glossary lists "start-up", a tester wrote
    # "start-ups"); a short one stays whole ("li" is not "lis")
    assert "创业公司" in expander.expand(fold("How does Robin Li view large-model start-ups?"))
    assert "李彦宏" not in expander.expand(fold("Lis and Wangs"))


def test_every_glossary_entry_names_something_the_articles_mention(engine):
    text = fold("\n".join(r["text"] for r in engine.rows))
    for entry in load_glossary(engine.data_dir):
        assert any(fold(a) in text for a in entry.aliases), entry.canonical


def test_dictionary_names_translate_by_the_name_a_gloss_opens_with():
    assert _gloss_name("Pinduoduo, social e-commerce company founded in 2015") == [("pinduoduo",)]
    assert _gloss_name("Weixin or WeChat (mobile text and voice messaging service)") == [
        ("weixin",), ("wechat",)]
    assert _gloss_name("Microsoft") == [], "a one-word gloss translates already"
    assert _gloss_name("rivers") == _gloss_name("to run (a company), to manage") == []
    bridge = Bridge({"拼多多", "pinduoduo", "微信", "wechat"})
    assert bridge.translate(["pinduoduo"]) == ["拼多多"]
    assert bridge.translate(["微信"]) == ["wechat"]


def test_dictionary_synonyms_each_translate_on_their_own():
    # CC-CEDICT: 安全 /safe; secure/safety; security/ -- a semicolon separates synonyms
    senses = dict(_cedict())
    assert ("secur",) in senses["安全"] and ("safe", "secur") not in senses["安全"]
    assert ("benefit",) in senses["好处"]
    bridge = Bridge({"安全", "secur", "好处", "benefit"})
    assert bridge.translate(["安全"]) == ["secur"]
    assert "好处" in bridge.translate(["benefit"])
    # a bracket may hold a semicolon of its own; brackets go before the split
    assert len(senses["三牲"]) == 1, senses["三牲"]


def test_glossary_person_names_are_canonical_in_every_script(data_dir: Path):
    people = load_people(data_dir / "glossary.json")
    assert people_named(fold("方漢怎麼看開源"), people) == ["Fang Han"]
    assert people_named(fold("李彦宏和Wang Xiaochuan"), people) == ["Robin Li", "Wang Xiaochuan"]
    assert people_named(fold("Robin Hood"), people) == []  # a lone first name is no match


def test_a_person_is_named_by_a_title_at_their_organisation(data_dir: Path):
    expander = Expander(load_glossary(data_dir))
    for q in ("What does Kunlun's CEO think of open source?", "the chairman of Kunlun Wanwei",
              "昆侖萬維董事長怎麼看開源", "昆仑万维CEO如何看推理成本"):
        assert expander.people_by_role(fold(q)) == ["Fang Han"], q
    assert expander.people_by_role(fold("百度创始人如何看待智能体")) == ["Robin Li"]
    assert expander.people_by_role(fold("Baidu's founder on agents")) == ["Robin Li"]
    for q in ("Baidu's products", "What did the CEO say?", "Kunlun's music model",
              "昆仑万维发布了音乐模型。CEO表示", "Baidu's many competitors and their founders"):
        assert expander.people_by_role(fold(q)) == [], q
    # the role expands to the person's names on the lexical side
    assert "方汉" in expander.expand(fold("Kunlun's CEO on open source"))


def test_a_role_puts_that_persons_words_first(data_dir: Path, index_dir: Path):
    hits = retrieve("What does Kunlun Wanwei's chairman think of open-source models?", 5,
                    data_dir=data_dir, index_dir=index_dir)
    assert hits[0].speaker == "Fang Han"


def test_a_glossary_org_must_name_an_entry(tmp_path: Path, data_dir: Path):
    raw = json.loads((data_dir / "glossary.json").read_text(encoding="utf-8"))
    person = next(e for e in raw["entries"] if e["canonical"] == "Fang Han")
    person["org"] = "Kunlun Wanwie"
    (tmp_path / "glossary.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    with pytest.raises(CorpusError, match="Kunlun Wanwie"):
        load_glossary(tmp_path)
    shutil.copy(data_dir / "glossary.json", tmp_path / "glossary.json")
    assert load_glossary(tmp_path)  # the shipped one is consistent


def test_without_a_glossary_questions_are_still_answered(
    tmp_path: Path, data_dir: Path, index_dir: Path
):
    # the glossary only adds aliases; its absence (a corpus of one's own) loses those, not
    # the answers: "open source" is a phrase the articles use, so it names their topic
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    (data / "glossary.json").unlink()
    shutil.copytree(index_dir, tmp_path / "index")
    for question in ("why not open source?", "百度为什么不开源?"):
        assert retrieve(question, data_dir=data, index_dir=tmp_path / "index"), question
    for bare in ("ok", "line one", "thank you"):
        assert retrieve(bare, data_dir=data, index_dir=tmp_path / "index") == [], bare


def test_an_interviewers_question_comes_after_the_answer(engine):
    """A tester's: "百度算不算大公司?" ranked the host's question (随后主持人反问,“百度算不算大
    公司?”) first, as 'highly relevant', and Robin Li's answer second."""
    assert only_asks("随后主持人反问,“百度算不算大公司?”", 80)
    assert not only_asks("百度算大公司。", 80) and not only_asks("为什么?" + "很长" * 50, 80)
    hits = engine.search("百度算不算大公司?", 5)
    assert "百度算大公司" in hits[0].text, [h.text[:20] for h in hits]
    # someone's own rhetorical question is their words, and stays where it ranks
    assert not engine.questions[[r["speaker"] == "Robin Li" for r in engine.rows]].any()
    # a line that announces what follows answers nothing either (a tester's: it came third,
    # "fair", for "When was Robin Li's internal speech?")
    assert only_introduces("以下是李彦宏内部问答的原文摘要:", 80)
    assert not only_introduces('He said: "Costs will fall."', 80)
    intro = next(i for i, r in enumerate(engine.rows) if r["text"].endswith("原文摘要:"))
    assert engine.questions[intro]
    hits = engine.search("When was Robin Li's internal speech?", 5)
    assert all(not h.text.endswith("原文摘要:") for h in hits)
    # ... nor does a lead that lists the talk's topics, which the question repeats word for
    # word: the example button 為什麼百度強調智能體? put it first, "strong" (a tester's)
    assert lists_topics("近日,李彦宏在百度内部做了一次讲话,内容涉及开源模型的问题,以及百度为什么要"
                        "强调智能体等方面。")
    assert not lists_topics("李彦宏表示,智能体的门槛很低。")
    hits = engine.search("為什麼百度強調智能體?", 5)
    assert hits[0].text.startswith("为什么我们这么强调智能体?"), hits[0].text[:30]


def test_why_questions_favour_passages_that_give_a_reason(engine):
    assert asks_reason(fold("為什麼百度不開源?")) and asks_reason(fold("Why not open source?"))
    assert not asks_reason(fold("What did Whyte say?"))
    assert gives_reason("而百度之所以決定不開源") and gives_reason("because it is cheaper")
    assert not gives_reason("李彦宏表示,开源模型会越来越落后。")
    assert 0 < engine.reasons.sum() < len(engine.rows) / 3
    mask = np.ones(len(engine.rows), dtype=bool)
    settings = engine.settings

    def fused(question: str, w_reason: float) -> np.ndarray:
        engine.settings = replace(settings, w_reason=w_reason)
        try:
            ranked, _ = engine.rank(question, mask)
        finally:
            engine.settings = settings
        out = np.zeros(len(engine.rows))
        out[[c.idx for c in ranked]] = [c.fused for c in ranked]
        return out

    for question, asks in (("Why did Baidu keep Wenxin closed source?", True),
                           ("What did Baidu decide about open source?", False)):
        lift = fused(question, 0.03) - fused(question, 0.0)
        expected = 0.03 * engine.reasons if asks else np.zeros(len(engine.rows))
        np.testing.assert_allclose(lift, expected, atol=1e-9)


def test_when_and_how_many_questions_favour_dates_and_figures(engine):
    assert asks_for(fold("李彥宏的內部講話是幾月幾號曝光的?")) == "date"
    assert asks_for(fold("When was Robin Li's speech reported?")) == "date"
    assert asks_for(fold("How many GPUs does training take?")) == "amount"
    assert asks_for(fold("文心每天被調用多少次?")) == "amount"
    # "when asked, ..." is not a when-question; 没产生多少 is "not much", not a how-many
    assert asks_for(fold("When asked, did Li admit Baidu is a big company?")) is None
    assert asks_for(fold("为什么那一波AI没产生多少商业价值?")) is None
    assert gives_date("4月16日上午,在閉門溝通會上") and gives_date("On April 11, the reporter")
    assert not gives_date("It may be cheaper") and not gives_date("开源模型会越来越落后")
    assert figures("一百多个基础大模型")[0] and figures("上万张卡")[0] and figures("80% of")[0]
    assert figures("百度和百川的百模大战") == (False, frozenset())
    assert figures("文心4.0的效果") == (False, frozenset({"4.0"}))
    # a date is no figure: "how much revenue?" is not answered by 今年1月初 ... 收入
    assert figures("今年1月初,2023年3月16日, April 2024") == (False, frozenset())
    mask = np.ones(len(engine.rows), dtype=bool)
    settings = engine.settings

    def ranked(question: str, w: float) -> list[int]:
        engine.settings = replace(settings, w_answer_kind=w)
        try:
            return [c.idx for c in engine.rank(question, mask)[0]]
        finally:
            engine.settings = settings

    # the speaker prior puts Robin Li's own words first when he is named; asked *when*, the
    # answer is the reporter's sentence that dates the event
    question = "When was Robin Li's internal speech on open source reported?"
    top = ranked(question, settings.w_answer_kind)[0]
    assert engine.dates[top] and engine.speakers[top] != "Robin Li"
    assert engine.speakers[ranked(question, 0.0)[0]] == "Robin Li"
    # a figure the question writes itself does not count as one the passage states
    figure = engine._states_figure(fold("How many parameters does ERNIE 4.0 of Create 2024 have?"))
    own = [i for i, n in enumerate(engine.numbers)
           if n and n <= {"4.0", "2024"} and not engine.figure_words[i]]
    assert own and not figure[own].any() and 0 < figure.sum() < len(engine.rows)
    assert engine._states_figure(fold("How many parameters does ERNIE have?"))[own].all()
    assert gives_date("一年前文心刚刚发布的时候") and gives_date("a year ago, when")


def test_ranking_cosines_leave_out_the_language(engine):
    axis, coord = engine.language_axis, engine.language_coord
    assert axis is not None and abs(float(np.linalg.norm(axis)) - 1.0) < 1e-5
    en = engine.families == "en"
    # the axis is the language: every English passage lies further along it than any Chinese
    assert coord[en].min() > coord[~en].max()

    def strip(x: np.ndarray) -> np.ndarray:
        y = x - np.outer(x @ axis, axis).reshape(x.shape)
        return y / np.linalg.norm(y, axis=-1, keepdims=True)

    q = engine.encoder.encode_queries(["Why did Baidu keep Wenxin closed source?"])[0]
    cos = engine.vectors @ q
    neutral = engine.neutral_cosines(cos, q)
    np.testing.assert_allclose(neutral, strip(engine.vectors) @ strip(q), atol=1e-5)
    # an English question no longer leans towards English passages as such
    assert (neutral[~en].mean() - neutral[en].mean()) > (cos[~en].mean() - cos[en].mean())

    families = engine.families
    try:  # one language only: nothing to take out
        engine.families = np.full(len(families), "en")
        assert engine._language_axis()[0] is None
    finally:
        engine.families = families


def test_names_the_corpus_never_mentions(engine):
    def names(question: str) -> list[str]:
        return engine.lexical.unknown_names(question, engine.settings.name_max_zipf)

    assert names("What did Jensen Huang say about closed-source models?") == ["jensen", "huang"]
    assert names("李開復怎麼看開源大模型?") == ["李开复"]
    assert names("Kimi的用户多吗?") == ["kimi"]
    # two capitalised words the corpus knows neither of: a full name, though each is common
    assert names("What does Jack Ma think about large models?") == ["jack ma"]
    assert names("What does Tim Cook think about open source?") == ["tim cook"]
    assert names("What does Mark Zuckerberg think about open source?") == ["zuckerberg"]
    # named in some spelling: glossary alias, the other language, the dictionary, pinyin
    for question in (
        "What did Fang Han say about Nigeria?",
        "Where would a top engineer in Silicon Valley choose to work?",
        "硅谷的工程师会怎么选?",
        "Is Tiangong 3.0 open source?",
        "Do Llama and Mistral matter, according to Li Yanhong?",
        "百度的文心一言和GPT-4比怎么样?",
        # a capitalised common word is not a name; an English question's first word is
        # capitalised anyway
        "Does Western culture dominate, according to Fang Han?",
        "Nigeria's film costs?",
        # the outlets and authors of the catalogue, which every citation shows
        "What does the Yicai report say about open source?",
        "Did TMTPost quote Robin Li on the hundred-model war?",
        # a measure word after a numeral, not a surname (jieba tags 张卡 as a person), and a
        # word CC-CEDICT knows only as a common one (jieba tags 扎堆 as a place)
        "训练一个大模型要多少张卡?",
        "创业公司扎堆做大模型有意义吗?",
        # capitalised pairs the corpus knows: a name, a title, words of a title-case question
        "What did Wang Xiaochuan say about open source?",
        "Who disagrees with Robin Li?",
        "How Do Open Source Models Make Money?",
        "What is Baidu Create?",
        # a version written without its hyphen, or of something named only without one
        "Is ERNIE better than GPT4?",
        "Is ERNIE better than GPT 4?",
        "Is ERNIE4 better than GPT 4o?",
        "Is Wenxin 4 any good?",
        "百度的EB3.5和EB4用得怎么样?",
        # a word with digits is a name only if its letters are rare ("line" is not)
        "line1\n李彦宏怎么看智能体",
        # a glossary name with a letter wrong, a Chinese name typed by its sound
        "What does Robn Li think about AI agents?",
        "李燕宏怎么看开源?",
        # versions of ERNIE the articles name, in Chinese, and a year after it
        "文心4.0有什么新功能?", "文心大模型3.5和4.0差在哪?", "文心一言2023年的用户多吗?",
        # written Cantonese: jieba tags 喺边 ("where") as a person's name
        "開源大模型到底適合用喺邊啲領域", "方漢喺邊度講過推理成本?",
    ):
        assert names(question) == [], question
    # ... but not a version the articles do not name of a thing they name by versions, nor a
    # name one letter from a common word, nor a Chinese name that only looks like one
    assert names("When will OpenAI release GPT 5?") == ["gpt-5"]
    assert names("When will OpenAI release GPT5?") == ["gpt-5"]
    assert names("Is Gemini2 better than ERNIE?") == ["gemini-2"]
    assert names("What did Robin Li say about ERNIE 5.0?") == ["ernie-5.0"]
    assert names("文心一言5.0什么时候发布?") == ["文心一言5.0"]
    assert names("百度的文心 5.0 怎么样") == ["文心5.0"]
    assert names("What did Robin Li say about Llama3?") == ["llama-3"]  # they name Llama 2
    assert names("王小明怎么看开源?") == ["王小明"]
    # a Chinese name typed in lower-case pinyin is a name all the same ...
    assert names("how are meituan shares doing") == ["meituan"]
    assert names("robin li on xiaohongshu and zhipu") == ["xiaohongshu", "zhipu"]
    # ... and a commoner word that is the pinyin of a name the dictionary lists (小米; a tester's)
    assert names("how did xiaomi respond to ernie") == ["xiaomi"]
    # ... but not one the articles name (in either script, or as pinyin of their words), nor
    # an English word that happens to spell pinyin, nor a lower-case typo
    for question in ("robin li on pinduoduo", "fang han kunlun wanwei tiangong",
                     "is a banana open source", "robin li hundread model war",
                     "what does the piece liken the large model to?", "ernie daily calls"):
        assert names(question) == [], question


def test_a_lower_case_word_with_a_letter_wrong_is_read_as_meant(engine):
    """A tester's: "robin li opne sourse" got no answer (only names were forgiven a typo)."""
    spell = engine.lexical.as_the_articles_spell
    assert spell("robin li opne sourse") == "robin li open source"
    assert spell("waht did fang han say about inferense costs?") == (
        "what did fang han say about inference costs?")
    # (a word the passages lack, from English: agnets -> agents)
    assert spell("what does robin li think abuot agnets?") == (
        "what does robin li think about agents?")
    # a word of the passages or of English stays, and so does pinyin: a name they may never
    # mention ("meituan") or mean ("ernei" is no slip for ernie here)
    for question in ("how did meituan shares react", "why not open source?", "baidu ernei bot",
                     "does robin li liken models to operating systems?"):
        assert spell(question) == question
    assert engine.search("robin li opne sourse", 5)


def test_character_ngrams_match_what_segmentation_splits_apart():
    assert cjk_ngrams("打榜時") == ["打榜", "榜时"]
    assert cjk_ngrams("AI 打榜", (1, 2)) == ["打", "榜", "打榜"]
    index = LexicalIndex(["学生们刷题到深夜。", "大家都在讨论价格。", "今天北京天气很好。"],
                         char_ngrams=(2,))
    question = "你愛刷題嗎?"
    # jieba cuts the question ("爱刷题") and the passage ("刷题") apart differently
    assert not set(tokenize(question)) & set(tokenize("学生们刷题到深夜。"))
    assert not index.scores(question).any()
    chars = index.char_scores(question)
    assert chars.argmax() == 0 and not chars[1:].any()
    assert not LexicalIndex(["打榜"]).char_scores("打榜").any(), "off unless sizes are given"


def test_a_misspelt_name_or_version_ranks_as_if_spelt_right(engine):
    spell = engine.lexical.as_the_articles_spell
    assert spell("Why does Robn Li prefer X?") == "Why does Robin Li prefer X?"
    assert spell("李燕宏怎么看开源?") == "李彦宏怎么看开源?"
    assert spell("Is GPT4 better than GPT 4o?") == "Is GPT-4 better than GPT-4o?"
    # what is spelt right, or unknown, is left as it is
    for question in ("How good is EB4?", "What does Tim Cook think?", "王小明怎么看开源?"):
        assert spell(question) == question
    right, wrong = (
        [(h.doc_id, h.start) for h in engine.search(f"Why does {name} prefer closed models?", 5)]
        for name in ("Robin Li", "Robn Li")
    )
    assert right and right == wrong


def test_pinyin_syllables_run_together():
    assert _spells_pinyin("meituan") and _spells_pinyin("xiaohongshu")
    assert not _spells_pinyin("deepseek") and not _spells_pinyin("tuan")  # one syllable
    assert not _spells_pinyin("leaderbords")


def test_a_name_is_known_by_its_pinyin():
    index = LexicalIndex(["陈晓明表示,开源很重要。"], bridge_weight=1.0)
    assert index.unknown_names("What did Chen Xiaoming say?", 4.5) == []
    assert index.unknown_names("What did Chen Xiaohong say?", 4.5) == ["chen", "xiaohong"]


def test_a_question_naming_someone_the_articles_never_mention_gets_nothing(engine):
    question = "What did Jensen Huang say about closed-source models?"
    settings = engine.settings
    try:
        engine.settings = replace(settings, unknown_name_weight=0.0)
        assert engine.search(question, 5), "the rest of the question is on topic"
    finally:
        engine.settings = settings
    assert engine.search(question, 5) == []
    for question in ("What does Tim Cook think about open source?",
                     "How did Sam Altman respond to Robin Li's criticism of open source?"):
        assert engine.search(question, 5) == [], question


def test_names_are_stripped_to_what_the_question_asks(engine):
    strip = engine.expander.strip_names
    assert strip(fold("李彥宏喜歡什麼運動?")) == "喜欢什么运动?"
    assert strip(fold("What did Fang Han and Kunlun Tech say?")) == "what did and say?"
    # products and terms are the subject
    assert strip(fold("ERNIE的开源 agents")) == "ernie的开源 agents"
    assert Expander([]).strip_names("李彦宏") == "李彦宏"
    # what is left names a subject only through words other than the framing of the question
    assert subject_tokens(strip(fold("Tell me about Robin Li's advice"))) == []
    assert subject_tokens(strip(fold("李彦宏的家乡在哪里?"))) == ["家乡", "哪里"]


@pytest.mark.parametrize(
    "question",
    ["Robin Li's hobbies?", "李彦宏的家乡在哪里?", "李彥宏喜歡什麼運動?", "百度总部在哪里?"],
)
def test_a_known_name_with_an_unrelated_question_gets_nothing(engine, question: str):
    settings = engine.settings
    try:
        # (without the fact check too, which refuses "hobbies" on its own since it was added)
        engine.settings = replace(settings, topic_margin=None, attribute_depth=None)
        assert engine.search(question, 5), "near the articles through the name alone"
    finally:
        engine.settings = settings
    assert engine.search(question, 5) == []
    evidence = evidence_for(question, engine)
    assert evidence["topic_top"] < evidence["dense_top"]


@pytest.mark.parametrize(
    "question",
    [
        "What does Robin Li think about open source?",
        "方汉怎么看推理成本?",
        "Who is Fang Han?",
        "How many calls does ERNIE serve per day?",
        # nothing but the name and the framing of a question about their words
        "Tell me about Robin Li",
        "Robin Li's advice?",
        "What's Baidu doing?",
        "百度的立场",
        "李彦宏的建议",
    ],
)
def test_a_known_name_with_an_article_topic_is_answered(engine, question: str):
    assert engine.search(question, 5)


def test_quote_spans_are_exact_source_characters(engine):
    quotes = 0
    for row in engine.rows:
        source = engine.docs[row["doc_id"]].read_text()
        for q in row["quotes"]:
            quotes += 1
            assert source[q["start"] : q["end"]] == q["text"]
            assert row["start"] <= q["start"] < q["end"] <= row["end"]
    assert quotes > 30


def test_find_quotes_handles_every_mark_and_unclosed_ones():
    text = '他说“开源会落后”,又说「閉源更便宜」和"open source is slow"以及“没有闭合 '
    spans = [text[a:b] for a, b in find_quotes(text)]
    # one left open runs on into the next paragraph: it is quoted to the passage's end
    assert spans == ["开源会落后", "閉源更便宜", "open source is slow", "没有闭合"]


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        # the same marks nested: the outer quotation, whole (it was cut at the inner close)
        ("他说。“假如你想找一个“黄色的泳裤”,你找不到。”然后",
         ["假如你想找一个“黄色的泳裤”,你找不到。"]),
        # the last paragraph of a quotation: from the passage's start to its closing mark
        ("是可以提供价值增益的。”李彦宏说。“下一句”", ["是可以提供价值增益的。", "下一句"]),
        # straight quotes read by their neighbours, the passage starting inside one
        ('obvious choice. " \'people think\' he said. "We "', ["obvious choice. ", "We "]),
        ('He said "open" is "slow".', ["open", "slow"]),
        ('free," Li said.', ["free,"]),
        # single quotes, closed after what was said ending in a comma or stop (001, a tester);
        # an apostrophe is none
        ("choice. 'people think it's free, but it's not,'he said.",
         ["people think it's free, but it's not,"]),
        ("He has OpenAI's offer, Meta's offer and the models' weights.", []),
        # ... typeset too (a tester's), the apostrophe typeset as well
        ("‘Open source isn’t free,’ he said.", ["Open source isn’t free,"]),
    ],
)
def test_find_quotes_nested_and_across_paragraphs(text: str, quoted: list[str]):
    assert [text[a:b] for a, b in find_quotes(text)] == quoted


def test_a_so_called_term_is_no_quotation(engine):
    """000: 外界一些做模型的创业公司讲的所谓的“双轮驱动” (and 001's "so-called "two-wheel
    drive"") name the start-ups' slogan; they are not Robin Li's words."""
    rows = [r for r in engine.rows if "双轮驱动" in r["text"] or "two-wheel drive" in r["text"]]
    assert len(rows) >= 2
    assert not [q for r in rows for q in r["quotes"]
                if q["text"] in ("双轮驱动", "two-wheel drive")]


def test_a_term_in_quotation_marks_is_no_quotation(engine):
    """003: 利用文心一言“重构”应用,而不是把当作“工具”, 000: 对于“是否开源”有过非常激烈的讨论,
    001: OpenAI is "not open source": terms a sentence puts in marks, shown as nobody's words
    (a tester saw them bold as Robin Li's quotations). Short speech keeps its marks: 跑分竞争其实是
    “挺无聊的” ends as speech does, and 表示:“…” introduces it."""
    quoted = {q["text"] for r in engine.rows for q in r["quotes"]}
    for term in ("重构", "工具", "是否开源", "百模大战", "not open source", "horse racing",
                 "天工3.0", "天工SkyMusic"):
        assert any(f"“{term}”" in r["text"] or f'"{term}"' in r["text"] for r in engine.rows)
        assert term not in quoted, term
    assert "挺无聊的" in quoted
    spans = quote_spans("李彦宏表示:“不行。”他说“算了”。", "", [], "Robin Li")
    assert ["不行。", "算了"] == [
        "李彦宏表示:“不行。”他说“算了”。"[s.start : s.end] for s in spans]


def test_a_quotation_over_two_paragraphs_is_quoted_in_both(engine):
    """000 ¶10-11: “假如说…“黄色的无兜的男士泳裤”… runs to the end of ¶11, marked at its two
    ends only; both passages quote Robin Li, and the first one past the inner quotation."""
    first = next(r for r in engine.rows if "黄色的无兜的男士泳裤" in r["text"])
    second = next(r for r in engine.rows if r["text"].startswith("市面上有这么多模型"))
    assert first["quotes"][-1]["text"].startswith("假如说你今天想找一个“黄色的无兜的男士泳裤”,")
    assert first["quotes"][-1]["end"] == first["end"]
    assert second["quotes"][0]["start"] == second["start"]
    assert second["quotes"][0]["text"].endswith("是可以提供价值增益的。")
    assert {q["speaker"] for q in first["quotes"] + second["quotes"]} == {"Robin Li"}


# Hand-labelled: a passage (by a unique snippet) and who the article says is speaking.
def test_speaker_attribution_on_a_hand_labelled_sample(engine):
    """Every passage of the corpus, labelled by hand without seeing the system (who speaks, or
    null for narration, questions and people outside the glossary): data/speakers.jsonl."""
    labels = [json.loads(line) for line in (TEST_DATA / "speakers.jsonl").read_text().splitlines()]
    right, named, named_right, labelled = 0, 0, 0, 0
    wrong = []
    for label in labels:
        row = next(r for r in engine.rows if r["text"].startswith(label["starts"]))
        said, truth = row["speaker"], label["speaker"]
        right += said == truth
        named += said is not None
        named_right += said is not None and said == truth
        labelled += truth is not None
        if said != truth:
            wrong.append((label["starts"], said, truth))
    assert len(labels) == len(engine.rows) == 121
    # measured: 119/121 right, 91 of 91 named speakers right, 91 of 93 labelled ones found
    # (three English renderings of Robin Li's words take the speaker of their Chinese original)
    assert right / len(labels) >= 0.93, wrong
    assert named_right / named >= 0.98, wrong
    assert named_right / labelled >= 0.9, wrong


def test_attribution_after_the_quote_and_by_pronoun(data_dir: Path):
    people = load_people(data_dir / "glossary.json")
    spans, who = attribute("“闭源才有商业模式。”李彦宏说。", "", "", people)
    assert who == "Robin Li" and spans[0].speaker == "Robin Li"
    _, who = attribute("他还认为,应用才是关键。", "方汉表示,开源是PR手段。", "", people)
    assert who == "Fang Han"
    _, who = attribute("The weather was fine.", "", "", people)
    assert who is None


def test_he_said_after_a_disagreement_is_the_one_who_disagrees(data_dir: Path):
    """A tester's: the quotation after 'Zhang disagreed with Robin Li's view' went to Robin Li
    (named last), so a speaker filter for Robin Li returned the rebuttal as his words."""
    glossary = load_people(data_dir / "glossary.json")
    lead = ('ByteDance founder Zhang Yiming told employees that the company was slow. "We have '
            'to accept that agents will change phones," Zhang said.')
    text = ("Zhang disagreed with Robin Li's view that closed models will always lead. \"Open "
            'models are catching up within months," he said.')
    people = glossary + discover_people(lead + " " + text, glossary)
    quotes, speaker = attribute(text, lead, "", people)
    assert speaker == "Zhang Yiming" and [q.speaker for q in quotes] == ["Zhang Yiming"]
    rebuttal = "方汉不认同李彦宏的观点。“开源的差距在缩小,”他说。"
    quotes, speaker = attribute(rebuttal, "", "", glossary)
    assert speaker == "Fang Han" and [q.speaker for q in quotes] == ["Fang Han"]
    # the claim disputed is quoted, but it is neither the speaker's words nor known to be
    # anyone's in particular
    quotes, speaker = attribute("王小川表示,自己并不认同“开源模型会越来越落后”的说法。", "", "",
                                glossary)
    assert speaker == "Wang Xiaochuan" and [q.speaker for q in quotes] == [None]
    quotes, _ = attribute('Wang Xiaochuan rejected the claim that "open models will fall '
                          'behind," saying both will last.', "", "", glossary)
    assert [q.speaker for q in quotes] == [None]
    # agreeing, or restating one's own view, is no dispute
    quotes, _ = attribute("王小川表示:“开源和闭源会长期并存。”", "", "", glossary)
    assert [q.speaker for q in quotes] == ["Wang Xiaochuan"]


def test_an_added_articles_names_are_whole_and_a_claim_is_no_saying(data_dir: Path):
    """A tester's round: "Kai-Fu Lee" was found as "Fu Lee", 周鸿祎 as 周鸿 (jieba leaves 祎
    on its own), and in 谈到李彦宏此前“…”的说法,张鹏并不完全认同。他表示,… the passage was
    Robin Li's (说法, "a claim", read as 说, "said") and the claim his quotation."""
    glossary = load_people(data_dir / "glossary.json")

    def read(text: str) -> tuple[list[str], list[str | None], str | None]:
        people = discover_people(text, glossary)
        quotes, speaker = attribute(text, "", "", glossary + people)
        return [p.canonical for p in people], [q.speaker for q in quotes], speaker

    lee = 'Kai-Fu Lee, the founder of 01.AI, disagreed. "Open models will win," Lee said.'
    assert read(lee) == (["Kai-Fu Lee"], ["Kai-Fu Lee"], "Kai-Fu Lee")
    zhou = "“开源是趋势。”周鸿祎说。"
    assert read(zhou) == (["周鸿祎"], ["周鸿祎"], "周鸿祎")
    zhang = ("谈到李彦宏此前“开源模型会越来越落后”的说法,张鹏并不完全认同。他表示,开源社区的"
             "迭代速度非常快。")
    assert read(zhang) == (["张鹏"], [None], "张鹏")


def test_people_outside_the_glossary_are_speakers_in_their_article(
    data_dir: Path, index_dir: Path
):
    glossary = load_people(data_dir / "glossary.json")
    text = ('"The greenhouse runs on sunlight," Maria Delgado said. Later, Delgado added that '
            'costs fell. "Heat is the enemy," said Tom Becker. Spokesperson Lena Ortiz said '
            'the plan is on track. Then Robin Li said nothing. Baidu said earlier it would. '
            'First Financial said so. "Costs will fall," Becker said.')
    found = {p.canonical: p.surname for p in discover_people(text, glossary)}
    # titles, sentence openers, organisations and the glossary's people are not new people
    assert found == {"Maria Delgado": "delgado", "Tom Becker": "becker", "Lena Ortiz": "ortiz"}
    quotes, speaker = attribute(text, "", "", glossary + discover_people(text, glossary))
    assert speaker == "Maria Delgado"
    # each quotation is its own attribution's, the one right after it included
    assert [q.speaker for q in quotes] == ["Maria Delgado", "Tom Becker", "Tom Becker"]
    zh = "雷军表示：“把大模型装进电水壶。”李彦宏表示同意。音乐人小柯调侃自己要失业了。"
    assert [p.canonical for p in discover_people(zh, glossary)] == ["雷军"]
    quotes, speaker = attribute(zh, "", "", glossary + discover_people(zh, glossary))
    assert speaker == "雷军" and [q.speaker for q in quotes] == ["雷军"]
    # jieba's cuts across a name: 茶 / 农陈 / 明日 (the name written again reads it 陈明), and
    # 陈 / 明说 ("to say outright"); one character on alone is no name (农陈日前表示)
    tea = "云南普洱茶农陈明日前接受采访时表示,春茶减产三成。“天气太干了。”陈明说。"
    assert [p.canonical for p in discover_people(tea, glossary)] == ["陈明"]
    assert [p.canonical for p in discover_people("“今年不错。”苏志明说。", glossary)] == ["苏志明"]
    assert discover_people("他明说了自己的想法。", glossary) == []
    # a transliterated name is whole across its middle dot, and its last part is a surname
    lunar = ("领导这项实验的玛丽亚·德尔加多博士说,土豆的产量已达地球的六成。\n\n"
             "“辐射才是最大的障碍。”德尔加多说。")
    people = discover_people(lunar, glossary)
    assert [(p.canonical, p.surname) for p in people] == [("玛丽亚·德尔加多", "德尔加多")]
    assert [attribute(para, "", "", glossary + people)[1] for para in lunar.split("\n\n")] == [
        "玛丽亚·德尔加多", "玛丽亚·德尔加多"]
    # the five articles quote nobody outside the glossary by name
    rows = [json.loads(line) for line in (index_dir / "passages.jsonl").open(encoding="utf-8")]
    for doc in {r["doc_id"] for r in rows}:
        article = "\n".join(r["text"] for r in rows if r["doc_id"] == doc)
        assert discover_people(article, glossary) == [], doc


def test_an_added_articles_speakers_are_not_carried_onto_other_people(data_dir: Path):
    """Names with a common first name ("David Kim"), with an appositive ("Angela Novak, a
    venture investor, said") and speech attributed to an unresolved name ("Wang said",
    钱七 before 他表示) no longer take the speaker named before them."""
    from bot.annotate import annotate

    def annotated(texts: list[str]) -> list[dict]:
        """The passages of one added article, annotated as the index build does."""
        rows = [{"doc_id": "added", "text": t, "heading": None, "start": 0, "end": len(t)}
                for t in texts]
        annotate(rows, data_dir)
        return rows

    article = [
        '"Open weights let customers tune a model on their own servers," said Maria Delgado, '
        "chief executive of Lumenchip.",
        'Peter Wang, an analyst, was less convinced. "The economics only work if someone else '
        'pays," Wang said. He said training costs had risen tenfold.',
        '"Our benchmark scores are not the point," said David Kim. "Users are."',
        "Angela Novak, a venture investor, said she had not invested in any chip company. "
        "She added that valuations were too high.",
        "“智能体是大模型的最终形态。”赵六在接受采访时说。赵六是某科技公司的首席技术官。",
        "钱七则持不同看法。他表示:“现在谈最终形态还太早,模型本身的能力还不够。”",
        "赵六补充说,公司今年的研发投入将超过十亿元。",
    ]
    rows = annotated(article)
    assert [r["speaker"] for r in rows] == [
        "Maria Delgado", "Peter Wang", "David Kim", "Angela Novak", "赵六", "钱七", "赵六"
    ]
    assert [q["speaker"] for q in rows[2]["quotes"]] == ["David Kim", "David Kim"]
    # 钱七, whom jieba does not tag, is found by the pronoun that speaks after the name
    assert [q["speaker"] for q in rows[5]["quotes"]] == ["钱七"]
    # a courtesy title ends no sentence and is no part of the name; a particle jieba glues
    # onto a Chinese name (周九则表示) is no part of it either
    second = [
        '"We will not open-source it," said Dr. Angela Novak, a venture investor.',
        '"Costs keep falling," Ms Novak added.',
        "而分析师周九则表示,“智能体还需要时间。”",
    ]
    assert [r["speaker"] for r in annotated(second)] == ["Angela Novak", "Angela Novak", "周九"]
    # a glossary surname attributes alone only after the article names the person in full;
    # a surname two people share goes to whoever the article named first
    third = [
        "Robin Li, the founder of Baidu, opened the conference on Tuesday.",
        '"Open source is a kind of intelligence tax," Li said.',
        '"Costs will fall," said Wang.',
    ]
    rows = annotated(third)
    assert [r["speaker"] for r in rows] == [None, "Robin Li", None]
    assert [q["speaker"] for q in rows[1]["quotes"]] == ["Robin Li"]
    assert [r["speaker"] for r in annotated(third[1:])] == [None, None]
    shared = ["Robin Li and Li Ming, a developer, both spoke.", '"Not yet," Li said.']
    assert annotated(shared)[1]["speaker"] == "Robin Li"
    later = ["Li Ming, a developer, spoke first. Robin Li followed.", '"Not yet," Li said.']
    assert annotated(later)[1]["speaker"] == "Li Ming"
    # a quotation left open carries on into the next passage, unless that passage names the
    # speaker outside a quotation without an attribution: it is about them, not theirs
    opened = '"Open source is a tax," said Robin Li. "Closed models will keep their lead.'
    after = [
        "Behind Robin Li's remarks, the market for large models is still at an early stage.",
        'The market is still at an early stage, and we will keep investing."',
        "这是李彦宏今年第三次公开反思,我们注意到他的语气更重了。",
    ]
    assert [[r["speaker"] for r in annotated([opened, a])] for a in after] == [
        ["Robin Li", None], ["Robin Li", "Robin Li"], ["Robin Li", None]
    ]
    # a last sentence that gives what was said is the speaker's; one that only introduces
    # them (in an interview, a colon) leaves the passage to the reporter and the next to them
    last = [
        "Baidu chose the closed route. As for why, Robin Li said today that the team had "
        "debated it for weeks.",
        "Baidu chose the closed route. Before this, Wang Xiaochuan also talked about the "
        "dispute in an interview with reporters.",
        "百度选择了闭源路线。对此李彦宏表示,开源模型在商业领域并没有优势。",
        "百度选择了闭源路线。对此李彦宏表示:",
    ]
    assert [annotated([t])[0]["speaker"] for t in last] == ["Robin Li", None, "Robin Li", None]
    # a speech verb opening the clause after the name's is still theirs; one with its own
    # subject is not
    clauses = [
        "对于开源,方汉给出了不同的答案,认为开源也能赚钱。",
        "李彦宏讲完之后,王小川表示不同意。",
    ]
    assert [annotated([t])[0]["speaker"] for t in clauses] == ["Fang Han", "Wang Xiaochuan"]
    # people outside the glossary: by a surname after an appositive that gave the full name
    # (family name first when it is a Chinese one), after a "who" clause, or by a Chinese
    # name jieba cut in two; organisations and a moderator's question are nobody's
    others = [
        "Chen Yufei, chief executive of DeepRiver, was unimpressed. \"Not yet,\" Chen said.",
        "\"Costs fall,\" said Liu Jianguo, a deputy director at the bureau. Liu said more.",
        "Priya Raman, who covers internet companies for Harbour Street Research, said so.",
        "Fang Han, chairman of Kunlun Tech, the company behind Skywork, said he agreed.",
        "The moderator, Rachel Tan, a correspondent, asked both men about costs.",
        "帶著孩子前來參觀的家長吳美玲說，孩子非常興奮。",
        "据艾瑞咨询测算，市场规模约为30亿元。",
        "台灣獨立音樂製作人吳若瑜表示，AI歌曲已經聽起來像那麼一回事。",
    ]
    assert [annotated([t])[0]["speaker"] for t in others] == [
        "Chen Yufei", "Liu Jianguo", "Priya Raman", "Fang Han", None, "吳美玲", None, "吳若瑜"
    ]
    # a title between "said" and the name; a company with an appositive is nobody (a tester's)
    titled = annotated([
        "Kestrel Robotics, a start-up in Gdansk, said on Monday it would stop training.",
        '"We would have spent forty million dollars," said Kestrel\'s founder, Tomasz Wielgus.',
        '"Most will rent models," said Northgate\'s lead analyst, Helen Okonkwo. "It is simple."',
    ])
    assert [r["speaker"] for r in titled] == [None, "Tomasz Wielgus", "Helen Okonkwo"]
    assert [q["speaker"] for q in titled[2]["quotes"]] == ["Helen Okonkwo"] * 2
    # an interview transcript: the question is nobody's, the answer the interviewee's
    transcript = [
        "发布会结束后，王小川接受了本报记者专访。以下为采访实录：",
        "问：你怎么看李彦宏说的“开源模型会越来越落后”？",
        "答：我不认同这个说法。",
        "据国家卫健委公开数据，我国儿科医生仍然短缺。",
    ]
    assert [r["speaker"] for r in annotated(transcript)] == [
        None, None, "Wang Xiaochuan", None
    ]
    # a speaker outside the glossary labelling a transcript's answers
    labelled = [
        "林志豪是霧島科技的共同創辦人。以下為訪談摘錄。",
        "記者：你怎麼看？",
        "林志豪：我尊重他的看法。",
    ]
    assert [r["speaker"] for r in annotated(labelled)] == [None, None, "林志豪"]
    # a surname with a clause after a sentence that gave the full name, in one paragraph
    one = "Another analyst, Karen Wu of Pacific Lens, was sceptical. Wu said the plan was weak."
    assert annotated([one])[0]["speaker"] == "Karen Wu"
    # a quotation going on into the next paragraph stays its speaker's, whoever comes next;
    # the reporter a speaker talks to (对记者表示) is not speaking
    carried = annotated([
        'Maria Okafor, a researcher, spoke. "It is not free," Okafor said. "Someone pays.',
        '"Usually it is the customer."',
        "Her namesake, Grace Okafor, a lawyer, said the opposite.",
    ])
    # ("Someone pays. is left open: it goes on, and is quoted to the paragraph's end)
    assert [[q["speaker"] for q in r["quotes"]] for r in carried] == [
        ["Maria Okafor", "Maria Okafor"], ["Maria Okafor"], []
    ]
    quoted = annotated(["清华大学教授陈静则对记者表示,开源与闭源并非非此即彼,“关键是看场景”。"])
    assert [q["speaker"] for q in quoted[0]["quotes"]] == ["陈静"]
    # according to a person named with a title or an appositive, not to a firm
    according = [
        "According to Baidu spokesperson Zhang Hui, usage doubled.",
        "According to Zhang Hui, a Baidu spokesperson, usage doubled.",
        "According to Morgan Stanley, the market will grow.",
    ]
    assert [annotated([t])[0]["speaker"] for t in according] == ["Zhang Hui", "Zhang Hui", None]
    # what is said may open with a hyphenated word; after a sentence of narration too
    said = ("Evaluators are cautious. Rachel Ko, who runs a lab, says vendor-reported rates "
            "are too high.")
    assert annotated([said])[0]["speaker"] == "Rachel Ko"
    # two people quoted: the passage is the one quoted at twice the length; "she says"
    # after a quotation is the person named before the pronoun
    two = ('Asked about it, Fang said only that "every benchmark is a snapshot." Rachel Ko, '
           'the evaluator, offers a longer rebuttal. "A snapshot is fine, as long as everyone '
           'uses the same camera," she says. "Right now every company brings its own."')
    intro = "Fang Han defends the figures. Rachel Ko, who runs a lab, says they are too high."
    row = annotated([intro, two])[1]
    assert row["speaker"] == "Rachel Ko"
    assert [q["speaker"] for q in row["quotes"]] == ["Fang Han", "Rachel Ko", "Rachel Ko"]
    # a full name jieba cuts before its last character (吳佩 + 珊) is found whole
    cut = ["副教授吳佩珊接受本刊訪問時指出：「分數虛高。」",
           "资策会分析师蔡宛臻认为,下载量可以靠补贴。"]
    assert [annotated([t])[0]["speaker"] for t in cut] == ["吳佩珊", "蔡宛臻"]


def test_speakers_of_articles_written_and_labelled_blind(data_dir: Path):
    """Thirty-six short articles (twelve per script) that six helpers wrote and labelled
    paragraph by paragraph, without seeing the system: tests/data/speaker_articles/. Each
    set was measured when it came, then used to find the next rules, so these figures are
    tuned; the README has the first measurements."""
    from bot.annotate import annotate

    right = total = named = named_right = labelled = 0
    wrong = []
    for folder in sorted((TEST_DATA / "speaker_articles").iterdir()):
        labels = [json.loads(x) for x in (folder / "labels.jsonl").read_text().splitlines()]
        for name in sorted({label["file"] for label in labels}):
            lines = (folder / name).read_text(encoding="utf-8").split("\n")
            paras = [x for x in lines if x.strip()][1:]  # the headline is not a passage
            rows = [{"doc_id": name, "text": t, "heading": None, "start": 0, "end": len(t)}
                    for t in paras]
            annotate(rows, data_dir)
            for label in (x for x in labels if x["file"] == name):
                row = rows[label["para"] - 1]
                assert row["text"].startswith(label["starts"])
                said, truth = row["speaker"], label["speaker"]
                total += 1
                right += said == truth
                named += said is not None
                named_right += said is not None and said == truth
                labelled += truth is not None
                if said != truth:
                    wrong.append((folder.name, name, label["para"], said, truth))
    assert total == 458
    # measured: 447/458 right, 297 of 299 named speakers right, 297 of 306 labelled found
    assert right / total >= 0.93, wrong
    assert named_right / named >= 0.95, wrong
    assert named_right / labelled >= 0.93, wrong


def test_a_question_put_by_the_host_is_not_the_next_speakers(data_dir: Path):
    people = load_people(data_dir / "glossary.json")
    # the next passage opens with Robin Li's answer; the quotation before it is the host's
    text, after = "随后主持人反问,“百度算不算大公司?”", "李彦宏则坦言,“百度算大公司。”"
    quotes, speaker = attribute(text, "", after, people)
    assert speaker is None and [q.speaker for q in quotes] == [None]
    # ... while a quotation closing a passage still takes the attribution that follows it
    quotes, _ = attribute("“闭源才有真正的商业模式,”", "", "李彦宏表示。", people)
    assert [q.speaker for q in quotes] == ["Robin Li"]


def test_who_speaks_carries_on_only_while_the_speech_does(data_dir: Path):
    people = load_people(data_dir / "glossary.json")

    def speakers(passages: list[tuple[str, str | None]]) -> list[str | None]:
        ctx, out = Context(), []
        for text, heading in passages:
            who, ctx = speaker_in_context(text, people, ctx, heading)
            out.append(who)
        return out

    # reported speech, then the reporter's background: the background is nobody's words
    assert speakers([("Robin Li said closed models are cheaper.", None),
                     ("In the industry there are two camps of model makers.", None)]) \
        == ["Robin Li", None]
    # ... unless it goes on in the first person, or inside a quotation left open
    assert speakers([("李彦宏表示,闭源才有商业模式。", None), ("我们不会开源。", None)]) \
        == ["Robin Li", "Robin Li"]
    assert speakers([('Robin Li said: "Open source is the most expensive.', None),
                     ('Because the cost of inference is higher."', None)]) \
        == ["Robin Li", "Robin Li"]
    # a transcript: the answer's label comes once, every paragraph under the question is it
    q = "问:开源会赶上闭源吗?"
    assert speakers([("李彦宏:不会。", q), ("闭源模型的推理成本更低。", q),
                     ("下一个问题的背景。", "百度的历史")]) == ["Robin Li", "Robin Li", None]
    # narration that ends by introducing someone: the next passage is theirs, this one is not
    assert speakers([("Open source lets more people review code. Wang Xiaochuan talked about "
                      "this in an interview.", None),
                     ("He said open source builds character.", None)]) \
        == [None, "Wang Xiaochuan"]
    # someone outside the glossary speaking ends the speech before
    host = "随后主持人反问,“开源赚钱吗?”"
    assert speakers([("方汉表示,开源是PR手段。", None), (host, None)]) == ["Fang Han", None]
    # a name with a long adverbial before its verb
    long_gap = "李彥宏在Create 2024百度AI開發者大會上直言“開源模型會越來越落後”"
    assert speakers([(long_gap, None)]) == ["Robin Li"]


def test_parallel_pairs_against_a_hand_labelled_alignment(engine):
    """Which English passages of article 001 render which Chinese ones of 000, labelled by
    hand without seeing the system (tests/data/parallel.jsonl)."""
    lines = (TEST_DATA / "parallel.jsonl").read_text().splitlines()
    labels = [json.loads(line) for line in lines]

    def pid(starts: str) -> int:
        return next(i for i, r in enumerate(engine.rows) if r["text"].startswith(starts))

    gold = {(pid(x["zh_starts"]), pid(x["en_starts"])) for x in labels if x["en_starts"]}
    rendered = {pid(x["zh_starts"]) for x in labels if x["en_starts"]}
    chinese = {pid(x["zh_starts"]) for x in labels}
    predicted = set()
    for i in chinese:
        j = engine.rows[i]["parallel"]
        if j is not None:
            predicted.add((i, j))
    for i, row in enumerate(engine.rows):
        if row["parallel"] in chinese:
            predicted.add((row["parallel"], i))
    right = predicted & gold
    # measured: 15 pairs, all right (21 passages have a counterpart); 10 of the 11 rendered
    # Chinese passages have one, and 15 of the 20 shorter English renderings (11 before a
    # paragraph's second half, next to a linked first, was linked too)
    assert len(predicted) >= 14 and len(right) / len(predicted) >= 0.9, predicted - gold
    assert len({i for i, _ in right}) / len(rendered) >= 0.7
    assert len({j for _, j in right}) >= 14


def test_an_article_of_keywords_renders_nothing_and_reports_no_remark(engine):
    """A tester's upload: a long file of the articles' keywords in random order. Each of its
    passages was nearest one lead paragraph of 000, so the file counted as 000's English
    rendering: thousands of "also reported in" links, and Robin Li as every passage's
    speaker."""
    import random

    from bot.align import find_links
    from bot.indexing import embed_form

    words = ("baidu ernie open source closed cost benchmark leaderboard agent chip data "
             "compute start-up model").split()
    rng = random.Random(7)
    junk = [" ".join(rng.choice(words) for _ in range(60)) for _ in range(40)]
    rows = [*engine.rows, *({"doc_id": "999_junk", "text": t, "lang": "en"} for t in junk)]
    vectors = np.vstack([
        engine.vectors,
        engine.encoder.encode_passages([embed_form(t, engine.settings) for t in junk]),
    ]).astype(np.float32)
    same, parallel = find_links(rows, vectors)
    first = len(engine.rows)
    assert not [p for p in [*same, *parallel] if p[0] >= first or p[1] >= first]
    # the articles' own links are as before
    before = find_links(engine.rows, np.asarray(engine.vectors, dtype=np.float32))
    assert (same, parallel) == before


def test_a_remark_reported_many_times_is_one_result_with_ten_reports(engine):
    """A tester's article repeating one remark thirty times: every copy is hidden behind the
    result it reports, and the card lists the ten strongest (``align.ALSO_IN_MAX``)."""
    from bot.align import ALSO_IN_MAX

    first = engine.search("why not open source?", 1)[0]
    top = next(i for i, r in enumerate(engine.rows)
               if r["doc_id"] == first.doc_id and r["start"] == first.start)
    copies = [i for i in range(len(engine.rows)) if i != top][:25]
    saved = {i: engine.rows[i]["also_in"] for i in [top, *copies]}
    try:
        engine.rows[top]["also_in"] = copies
        for i in copies:
            engine.rows[i]["also_in"] = [top]
        hits = engine.search("why not open source?", 5, min_score=0.0)
        assert (hits[0].doc_id, hits[0].start) == (first.doc_id, first.start)
        assert len(hits[0].also_in) == ALSO_IN_MAX
        shown = {(h.doc_id, h.start) for h in hits[1:]}
        assert not shown & {(engine.rows[i]["doc_id"], engine.rows[i]["start"]) for i in copies}
    finally:
        for i, links in saved.items():
            engine.rows[i]["also_in"] = links


def test_different_speakers_make_no_same_remark(engine):
    """An analyst answering Robin Li in English (a tester's upload) is no report of the
    traditional passage he answers, however near: a remark reported in two languages is one
    person's, the same on both sides."""
    from bot.align import find_links
    from bot.indexing import embed_form

    li = next(i for i, r in enumerate(engine.rows) if "閉源模型的推理成本一定是更低的" in r["text"])
    assert engine.rows[li]["speaker"] == "Robin Li"
    critic = ('"Open source models are free and they have an advantage in cost," Zhang Wei '
              'said. "With the same ability, the reasoning cost of an open model you host '
              'yourself is lower, and its response is faster."')
    vectors = np.vstack([
        np.asarray(engine.vectors, dtype=np.float32),
        engine.encoder.encode_passages([embed_form(critic, engine.settings)]),
    ]).astype(np.float32)
    for speaker, linked in (("Zhang Wei", False), (None, False), ("Robin Li", True)):
        row = {"doc_id": "999_critic", "text": critic, "lang": "en", "speaker": speaker}
        same, _ = find_links([*engine.rows, row], vectors)
        assert any(li in p[:2] and len(engine.rows) in p[:2] for p in same) is linked, speaker


def test_same_remark_links_against_hand_labels(engine):
    """Reports of one remark in two Chinese articles, labelled by hand without seeing the
    system (tests/data/same_remark.jsonl: 3 pairs, all between 000 and 004)."""
    lines = (TEST_DATA / "same_remark.jsonl").read_text().splitlines()
    labels = [json.loads(line) for line in lines]
    rows = engine.rows

    def pid(starts: str) -> int:
        return next(i for i, r in enumerate(rows) if r["text"].startswith(starts))

    gold = {frozenset((pid(x["a_starts"]), pid(x["b_starts"]))) for x in labels}
    chinese = [i for i, r in enumerate(rows) if r["lang"] != "en"]
    pairs = {
        frozenset((i, j)) for i in chinese for j in rows[i]["also_in"] if rows[j]["lang"] != "en"
    }
    linked = {p for p in pairs if len({rows[i]["doc_id"] for i in p}) == 2}
    # measured: 2 links, both right; the third pair shares one statement of two
    assert linked and linked <= gold, linked - gold
    assert len(linked) >= 2
    # within one article, the two passages it repeats nearly word for word, and an interview
    # answer its summary quotes (half the answer, word for word)
    repeats = {frozenset(rows[i]["text"][:10] for i in p) for p in pairs - linked}
    assert repeats == {
        frozenset({"谈及中美大模型差距,"}),  # the lead, restated with one clause more
        frozenset({"◎開源和閉源的選擇是", "開源和閉源的選擇是大"}),
        frozenset({"他还坚持认为,开源模", "我们对外讲文心大模型"}),
    }, repeats


def test_a_short_headline_is_not_the_same_remark_as_a_long_passage():
    """A ten-character headline shares half its bigrams with any passage on its subject;
    that makes no report of one remark (it hid those passages behind the headline)."""
    from bot.align import find_links

    headline = "開源大模型的春天來了嗎?"
    body = ("李彦宏认为,开源大模型的价值在教学科研这些领域,真正在商业领域,开源模型是没有优势的,"
            "大模型的春天来了,但是开源模型的成本更高。")
    rows = [
        {"doc_id": "a", "lang": "zh-Hant", "text": headline},
        {"doc_id": "b", "lang": "zh-Hans", "text": body},
        {"doc_id": "c", "lang": "zh-Hans", "text": body.replace("李彦宏认为", "他还说")},
    ]
    vectors = np.eye(3, 4, dtype=np.float32)
    same, _ = find_links(rows, vectors)
    assert {frozenset(p[:2]) for p in same} == {frozenset({1, 2})}


def test_one_remark_in_two_languages_by_articles_that_are_no_translations():
    """An English report and a Chinese one of the same remark, the same person's, are linked
    when each is the other's best match and the score clears CROSS_REMARK_MIN_SCORE; a weaker
    pair is not."""
    from bot.align import CROSS_REMARK_MIN_SCORE, find_links

    li = "Robin Li"
    rows = [
        {"doc_id": "en", "lang": "en", "text": "Closed source is cheaper to run, he said.",
         "speaker": li},
        {"doc_id": "en", "lang": "en", "text": "The weather in Beijing was fine.", "speaker": li},
        {"doc_id": "zh", "lang": "zh-Hant", "text": "他認為閉源模型的推理成本更低。",
         "speaker": li},
        {"doc_id": "zh", "lang": "zh-Hant", "text": "北京的交通很擁擠。", "speaker": li},
    ]
    vectors = np.zeros((4, 3), dtype=np.float32)
    vectors[0] = vectors[2] = [1.0, 0.0, 0.0]  # the same remark: cosine 1
    weak = CROSS_REMARK_MIN_SCORE - 0.1  # (the glosses add at most PARALLEL_GLOSS_WEIGHT)
    vectors[1] = [0.0, 1.0, 0.0]
    vectors[3] = [0.0, weak, (1 - weak**2) ** 0.5]
    same, parallel = find_links(rows, vectors)
    assert {frozenset(p[:2]) for p in same} == {frozenset({0, 2})}
    assert parallel == []


def test_an_article_quoting_its_own_interview_is_one_remark():
    """A summary quoting half an answer the article prints in full is the same remark; a
    slogan of ten characters two paragraphs share is not."""
    from bot.align import find_links

    answer = ("我们对外讲文心大模型每天调用量超过6亿,每天生成的token数超过万亿,哪个开源模型可以说"
              "自己一天调用量是多少?没有人用的话成本怎么分担?")
    summary = ("他还坚持认为,开源模式在大模型时代是不成立的,“文心大模型每天调用量超过6亿,每天生成"
               "的token数超过万亿,哪个开源模型可以说自己一天调用量是多少?”")
    slogan = "李彦宏在活动上直言“开源模型会越来越落后”,这并非他头一次否定开源路线。"
    other = "就在前一天上午,李彦宏在开发者大会上直言“开源模型会越来越落后”,并推出三大工具。"
    rows = [{"doc_id": "a", "lang": "zh-Hans", "text": t} for t in (summary, answer, slogan, other)]
    same, _ = find_links(rows, np.eye(4, dtype=np.float32))
    assert {frozenset(p[:2]) for p in same} == {frozenset({0, 1})}


def test_speaker_words_come_first_and_filter(data_dir: Path, index_dir: Path):
    hits = retrieve("What did Fang Han say about inference costs?", 5,
                    data_dir=data_dir, index_dir=index_dir)
    assert hits[0].speaker == "Fang Han"
    assert "兩頭驢" in hits[0].text
    only = retrieve("open source", 5, data_dir=data_dir, index_dir=index_dir,
                    speaker="Wang Xiaochuan")
    assert only and {h.speaker for h in only} == {"Wang Xiaochuan"}


@pytest.mark.parametrize(
    "question", ["Who disagrees with Robin Li?", "谁不同意李彦宏的观点?",
                 "Who pushed back on Robin Li's view of open source?"])
def test_who_disagrees_with_someone_gets_others_words(question: str, data_dir: Path,
                                                      index_dir: Path):
    """A tester's: the person disagreed with gets no speaker prior but its opposite (the top
    ten were all Robin Li's words); others' words and reports of his come first."""
    assert people_opposed(fold(question), load_people(data_dir / "glossary.json")) == [
        "Robin Li"]
    hits = retrieve(question, 5, data_dir=data_dir, index_dir=index_dir)
    assert hits and sum(h.speaker == "Robin Li" for h in hits) <= 1
    if question == "谁不同意李彦宏的观点?":
        # the passages where someone disagrees come first among the others' (a practitioner:
        # "far from a monopoly"); Fang Han's 并不認可 is still far down for want of words
        assert gives_disagreement(hits[0].text) and hits[0].speaker != "Robin Li"
    said = retrieve("What did Robin Li say about open source?", 5, data_dir=data_dir,
                    index_dir=index_dir)
    assert {h.speaker for h in said} == {"Robin Li"}


@pytest.mark.parametrize(
    "question", ["除了李彥宏,業內人士和開發者認為開源大模型有什麼好處?",
                 "Besides Robin Li, what do developers think open source is good for?"])
def test_a_person_set_aside_asks_for_the_others(question: str, data_dir: Path,
                                               index_dir: Path):
    """A blind question's: "除了李彥宏" ('apart from Robin Li') named him, so the answer had
    to be his words on the term, and none of the best passages were: it got no answer. The
    person set aside gets no speaker prior but its opposite, as the one disagreed with does."""
    people = load_people(data_dir / "glossary.json")
    assert people_set_aside(fold(question), people) == ["Robin Li"]
    assert people_set_aside(fold("What did Robin Li say besides open source?"), people) == []
    hits = retrieve(question, 5, data_dir=data_dir, index_dir=index_dir)
    assert hits and sum(h.speaker == "Robin Li" for h in hits) <= 1
    assert any("threshold" in h.text or "developers" in h.text for h in hits)


def test_near_duplicates_do_not_fill_the_top_five(data_dir: Path, index_dir: Path):
    hits = retrieve("闭源模型的推理成本一定是更低的", 5, data_dir=data_dir, index_dir=index_dir)
    linked = {(r.doc_id, r.start) for h in hits for r in h.also_in}
    assert not linked & {(h.doc_id, h.start) for h in hits}


@pytest.mark.parametrize(
    ("name", "min_offtopic", "max_unanswered", "min_recall5", "min_mrr"),
    [
        # ours: written from the articles, not from the dev set
        ("questions.jsonl", 1.0, 0.03, 0.90, 0.82),
        # written blind: by a separate session from the articles alone, without seeing the
        # system, the dev set or ours; its figures are the honest estimate for unseen questions
        ("questions_blind.jsonl", 0.9, 0.03, 0.875, 0.75),
        # the same, with 40 off-topic questions near the articles' people and companies
        ("questions_blind_neartopic.jsonl", 0.8, 0.03, 0.825, 0.72),
        # the same, asked to paraphrase away from the articles' words, with 40 off-topic
        # questions, most near the topic: below the targets (see README, Question sets)
        ("questions_blind_paraphrase.jsonl", 0.75, 0.07, 0.725, 0.60),
        # the same, written after all of the above and measured once, before and after
        ("questions_blind_fresh.jsonl", 0.75, 0.03, 0.80, 0.70),
        # a second fresh set, written after the above; measured before and after the
        # dictionary's synonym split and the simplified-script encoding
        ("questions_blind_fresh2.jsonl", 0.85, 0.03, 0.85, 0.68),
        # a third, short questions as a user types them, written after both changes were in
        # and run once on the code before them and once after
        ("questions_blind_fresh3.jsonl", 0.8, 0.03, 0.82, 0.70),
        # fourth and fifth: written while the answer-kind prior was tried; run on the code
        # before it first. The fifth is the hardest yet (off-topic below the target)
        ("questions_blind_fresh4.jsonl", 0.75, 0.03, 0.88, 0.75),
        ("questions_blind_fresh5.jsonl", 0.6, 0.03, 0.82, 0.72),
        # when / how-many questions only (24 + 6), written to test that prior
        ("questions_blind_dates.jsonl", 0.3, 0.03, 0.9, 0.85),
        # sixth: written after all the ranking changes and measured once, as it came
        ("questions_blind_fresh6.jsonl", 0.8, 0.03, 0.88, 0.8),
        # seventh: written (blind) at the start of the session that split late interaction
        # between the question and its names-stripped form; first run 0.867 / 0.796 before it
        ("questions_blind_fresh7.jsonl", 0.85, 0.07, 0.85, 0.78),
        # eighth: written (blind) at the start of the next session, run once as it came
        # (recall@5 0.933, MRR 0.852; 6 of its 10 near-topic off-topic questions answered)
        ("questions_blind_fresh8.jsonl", 0.55, 0.03, 0.9, 0.8),
        # ninth: written (blind) at the start of the session after, run once as it came
        # (recall@5 0.933, MRR 0.834; 4 of its 10 near-topic off-topic questions answered)
        ("questions_blind_fresh9.jsonl", 0.7, 0.03, 0.9, 0.8),
        # tenth: written (blind) at the start of the session after, run once as it came
        # (recall@5 0.933, MRR 0.823; 5 of its 10 near-topic off-topic questions answered)
        ("questions_blind_fresh10.jsonl", 0.6, 0.03, 0.9, 0.78),
        # eleventh: 30 + 15 written (blind) by a tester of the session after, run once as it
        # came (recall@5 0.933, MRR 0.828; 8 of 15 off-topic refused, 11 with the fact check)
        ("questions_blind_fresh11.jsonl", 0.65, 0.07, 0.9, 0.78),
        # twelfth: written (blind) in the same session, after the fact check; run once as it
        # came (recall@5 0.911, MRR 0.779; 13 of 15 off-topic refused, 9 without the check)
        ("questions_blind_fresh12.jsonl", 0.8, 0.03, 0.88, 0.74),
        # thirteenth: written (blind) at the start of the session after, run once as it came
        # (recall@5 0.889, MRR 0.811; 11 of 15 off-topic refused, 14 once a fact had to be
        # of what the question names)
        ("questions_blind_fresh13.jsonl", 0.85, 0.03, 0.86, 0.78),
        # fourteenth: written (blind) at the start of the session after, run once as it came
        # (recall@5 0.911, MRR 0.845; 15 of 15 off-topic refused; 42 of 45 cross languages)
        ("questions_blind_fresh14.jsonl", 0.9, 0.03, 0.88, 0.8),
        # fifteenth: written (blind) at the start of the session after, run once as it came
        # (recall@5 0.933, MRR 0.846; 14 of 15 off-topic refused, 15 with the pinyin-name rule)
        ("questions_blind_fresh15.jsonl", 0.9, 0.03, 0.9, 0.8),
        # sixteenth: written (blind) at the start of the session after, in the way people type
        # into a chat box, run once as it came (recall@5 0.889, MRR 0.830; 13 of 15 off-topic
        # refused, 2 answerable left unanswered; then a figure for how-much questions, Chinese
        # versions, Cantonese particles: 0.911 / 0.852, all refused, 1 unanswered)
        ("questions_blind_fresh16.jsonl", 0.9, 0.03, 0.88, 0.8),
        # near-topic technology questions (45 off-topic, 15 answerable), written (blind) while
        # the technology lines of the background were written, run once on the code before them
        # (34 of 45 refused; 37 with them), no answerable question lost
        ("questions_blind_tech.jsonl", 0.78, 0.0, 0.93, 0.85),
        # seventeenth: written (blind) late in the same session, after its changes, run once
        # as it came (recall@5 0.978, MRR 0.915; 15 of 15 off-topic refused; 36 of 45 cross
        # languages)
        ("questions_blind_fresh17.jsonl", 0.9, 0.03, 0.93, 0.85),
        # what someone says about something (30), or about something the articles never have
        # them speak of (30), written blind and run once as it came (recall@5 1.000, MRR
        # 0.922, 25 of 30 refused); then rare words' passages must be theirs: 27 of 30
        ("questions_blind_people.jsonl", 0.85, 0.03, 0.93, 0.85),
        # eighteenth: a journalist's questions (comparisons, "exact words", yes/no and negated
        # ones, who gave a figure), written blind and run once as it came (recall@5 0.889,
        # MRR 0.821; 15 of 15 off-topic refused, 2 answerable left unanswered; 37 of 45 cross
        # languages); then a person set aside (除了李彦宏) and 讯飞: 0.933 / 0.849, none
        ("questions_blind_fresh18.jsonl", 0.9, 0.03, 0.9, 0.82),
        # nineteenth: typed as in a chat box (no punctuation, English words in Chinese, typos),
        # written blind and run once as it came (recall@5 0.933, MRR 0.830; 15 of 15 off-topic
        # refused, 6 of them the boilerplate's news items; none left unanswered; 34 of 45
        # cross languages), and not tuned on after
        ("questions_blind_fresh19.jsonl", 0.9, 0.03, 0.9, 0.8),
    ],
)
def test_own_question_set_figures(
    name: str, min_offtopic: float, max_unanswered: float, min_recall5: float, min_mrr: float,
    data_dir: Path, index_dir: Path,
):
    """Regression floors on our question sets (30 to 120 questions each)."""
    questions = load_questions(OWN_SET.parent / name)
    assert len(questions) >= 30
    assert {q.lang for q in questions} == {"en", "zh-Hans", "zh-Hant"}
    outcomes = run(questions, lambda q: retrieve(q, 5, data_dir=data_dir, index_dir=index_dir))
    s = summarize(outcomes, [len(t) for o in outcomes for t in o.top])
    assert s["abstained_offtopic"] >= min_offtopic, s
    assert s["wrongly_unanswered"] <= max_unanswered, s
    assert s["recall@5"] >= min_recall5, s
    assert s["mrr"] >= min_mrr, s
    assert s["median_passage_chars"] <= 300


@pytest.mark.parametrize("setting", ["w_chars", "w_topic_dense"])
def test_ranking_terms_raise_mrr_on_the_blind_sets(setting: str, engine):
    """Character bigrams and the names-stripped question earn their place on the answerable
    questions of the blind sets, with and without each: by MRR, or by recall@5 without
    costing MRR. Measured on the 644 of the first sets: MRR 0.797 with both, 0.788 without
    the bigrams, 0.787 without the names-stripped question. On the 854 with the fifteenth
    set: MRR 0.8157 / recall@5 0.919 with both, 0.8126 / 0.909 without the bigrams (which
    cost the fifteenth set alone 0.04 MRR), 0.8092 / 0.919 without the names-stripped
    question."""
    questions = [
        q for path in sorted(OWN_SET.parent.glob("questions_blind*.jsonl"))
        for q in load_questions(path) if not q.abstain
    ]
    assert len(questions) >= 600

    def figures() -> tuple[float, float]:
        ranks = [o.rank for o in run(questions, lambda q: engine.search(q, 5, min_score=0.0))]
        return (sum(1 / r for r in ranks if r) / len(ranks),
                sum(1 for r in ranks if r) / len(ranks))

    settings = engine.settings
    (mrr, recall) = figures()
    try:
        engine.settings = replace(settings, **{setting: 0.0})
        (mrr_without, recall_without) = figures()
    finally:
        engine.settings = settings
    assert mrr >= mrr_without + 0.005 or (
        recall >= recall_without + 0.005 and mrr > mrr_without
    ), (mrr, mrr_without, recall, recall_without)


def test_late_interaction_on_the_names_stripped_question_earns_its_place(engine):
    """The 228 answerable questions of the blind sets that name a person: with part of the
    late-interaction weight on the question without the name, more answers reach the top 5
    and MRR rises (212 vs 207, 0.821 vs 0.795 when measured)."""
    questions = [
        q for path in sorted(OWN_SET.parent.glob("questions_blind*.jsonl"))
        for q in load_questions(path) if not q.abstain
        and people_named(fold(q.query), engine.people) + engine.expander.people_by_role(
            fold(q.query))
    ]
    assert len(questions) >= 200

    def figures() -> tuple[int, float]:
        ranks = [o.rank for o in run(questions, lambda q: engine.search(q, 5, min_score=0.0))]
        return sum(1 for r in ranks if r), sum(1 / r for r in ranks if r) / len(ranks)

    settings = engine.settings
    (found, mrr) = figures()
    try:
        engine.settings = replace(settings, late_topic_share=0.0)
        (found_without, mrr_without) = figures()
    finally:
        engine.settings = settings
    assert found >= found_without + 3 and mrr >= mrr_without + 0.015, (
        found, found_without, mrr, mrr_without)


@pytest.mark.parametrize(
    "question",
    [
        "Why did Meituan's share price fall?",
        "How do I fix a flat bicycle tyre?",
        "特斯拉股价为什么下跌?",
        # a tester's, answered "strong": what he said about a subject of the background is
        # near the articles' reported speech until the background has some of that too
        "What did Robin Li say about drones?",
        "What did Robin Li say about crypto?",
    ],
)
def test_more_off_topic_questions_get_nothing(question: str, data_dir: Path, index_dir: Path):
    assert retrieve(question, data_dir=data_dir, index_dir=index_dir) == []


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("How old is Fang Han?", {"age"}),
        ("How much did Baidu spend on training ERNIE 4.0?", {"spending"}),
        ("李彦宏为文心一言投入了多少钱?", {"spending"}),
        ("百度去年的營收和淨利潤各是多少?", {"revenue", "profit"}),
        ("Where did Wang Xiaochuan go to university?", {"education"}),
        # a view or a reason on it is no question of fact
        ("Does Robin Li think big companies will take all the profits?", set()),
        ("李彦宏要求百度员工改掉什么习惯?", set()),
        ("Why is Baidu's stock falling?", set()),
        # a word inside a hyphenated compound is not the word
        ("Which college-entrance-exam joke did Li make?", set()),
        # a post is asked with "who"; "who founded" asks for the founder
        ("昆侖萬維的技術長是誰?", {"post: cto"}),
        ("Who founded Baidu?", {"post: founder"}),
        ("When was Baidu founded?", {"founding"}),
        ("What did Kunlun's CEO say about inference costs?", set()),
        # a speech (讲话) is no saying: the question still asks for the share price
        ("李彦宏的讲话流出后百度股价跌了多少?", {"stock"}),
        ("文心一言有多少用户?", {"active users"}),
        ("What is Fang Han's salary?", {"pay"}),
        # how much money someone has, in other words (a tester's), not what is spent or saved
        ("How much money does Robin Li have?", {"net worth"}),
        ("李彦宏有多少钱?", {"net worth"}),
        ("How much money does open source save?", set()),
        ("百度工程师的年薪有多高?", {"pay"}),
    ],
)
def test_attributes_asked_as_facts(question: str, asked: set[str]):
    assert attributes_asked(fold(question)) == asked


@pytest.mark.parametrize(
    "question",
    ["What is Fang Han's net worth?", "王小川今年几岁?", "文心一言有多少月活用户?",
     "方漢是哪所大學畢業的?",
     # the best passages state a parameter count, a market value and a CEO, of others
     "華為盤古大模型有多少參數?", "百川智能最近一轮融资估值多少?", "昆侖萬維的技術長是誰?",
     "What is Baidu's market share in search?",
     # a tester's: an age, a birthplace, and a head count that a talk "to staff" never gives
     "李彦宏多大了?", "方汉是哪里人?", "百度有多少员工?",
     # another tester's keywords (the bare word: "how old" was asked, "age" was not), and a
     # date: the passage naming WizardLM-2 gives none
     "Robin Li age", "Microsoft WizardLM-2 release date", "When did Microsoft release WizardLM-2?",
     # a sum spent: the articles say training takes 10,000 GPUs, not what anyone spent
     "How much money did OpenAI spend to train GPT-4?", "昆仑万维训练天工3.0花了多少钱?",
     "How much did Baidu invest in AI in 2024?",
     # how much profit: a passage on how a model makes money (赚钱) gives no figure
     "昆仑万维去年净利润是多少?",
     # how much revenue: a passage on the "quality of revenue" (收入质量) gives no figure,
     # and its date (今年1月初) is none; nor does any passage speak of pay
     "百度去年收入多少?", "百度工程师年薪多少?",
     "How much money does Robin Li have?", "how rich is robin li",
     # where someone lives, what they like to eat (a tester's, answered "fair" in Chinese)
     "李彥宏住在哪裡?", "李彦宏最喜欢吃什么?"],
)
def test_a_fact_the_best_passages_never_mention_gets_nothing(
    question: str, data_dir: Path, index_dir: Path
):
    assert retrieve(question, data_dir=data_dir, index_dir=index_dir) == []
    # a caller who loosens the threshold still gets the nearest passages
    assert retrieve(question, min_score=0.0, data_dir=data_dir, index_dir=index_dir)


def test_a_family_name_alone_is_cut_from_the_topic_question_as_a_full_name_is(engine):
    """A tester's: "What did Li say about the metaverse?" was answered "strong" while "What did
    Robin Li say about the metaverse?" was refused: "Li" alone stayed in the question whose
    distance from the background tells what it asks about."""
    assert engine.expander.strip_names("what did li say about the metaverse?") == (
        "what did say about the metaverse?")
    assert engine.search("What did Li say about the metaverse?", 5) == []
    assert engine.search("What did Li say about open source?", 5)


def test_a_person_on_a_topic_they_never_speak_of_gets_nothing(engine):
    """A tester's: "方汉对智能体怎么看?" drew a "strong" card of Fang Han on something else,
    as the person and the topic are each near the articles, never together."""
    for question in ("What does Wang Xiaochuan think about agents?", "方汉对智能体怎么看?",
                     "王小川怎么看百模大战?"):
        assert engine.search(question, 5) == [], question
        assert engine.search(question, 5, min_score=0.0), question  # loosened: the nearest
    # ... but the person on a topic they speak of, or one nearly every passage names
    for question, needle in (("What did Fang Han say about inference costs?", "推理成本"),
                             ("What did Robin Li say about agents?", "智能体"),
                             ("方汉怎么看开源?", "開源")):
        hits = engine.search(question, 5)
        assert any(needle in h.text for h in hits), question
    # the check, not the gap, refuses them
    settings = engine.settings
    try:
        engine.settings = replace(settings, topic_term_max_share=None)
        assert engine.search("方汉对智能体怎么看?", 5)
        assert engine.search("What did Robin Li say about Apple?", 5)
    finally:
        engine.settings = settings


def test_a_person_on_a_company_they_never_speak_of_gets_nothing(engine):
    """A tester's: "What did Robin Li say about Apple?" was answered "strong" (Apple is named
    once, by someone else's words): another company or product named with a person counts as
    a topic of the check above, unless it is the person's own."""
    for question in ("What did Robin Li say about Apple?", "李彦宏对谷歌有什么评价?"):
        assert engine.search(question, 5) == [], question
    # ... and so does a word few passages hold, in any language: Nigeria (尼日利亞) is Fang
    # Han's, once; Linux is Robin Li's
    for question in ("What did Robin Li say about Nigeria?", "李彦宏怎么看尼日利亚?"):
        assert engine.search(question, 5) == [], question
        assert engine.search(question.replace("Robin Li", "Fang Han").replace("李彦宏", "方汉"),
                             5)[0].speaker == "Fang Han", question
    # ... or none at all (a tester's, answered "strong")
    assert engine.search("What did Robin Li say about his childhood?", 5) == []
    assert engine.search("What did Robin Li say about Linux?", 5)[0].speaker == "Robin Li"
    settings = engine.settings
    try:
        engine.settings = replace(settings, topic_words=False)
        assert engine.search("What did Robin Li say about Nigeria?", 5)
    finally:
        engine.settings = settings
    for question, needle in (("What did Robin Li say about Llama?", "Llama"),
                             ("李彦宏怎么评价OpenAI?", "OpenA"),
                             ("What does Robin Li say about Baidu?", "百度")):
        hits = engine.search(question, 5)
        assert any(needle in h.text for h in hits), question


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("天工3.0的参数规模有多大?", "参数"),  # a fact the articles state
        ("How did Kunlun's share price move when Tiangong 3.0 launched?", "股價"),
        ("Does Robin Li think open-source models make a profit?", "開源"),  # a view on one
        ("Who is Baichuan's CEO?", "CEO Wang Xiaochuan"),
        ("Who founded Baidu?", "創始人"),
        # whether a model makes money is the articles' subject, in other words (赚钱); these
        # two were refused
        ("开源能盈利吗?", "商業模式"),
        ("闭源模型能盈利吗?", "商业模式"),
        # a possessive after a version is no unknown name ("tiangong-3.0's")
        ("What is Tiangong 3.0's parameter count?", "參數"),
    ],
)
def test_a_fact_the_articles_state_is_answered(
    question: str, needle: str, data_dir: Path, index_dir: Path
):
    hits = retrieve(question, data_dir=data_dir, index_dir=index_dir)
    assert any(needle in h.text for h in hits), [h.text[:40] for h in hits]


def test_the_attribute_check_refuses_off_topic_questions_only(engine):
    """Over the question sets' questions that ask for a fact by name: with the check, many
    more off-topic ones get nothing and no answerable one more is left unanswered
    (measured over the eighteen sets here: 59 more of 103 refused, none of 9 lost)."""
    questions = [
        q for path in sorted(OWN_SET.parent.glob("questions*.jsonl"))
        for q in load_questions(path) if attributes_asked(fold(q.query))
    ]
    assert len(questions) >= 50

    def answered() -> tuple[int, int]:
        outcomes = run(questions, lambda q: engine.search(q, 5))
        return (sum(1 for o in outcomes if o.question.abstain and o.returned),
                sum(1 for o in outcomes if not o.question.abstain and o.returned))

    settings = engine.settings
    off_with, on_with = answered()
    try:
        engine.settings = replace(settings, attribute_depth=None)
        off_without, on_without = answered()
    finally:
        engine.settings = settings
    assert off_with <= off_without - 45 and on_with == on_without, (
        off_with, off_without, on_with, on_without)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"query": "why?", "abstain": true}\n\xff\xfe\n', ":2: not UTF-8 text"),
        (b"\xef\xbb\xbf[1]\n", ":1: expected an object"),  # a byte-order mark is fine
        (b"[1, 2]\n", ":1: expected an object"),
        (b"", "no questions in"),
        (b'{"query": "why?", "expect": []}\n{"query": ""}\n', ":2: 'query' must be"),
        (b'{"query": "why?", "expect": "snippet"}\n', "'expect' must be a list"),
        (b'{"query": "why?", "abstain": "yes"}\n', "'abstain' must be"),
        # (a tester's: two questions with one id were both scored, under one name)
        (b'{"id": "a", "query": "why?", "abstain": true}\n'
         b'{"id": "a", "query": "how?", "abstain": true}\n',
         ":2: id 'a' was already used on line 1"),
    ],
)
def test_a_bad_question_file_names_its_line(tmp_path: Path, content: bytes, needle: str):
    path = tmp_path / "q.jsonl"
    path.write_bytes(content)
    with pytest.raises(QuoteBotError, match=needle):
        load_questions(path)


def test_eval_scores_what_it_can(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "query": "why not open source?", "expect": ["snippet"]}\n'
        '{"id": "b", "query": "weather in Paris"}\n'  # nothing to find: scored as off-topic
        + json.dumps({"id": "c", "query": "x" * 3000, "expect": ["y"]}) + "\n",
        encoding="utf-8",
    )
    qs = load_questions(path)
    assert [(q.id, q.abstain) for q in qs] == [("a", False), ("b", True), ("c", False)]
    seen: list[str] = []

    def retriever(q: str) -> list:
        seen.append(q)
        return retrieve(q, 5)

    outcomes = run(qs, retriever)  # the over-long question is refused and counted unanswered
    assert len(outcomes) == 3 and outcomes[2].returned == 0 and len(seen) == 3


def test_eval_counts_a_pair_in_also_in_reports_apart(tmp_path: Path, engine):
    """A Chinese question whose English answer is listed under the Chinese passage (the same
    remark, shown once) misses the zh->en pair as a card, and is found with the reports."""
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({
        "id": "llama", "lang": "zh-Hant", "query": "李彥宏認為Llama的主要開發者是誰?",
        "expect": ["最主要的开发者就是Meta这些人", "the main developers are Meta"],
    }) + "\n", encoding="utf-8")
    (outcome,) = run(load_questions(path), lambda q: engine.search(q, 5))
    hit = engine.search("李彥宏認為Llama的主要開發者是誰?", 5)[outcome.rank - 1]
    assert "最主要的开发者就是Meta这些人" in hit.text
    assert any("the main developers are Meta" in a.text for a in hit.also_in)
    assert outcome.pair_ranks["zh->en"] is None
    assert outcome.pair_ranks_reports["zh->en"] == outcome.rank
    pair = summarize([outcome], [1])["by_pair"]["zh->en"]
    assert (pair["recall@5"], pair["recall@5_with_reports"]) == (0.0, 1.0)


def test_a_remark_is_shown_once_with_the_reports_of_its_reports(engine):
    """The reports listed under a hit include those linked to its reports (the Chinese
    paragraph an English passage renders is also rendered by the next English passages): none
    of them comes back as a card of its own (measured over all sets: recall@5 0.903 -> 0.905,
    three answers into the top five, one out of it)."""
    at = {(r["doc_id"], r["start"]): i for i, r in enumerate(engine.rows)}
    chained = 0
    for question in ("Who does Robin Li say the main developers of Llama are?",
                     "Why is the open source model not like Linux?",
                     "闭源模型的推理成本为什么更低?", "Why didn't Baidu open-source ERNIE?"):
        hits = engine.search(question, 5)
        cards = [at[h.doc_id, h.start] for h in hits]
        for hit in hits:
            listed = {at[a.doc_id, a.start] for a in hit.also_in}
            for member in listed:
                for other in engine.rows[member].get("also_in", []):
                    chained += other not in engine.rows[at[hit.doc_id, hit.start]].get(
                        "also_in", [])
                    assert other in listed | set(cards), (question, hit.citation)
    assert chained  # some reports were reached through a report only
