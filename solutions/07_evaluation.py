# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 07 — Exercises: metrics you can trust
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/solutions/07_evaluation.ipynb)
#
# Five exercises on chapter 07's metrics. Replace each `raise NotImplementedError(...)`
# with your code and run the check below it; grade the whole notebook with
# `python -m mmcourse grade exercises/07_evaluation.ipynb`.

# %%
import subprocess
import sys

try:  # google.colab exists only on Colab
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "mmcourse @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0

# %%
import math
from collections import Counter

import numpy as np
import torch

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## Exercise 07.1 — corpus BLEU-4 with the brevity penalty
#
# `candidates` is a list of captions, `references` a list with one list of reference captions per
# candidate; all are lower-case words separated by single spaces. Return corpus BLEU-4
# (Papineni et al. 2002):
# 1. for n = 1…4, over all captions: the clipped matches (each n-gram counts at most as often as in
#    the one reference that has it most) and the number of candidate n-grams;
# 2. p_n = matches / n-grams, and their geometric mean (p₁p₂p₃p₄)^¼;
# 3. c = the candidates' total length, r = the sum of each caption's *closest* reference length
#    (on a tie, the shorter); multiply by BP = exp(1 − r/c) when c < r.

# %%
def bleu4(candidates: list[str], references: list[list[str]]) -> float:
    # BEGIN SOLUTION
    matches, total, c, r = [0] * 4, [0] * 4, 0, 0
    for cand, refs in zip(candidates, references):
        words, ref_words = cand.split(), [x.split() for x in refs]
        c += len(words)
        r += min((abs(len(x) - len(words)), len(x)) for x in ref_words)[1]
        for n in range(1, 5):
            grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
            most = Counter()
            for x in ref_words:
                most |= Counter(tuple(x[i:i + n]) for i in range(len(x) - n + 1))
            matches[n - 1] += sum(min(k, most[g]) for g, k in grams.items())
            total[n - 1] += max(0, len(words) - n + 1)
    precision = math.exp(sum(math.log(m / t) for m, t in zip(matches, total)) / 4)
    return precision * (math.exp(1 - r / c) if c < r else 1.0)
    # END SOLUTION


# %%
mmcourse.check("eval.bleu", bleu4)

# %% [markdown]
# ## Exercise 07.2 — the VQA accuracy over ten answers
#
# VQA v2 scores a prediction against ten human answers: for each human left out, min(1, number of
# the other nine who gave the prediction / 3); the ten values averaged (Antol et al. 2015, §4;
# GT-Vision-Lab/VQA `vqaEval.py`). Answers here are already normalised: compare strings as they are.

# %%
def vqa_accuracy(prediction: str, human_answers: list[str]) -> float:
    # BEGIN SOLUTION
    scores = []
    for i in range(len(human_answers)):
        others = human_answers[:i] + human_answers[i + 1:]
        scores.append(min(1.0, others.count(prediction) / 3))
    return sum(scores) / len(scores)
    # END SOLUTION


# %%
mmcourse.check("eval.vqa_accuracy", vqa_accuracy)

# %% [markdown]
# ## Exercise 07.3 — the Fréchet distance
#
# Fit a Gaussian to each feature set, (N, D) and (M, D): means μ and covariances Σ (unbiased,
# `np.cov(x, rowvar=False)`). Return ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^½) (Heusel et al.
# 2017, eq. 6). The square root is a *matrix* square root: `scipy.linalg.sqrtm` works (take `.real`);
# so does Tr((Σ_a Σ_b)^½) = Σ √λ over the eigenvalues λ of Σ_a Σ_b.

# %%
def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    # BEGIN SOLUTION
    a, b = features_a.double().numpy(), features_b.double().numpy()
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cross = np.sqrt(np.clip(np.linalg.eigvals(sa @ sb).real, 0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * cross)
    # END SOLUTION


# %%
mmcourse.check("eval.frechet_distance", frechet_distance)

# %% [markdown]
# ## Exercise 07.4 — CIDEr's TF-IDF weights
#
# CIDEr (Vedantam et al. 2015, eq. 2) weights each n-gram g of a caption by its term frequency
# times an inverse document frequency over the N images of the evaluated set: `counts[g]` is how
# often g occurs in the caption, `document_frequency[g]` in how many images' references it occurs
# (missing = 0). Return `{g: counts[g] * (log N − log max(1, df))}` for every n-gram in `counts`.

# %%
def tfidf(counts: Counter, document_frequency: dict, num_images: int) -> dict:
    # BEGIN SOLUTION
    return {g: tf * (math.log(num_images) - math.log(max(1.0, document_frequency.get(g, 0.0))))
            for g, tf in counts.items()}
    # END SOLUTION


# %%
mmcourse.check("eval.cider_tfidf", tfidf)

# %% [markdown]
# ## Exercise 07.5 — a bootstrap confidence interval
#
# `values` holds one score per test example (1 = right, 0 = wrong). Draw `resamples` times n
# indices *with replacement* (`np.random.default_rng(seed).integers(0, n, n)`), take the mean of
# each resample, and return the 2.5th and 97.5th percentiles of those means as `(low, high)`.

# %%
def bootstrap_ci(values: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    n = len(values)
    means = [values[rng.integers(0, n, n)].mean() for _ in range(resamples)]
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)
    # END SOLUTION


# %%
mmcourse.check("eval.bootstrap_ci", bootstrap_ci)
