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
# `python -m mmcourse grade exercises/00_getting_started.ipynb`.
#
# <!-- generated from solutions/00_getting_started.py by `make exercises`, which never overwrites
# a notebook you have edited; fingerprint e77d29c154f1 -->

# %% [markdown]
# # Chapter 00 — Exercises
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/exercises/00_getting_started.ipynb)
#
# Four small exercises on the tools every later chapter uses. In each, replace the line
# `raise NotImplementedError(...)` with your code, then run the check cell below it: it
# calls your function on random inputs and compares it with the course's reference.
#
# Grade the whole notebook from a terminal with
# `python -m mmcourse grade exercises/00_getting_started.ipynb`.

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
from torch import nn

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## Exercise 00.1 — accuracy
#
# A classifier outputs `logits` of shape `(batch, classes)`: one score per class. Its
# prediction is the class with the highest score. Return the fraction of rows whose
# prediction equals `labels` (shape `(batch,)`), as a Python float.

# %%
def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    raise NotImplementedError("Exercise 00.1")


# %%
mmcourse.check("metrics.accuracy", accuracy)

# %% [markdown]
# ## Exercise 00.2 — counting parameters
#
# Return how many numbers a model learns: the sum of `numel()` over its parameters. With
# `trainable_only=True`, count only the parameters with `requires_grad` set (frozen
# layers are not trained; chapter 03 freezes whole towers).

# %%
def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    raise NotImplementedError("Exercise 00.2")


# %%
mmcourse.check("train.count_parameters", count_parameters)

# %% [markdown]
# ## Exercise 00.3 — a confusion matrix
#
# Return a `(num_classes, num_classes)` tensor `M` where `M[i, j]` counts the examples
# whose **true** class is `i` and **predicted** class is `j`.

# %%
def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    raise NotImplementedError("Exercise 00.3")


# %%
mmcourse.check("metrics.confusion_matrix", confusion_matrix)

# %% [markdown]
# ## Exercise 00.4 — one training step
#
# Training repeats one step: compute the loss on a batch, compute gradients, update the
# weights. Write that step for a classifier: given `batch = (x, y)`, compute the
# cross-entropy of `model(x)` against `y`, clear old gradients, back-propagate, step the
# optimizer, and return the loss (before the update) as a float.

# %%
def train_step(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor],
               optimizer: torch.optim.Optimizer) -> float:
    raise NotImplementedError("Exercise 00.4")


# %%
mmcourse.check("train.train_step", train_step)
