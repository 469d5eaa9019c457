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
# # Chapter 06 — Exercises: images as tokens and one decoder
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/solutions/06_unified_gpt.ipynb)
#
# Five exercises on chapter 06's pieces. Replace each `raise NotImplementedError(...)`
# with your code and run the check below it; grade the whole notebook with
# `python -m mmcourse grade exercises/06_unified_gpt.ipynb`.

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
# ## Exercise 06.1 — nearest code, straight through
#
# `z` is the encoder's output, (B, D, H, W): one D-dimensional vector per grid position.
# `codebook` is (K, D). Return
# 1. `z_q`, (B, D, H, W): each vector replaced by its nearest codebook row (Euclidean), written so
#    that the gradient at `z_q` reaches `z` unchanged (the straight-through estimator, van den
#    Oord et al. 2017, §3.2): z_q = z + (e − z).detach();
# 2. `codes`, (B, H, W): the index of that row.

# %%
def quantise(z: torch.Tensor, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    B, D, H, W = z.shape
    flat = z.permute(0, 2, 3, 1).reshape(-1, D)  # (B*H*W, D)
    codes = torch.cdist(flat, codebook).argmin(1).view(B, H, W)
    e = codebook[codes].permute(0, 3, 1, 2)  # (B, D, H, W)
    return z + (e - z).detach(), codes
    # END SOLUTION


# %%
mmcourse.check("vq.quantise", quantise)

# %% [markdown]
# ## Exercise 06.2 — image codes at an offset
#
# The vocabulary holds `text_size` text ids first, then `<boi>` (id `text_size`) and `<eoi>`
# (id `text_size + 1`), then the image codes. Given an (h, w) grid of codes, return the list of
# ids of the image span: `<boi>`, each code's id read row by row, `<eoi>`.

# %%
def image_ids(codes: torch.Tensor, text_size: int) -> list[int]:
    # BEGIN SOLUTION
    return [text_size, *(codes.flatten() + text_size + 2).tolist(), text_size + 1]
    # END SOLUTION


# %%
mmcourse.check("unified.image_ids", image_ids)

# %% [markdown]
# ## Exercise 06.3 — the modality mask
#
# `codes_so_far` (B,) says where each sequence is: −1 outside an image, otherwise how many codes
# it has written since `<boi>`. Return a (B, V) bool mask of the ids allowed next
# (V = `len(vocab)`): inside an unfinished image only image codes (ids ≥ `vocab.image_offset`);
# once the image holds `vocab.tokens_per_image` codes only `vocab.eoi`; outside an image every text
# id (below `vocab.text_size`) except `vocab.pad` and `vocab.bos`, plus `vocab.boi`.

# %%
def allowed_ids(vocab, codes_so_far: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    ids = torch.arange(len(vocab))
    text = (ids < vocab.text_size) & (ids != vocab.pad) & (ids != vocab.bos) | (ids == vocab.boi)
    rows = []
    for n in codes_so_far.tolist():
        if n < 0:
            rows.append(text)
        elif n < vocab.tokens_per_image:
            rows.append(ids >= vocab.image_offset)
        else:
            rows.append(ids == vocab.eoi)
    return torch.stack(rows)
    # END SOLUTION


# %%
mmcourse.check("unified.modality_mask", allowed_ids)

# %% [markdown]
# ## Exercise 06.4 — an interleaved sequence and its labels
#
# Build the captioning example `<s> <boi> codes <eoi> describe : {caption} </s>` and its labels:
# −100 on everything the model only reads (`<s>`, the image span, `describe :`), the id itself
# on what it must learn to write (the caption's words and `</s>`). Use `vocab.bos`, `vocab.eos`,
# `vocab.encode_image(codes)` (the span with `<boi>`/`<eoi>`) and `vocab.encode_text(text)`.

# %%
def caption_example(vocab, codes: torch.Tensor, caption: str) -> tuple[list[int], list[int]]:
    # BEGIN SOLUTION
    prompt = [vocab.bos, *vocab.encode_image(codes), *vocab.encode_text("describe :")]
    target = [*vocab.encode_text(caption), vocab.eos]
    return prompt + target, [-100] * len(prompt) + target
    # END SOLUTION


# %%
mmcourse.check("unified.caption_labels", caption_example)

# %% [markdown]
# ## Exercise 06.5 — guidance on logits
#
# Classifier-free guidance for an autoregressive model (Parti, Yu et al. 2022, §3) combines the
# next-token logits with and without the caption: ℓ = ℓ_c + w (ℓ_c − ℓ_u). Return it.

# %%
def guide_logits(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    # BEGIN SOLUTION
    return cond + w * (cond - uncond)
    # END SOLUTION


# %%
mmcourse.check("unified.guided_logits", guide_logits)
