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
# **This is your notebook.** Replace each `raise NotImplementedError(...)` with your code,
# then run the check cell below it. Grade the whole notebook with
# `python -m mmcourse grade exercises/02_clip.ipynb`.
#
# <!-- generated from solutions/02_clip.py by `make exercises`, which never overwrites
# a notebook you have edited; fingerprint 5e0450753331 -->

# %% [markdown]
# # Chapter 02 — Exercises: contrastive learning and retrieval
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/exercises/02_clip.ipynb)
#
# Four exercises on CLIP's loss, zero-shot classification and retrieval. Replace each
# `raise NotImplementedError(...)` with your code and run the check below it; grade the
# whole notebook with `python -m mmcourse grade exercises/02_clip.ipynb`.

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
import torch
import torch.nn.functional as F

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## Exercise 02.1 — the InfoNCE loss
#
# `logits_per_image` is a `(B, B)` matrix: row i holds image i's scaled similarity with
# every caption, and caption i is its match. Return CLIP's symmetric loss: the mean of
# the cross-entropy over rows (image → caption) and over columns (caption → image).

# %%
def info_nce(logits_per_image: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("Exercise 02.1")


# %%
mmcourse.check("clip.info_nce", info_nce)

# %% [markdown]
# ## Exercise 02.2 — a zero-shot classifier with prompt ensembling
#
# Given a CLIP-style `model` (its `encode_text` takes a list of strings and returns
# normalised embeddings), class names and templates such as `"a photo of a {}"`, return a
# `(C, D)` tensor: for each class, the mean of its templates' text embeddings,
# normalised again to length 1.

# %%
def zero_shot_classifier(model, classnames: list[str], templates: list[str]) -> torch.Tensor:
    raise NotImplementedError("Exercise 02.2")


# %%
mmcourse.check("clip.zero_shot_classifier", zero_shot_classifier)

# %% [markdown]
# ## Exercise 02.3 — Recall@K, ties counted against the query
#
# `similarity` is `(Q, G)`; query q's one right answer is gallery item `relevant[q]`.
# A query's rank is 1 + the number of *other* items scoring at least as high as its
# right answer (so a tie is never in the query's favour). Return the fraction of queries
# with rank ≤ k.

# %%
def recall_at_k(similarity: torch.Tensor, relevant: torch.Tensor, k: int) -> float:
    raise NotImplementedError("Exercise 02.3")


# %%
mmcourse.check("metrics.recall_at_k", recall_at_k)

# %% [markdown]
# ## Exercise 02.4 — hard negatives
#
# In a batch's `(B, B)` similarity matrix (pair i matches column i), the *hardest
# negative* of row i is the most similar column other than i. Return a `(B,)` tensor
# of those column indices.

# %%
def hardest_negatives(similarity: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("Exercise 02.4")


# %%
mmcourse.check("clip.hardest_negatives", hardest_negatives)
