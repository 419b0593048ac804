"""How search text becomes index tokens and a query becomes words (search.py), without a database."""

from __future__ import annotations

import pytest
from catalog_svc import search


def test_tokens_are_bigrams_and_unigrams_of_cjk_runs_and_whole_ascii_words() -> None:
    assert search.search_tokens("人口库 GIS-2") == ["人口", "口库", "人", "口", "库", "gis", "2"]
    assert search.search_tokens("，。") == []


def test_full_width_letters_and_capitals_are_one_token_with_their_plain_form() -> None:
    assert search.search_tokens("ＧＩＳ") == search.search_tokens("gis") == ["gis"]


def test_a_query_word_is_widened_by_the_governments_abbreviations() -> None:
    (word,) = search.parse_query("社保缴费").words
    assert word.alternatives == ("社保缴费", "社会保险缴费")


def test_punctuation_and_operators_leave_no_words_and_a_code_is_recognised() -> None:
    assert search.parse_query("& | ! ()").words == ()
    assert search.parse_query("101001/000001").exact_code == "101001/000001"
    assert search.parse_query("人口").exact_code is None


def test_an_overlong_query_is_a_value_error() -> None:
    search.parse_query("人" * search.MAX_QUERY_LENGTH)
    with pytest.raises(ValueError):
        search.parse_query("人" * (search.MAX_QUERY_LENGTH + 1))


def test_query_words_reach_tsquery_and_fts5_only_quoted_and_quotes_never_reach_them() -> None:
    words = search.parse_query("婚姻登记 o'brien").words
    assert search.pg_tsquery(words) == "(('婚姻' & '姻登' & '登记')) & ('o') & ('brien')"
    assert search.fts5_query(words) == '("婚姻 姻登 登记") AND ("o") AND ("brien")'
    assert search.pg_tsquery(words, any_word=True).count(" | ") == 2


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("户籍人口基本信息", "户籍人口基本"),
        ("城关镇户籍人口基本信息", "户籍人口基本"),  # a town's copy
        (" 2019 年度户籍人口基本信息 ", "户籍人口基本"),  # a year's, as the index keeps names (runs, padded)
        ("户籍人口基本统计台账", "户籍人口基本"),  # a register kept of it
        ("户籍人口变动统计信息", "户籍人口变动"),  # another resource
        ("带病回乡退伍军人信息", "带病回乡退伍军人"),  # 回乡 is no town
        ("统计信息", "统计信息"),  # nothing but record-kind words: the name itself
    ],
)
def test_name_stem_drops_town_year_and_record_kind(name: str, stem: str) -> None:
    assert search.name_stem(name) == stem


def test_variants_follow_the_distinct_resources_in_rank_order() -> None:
    ids = ["a", "a-ledger", "b", "a-town", "c", "b-2019"]
    names = ["脱贫人口信息", "脱贫人口统计台账", "流动人口信息", "鸣皋镇脱贫人口信息", "人口普查信息"]
    names.append("2019年流动人口信息")
    assert search.group_variants(ids, names) == ["a", "b", "c", "a-ledger", "a-town", "b-2019"]
