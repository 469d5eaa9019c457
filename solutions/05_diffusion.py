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
# # Chapter 05 — Exercises: diffusion and the VAE
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/solutions/05_diffusion.ipynb)
#
# Four exercises on chapter 05's equations. Replace each `raise NotImplementedError(...)`
# with your code and run the check below it; grade the whole notebook with
# `python -m mmcourse grade exercises/05_diffusion.ipynb`.

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
# ## Exercise 05.1 — noising in one jump
#
# DDPM's forward process reaches step t from a clean `x0` in one jump (Ho et al. 2020, eq. 4):
# x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · noise, where ᾱ_t = ∏_{s=0..t} (1 − β_s). `x0` and `noise`
# are (B, C, H, W), `t` is (B,) integer steps (one per image, 0-based), `betas` is (T,).
# Return x_t.

# %%
def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    abar = torch.cumprod(1 - betas, dim=0)[t].reshape(-1, 1, 1, 1)  # (B, 1, 1, 1)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    # END SOLUTION


# %%
mmcourse.check("diffusion.add_noise", add_noise)

# %% [markdown]
# ## Exercise 05.2 — one reverse step
#
# Given x_t, the predicted noise `eps`, the step `t` (an int), the schedule's `betas` and a
# standard normal `z`, return x_{t−1} by Algorithm 2 (eq. 11 for the mean):
# x_{t−1} = (x_t − β_t / √(1 − ᾱ_t) · eps) / √α_t + σ_t z, with α_t = 1 − β_t and
# σ_t² = β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t. At t = 0 return the mean alone.

# %%
def reverse_step(x_t: torch.Tensor, eps: torch.Tensor, t: int, betas: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    abar = torch.cumprod(1 - betas, dim=0)
    beta, alpha = betas[t], 1 - betas[t]
    mean = (x_t - beta / (1 - abar[t]).sqrt() * eps) / alpha.sqrt()
    if t == 0:
        return mean
    sigma = ((1 - abar[t - 1]) / (1 - abar[t]) * beta).sqrt()
    return mean + sigma * z
    # END SOLUTION


# %%
mmcourse.check("diffusion.ddpm_step", reverse_step)

# %% [markdown]
# ## Exercise 05.3 — classifier-free guidance
#
# Combine the unconditional and conditional noise predictions with guidance weight `w`
# (Ho & Salimans 2022, eq. 6): ε̃ = (1 + w) ε(z, c) − w ε(z). (diffusers' `guidance_scale`
# is 1 + w.)

# %%
def guide(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, w: float) -> torch.Tensor:
    # BEGIN SOLUTION
    return (1 + w) * eps_cond - w * eps_uncond
    # END SOLUTION


# %%
mmcourse.check("diffusion.cfg", guide)

# %% [markdown]
# ## Exercise 05.4 — the VAE's sample and KL
#
# The encoder gives `mean` and `logvar` (log σ²), both (B, C, H, W). Return
# 1. z = μ + σ · `noise` (the reparameterisation trick, Kingma & Welling §2.4), and
# 2. KL(N(μ, σ²) ‖ N(0, I)) per image, shape (B,): −½ Σ (1 + log σ² − μ² − σ²), summed over
#    every dimension but the batch (Appendix B).

# %%
def sample_and_kl(mean: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    z = mean + torch.exp(0.5 * logvar) * noise
    kl = -0.5 * (1 + logvar - mean**2 - logvar.exp()).flatten(1).sum(1)
    return z, kl
    # END SOLUTION


# %%
mmcourse.check("vae.sample_kl", sample_and_kl)
