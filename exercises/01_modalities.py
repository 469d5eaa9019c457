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
# `python -m mmcourse grade exercises/01_modalities.ipynb`.
#
# <!-- generated from solutions/01_modalities.py by `make exercises`, which never overwrites
# a notebook you have edited; fingerprint a5a45fce8e40 -->

# %% [markdown]
# # Chapter 01 — Exercises: modalities as tensors
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/exercises/01_modalities.ipynb)
#
# Four exercises, one per modality step of chapter 01. Replace each
# `raise NotImplementedError(...)` with your code and run the check below it; grade the
# whole notebook with `python -m mmcourse grade exercises/01_modalities.ipynb`.

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

import torch
import torch.nn.functional as F

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## Exercise 01.1 — patchify
#
# Cut a batch of images `(B, C, H, W)` into non-overlapping `P x P` patches and return
# `(B, N, C*P*P)`: patches in row-major order (left to right, then top to bottom), each
# flattened channel-first, as `(C, P, P)`. Assume `P` divides `H` and `W`.
#
# *Hint:* `reshape` to `(B, C, H/P, P, W/P, P)`, `permute` the patch-grid axes to the
# front, `reshape` again.

# %%
def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    raise NotImplementedError("Exercise 01.1")


# %%
mmcourse.check("patches.patchify", patchify)

# %% [markdown]
# ## Exercise 01.2 — a mel filterbank
#
# Build `n_mels` triangular filters over `n_freqs` STFT bins spread evenly from 0 Hz to
# `sample_rate / 2`, returned as an `(n_freqs, n_mels)` tensor. Use the HTK mel scale,
# `mel = 2595 * log10(1 + hz / 700)` (inverse: `hz = 700 * (10 ** (mel / 2595) - 1)`):
#
# 1. place `n_mels + 2` edge frequencies equally spaced *in mels* from 0 to `sample_rate / 2`;
# 2. filter `m` rises linearly from 0 at edge `m` to 1 at edge `m + 1` and falls back to
#    0 at edge `m + 2`; it is 0 elsewhere. No normalisation.

# %%
def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    raise NotImplementedError("Exercise 01.2")


# %%
mmcourse.check("audio.mel_filterbank", mel_filterbank)

# %% [markdown]
# ## Exercise 01.3 — segment sampling
#
# Pick `k` frames from a clip of `num_frames` the TSN way, at test time: split the frame
# indices `0 .. num_frames - 1` into `k` equal segments (edges at
# `floor(i * num_frames / k)` for `i = 0..k`) and return the middle index of each,
# `(start + end - 1) // 2` for a segment `[start, end)`. Raise `ValueError` when `k`
# exceeds `num_frames`.

# %%
def sample_segments(num_frames: int, k: int) -> list[int]:
    raise NotImplementedError("Exercise 01.3")


# %%
mmcourse.check("video.sample_segments", sample_segments)

# %% [markdown]
# ## Exercise 01.4 — the late-fusion scorer
#
# A late-fusion (dual-encoder) model compares every image embedding with every caption
# embedding by cosine similarity. Given `image_emb (M, D)` and `text_emb (N, D)`, return
# the `(M, N)` matrix of cosine similarities, computed with one matrix product.

# %%
def similarity_matrix(image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("Exercise 01.4")


# %%
mmcourse.check("fusion.similarity_matrix", similarity_matrix)
