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
# # Chapter 04 — Exercises: video and audio
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/solutions/04_video_audio.ipynb)
#
# Four exercises on chapter 04's building blocks. Replace each
# `raise NotImplementedError(...)` with your code and run the check below it; grade the
# whole notebook with `python -m mmcourse grade exercises/04_video_audio.ipynb`.

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

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## Exercise 04.1 — how many tokens is a clip?
#
# A clip of `frames` frames of `height x width` pixels, cut into tubelets of `tubelet`
# frames x `patch_size` x `patch_size` pixels, gives one token per tubelet. Return the
# number of tokens as an int. Raise `ValueError` when `tubelet` does not divide `frames`
# or `patch_size` does not divide `height` and `width`.
#
# (VideoMAE's 16 frames of 224x224 in 2x16x16 tubelets: 8 x 14 x 14 = 1,568 tokens.)

# %%
def count_tokens(frames: int, height: int, width: int, patch_size: int, tubelet: int) -> int:
    # BEGIN SOLUTION
    if frames % tubelet or height % patch_size or width % patch_size:
        raise ValueError(f"tubelet {tubelet} must divide frames {frames}, patch {patch_size} must divide "
                         f"{height}x{width}")
    return (frames // tubelet) * (height // patch_size) * (width // patch_size)
    # END SOLUTION


# %%
mmcourse.check("video.count_tokens", count_tokens)

# %% [markdown]
# ## Exercise 04.2 — divided attention's two reshapes
#
# Tokens arrive as `x (B, T, N, D)`: B clips, T frames, N patches per frame, width D.
# Divided space-time attention runs attention twice per block, on two different sets of
# sequences. Return both:
#
# 1. the **time sequences** `(B*N, T, D)`: row `b*N + n` holds patch `n` of clip `b` in every frame;
# 2. the **space sequences** `(B*T, N, D)`: row `b*T + t` holds the N patches of frame `t` of clip `b`.

# %%
def divided_reshapes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    B, T, N, D = x.shape
    time_seqs = x.transpose(1, 2).reshape(B * N, T, D)  # (B, N, T, D) -> (B*N, T, D)
    space_seqs = x.reshape(B * T, N, D)
    return time_seqs, space_seqs
    # END SOLUTION


# %%
mmcourse.check("video.divided_reshapes", divided_reshapes)

# %% [markdown]
# ## Exercise 04.3 — word error rate by edit distance
#
# For each (reference, hypothesis) pair of transcripts, split both into words and find the
# fewest substitutions, deletions and insertions that turn the reference into the
# hypothesis (Levenshtein distance, by dynamic programming: `d[i][j]` is the distance
# between the first `i` reference words and the first `j` hypothesis words). WER is the
# sum of those distances over all pairs divided by the total number of reference words.
# Return a float.

# %%
def wer(references: list[str], hypotheses: list[str]) -> float:
    # BEGIN SOLUTION
    errors = words = 0
    for ref, hyp in zip(references, hypotheses):
        r, h = ref.split(), hyp.split()
        d = [[i + j if i * j == 0 else 0 for j in range(len(h) + 1)] for i in range(len(r) + 1)]
        for i in range(1, len(r) + 1):
            for j in range(1, len(h) + 1):
                d[i][j] = min(d[i - 1][j - 1] + (r[i - 1] != h[j - 1]), d[i - 1][j] + 1, d[i][j - 1] + 1)
        errors += d[len(r)][len(h)]
        words += len(r)
    return errors / words
    # END SOLUTION


# %%
mmcourse.check("speech.wer", wer)

# %% [markdown]
# ## Exercise 04.4 — a SpecAugment mask
#
# Given log-mel `features (M, T)`, return a *copy* in which mel channels `f0 .. f0+f-1`
# (all frames) and frames `t0 .. t0+t-1` (all channels) are replaced by the mean of the
# original features. Leave `features` itself unchanged.

# %%
def mask_spectrogram(features: torch.Tensor, f0: int, f: int, t0: int, t: int) -> torch.Tensor:
    # BEGIN SOLUTION
    out = features.clone()
    fill = features.mean()
    out[f0:f0 + f, :] = fill
    out[:, t0:t0 + t] = fill
    return out
    # END SOLUTION


# %%
mmcourse.check("audio.spec_mask", mask_spectrogram)
