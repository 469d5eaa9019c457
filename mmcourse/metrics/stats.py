"""How sure is a number? Bootstrap confidence intervals and the paired bootstrap.

A test set is a sample; a score on it would move on another sample of the same size. The
percentile bootstrap (Efron & Tibshirani 1993, ch. 13) estimates how far: draw the test
set's examples again with replacement, recompute the metric, repeat, and read the 2.5th
and 97.5th percentiles of the recomputed scores. For "is A better than B on the same test
set" the resampling is *paired* (the same examples for both; Koehn 2004 for BLEU): the
interval of the difference, and the share of resamples in which A does not beat B.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..contracts import Float, Function, Int, contract


def _values(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or len(arr) < 2:
        raise ValueError(f"{name} must be a 1-D sequence of at least 2 per-example scores; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or inf: a per-example score must be a number")
    return arr


@contract(n=Int(min=2), statistic=Function(),
          resamples=Int(min=10), level=Float(min=0.5, max=1, open_max=True), seed=Int(min=0))
def bootstrap(n: int, statistic: Callable[[np.ndarray], float], *, resamples: int = 1000, level: float = 0.95,
              seed: int = 0) -> tuple[float, float, float]:
    """``(value, low, high)``: ``statistic`` on all ``n`` examples and its percentile
    interval over ``resamples`` draws of ``n`` indices with replacement. ``statistic`` takes
    an index array, so corpus metrics (BLEU, FID) resample whole examples too.

    Used in: chapter 07
    """
    rng = np.random.default_rng(seed)
    value = float(statistic(np.arange(n)))
    draws = np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)], dtype=float)
    if not np.isfinite(draws).all():
        raise ValueError("statistic gave NaN or inf on a resample: it must be defined for any draw of examples")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return value, float(low), float(high)


@contract(resamples=Int(min=10), level=Float(min=0.5, max=1, open_max=True), seed=Int(min=0))
def mean_ci(values: object, *, resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)`` of per-example scores (0/1 for accuracy) by the bootstrap.

    Used in: chapter 07
    """
    arr = _values(values, "values")
    return bootstrap(len(arr), lambda i: arr[i].mean(), resamples=resamples, level=level, seed=seed)


@contract(resamples=Int(min=10), level=Float(min=0.5, max=1, open_max=True), seed=Int(min=0))
def paired_bootstrap(scores_a: object, scores_b: object, *, resamples: int = 1000, level: float = 0.95,
                     seed: int = 0) -> dict[str, float]:
    """Is A better than B on the same examples? The mean difference A - B, its interval,
    and ``p``: the share of paired resamples where A's mean is not above B's.
    """
    a, b = _values(scores_a, "scores_a"), _values(scores_b, "scores_b")
    if len(a) != len(b):
        raise ValueError(f"scores_a ({len(a)}) and scores_b ({len(b)}) must score the same examples, in the same order")
    diff = a - b
    value, low, high = bootstrap(len(diff), lambda i: diff[i].mean(), resamples=resamples, level=level, seed=seed)
    rng = np.random.default_rng(seed)
    p = float(np.mean([diff[rng.integers(0, len(diff), len(diff))].mean() <= 0 for _ in range(resamples)]))
    return {"difference": value, "low": low, "high": high, "p": p}


@dataclass
class Metric:
    """Per-example scores and how they combine: their mean, or a corpus ``statistic`` of an
    index array (BLEU, CIDEr, WER, Fréchet distance), so any metric gets a bootstrap interval
    and two metrics on the same examples a paired comparison.
    """

    values: np.ndarray  # (n,) per-example scores; for corpus metrics, anything of length n
    statistic: Callable[[np.ndarray], float] | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=float)

    def score(self, resamples: int = 1000, seed: int = 0) -> dict[str, float]:
        """``{value, low, high, n, higher_is_better}`` with a percentile bootstrap interval."""
        stat = self.statistic or (lambda i: float(self.values[i].mean()))
        value, low, high = bootstrap(len(self.values), stat, resamples=resamples, seed=seed)
        return {"value": value, "low": low, "high": high, "n": len(self.values),
                "higher_is_better": self.higher_is_better}
