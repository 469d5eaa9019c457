"""Checks for chapter 07's exercises: corpus BLEU with the brevity penalty, the VQA accuracy
over ten answers, the Fréchet distance, CIDEr's TF-IDF weights and a bootstrap interval."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from ..metrics.captioning import bleu, bleu_statistics, tokenize
from ..metrics.image import frechet_distance
from ._util import call, expect_float, generator, require_callable
from .registry import register

_REFS = [["a red circle on the left", "a red circle"], ["a blue square and a green triangle",
                                                        "two objects a blue square and a green triangle"],
         ["three yellow stars", "yellow stars three of them"]]
#: References whose closest length is not their shortest (the first two captions are one word short of
#: their longer reference), and a caption far shorter than both of its references.
_REFS_FAR = [["a red circle", "a red circle on the left side"], ["two squares", "a blue square and a green square here"],
             ["the three small yellow stars sit in a row at the top",
              "three yellow stars in a row at the top of the picture here"]]
BLEU_CASES = [
    (["a red circle on the left", "a blue square and a green triangle", "three yellow stars"], _REFS),
    (["a red", "a blue square and a green", "three yellow stars"], _REFS),  # shorter than the references: BP < 1
    (["a red circle a red circle on the left", "a blue square and a green triangle", "yellow stars three"], _REFS),
    (["a a a a red circle on the left", "a blue square and a green triangle", "three yellow stars"], _REFS),
    (["a red circle on the left", "a blue square and a green square", "three yellow stars"], _REFS_FAR),
    # a length tie: 5 words, references of 3 and 7; the shorter wins, so r = 3 and there is no penalty
    (["a big red circle on"], [["a red circle", "a big red circle on the left"]]),
    # two references each holding half a caption (clip each n-gram at its largest count in any one reference); a
    # surplus "red" in one caption that a reference of another caption could absorb (clip per caption, then sum)
    (["a big red circle on", "the red circle and the blue square", "a red red circle on the left",
      "a blue square on the left"],
     [["a red circle", "a big red circle on the left"], ["the red circle", "the blue square"],
      ["a red circle on the left"], ["a red blue square on the left"]]),
]


def _brevity(cands: list[str], refs: list[list[str]], pick: str) -> float:
    """BLEU's brevity penalty with r the sum of each caption's closest / shortest / longest reference length."""
    c = sum(len(x.split()) for x in cands)
    lengths = [[len(r.split()) for r in rs] for rs in refs]
    if pick == "closest":
        r = sum(min((abs(n - len(x.split())), n) for n in ns)[1] for x, ns in zip(cands, lengths))
    else:
        r = sum((min if pick == "shortest" else max)(ns) for ns in lengths)
    return math.exp(1 - r / c) if c < r else 1.0


@register("eval.bleu")
def check_bleu(fn) -> None:
    """``fn(candidates, references) -> float``: corpus BLEU-4 with clipping and the brevity penalty."""
    require_callable(fn, "bleu4")
    for cands, refs in BLEU_CASES:
        got = expect_float(call(fn, list(cands), [list(r) for r in refs], what="bleu4(candidates, references)"),
                           "bleu4(...)")
        want = bleu(cands, refs)["BLEU-4"]
        if abs(got - want) < 1e-4:
            continue
        precisions = want / _brevity(cands, refs, "closest")
        stats = bleu_statistics([tokenize(c) for c in cands], [[tokenize(r) for r in rs] for rs in refs]).sum(0)
        p = stats[2:6] / stats[6:10]  # the clipped n-gram precisions, n = 1..4
        c = sum(len(x.split()) for x in cands)
        r = sum(min((abs(len(y.split()) - len(x.split())), len(y.split())) for y in rs)[1] for x, rs in zip(cands, refs))
        if abs(got - 100 * want) < 1e-2:
            raise AssertionError(f"that is a percentage ({got:.2f}); return BLEU as a fraction between 0 and 1")
        if c > r and abs(got - precisions * math.exp(1 - r / c)) < 1e-4:
            raise AssertionError("the brevity penalty applies only to candidates shorter than the references: "
                                 "BP = 1 when c >= r, exp(1 - r/c) when c < r")
        if abs(got - float(p.mean()) * _brevity(cands, refs, "closest")) < 1e-4:
            raise AssertionError("BLEU averages the four precisions geometrically, exp(mean(log p_n)), not "
                                 "arithmetically")
        if abs(got - precisions) < 1e-4:
            raise AssertionError(f"right n-gram precisions, but no brevity penalty: for {cands!r} multiply by "
                                 "exp(1 - r/c) when the candidates (c words) are shorter than the references (r)")
        if len(cands) == 1 and abs(got - precisions * _brevity(cands, refs, "longest")) < 1e-4:
            raise AssertionError("the caption is as far from both references (5 words; 3 and 7): on a tie BLEU takes "
                                 "the shorter reference length, so here r = 3 and there is no brevity penalty")
        for pick in ("shortest", "longest"):
            if abs(got - precisions * _brevity(cands, refs, pick)) < 1e-4:
                raise AssertionError(f"you took each caption's {pick} reference length for r; BLEU takes the "
                                     "reference whose length is closest to the caption's (on a tie, the shorter)")
        mean_sentence = np.mean([bleu([c], [r])["BLEU-4"] for c, r in zip(cands, refs)])
        if abs(got - mean_sentence) < 1e-4:
            raise AssertionError("that is the mean of sentence BLEUs; corpus BLEU sums the n-gram counts over all "
                                 "captions first, then takes the precisions and the geometric mean")
        raise AssertionError(f"for {cands!r} you returned {got:.4f}, expected {want:.4f}; hint: in each caption, clip "
                             "each n-gram's count at its largest count in any one reference (\"a a a a\" earns one "
                             "'a' per reference 'a'), then sum the clipped counts over the captions; take r as each "
                             "caption's closest reference length")


@register("eval.vqa_accuracy")
def check_vqa_accuracy(fn) -> None:
    """``fn(prediction, human_answers) -> float``: min(1, matches / 3) over each leave-one-out subset."""
    require_callable(fn, "vqa_accuracy")
    cases = [("yes", ["yes"] * k + ["no"] * (10 - k)) for k in range(11)]
    cases.append(("2", ["12"] * 4 + ["2"] * 2 + ["22"] * 4))  # equal strings, not contained ones
    for prediction, humans in cases:
        k = humans.count(prediction)
        got = expect_float(call(fn, prediction, list(humans), what=f"vqa_accuracy({prediction!r}, human_answers)"),
                           "vqa_accuracy")
        want = float(np.mean([min(1.0, (k - (humans[i] == prediction)) / 3) for i in range(10)]))
        if abs(got - want) < 1e-6:
            continue
        if abs(got - min(1.0, k / 3)) < 1e-6:
            raise AssertionError(f"with {k} of 10 humans saying {prediction!r} you returned min(1, {k}/3) = {got:.3f}; "
                                 f"the official score averages the ten subsets that leave one human out: {want:.3f}")
        raise AssertionError(f"with {k} of 10 humans saying exactly {prediction!r} you returned {got:.3f}, expected "
                             f"{want:.3f} (an answer matches when it equals the prediction, not when it contains it)")


def _frechet_variants(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    """The Fréchet distance computed with one usual slip each, to name the slip a learner made."""
    a64, b64 = a.double().numpy(), b.double().numpy()
    mean = float(((a64.mean(0) - b64.mean(0)) ** 2).sum())

    def trace_term(ddof: int, factor: float, sqrt: str) -> float:
        sa, sb = np.cov(a64, rowvar=False, ddof=ddof), np.cov(b64, rowvar=False, ddof=ddof)
        if sqrt == "elementwise":
            root = np.sqrt(np.abs(sa * sb))
        else:
            w, v = np.linalg.eig(sa @ sb)
            root = (v * np.sqrt(w.astype(complex))) @ np.linalg.inv(v)
        return float(np.trace(sa + sb - factor * root).real)

    return {"biased": mean + trace_term(0, 2.0, "matrix"), "no factor 2": mean + trace_term(1, 1.0, "matrix"),
            "elementwise": mean + trace_term(1, 2.0, "elementwise"), "mean only": mean,
            "squared mean distance missing": trace_term(1, 2.0, "matrix")}


_FRECHET_HINTS = {
    "biased": "you divided the covariances by N; np.cov (and FID) divide by N - 1, the unbiased estimate",
    "no factor 2": "the cross term is 2 Tr((S_a S_b)^1/2): the factor 2 is missing",
    "elementwise": "(S_a S_b)^1/2 is a matrix square root (scipy.linalg.sqrtm or an eigendecomposition), not the "
                   "element-wise square root",
    "mean only": "that is only ||mu_a - mu_b||^2; add Tr(S_a + S_b - 2 (S_a S_b)^1/2)",
    "squared mean distance missing": "the first term, ||mu_a - mu_b||^2 (squared distance of the means), is missing",
}


@register("eval.frechet_distance")
def check_frechet_distance(fn) -> None:
    """``fn(features_a (N, D), features_b (M, D)) -> float``, the Fréchet distance of their Gaussians."""
    require_callable(fn, "frechet_distance")
    g = generator(7)
    for n, m, d, shift in ((200, 150, 4, 0.5), (500, 500, 8, 0.0), (300, 400, 6, 2.0), (40, 60, 3, 1.0)):
        a = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g)
        b = torch.randn(m, d, generator=g) * 1.5 + shift
        got = expect_float(call(fn, a.clone(), b.clone(), what="frechet_distance(a, b)"), "frechet_distance")
        want = frechet_distance(a, b)
        if abs(got - want) <= 1e-3 * max(1.0, abs(want)):
            continue
        for slip, value in _frechet_variants(a, b).items():
            if abs(got - value) <= 1e-3 * max(1.0, abs(value)):
                raise AssertionError(f"for {n} and {m} samples of width {d} you returned {got:.4f}, expected "
                                     f"{want:.4f}: {_FRECHET_HINTS[slip]}")
        raise AssertionError(f"for {n} and {m} samples of width {d} you returned {got:.4f}, expected {want:.4f}; "
                             "compute it in parts and compare: ||mu_a - mu_b||^2, Tr(S_a), Tr(S_b) with np.cov "
                             "(divides by N - 1), and 2 Tr((S_a S_b)^1/2) with a matrix square root")
    same = torch.randn(300, 5, generator=g)
    got = expect_float(call(fn, same, same.clone(), what="frechet_distance(a, a)"), "frechet_distance")
    assert abs(got) < 1e-3, "a feature set against itself should be at distance 0"


@register("eval.cider_tfidf")
def check_cider_tfidf(fn) -> None:
    """``fn(counts, document_frequency, num_images) -> {ngram: weight}``: tf x (log N - log max(1, df))."""
    require_callable(fn, "tfidf")
    counts = Counter({("a",): 2, ("red",): 1, ("circle",): 1, ("a", "red"): 1, ("zebra",): 1, ("blue",): 1})
    # "zebra" is in no reference's n-grams; "blue" is listed with a frequency of 0: max(1, df) covers both
    df = {("a",): 100.0, ("red",): 20.0, ("circle",): 25.0, ("a", "red"): 18.0, ("blue",): 0.0}
    for n_images in (100, 1000):
        got = call(fn, Counter(counts), dict(df), n_images, what="tfidf(counts, document_frequency, num_images)",
                   hints={"math domain error": "an n-gram with document frequency 0 (or none listed): use "
                                               "log(max(1, df)), so its idf is log N",
                          "division by zero": "an n-gram with document frequency 0: use max(1, df)",
                          "('zebra',)": "an n-gram no reference has is missing from document_frequency: read it "
                                        "with .get(g, 0), then max(1, df)"})
        assert isinstance(got, dict), f"return a dict from n-gram to weight; got {type(got).__name__}"
        want = {g: tf * (math.log(n_images) - math.log(max(1.0, df.get(g, 0.0)))) for g, tf in counts.items()}
        assert set(got) == set(want), f"return one weight per n-gram of the caption; missing {set(want) - set(got)}"
        for gram, w in want.items():
            if abs(float(got[gram]) - w) < 1e-6:
                continue
            if gram in (("zebra",), ("blue",)):
                raise AssertionError("an n-gram no reference contains has df = 0: CIDEr uses max(1, df) so its idf "
                                     "is log N, the largest")
            length = sum(counts.values())
            if abs(float(got[gram]) - w / length) < 1e-6:
                raise AssertionError("the weight here is the raw count times the idf; do not divide tf by the "
                                     "caption's number of n-grams (CIDEr normalises the whole vector later)")
            raise AssertionError(f"weight of {gram} with tf {counts[gram]}, df {df.get(gram, 0)}, N = {n_images}: "
                                 f"got {float(got[gram]):.4f}, expected {w:.4f}; hint: tf x (log N - log df), "
                                 "natural logarithms")


def _percentile_interval(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """The check's own 95 % percentile bootstrap interval of the mean."""
    rng, n = np.random.default_rng(seed), len(values)
    means = values[rng.integers(0, n, (resamples, n))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _interval(fn, values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    got = call(fn, values.copy(), resamples, seed, what=f"bootstrap_ci(values, resamples={resamples}, seed={seed})")
    assert isinstance(got, (tuple, list)) and len(got) == 2, "return two numbers: (low, high)"
    return expect_float(got[0], "low"), expect_float(got[1], "high")


@register("eval.bootstrap_ci")
def check_bootstrap_ci(fn) -> None:
    """``fn(values, resamples, seed) -> (low, high)``: the percentile interval of the mean."""
    require_callable(fn, "bootstrap_ci")
    rng = np.random.default_rng(3)
    widths = {}
    for n in (100, 1600):
        values = (rng.random(n) < 0.7).astype(float)
        low, high = _interval(fn, values, 1000, 0)
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
    # skewed scores (a time, a distance): the bootstrap interval leans right; a formula does not, nor moves with the seed
    skewed = np.exp(rng.normal(0.0, 1.0, 60))
    mean = skewed.mean()
    got = [_interval(fn, skewed, 1000, seed) for seed in range(4)]
    if len(set(got)) == 1:
        raise AssertionError("your interval is the same for every seed: it does not resample. Draw `resamples` "
                             "sets of n indices with np.random.default_rng(seed).integers(0, n, n) and take the "
                             "percentiles of their means (mean +- 1.96 standard errors is a formula, not a bootstrap)")
    ref = [_percentile_interval(skewed, 20000, 100 + seed) for seed in range(2)]
    ref_low, ref_high = np.mean([r[0] for r in ref]), np.mean([r[1] for r in ref])
    low, high = np.mean([g[0] for g in got]), np.mean([g[1] for g in got])
    ratio = (high - low) / (ref_high - ref_low)
    lean, ref_lean = (high - mean) / (mean - low), (ref_high - mean) / (mean - ref_low)
    if abs(lean - 1) < 0.03 < ref_lean - 1:
        raise AssertionError("your interval is symmetric around the mean, but the means of resampled skewed scores "
                             "are not: take the 2.5th and 97.5th percentiles of the resampled means, not mean +- a "
                             "multiple of the standard error")
    if ref_lean > 1.1 and lean < 1:
        raise AssertionError("your interval leans left where the resampled means lean right: that is the basic "
                             "bootstrap (2 x mean - a percentile); return the percentiles themselves")
    if ratio < 0.9:
        raise AssertionError(f"your interval is {ratio:.0%} as wide as the 95% percentile interval: take the 2.5th "
                             "and 97.5th percentiles (the 5th and 95th give a 90% interval)")
    assert ratio < 1.1, (f"your interval is {ratio:.0%} as wide as the 95% percentile interval: take the 2.5th and "
                         "97.5th percentiles of the resampled means")
    assert abs(low - ref_low) < 0.1 * (ref_high - ref_low) and abs(high - ref_high) < 0.1 * (ref_high - ref_low), (
        f"on skewed scores (mean {mean:.3f}) your interval is ({low:.3f}, {high:.3f}); the 95% percentile bootstrap "
        f"gives about ({ref_low:.3f}, {ref_high:.3f})")
    low, high = _interval(fn, np.ones(50), 200, 0)
    assert abs(low - 1) < 1e-9 and abs(high - 1) < 1e-9, "values that never vary have a zero-width interval"
    assert _interval(fn, skewed, 1000, 5) == _interval(fn, skewed, 1000, 5), (
        "the same seed gave two different intervals: draw from np.random.default_rng(seed), not from np.random's "
        "global state, so a result can be reproduced")
    assert _interval(fn, skewed, 10, 0) != _interval(fn, skewed, 1000, 0), (
        "10 and 1000 resamples gave the same interval: draw `resamples` resamples, not a fixed number")
    last = np.zeros(50)
    last[-1] = 1.0  # one right answer, the last example
    low, high = _interval(fn, last, 1000, 0)
    assert high > 0, ("the last example was never drawn: rng.integers(0, n, n) already excludes n, so n - 1 would "
                      "leave out index n - 1")
