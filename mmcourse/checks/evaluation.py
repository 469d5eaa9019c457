"""Checks for chapter 07's exercises: corpus BLEU with the brevity penalty, the VQA accuracy
over ten answers, the Fréchet distance, CIDEr's TF-IDF weights and a bootstrap interval."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from ..metrics.captioning import bleu
from ..metrics.image import frechet_distance
from ._util import call, expect_float, generator, require_callable
from .registry import register

_REFS = [["a red circle on the left", "a red circle"], ["a blue square and a green triangle",
                                                        "two objects a blue square and a green triangle"],
         ["three yellow stars", "yellow stars three of them"]]


@register("eval.bleu")
def check_bleu(fn) -> None:
    """``fn(candidates, references) -> float``: corpus BLEU-4 with clipping and the brevity penalty."""
    require_callable(fn, "bleu4")
    cases = [["a red circle on the left", "a blue square and a green triangle", "three yellow stars"],
             ["a red", "a blue square and a green", "three yellow stars"],  # shorter than the references: BP < 1
             ["a red circle a red circle on the left", "a blue square and a green triangle", "yellow stars three"],
             ["a a a a red circle on the left", "a blue square and a green triangle", "three yellow stars"]]
    for cands in cases:
        got = expect_float(call(fn, list(cands), [list(r) for r in _REFS], what="bleu4(candidates, references)"),
                           "bleu4(...)")
        want = bleu(cands, _REFS)["BLEU-4"]
        if abs(got - want) < 1e-4:
            continue
        words, closest = sum(len(c.split()) for c in cands), 0
        for c, refs in zip(cands, _REFS):
            closest += min((abs(len(r.split()) - len(c.split())), len(r.split())) for r in refs)[1]
        if words < closest and abs(got - want / math.exp(1 - closest / words)) < 1e-4:
            raise AssertionError(f"right n-gram precisions, but no brevity penalty: candidates of {words} words "
                                 f"against {closest} reference words should be multiplied by exp(1 - r/c)")
        mean_sentence = np.mean([bleu([c], [r])["BLEU-4"] for c, r in zip(cands, _REFS)])
        if abs(got - mean_sentence) < 1e-4:
            raise AssertionError("that is the mean of sentence BLEUs; corpus BLEU sums the n-gram counts over all "
                                 "captions first, then takes the precisions and the geometric mean")
        raise AssertionError(f"for {cands!r} you returned {got:.4f}, expected {want:.4f}; hint: clip each n-gram's "
                             "count at its largest count in any one reference (\"a a a a\" earns one 'a' per "
                             "reference 'a'), and take r as each caption's closest reference length")


@register("eval.vqa_accuracy")
def check_vqa_accuracy(fn) -> None:
    """``fn(prediction, human_answers) -> float``: min(1, matches / 3) over each leave-one-out subset."""
    require_callable(fn, "vqa_accuracy")
    for k in range(11):
        humans = ["yes"] * k + ["no"] * (10 - k)
        got = expect_float(call(fn, "yes", list(humans), what="vqa_accuracy('yes', human_answers)"), "vqa_accuracy")
        want = float(np.mean([min(1.0, (k - (i < k)) / 3) for i in range(10)]))
        if abs(got - want) < 1e-6:
            continue
        if abs(got - min(1.0, k / 3)) < 1e-6:
            raise AssertionError(f"with {k} of 10 humans saying 'yes' you returned min(1, {k}/3) = {got:.3f}; the "
                                 f"official score averages the ten subsets that leave one human out: {want:.3f}")
        raise AssertionError(f"with {k} of 10 humans saying 'yes' you returned {got:.3f}, expected {want:.3f}")


@register("eval.frechet_distance")
def check_frechet_distance(fn) -> None:
    """``fn(features_a (N, D), features_b (M, D)) -> float``, the Fréchet distance of their Gaussians."""
    require_callable(fn, "frechet_distance")
    g = generator(7)
    for n, m, d, shift in ((200, 150, 4, 0.5), (500, 500, 8, 0.0), (300, 400, 6, 2.0)):
        a = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g)
        b = torch.randn(m, d, generator=g) * 1.5 + shift
        got = expect_float(call(fn, a.clone(), b.clone(), what="frechet_distance(a, b)"), "frechet_distance")
        want = frechet_distance(a, b)
        if abs(got - want) <= 1e-3 * max(1.0, abs(want)):
            continue
        mean_term = float(((a.mean(0) - b.mean(0)) ** 2).sum())
        if abs(got - mean_term) < 1e-4:
            raise AssertionError("that is only ||mu_a - mu_b||^2; add Tr(S_a + S_b - 2 (S_a S_b)^1/2)")
        raise AssertionError(f"for {n} and {m} samples of width {d} you returned {got:.4f}, expected {want:.4f}; "
                             "hint: (S_a S_b)^1/2 is a matrix square root (scipy.linalg.sqrtm or an "
                             "eigendecomposition), not the element-wise square root")
    same = torch.randn(300, 5, generator=g)
    assert abs(expect_float(fn(same, same.clone()), "frechet_distance")) < 1e-3, (
        "a feature set against itself should be at distance 0")


@register("eval.cider_tfidf")
def check_cider_tfidf(fn) -> None:
    """``fn(counts, document_frequency, num_images) -> {ngram: weight}``: tf x (log N - log max(1, df))."""
    require_callable(fn, "tfidf")
    counts = Counter({("a",): 2, ("red",): 1, ("circle",): 1, ("a", "red"): 1, ("zebra",): 1})
    df = {("a",): 100.0, ("red",): 20.0, ("circle",): 25.0, ("a", "red"): 18.0}  # "zebra" never in a reference
    for n_images in (100, 1000):
        got = call(fn, Counter(counts), dict(df), n_images, what="tfidf(counts, document_frequency, num_images)")
        assert isinstance(got, dict), f"return a dict from n-gram to weight; got {type(got).__name__}"
        want = {g: tf * (math.log(n_images) - math.log(max(1.0, df.get(g, 0.0)))) for g, tf in counts.items()}
        assert set(got) == set(want), f"return one weight per n-gram of the caption; missing {set(want) - set(got)}"
        for gram, w in want.items():
            if abs(float(got[gram]) - w) < 1e-6:
                continue
            if gram == ("zebra",):
                raise AssertionError("an n-gram no reference contains has df = 0: CIDEr uses max(1, df) so its idf "
                                     "is log N, the largest")
            raise AssertionError(f"weight of {gram} with tf {counts[gram]}, df {df.get(gram, 0)}, N = {n_images}: "
                                 f"got {float(got[gram]):.4f}, expected {w:.4f}; hint: tf x (log N - log df), "
                                 "natural logarithms")


@register("eval.bootstrap_ci")
def check_bootstrap_ci(fn) -> None:
    """``fn(values, resamples, seed) -> (low, high)``: the percentile interval of the mean."""
    require_callable(fn, "bootstrap_ci")
    rng = np.random.default_rng(3)
    widths = {}
    for n in (100, 1600):
        values = (rng.random(n) < 0.7).astype(float)
        got = call(fn, values.copy(), 1000, 0, what="bootstrap_ci(values, resamples=1000, seed=0)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, "return two numbers: (low, high)"
        low, high = expect_float(got[0], "low"), expect_float(got[1], "high")
        assert low <= values.mean() <= high, f"the interval ({low:.3f}, {high:.3f}) should hold the mean {values.mean():.3f}"
        expected = 2 * 1.96 * math.sqrt(values.mean() * (1 - values.mean()) / n)
        if high - low < 1e-9:
            raise AssertionError("the interval has no width: draw n values *with replacement* "
                                 "(rng.integers(0, n, n)); a permutation of the same values has the same mean")
        if high - low > 0.5:
            raise AssertionError(f"the interval ({low:.2f}, {high:.2f}) spans the values themselves; take the "
                                 "percentiles of the resamples' *means*")
        assert 0.7 * expected < high - low < 1.3 * expected, (
            f"for {n} examples the 95% interval should be about {expected:.3f} wide; got {high - low:.3f} (use the "
            "2.5th and 97.5th percentiles of 1000 resampled means)")
        widths[n] = high - low
    assert widths[1600] < 0.4 * widths[100], "16x more examples should make the interval about 4x narrower"
    constant = np.ones(50)
    low, high = fn(constant, 200, 0)
    assert abs(low - 1) < 1e-9 and abs(high - 1) < 1e-9, "values that never vary have a zero-width interval"
