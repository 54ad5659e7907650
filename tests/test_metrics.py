"""Metrics on hand-made sets, with the expected values worked out by hand."""

import pytest

from goalconvo.sinks.metrics import distinct_n, distinct_report, tokens


def test_tokenizer_is_lowercased_words_with_apostrophes():
    assert tokens("I'd like a 4-star Hotel, please!") == ["i'd", "like", "a", "4", "star", "hotel", "please"]


def test_distinct_n_by_hand():
    utts = ["a b a", "b c"]
    # unigrams: a b a b c -> 3 unique of 5
    assert distinct_n(utts, 1) == pytest.approx(3 / 5)
    # bigrams within utterances: (a b) (b a) (b c) -> 3 unique of 3
    assert distinct_n(utts, 2) == pytest.approx(1.0)


def test_distinct_report_pools_and_averages():
    d1 = ["a a", "a a"]  # 1 unique of 4 unigrams; bigrams (a a),(a a): 1 of 2
    d2 = ["b c"]  # 2 of 2; bigram 1 of 1
    r = distinct_report([d1, d2])
    assert r["distinct1_corpus"] == pytest.approx(3 / 6)
    assert r["distinct1_mean"] == pytest.approx((1 / 4 + 1) / 2)
    assert r["distinct2_corpus"] == pytest.approx(2 / 3)
    assert r["distinct2_mean"] == pytest.approx((1 / 2 + 1) / 2)


def test_empty_input_is_zero_not_an_error():
    assert distinct_n([], 1) == 0.0
    assert distinct_report([])["distinct1_mean"] == 0.0
