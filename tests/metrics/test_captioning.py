"""BLEU-1...4, ROUGE-L and CIDEr-D equal pycocoevalcap's on the same tokenised captions,
edge cases included; METEOR runs through pycocoevalcap where Java is installed; BLEU equals
sacrebleu's once both see the same tokens, and tokenisation alone moves it."""

import shutil
import string

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from mmcourse.metrics.captioning import bleu, cider_d, rouge_l, tokenize

REFS = [["a red circle on the left", "a red circle", "there is one red circle"],
        ["a blue square and a green triangle", "two objects a blue square and a green triangle"],
        ["three yellow stars", "yellow stars three of them"],
        ["a purple diamond above a red circle", "a red circle below a purple diamond"]]
CASES = {
    "close": ["a red circle", "a blue square and a green triangle", "three yellow stars", "a purple diamond"],
    "empty candidate": ["", "a blue square", "yellow stars", "a red circle"],
    # tokenised, so single spaces: pycocoevalcap's ROUGE splits on " " and counts a trailing "" as a word
    "longer than every reference": [" ".join(["a red circle"] * 6), "a blue square and a green triangle and a blue "
                                    "square and a green triangle", " ".join(["three yellow stars"] * 4),
                                    " ".join(["a purple diamond"] * 5)],
    "repeated words": ["red red red red", "square square square", "three three three", "a a a a a a"],
    "unicode": ["a rouge cercle é", "ein blaues quadrat ß", "三 yellow stars", "a purple 💎 diamond"],
    "numbers": ["1 red circle", "2 objects 2 colours", "3 yellow stars", "1 diamond above 1 circle"],
    "exact": [r[0] for r in REFS],
}


def coco(candidates, references):
    gts = {i: list(r) for i, r in enumerate(references)}
    res = {i: [c] for i, c in enumerate(candidates)}
    return gts, res


@pytest.mark.parametrize("case", CASES)
def test_bleu_equals_pycocoevalcap(case):
    gts, res = coco(CASES[case], REFS)
    theirs, _ = Bleu(4).compute_score(gts, res, verbose=0)
    ours = bleu(CASES[case], REFS)
    assert [ours[f"BLEU-{n}"] for n in (1, 2, 3, 4)] == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_rouge_l_equals_pycocoevalcap(case):
    gts, res = coco(CASES[case], REFS)
    mean, per = Rouge().compute_score(gts, res)
    ours = rouge_l(CASES[case], REFS)
    assert ours == pytest.approx(per, abs=1e-12) and ours.mean() == pytest.approx(mean, abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_cider_d_equals_pycocoevalcap(case):
    gts, res = coco(CASES[case], REFS)
    mean, per = Cider().compute_score(gts, res)
    ours = cider_d(CASES[case], REFS)
    assert ours == pytest.approx(per, abs=1e-9) and ours.mean() == pytest.approx(mean, abs=1e-9)


words = st.sampled_from(["a", "red", "blue", "circle", "square", "and", "two", "3", "é", "the"])
caption = st.lists(words, min_size=1, max_size=9).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(data=st.lists(st.tuples(caption, st.lists(caption, min_size=1, max_size=3)), min_size=2, max_size=6))
def test_all_three_equal_pycocoevalcap_on_random_captions(data):
    cands, refs = [c for c, _ in data], [r for _, r in data]
    gts, res = coco(cands, refs)
    assert [bleu(cands, refs)[f"BLEU-{n}"] for n in (1, 2, 3, 4)] == pytest.approx(
        Bleu(4).compute_score(gts, res, verbose=0)[0], abs=1e-9)
    assert rouge_l(cands, refs) == pytest.approx(Rouge().compute_score(gts, res)[1], abs=1e-12)
    if len({tuple(r) for r in refs}) > 1 or len(refs) > 1:
        assert cider_d(cands, refs) == pytest.approx(Cider().compute_score(gts, res)[1], abs=1e-9)


def test_cider_is_on_the_x10_scale_and_exact_captions_score_high():
    scores = cider_d(CASES["exact"], REFS)
    assert scores.mean() > 1.0, scores  # papers print x100: "133.3" is 1.333 on this scale


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR is a Java program (.ci/run installs a JRE)")
def test_meteor_runs_through_pycocoevalcap():
    from pycocoevalcap.meteor.meteor import Meteor

    gts, res = coco(CASES["close"], REFS)
    score, per = Meteor().compute_score(gts, res)
    exact, _ = Meteor().compute_score(*coco(CASES["exact"], REFS))
    assert 0 < score < exact <= 1, (score, exact)


def test_bleu_equals_sacrebleu_on_the_same_tokens():
    cands = CASES["close"] + CASES["longer than every reference"]
    refs = REFS + REFS
    streams = [[r[k] for r in refs] for k in range(2)]  # sacrebleu wants reference streams
    two = [r[:2] for r in refs]
    theirs = sacrebleu.corpus_bleu(cands, streams, tokenize="none", smooth_method="none", force=True)
    assert bleu(cands, two)["BLEU-4"] * 100 == pytest.approx(theirs.score, abs=1e-6)


def test_tokenisation_alone_moves_bleu():
    refs = [["A red circle, on the left.", "A red circle."], ["Three yellow stars!", "Yellow stars: three."]]
    cands = ["a red circle on the left", "three yellow stars"]
    ours = bleu([tokenize(c) for c in cands], [[tokenize(r) for r in rs] for rs in refs])["BLEU-4"]
    raw = sacrebleu.corpus_bleu(cands, [[r[k] for r in refs] for k in range(2)], tokenize="13a").score / 100
    assert ours > raw + 0.2, (ours, raw)  # case and punctuation tokens cost sacrebleu's 13a matches


def test_tokenize():
    assert tokenize("A red circle, on the LEFT.") == "a red circle on the left"
    assert tokenize("  two   objects!!") == "two objects"
    assert tokenize("") == ""
    assert all(p not in tokenize(string.punctuation.replace("'", "") + " x") for p in ",.!?")


@pytest.mark.parametrize("call, error, match", [
    (lambda: bleu(["a"], [["a"], ["b"]]), ValueError, "candidates and references must have the same length"),
    (lambda: bleu(["a", "b"], [["a"], []]), ValueError, r"references\[1\] is an empty list"),
    (lambda: cider_d(["a"], ["a red circle"]), TypeError, r"references\[0\] must be a list"),
    (lambda: rouge_l("a red circle", [["a"]]), TypeError, "candidates"),
    (lambda: bleu(["a"], [["a"]], max_n=0), ValueError, "max_n"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_scores_are_numpy_arrays_per_caption():
    assert isinstance(cider_d(CASES["close"], REFS), np.ndarray) and len(rouge_l(CASES["close"], REFS)) == 4
