"""mAP equals scikit-learn's average precision (ties included); Winoground's three scores;
bootstrap intervals cover what they should; the official VQA accuracy's quirks, case by case."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from mmcourse.metrics.ranking import average_precision, winoground_scores
from mmcourse.metrics.stats import bootstrap, mean_ci, paired_bootstrap
from mmcourse.metrics.vqa_official import (
    official_vqa_accuracy,
    process_digit_article,
    process_punctuation,
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), q=st.integers(1, 4), g=st.integers(2, 9))
def test_average_precision_equals_sklearn(data, q, g):
    # scores drawn from few values, so ties are common
    sim = torch.tensor(data.draw(st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=g, max_size=g),
                                          min_size=q, max_size=q)))
    rel = torch.tensor(data.draw(st.lists(st.lists(st.booleans(), min_size=g, max_size=g), min_size=q, max_size=q)))
    rel[:, 0] = True  # every query has a relevant item
    ours = average_precision(sim, rel)
    theirs = [average_precision_score(r.numpy(), s.numpy()) for s, r in zip(sim, rel)]
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_winoground_scores():
    s = torch.tensor([[[0.9, 0.1], [0.2, 0.8]],  # all right: text, image, group
                      [[0.9, 0.95], [0.2, 0.99]],  # images prefer right captions? no: caption 0 prefers image 1
                      [[0.5, 0.5], [0.5, 0.5]]])  # a bag of words: every score tied, nothing right
    out = winoground_scores(s)
    assert out["text"].tolist() == [1, 1, 0] and out["image"].tolist() == [1, 0, 0]
    assert out["group"].tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="scores must have shape"):
        winoground_scores(torch.rand(3, 2, 3))


def test_mean_ci_covers_the_true_rate_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    for trial in range(100):
        sample = rng.random(200) < 0.7
        _, low, high = mean_ci(sample, resamples=300, seed=trial)
        covered += low <= 0.7 <= high
    assert 88 <= covered <= 99, covered


def test_bootstrap_of_a_corpus_statistic_and_determinism():
    values = np.arange(10.0)
    a = bootstrap(10, lambda i: values[i].sum(), seed=3)
    assert a == bootstrap(10, lambda i: values[i].sum(), seed=3) and a[0] == 45.0 and a[1] < 45 < a[2]


def test_paired_bootstrap_sees_a_real_gain_and_no_gain():
    rng = np.random.default_rng(1)
    base = (rng.random(500) < 0.6).astype(float)
    better = np.where(rng.random(500) < 0.2, 1.0, base)  # fixes ~20 % of the errors
    gain = paired_bootstrap(better, base)
    assert gain["low"] > 0 and gain["p"] < 0.01, gain
    same = paired_bootstrap(base, base[rng.permutation(500)])
    assert same["low"] < 0 < same["high"] and same["p"] > 0.05, same


@pytest.mark.parametrize("call, match", [
    (lambda: mean_ci([1.0]), "values must be a 1-D sequence of at least 2"),
    (lambda: mean_ci([1.0, float("nan")]), "values holds NaN"),
    (lambda: paired_bootstrap([1, 0, 1], [1, 0]), "scores_a .3. and scores_b .2."),
    (lambda: bootstrap(1, lambda i: 0.0), "n"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the official VQA accuracy -----------------------------------------------------------
TEN = ["2"] * 10


@pytest.mark.parametrize("prediction, humans, expected", [
    ("2", TEN, 1.0),  # everyone agrees
    ("two", TEN, 1.0),  # the prediction's number word becomes a digit
    ("Two.", TEN, 1.0),  # ...after punctuation and case
    ("3", TEN, 0.0),
    ("yes", ["Yes"] * 10, 0.0),  # identical humans are compared raw: "Yes" never matches
    ("yes", ["yes"] * 2 + ["no"] * 8, 0.6),  # 2 matches: 8 subsets with 2/3, 2 subsets with 1/3
    ("yes", ["yes"] * 3 + ["no"] * 7, 0.9),  # 3 matches: 7 x 1 + 3 x 2/3 = 9
    ("yes", ["yes"] * 4 + ["no"] * 6, 1.0),
    ("red", ["Red"] + ["red"] * 9, 1.0),  # humans disagree, so punctuation is processed, case is not
    ("dont know", ["don't know"] * 3 + ["no"] * 7, 0.9),  # the prediction's contraction is restored
    ("a dog", ["dog"] * 3 + ["cat"] * 7, 0.9),  # articles leave the prediction
    ("1,000", ["1000"] * 3 + ["many"] * 7, 0.9),  # a comma between digits is deleted
    ("2.5", ["2.5"] * 5 + ["3"] * 5, 1.0),  # a decimal point stays
])
def test_official_vqa_accuracy(prediction, humans, expected):
    assert official_vqa_accuracy(prediction, humans) == pytest.approx(expected)


def test_official_normalisation_steps():
    assert process_punctuation("yes, it is") == "yes it is"  # touching a space: deleted
    assert process_punctuation("black/white") == "black white"  # between words: a space
    assert process_digit_article("The Two Dogs") == "2 dogs"
    with pytest.raises(ValueError, match="human_answers"):
        official_vqa_accuracy("yes", ["yes"])
