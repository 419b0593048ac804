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
