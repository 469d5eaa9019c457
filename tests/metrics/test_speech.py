"""WER and CER from edit distance equal jiwer's on every case."""

import jiwer
import pytest

from mmcourse.metrics.speech import character_error_rate, edit_distance, word_error_rate

CASES = [
    (["three one four"], ["three one four"]),  # perfect
    (["three one four"], ["three one five"]),  # one substitution
    (["three one four"], ["three four"]),  # one deletion
    (["three one four"], ["three one one four"]),  # one insertion
    (["three one four"], [""]),  # nothing recognised: every word deleted
    (["one"], ["two three four"]),  # WER above 1
    (["nine eight", "seven six five four"], ["nine", "seven six five four three"]),  # corpus-level, unequal lengths
    (["zero  one"], ["zero one"]),  # repeated spaces
    (["a b c d e f"], ["f e d c b a"]),  # reversed
    (["the cat sat", "on the mat"], ["the cat sat on", "the mat"]),
]


@pytest.mark.parametrize("refs, hyps", CASES)
def test_wer_equals_jiwer(refs, hyps):
    assert word_error_rate(refs, hyps) == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)


@pytest.mark.parametrize("refs, hyps", CASES)
def test_cer_equals_jiwer(refs, hyps):
    assert character_error_rate(refs, hyps) == pytest.approx(jiwer.cer(refs, hyps), abs=1e-12)


def test_edit_distance_basics():
    assert edit_distance([], []) == 0
    assert edit_distance(["a"], []) == 1
    assert edit_distance([], ["a", "b"]) == 2
    assert edit_distance(list("kitten"), list("sitting")) == 3


@pytest.mark.parametrize("refs, hyps, error, match", [
    ([""], ["one"], ValueError, "empty transcript"),
    (["one two"], ["one", "two"], ValueError, "same length"),
    ("one two", "one two", TypeError, "references"),
])
def test_bad_input_names_the_argument(refs, hyps, error, match):
    with pytest.raises(error, match=match):
        word_error_rate(refs, hyps)
