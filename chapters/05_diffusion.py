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
# # Chapter 05 — Diffusion and text-to-image: VAE, DDPM from scratch, guidance, latent diffusion
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/05_diffusion.ipynb)
#
# Chapters 02–04 taught models to *read* images, sounds and video. This chapter teaches one
# to *draw*: type "a red circle" and get a picture of one. The recipe behind Stable
# Diffusion has three parts, and you build each: an autoencoder that squeezes images into a
# small latent space, a denoiser that learns to undo noise step by step, and a text encoder
# whose token states steer every step.
#
# **In this chapter you will**
# 1. train a VAE and measure the trade-off its β controls between sharp reconstructions and a
#    tidy latent space;
# 2. write DDPM's forward and reverse processes and DDIM from the papers' equations, and check
#    them against diffusers' schedulers step by step;
# 3. steer a text-conditional UNet with classifier-free guidance and measure, with a classifier,
#    how often samples show what the prompt asked for, including colour–shape pairs the
#    model never saw;
# 4. measure why diffusion runs in a latent space, and assemble the tiny parts into diffusers'
#    `StableDiffusionPipeline`, the class that runs Stable Diffusion's real weights;
# 5. draw from CLIP *image* embeddings as DALL·E 2 does, and measure what its prior adds.

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
VAE_STEPS = 60  # optimiser steps for each live VAE of the beta sweep (batch 32)
DENOISER_STEPS = 150  # steps for the live denoiser (batch 64)
PER_PAIR = 2  # samples per prompt in the live guidance check
PRIOR_STEPS = 300  # steps for the DALL·E 2-style prior (batch 128)

# %%
import time

import diffusers
import matplotlib.pyplot as plt
import numpy as np
import torch
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from torch.utils.flop_counter import FlopCounterMode

import mmcourse
from mmcourse import diffusion, hub, prior, viz, zoo
from mmcourse.data import make_shapes
from mmcourse.data.vocabulary import HOLDOUT_PAIRS, SEEN_PAIRS
from mmcourse.models.schedulers import NoiseSchedule, add_noise, ddim_step, ddpm_step
from mmcourse.models.unet import DenoiserConfig, build_denoiser
from mmcourse.models.vae import VAEConfig, build_vae, elbo_loss, gaussian_kl, reparameterise
from mmcourse.train import fit

# %%
cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. A variational autoencoder
#
# An autoencoder squeezes a 32×32×3 image (3,072 numbers) through an 8×8×4 latent (256
# numbers) and back. A *variational* one (Kingma & Welling 2014) makes the encoder output a
# Gaussian q(z | x) = N(μ, σ²) per latent number and asks two things of it: decode well from
# a sample of it, and stay close to N(0, I), so that *any* point drawn from N(0, I) decodes
# to something image-like. Both terms are the evidence lower bound (ELBO):
#
# $$\mathcal{L} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \beta\,\mathrm{KL}(q(z|x)\,\|\,\mathcal{N}(0, I)),$$
#
# with β = 1 in the paper and β ≠ 1 in β-VAE (Higgins et al. 2017). Sampling blocks
# gradients, so the paper reparameterises (§2.4): z = μ + σ ⊙ ε with ε ~ N(0, I), and the
# KL of two Gaussians has a closed form (Appendix B):

# %%
viz.show_source(reparameterise)
viz.show_source(gaussian_kl)

# %% [markdown]
# diffusers' `AutoencoderKL`, Stable Diffusion's VAE, keeps its posterior in a
# `DiagonalGaussianDistribution`. Same parameters, same noise: the same sample and the same KL.

# %%
params = torch.randn(4, 8, 8, 8, generator=torch.Generator().manual_seed(SEED))  # (B, 2 x 4 channels, 8, 8)
posterior = DiagonalGaussianDistribution(params)
eps = torch.randn(posterior.mean.shape, generator=torch.Generator().manual_seed(1))
theirs = posterior.sample(generator=torch.Generator().manual_seed(1))
sample_gap = (reparameterise(posterior.mean, posterior.logvar, eps) - theirs).abs().max().item()
kl_gap = (gaussian_kl(posterior.mean, posterior.logvar) - posterior.kl()).abs().max().item()
print(f"largest difference: sample {sample_gap:.1e}, KL {kl_gap:.1e}")
assert sample_gap < 1e-5, f"the reparameterised sample should equal diffusers' (max gap {sample_gap:.1e})"
assert kl_gap < 1e-3, f"the closed-form KL should equal diffusers' (max gap {kl_gap:.1e})"

# %% [markdown]
# **The β trade-off, measured.** Two tiny VAEs (the same `AutoencoderKL` class, the same
# steps and data) differ only in β. A small β lets the encoder pack more information into the
# latent (a large KL) for sharper reconstructions; a large β squeezes the latent towards
# N(0, I) and pays in reconstruction.

# %%
shapes_train = make_shapes(4000, seed=SEED)
x_train = shapes_train.images * 2 - 1  # the VAE works in [-1, 1], as Stable Diffusion's


def train_vae(beta):
    torch.manual_seed(SEED)
    vae = build_vae(VAEConfig())
    g = torch.Generator().manual_seed(SEED)
    batches = lambda: (x_train[torch.randint(0, len(x_train), (32,), generator=g)],)  # noqa: E731
    fit(vae, batches, loss_fn=lambda m, b: elbo_loss(m, b[0], beta)[0], steps=VAE_STEPS, lr=2e-3,
        cfg=cfg, desc=f"VAE beta={beta}")
    with torch.no_grad():
        _, parts = elbo_loss(vae.eval(), x_train[:500].to(cfg.device), beta)
    return parts


beta_sweep = {beta: train_vae(beta) for beta in (0.03, 3.0)}
viz.table([{"beta": b, **{k: round(v, 1) for k, v in p.items()}} for b, p in beta_sweep.items()])

# %%
mmcourse.log_metric("live_vae_kl_beta3", beta_sweep[3.0]["kl"])
assert beta_sweep[3.0]["kl"] < beta_sweep[0.03]["kl"], f"a larger beta should shrink the KL: {beta_sweep}"
assert beta_sweep[3.0]["reconstruction"] > beta_sweep[0.03]["reconstruction"], (
    f"a larger beta should cost reconstruction: {beta_sweep}")

# %% [markdown]
# The zoo's `vae-shapes` is the same class trained longer (β = 0.01: for latent diffusion we
# want reconstructions sharp enough to keep shapes apart, as Stable Diffusion's VAE, whose KL
# weight is tiny). Originals on top, reconstructions below; the zoo's shapes classifier reads
# the reconstructions:

# %%
vae = zoo.load("vae-shapes", cfg)
judge = zoo.load("shapes-cnn", cfg)
test = make_shapes(500, seed=SEED + 1)
latents = diffusion.encode_images(vae, test.images)  # (500, 4, 8, 8), scaled to unit variance
recon = diffusion.decode_latents(vae, latents).cpu()
recon_acc = (mmcourse.metrics.predict(judge, recon).argmax(1) == test.label("pair")).float().mean().item()
viz.image_grid(torch.cat([test.images[:8], recon[:8]]), ncols=8)
print(f"latents {tuple(latents.shape[1:])}: std {latents.std():.2f} after scaling by "
      f"{vae.config.scaling_factor}; classifier on reconstructions {recon_acc:.1%}")
assert recon_acc > 0.9, f"reconstructions should keep colour and shape readable (measured {recon_acc:.1%})"

# %% [markdown]
# Walk in a straight line between two images' latents, and sample latents from the prior
# N(0, I): both decode to smooth, image-like pictures, because the KL term packed the
# training images' latents into one Gaussian blob with no empty gaps.

# %%
steps = torch.linspace(0, 1, 8)[:, None, None, None]
walk = (1 - steps) * latents[0] + steps * latents[3]  # (8, 4, 8, 8)
from_prior = torch.randn(8, 4, 8, 8, generator=torch.Generator().manual_seed(SEED)).to(cfg.device)
viz.image_grid(torch.cat([diffusion.decode_latents(vae, walk), diffusion.decode_latents(vae, from_prior)]).cpu(),
               ncols=8)

# %% [markdown]
# The prior samples are blurry colour blobs, not shapes: the VAE alone does not know what a
# *scene* looks like, only how to code one. Learning the distribution of latents is the
# diffusion model's job.
#
# ## 2. DDPM: destroying images with noise, in closed form
#
# The forward process adds a little Gaussian noise at each of T = 1000 steps (Ho et al.
# 2020, eq. 2): q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t I). Because Gaussians compose,
# any step can be reached in one jump (eq. 4), with ᾱ_t = ∏_{s≤t} (1 − β_s):
#
# $$q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I).$$

# %%
viz.show_source(add_noise)

# %% [markdown]
# Measured: 300 single steps of eq. 2 and one jump of eq. 4 give the same distribution
# (200,000 copies of one pixel value).

# %%
linear = NoiseSchedule.create("linear", 1000)  # DDPM §4: beta from 1e-4 to 0.02
x0 = torch.full((200_000,), 0.7, dtype=torch.float64)
x_iter, gen = x0.clone(), torch.Generator().manual_seed(SEED)
for t in range(300):
    b = linear.betas[t]
    x_iter = (1 - b).sqrt() * x_iter + b.sqrt() * torch.randn(x0.shape, generator=gen, dtype=torch.float64)
x_jump = add_noise(linear, x0, torch.randn(x0.shape, generator=gen, dtype=torch.float64), 299)
gap = {"mean": abs(x_iter.mean() - x_jump.mean()).item(), "std": abs(x_iter.std() - x_jump.std()).item()}
print(f"300 steps: mean {x_iter.mean():.4f}, std {x_iter.std():.4f}; one jump: mean {x_jump.mean():.4f}, "
      f"std {x_jump.std():.4f}")
assert gap["mean"] < 0.01, f"one jump should match 300 steps in mean (gap {gap['mean']:.4f})"
assert gap["std"] < 0.01, f"one jump should match 300 steps in spread (gap {gap['std']:.4f})"

# %% [markdown]
# **Schedules.** DDPM's linear β destroys information fast: ᾱ_t is near 0 well before
# t = T, so the last few hundred steps are wasted on pure noise. Nichol & Dhariwal (2021,
# §3.2, eq. 17) chose ᾱ_t directly, a cosine, to fall gently. The signal-to-noise ratio
# SNR(t) = ᾱ_t / (1 − ᾱ_t) shows the difference on a log scale:

# %%
cosine = NoiseSchedule.create("cosine", 1000)
fig, axes = plt.subplots(1, 3, figsize=(13, 3))
for name, s in (("linear", linear), ("cosine", cosine)):
    axes[0].plot(s.alphas_cumprod, label=name)
    axes[1].semilogy(s.snr(), label=name)
axes[0].set(xlabel="t", ylabel="ᾱ_t")
axes[1].set(xlabel="t", ylabel="SNR(t)")
axes[0].legend()
noise = torch.randn(test.images[:1].shape, generator=torch.Generator().manual_seed(SEED))
ts = [0, 100, 250, 500, 750, 999]
strip = [add_noise(linear, test.images[:1] * 2 - 1, noise, t)[0] / 2 + 0.5 for t in ts]
axes[2].imshow(torch.cat(strip, dim=2).clamp(0, 1).permute(1, 2, 0))
axes[2].set(title="x_t at t = " + ", ".join(map(str, ts)), xticks=[], yticks=[])
plt.show()
half = {"linear": linear.alphas_cumprod[500].item(), "cosine": cosine.alphas_cumprod[500].item()}
print(f"ᾱ at t = 500: linear {half['linear']:.3f}, cosine {half['cosine']:.3f}")
assert half["cosine"] > 5 * half["linear"], f"the cosine schedule should keep more signal mid-way: {half}"

# %% [markdown]
# ## 3. The reverse process, written out and checked against diffusers
#
# A network ε_θ(x_t, t) learns to predict the noise in x_t (the simple loss, eq. 14: plain
# mean squared error on ε). Given it, one reverse step (Algorithm 2, line 4; the mean is
# eq. 11) removes the predicted noise, rescales, and adds fresh noise of variance σ_t²:
#
# $$x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,\epsilon_\theta(x_t, t)\Big) + \sigma_t z.$$

# %%
viz.show_source(ddpm_step)

# %% [markdown]
# Check it against `DDPMScheduler.step` at every one of 1000 steps, with the same noise z
# and a stand-in for ε_θ (any function will do for checking the arithmetic):

# %%
ddpm = diffusion.make_scheduler("ddpm", linear)
ddpm.set_timesteps(1000)
x_ours = x_lib = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(SEED))
worst = 0.0  # largest gap relative to the sample's scale
for i, t in enumerate(ddpm.timesteps.tolist()):
    eps = 0.5 * x_ours + 0.1 * torch.sin(3 * x_ours)  # a stand-in "model"
    x_lib = ddpm.step(eps, t, x_lib, generator=torch.Generator().manual_seed(i)).prev_sample
    z = torch.randn(x_ours.shape, generator=torch.Generator().manual_seed(i))
    x_ours = ddpm_step(linear, eps, t, x_ours, noise=z)
    worst = max(worst, ((x_ours - x_lib).abs().max() / x_lib.abs().max()).item())
print(f"largest relative gap over 1000 steps: {worst:.1e} (float32 rounding: diffusers keeps ᾱ in float32)")
assert worst < 1e-3, f"eq. 11 should equal DDPMScheduler.step at every step (largest relative gap {worst:.1e})"

# %% [markdown]
# **DDIM** (Song et al. 2021, eq. 12) reinterprets the same trained network: predict x_0,
# then jump to any earlier t′ along the same noise direction, with no fresh noise (η = 0).
# Because it can jump, 25 steps can replace 1000, no retraining needed.

# %%
viz.show_source(ddim_step)

# %%
ddim = diffusion.make_scheduler("ddim", linear)
ddim.set_timesteps(10)
x_ours = x_lib = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(SEED))
for t in ddim.timesteps.tolist():
    eps = 0.5 * x_ours + 0.1 * torch.sin(3 * x_ours)
    x_lib = ddim.step(eps, t, x_lib).prev_sample
    x_ours = ddim_step(linear, eps, t, x_ours, t_prev=t - 1000 // 10)
ddim_gap = ((x_ours - x_lib).abs().max() / x_lib.abs().max()).item()
print(f"DDIM, 10 steps {ddim.timesteps.tolist()}: largest relative gap {ddim_gap:.1e}")
assert ddim_gap < 1e-4, f"eq. 12 should equal DDIMScheduler.step (relative gap {ddim_gap:.1e})"

# %% [markdown]
# ## 4. Training a text-conditional denoiser
#
# The denoiser is diffusers' `UNet2DConditionModel`, Stable Diffusion's class: at each
# resolution a ResNet block mixes in the timestep, then a transformer block whose
# cross-attention reads the caption's token states (Rombach et al. 2022, eq. 3). Those states
# come from chapter 02's `clip-shapes` text tower, converted to transformers' `CLIPTextModel`.
# It works in the VAE's latent space (section 6 says why). One training step (Algorithm 1):
# pick t at random, noise the latent in one jump, regress the noise. With probability 10 % the
# caption is replaced by the empty one, so that one network learns both ε(z, c) and ε(z)
# (Ho & Salimans 2022, Algorithm 1); section 5 needs both.

# %%
viz.show_source(diffusion.denoising_loss)

# %%
clip = zoo.load("clip-shapes", cfg)
tokenizer, text_encoder = diffusion.hf_tokenizer(clip), diffusion.hf_text_encoder(clip)
prompts, _, _ = diffusion.shape_prompts(SEEN_PAIRS)  # the 24 pairs split="train" shows
states = diffusion.encode_prompts(tokenizer, text_encoder, prompts)  # (24 prompts, 12 tokens, 64)
empty = diffusion.encode_prompts(tokenizer, text_encoder, [""])  # (1, 12, 64): the dropped caption
train_set = make_shapes(4000, split="train", seed=SEED)
train_latents = diffusion.encode_images(vae, train_set.images)
which = torch.tensor([prompts.index(f"a {c} {s}") for c, s in zip(
    np.array(train_set.color_names)[train_set.colors[:, 0]], np.array(train_set.shape_names)[train_set.shapes[:, 0]])])
print(tokenizer(["a red circle"]).input_ids, "->", tuple(states.shape))

# %%
torch.manual_seed(SEED)
unet = build_denoiser(DenoiserConfig(in_channels=4, sample_size=8, cross_attention_dim=64))
g = torch.Generator().manual_seed(SEED)


def latent_batch():
    i = torch.randint(0, len(train_latents), (64,), generator=g)
    return train_latents[i], states[which[i]]


history = fit(unet, latent_batch, steps=DENOISER_STEPS, lr=1e-3, cfg=cfg, desc="denoiser",
              loss_fn=lambda m, b: diffusion.denoising_loss(m, linear, b[0], b[1], empty, p_uncond=0.1))
first, last = np.mean(history.loss[:20]), np.mean(history.loss[-20:])
print(f"noise-prediction loss: first 20 steps {first:.3f}, last 20 steps {last:.3f} (predicting 0 scores 1.0)")
mmcourse.log_metric("live_denoiser_loss", last)
assert last < 0.8 * first, f"the denoiser should learn: loss {first:.3f} -> {last:.3f}"

# %% [markdown]
# The same recipe run longer (5,000 steps of 128, `zoo.meta("ldm-shapes")["recipe"]`; 20
# minutes on two CPU cores) gives the zoo's `ldm-shapes`. Training never showed it the six
# colour–shape pairs held out since chapter 02 ("a red triangle", "a green circle", ...).

# %%
ldm = zoo.pipeline("ldm-shapes", cfg)  # its UNet with the parts above: vae-shapes, this text tower, `linear`
grid_prompts = [f"a {c} {s}" for c, s in [("red", "circle"), ("blue", "square"), ("yellow", "triangle"),
                                           ("green", "cross"), ("purple", "diamond"), ("orange", "circle")]]
viz.image_grid(ldm.generate(grid_prompts * 4, sampler="ddpm", steps=50, guidance=2.0, seed=SEED), ncols=6)
print(" | ".join(grid_prompts))

# %% [markdown]
# ## 5. Classifier-free guidance
#
# The conditional model alone already draws what most prompts ask for. Guidance (Ho & Salimans
# 2022, eq. 6) pushes further: it extrapolates away from the unconditional prediction, towards
# what the caption adds:
#
# $$\tilde\epsilon = (1 + w)\,\epsilon_\theta(z, c) - w\,\epsilon_\theta(z).$$
#
# diffusers' `guidance_scale` is 1 + w (Stable Diffusion's default 7.5 is w = 6.5). Each step
# now costs two network evaluations (batched as one).

# %%
viz.show_source(diffusion.guided_eps)

# %% [markdown]
# How often does a sample show the requested colour *and* shape? The zoo's `shapes-cnn`
# (99.3 % on real scenes, all 30 pairs) reads each sample. Diversity is measured as the
# Fréchet distance between the classifier's features of the samples and of real scenes of the
# same pairs (FID's formula, Heusel et al. 2017, eq. 6, on these features rather than
# Inception's; chapter 07 validates the metric). The table was measured when the model was
# trained, 8 samples for each of the 30 prompts, DDPM's sampler with 50 steps:

# %%
ldm_metrics = zoo.meta("ldm-shapes")["metrics"]
guidance_table = [{"w": w, "guidance_scale": 1 + w,
                   **{f"{split} {k}": ldm_metrics[f"{split}_{k}_w{w}"] for split in ("seen", "unseen")
                      for k in ("color", "shape", "pair", "frechet")}} for w in (0, 1, 2, 4, 8)]
viz.table(guidance_table)
best = max(guidance_table, key=lambda r: r["seen pair"])
fig, ax = plt.subplots(figsize=(6, 3))
for split in ("seen", "unseen"):
    ax.plot([r["seen frechet" if split == "seen" else "unseen frechet"] for r in guidance_table],
            [r[f"{split} pair"] for r in guidance_table], "o-", label=f"{split} pairs")
ax.set(xlabel="Fréchet distance to real scenes (lower: more like the data)", ylabel="prompt followed")
ax.legend()
plt.show()
print(f"best w = {best['w']}: {best['seen pair']:.0%} of samples show the requested pair (seen pairs)")
assert best["seen pair"] >= 0.9, f"at the best w, >= 90% of samples should follow the prompt ({best['seen pair']:.0%})"

# %% [markdown]
# Guidance helps up to w ≈ 2, and too much hurts: at w = 8 even colours start to go wrong.
# The Fréchet distance (at 8 samples per prompt a noisy measure) is lowest at w ≤ 1 and
# higher at w = 4: the stronger the push towards the prompt, the further the samples drift
# from the variety of real scenes.

# %%
by_w = {r["w"]: r for r in guidance_table}
assert by_w[best["w"]]["seen pair"] > by_w[0]["seen pair"], f"guidance should beat w = 0: {by_w[0]['seen pair']}"
assert by_w[8]["seen color"] < by_w[best["w"]]["seen color"], f"w = 8 should lose colours: {by_w[8]['seen color']}"
assert min(by_w[0]["seen frechet"], by_w[1]["seen frechet"]) < by_w[4]["seen frechet"], (
    f"the distance to real scenes should grow from w <= 1 to w = 4: {[by_w[w]['seen frechet'] for w in (0, 1, 4)]}")

# %% [markdown]
# The same measurement live, with fewer samples (`PER_PAIR` per prompt), without guidance and
# at the best w:

# %%
real_seen = make_shapes(len(SEEN_PAIRS) * PER_PAIR, split="train", seed=SEED + 5).images
live = {w: diffusion.prompt_scores(ldm, judge, SEEN_PAIRS, per_pair=PER_PAIR, real=real_seen, sampler="ddpm",
                                   steps=50, guidance=float(w), seed=SEED) for w in (0, best["w"])}
viz.table([{"w": w, **{k: round(v, 3) for k, v in s.items()}} for w, s in live.items()])
mmcourse.log_metric("live_guided_pair_accuracy", live[best["w"]]["pair"])
assert live[best["w"]]["pair"] > live[0]["pair"], f"guidance should help the prompt win: {live}"

# %% [markdown]
# **Does diffusion compose?** The six held-out pairs in the table's "unseen" columns: every
# colour and every shape was seen, never together. This model composes: it draws the
# held-out pairs about as reliably as the ones it was trained on (48 samples, so a few points
# either way are noise).

# %%
unseen_best = max(guidance_table, key=lambda r: r["unseen pair"])
print(f"unseen pairs: best {unseen_best['unseen pair']:.0%} at w = {unseen_best['w']} "
      f"(colour {unseen_best['unseen color']:.0%}, shape {unseen_best['unseen shape']:.0%})")
viz.image_grid(ldm.generate([f"a {c} {s}" for c, s in HOLDOUT_PAIRS] * 3, sampler="ddpm", steps=50,
                            guidance=float(unseen_best["w"]), seed=SEED), ncols=6)
assert unseen_best["unseen pair"] >= best["seen pair"] - 0.05, (
    f"held-out pairs should be drawn about as reliably as seen ones: {unseen_best['unseen pair']:.0%} vs "
    f"{best['seen pair']:.0%}")

# %% [markdown]
# **How many steps?** The steps table (4 samples per seen prompt at w = 2, stored with the
# model). DDIM (Song et al. 2021, Table 1 on CIFAR-10: FID 4.04 at 1000 steps, 13.36 at 10)
# holds its quality from 1000 steps down to 10 and then falls; DDPM's ancestral sampler, which
# adds fresh noise at every step, scores higher here at 10 steps and above, and falls further at
# 4. Cost is counted in network evaluations (×2 with guidance); seconds are this machine's, per
# image, in batches of 8.

# %%
steps_rows = [{"steps": n, "network evaluations": 2 * n, "DDPM pair": ldm_metrics[f"ddpm_pair_{n}steps"],
               "DDIM pair": ldm_metrics[f"ddim_pair_{n}steps"]} for n in (1000, 250, 50, 10, 4)]
for row in steps_rows[2:]:
    start = time.perf_counter()
    ldm.generate(["a red circle"] * 8, steps=row["steps"], guidance=2.0, seed=SEED)
    row["seconds per image"] = round((time.perf_counter() - start) / 8, 4)
viz.table(steps_rows)
by_steps = {r["steps"]: r for r in steps_rows}
assert abs(by_steps[10]["DDIM pair"] - by_steps[1000]["DDIM pair"]) <= 0.05, f"DDIM should hold from 1000 to 10: {by_steps}"
assert by_steps[10]["DDPM pair"] > by_steps[10]["DDIM pair"], f"DDPM should score higher at 10 steps: {by_steps[10]}"
assert by_steps[4]["DDIM pair"] > by_steps[4]["DDPM pair"], f"at 4 steps DDPM should fall further: {by_steps[4]}"

# %% [markdown]
# ## 6. Why latent space: cost, measured
#
# The same UNet on pixels (32×32×3) instead of latents (8×8×4) does 16× the work at every
# layer of the first level, at every one of the sampling steps: Rombach et al. (2022, §3)
# moved diffusion into an autoencoder's latent space for exactly this. FLOPs counted by
# PyTorch for one network evaluation of one image (machine-independent), and seconds here:

# %%
def cost(net, x, **kw):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x, 500, **kw)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(5):
            net(x, 500, **kw)
    return counter.get_total_flops(), (time.perf_counter() - start) / 5


pixel_unet = build_denoiser(DenoiserConfig(in_channels=3, sample_size=32, cross_attention_dim=64)).to(cfg.device)
text = states[:1].to(cfg.device)
costs = {"pixel 32x32x3": cost(pixel_unet, torch.randn(1, 3, 32, 32, device=cfg.device), encoder_hidden_states=text),
         "latent 8x8x4": cost(ldm.unet, torch.randn(1, 4, 8, 8, device=cfg.device), encoder_hidden_states=text)}
viz.table([{"space": k, "MFLOPs per step": round(f / 1e6, 1), "ms per step": round(1000 * s, 2),
            "MFLOPs per 25-step sample (w > 0)": round(50 * f / 1e6)} for k, (f, s) in costs.items()])
ratio = costs["pixel 32x32x3"][0] / costs["latent 8x8x4"][0]
print(f"pixel space costs {ratio:.1f}x the FLOPs of latent space per step (the VAE decoder runs once per sample)")
assert ratio > 8, f"pixel space should cost far more per step than latent space (ratio {ratio:.1f})"

# %% [markdown]
# And quality for the same training budget? Training a pixel denoiser takes minutes, too slow
# for this notebook, so the zoo holds the experiment: one unconditional `UNet2DModel` config
# (DDPM's architecture, 0.4M parameters, the plain denoiser with no text), trained 1,000 steps
# of 64 with the same seed, once on pixels (`ddpm-pixel-shapes`) and once on latents
# (`ddpm-latent-shapes`). When each was trained it drew 256 DDIM-50 samples, scored by the
# Fréchet distance of `shapes-cnn` features to 256 real scenes. Eight samples from each, drawn
# now (pixel space on top):

# %%
twins = {space: zoo.pipeline(f"ddpm-{space}-shapes", cfg) for space in ("pixel", "latent")}  # UNet + schedule (+ VAE)
twin_rows, twin_images = [], []
for space, twin in twins.items():
    stored = zoo.meta(f"ddpm-{space}-shapes")
    start = time.perf_counter()
    twin_images.append(twin.images(8))
    twin_rows.append({"space": space, "MFLOPs per step": stored["metrics"]["mflops_per_step"],
                      "Fréchet to real": stored["metrics"]["frechet"],
                      "recipe s (train + 256 samples)": stored["train_seconds"],
                      "8 samples s, here": round(time.perf_counter() - start, 2)})
viz.image_grid(torch.cat(twin_images), ncols=8)
viz.table(twin_rows);

# %% [markdown]
# After the same steps, the latent model draws smooth coloured shapes while the pixel samples
# are still grainy: the pixel network spends its steps on 16× more positions per layer and
# learns the scenes' statistics slower per step, not just slower per second. Rombach et al.
# (2022, Fig. 6) found the same ordering over training steps for their pixel model (LDM-1)
# against small downsampling factors (LDM-4 to LDM-16). The latent side leans on a VAE trained
# once beforehand, and it cannot draw finer than the VAE decodes.

# %%
twin_frechet = {r["space"]: r["Fréchet to real"] for r in twin_rows}
assert twin_frechet["latent"] < twin_frechet["pixel"], (
    f"at the same training steps the latent model should draw closer to real scenes: {twin_frechet}")

# %% [markdown]
# ## 7. The same parts in diffusers' `StableDiffusionPipeline`
#
# Stable Diffusion *is* these parts: `AutoencoderKL` + `UNet2DConditionModel` + a CLIP text
# encoder and tokenizer + a scheduler. Assembled into the library's pipeline, ours produces
# exactly what our hand-written loop produces for the same seed; the full profile runs the
# same class with real weights.

# %%
pipe = diffusion.text_to_image_pipeline(vae, ldm.unet, clip, linear, sampler="ddim").to(cfg.device)
pipe_prompts = ["a red circle", "a blue square", "a yellow cross"]
lib_images = pipe(pipe_prompts, num_inference_steps=25, guidance_scale=1 + 2.0, output_type="pt",
                  generator=torch.Generator().manual_seed(SEED)).images.cpu()
our_images = ldm.generate(pipe_prompts, sampler="ddim", steps=25, guidance=2.0, seed=SEED)
pipe_gap = (lib_images - our_images).abs().max().item()
viz.image_grid(torch.cat([lib_images, our_images]), ncols=3)
print(type(pipe).__name__, "vs the hand-written loop: largest pixel difference", f"{pipe_gap:.1e}")
mmcourse.log_metric("pipeline_gap", pipe_gap)
assert pipe_gap < 1e-3, f"the pipeline should reproduce the hand-written loop (gap {pipe_gap:.1e})"

# %% [markdown]
# ## 8. DALL·E 2's idea, small: a prior from text embeddings to image embeddings
#
# Our UNet reads the caption's *token states*. DALL·E 2 (Ramesh et al. 2022, §2.1) instead
# conditions its decoder on a CLIP *image* embedding, and first turns the caption into one
# with a *prior*. Why not use the caption's CLIP embedding directly? Because CLIP's loss only
# asks a caption to be *closer* to its image than to the others, not to coincide with it: text
# and image embeddings can sit in separate regions (the "modality gap", Liang et al. 2022). A
# prior (here an MLP with a residual connection, trained by cosine loss on `clip-shapes`
# embeddings of seen pairs only; DALL·E 2's are a 1B-parameter diffusion or autoregressive
# model) maps one region onto the other.

# %%
text_train, image_train = prior.clip_pairs(clip, make_shapes(4000, split="train", seed=SEED + 7))
torch.manual_seed(SEED)
emb_prior = prior.EmbeddingPrior(text_train.shape[1])
gp = torch.Generator().manual_seed(SEED)


def embedding_batch():
    i = torch.randint(0, len(text_train), (128,), generator=gp)
    return text_train[i], image_train[i]


fit(emb_prior, embedding_batch, loss_fn=prior.prior_loss, steps=PRIOR_STEPS, lr=1e-3, cfg=cfg, desc="prior")
text_test, image_test = prior.clip_pairs(clip, test)
with torch.no_grad():
    predicted = emb_prior.cpu()(text_test)
prior_rows = prior.gap_and_retrieval(text_test, predicted, image_test)
viz.table(prior_rows)

# %% [markdown]
# Our tiny CLIP's gap is small: a caption and its image already have a cosine near 0.9; the
# prior narrows it further. Retrieval barely moves: ranking needs only the *order* of similarities,
# which the caption embedding already had; a generator conditioned on image embeddings, as
# DALL·E 2's decoder is, needs the embedding itself, and that is what the prior supplies.

# %%
gap = {r["query"]: r["cosine to its image"] for r in prior_rows}
r5 = {r["query"]: r["R@5"] for r in prior_rows}
mmcourse.log_metric("prior_cosine", gap["prior's image embedding"])
assert gap["caption embedding"] > 0.8, f"the tiny CLIP's gap should be small (cosine {gap['caption embedding']:.2f})"
assert gap["prior's image embedding"] > gap["caption embedding"] + 0.05, f"the prior should narrow the gap: {gap}"
assert abs(r5["prior's image embedding"] - r5["caption embedding"]) < 0.05, f"retrieval should barely move: {r5}"

# %% [markdown]
# **The decoder.** `unclip-shapes` is section 4's UNet with a different condition: one CLIP
# *image* embedding, projected and added to the timestep embedding and also read as a single
# cross-attention token, as DALL·E 2's decoder does (§2.1). It was trained on the seen pairs'
# scenes only, 5,000 steps of 128 (`zoo.meta("unclip-shapes")["recipe"]`). Feed it the prior's
# prediction from a caption (top row) or the caption's own embedding (bottom row), three seen
# pairs then three never seen:

# %%
unclip = zoo.pipeline("unclip-shapes", cfg)  # the decoder with vae-shapes and the linear schedule
unclip_prompts = ["a red circle", "a blue square", "a yellow cross", *[f"a {c} {s}" for c, s in HOLDOUT_PAIRS[:3]]]
with torch.no_grad():
    caption_emb = clip.encode_text(unclip_prompts).cpu()  # (6, 64) unit length
    prior_emb = emb_prior(caption_emb)
drawn = {name: unclip.draw(emb, seed=SEED) for name, emb in
         (("prior", prior_emb), ("caption", caption_emb))}
viz.image_grid(torch.cat([drawn["prior"], drawn["caption"]]), ncols=6)
print(" | ".join(unclip_prompts))
for name, images in drawn.items():
    print(f"{name:>8}: classifier reads", [test.class_names("pair")[int(i)] for i in
                                             mmcourse.metrics.predict(judge, images).argmax(1)])

# %% [markdown]
# Measured when the model was trained: 8 samples for each of the 24 seen and 6 never-seen
# pairs, DDIM-25 at w = 2, the colour and shape `shapes-cnn` reads. "real" feeds the image
# embedding of one real scene of the pair, the ceiling a perfect prior would aim at:

# %%
unclip_metrics = zoo.meta("unclip-shapes")["metrics"]
viz.table([{"pairs": split, "decoder fed": name, **{k: unclip_metrics[f"{split}_{name}_{k}"]
                                                    for k in ("color", "shape", "pair")}}
           for split in ("seen", "unseen") for name in ("prior", "caption", "real")]);

# %% [markdown]
# Through the prior the decoder draws what the caption asks for, for the never-seen pairs too;
# fed the caption's own embedding, it gets even the colour wrong about 4 times in 10. The gap
# that barely moved retrieval decides generation: the decoder only ever saw image embeddings,
# and a text embedding, however well it ranks, is not one. The prior even beats a real scene's
# embedding, which also carries that one scene's position and size.

# %%
unclip_pair = {(split, name): unclip_metrics[f"{split}_{name}_pair"] for split in ("seen", "unseen")
               for name in ("prior", "caption", "real")}
caption_color = unclip_metrics["seen_caption_color"]
assert unclip_pair["seen", "prior"] >= 0.9, f"through the prior, >= 90% should follow the prompt: {unclip_pair}"
assert unclip_pair["unseen", "prior"] >= 0.9, f"never-seen pairs too: {unclip_pair}"
assert unclip_pair["seen", "caption"] < unclip_pair["seen", "prior"] - 0.3, f"without the prior, far fewer: {unclip_pair}"
assert caption_color <= 0.65, f"fed the caption embedding, about 4 in 10 colours should be wrong ({caption_color})"
assert unclip_pair["seen", "prior"] > unclip_pair["seen", "real"], f"the prior should beat a real scene: {unclip_pair}"

# %% [markdown]
# ## 9. The released models (full profile)
#
# On a GPU, `PROFILE = "full"` runs SD-Turbo (Sauer et al. 2023, adversarial diffusion
# distillation: 1–4 steps; its model card says it uses neither `guidance_scale` nor
# `negative_prompt`, so pass `guidance_scale=0.0`; its licence is Stability AI's
# **non-commercial** community licence) for text-to-image and image-to-image, an SD-1.5-class
# pipeline with guidance and a negative prompt, and `google/ddpm-cifar10-32` (Ho et al.'s
# CIFAR-10 model: FID 3.17 against the training set, Table 1) through `DDPMPipeline`. Image-to-image noises the input to
# t = strength·T and runs only int(steps × strength) steps, so steps × strength must be ≥ 1:

# %%
hub.table("05");

# %%
if cfg.is_full:
    turbo = hub.load("sd-turbo", cfg)
    turbo.set_progress_bar_config(disable=True)
    t2i = turbo(["a photo of a red apple on a wooden table"], num_inference_steps=1, guidance_scale=0.0,
                output_type="pt").images
    img2img = diffusers.AutoPipelineForImage2Image.from_pipe(turbo)
    steps, strength = 2, 0.5
    print(f"image-to-image runs {diffusion.img2img_steps(steps, strength)} of {steps} steps")
    cat = mmcourse.data.real.photo("chelsea").image.resize(tuple(t2i.shape[-2:]))  # scikit-image's cat
    i2i = img2img("a watercolor painting of a cat", image=cat, num_inference_steps=steps, strength=strength,
                  guidance_scale=0.0, output_type="pt").images
    cat_tensor = torch.from_numpy(np.array(cat)).permute(2, 0, 1) / 255
    viz.image_grid([t2i[0].float().cpu(), cat_tensor, i2i[0].float().cpu()], ["text-to-image", "input", "image-to-image"])
else:
    print("tiny profile: SD-Turbo needs PROFILE='full' (a GPU and the hub); section 7 ran its pipeline class")

# %% [markdown]
# A Stable-Diffusion-1.5-class pipeline with real guidance: `segmind/tiny-sd` keeps SD 1.5's
# VAE and CLIP ViT-L/14 text encoder and distils its UNet to 323M parameters (segmind/distill-sd
# README; licence CreativeML OpenRAIL-M). Its default guidance scale is 7.5 (w = 6.5). A
# *negative prompt* replaces the empty caption in ε(z), so guidance pushes away from it; same
# seed, without and with one:

# %%
if cfg.is_full:
    sd15 = hub.load("tiny-sd", cfg)
    sd15.set_progress_bar_config(disable=True)
    apple = ["a photo of a red apple on a wooden table"] * 2
    plain = sd15(apple, guidance_scale=7.5, num_inference_steps=25, output_type="pt",
                 generator=torch.Generator().manual_seed(SEED)).images
    negative = sd15(apple, negative_prompt=["blurry, low quality, cartoon"] * 2, guidance_scale=7.5,
                    num_inference_steps=25, output_type="pt", generator=torch.Generator().manual_seed(SEED)).images
    viz.image_grid([*plain.float().cpu(), *negative.float().cpu()], ["guidance 7.5"] * 2 + ["+ negative prompt"] * 2)
else:
    print("tiny profile: segmind/tiny-sd needs PROFILE='full'; section 7 ran the same pipeline class")

# %% [markdown]
# The memory helpers every diffusers pipeline has, and what each buys on a GPU: peak VRAM and
# seconds for one image, each helper switched on on top of the ones above it. (The registry
# estimates SD-Turbo needs about 4.5 GB in fp16, well under a T4's 16 GB; the helpers matter
# for larger pipelines and images.) Model CPU offload needs a CUDA device (accelerate moves
# each part to the GPU only while it runs).

# %%
if cfg.is_full:
    helpers = {"none": lambda: None, "attention slicing": turbo.enable_attention_slicing,
               "VAE tiling": turbo.vae.enable_tiling}
    if cfg.device == "cuda":
        helpers["model CPU offload"] = turbo.enable_model_cpu_offload
    rows = []
    for helper, switch_on in helpers.items():
        switch_on()
        if cfg.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        turbo(["a red apple"], num_inference_steps=1, guidance_scale=0.0, output_type="pt")
        peak = torch.cuda.max_memory_allocated() / 2**30 if cfg.device == "cuda" else float("nan")
        rows.append({"helpers on": helper, "peak GB": round(peak, 2), "seconds": round(time.perf_counter() - start, 2)})
    viz.table(rows)
else:
    print("tiny profile: the memory table needs PROFILE='full'")

# %% [markdown]
# Ho et al.'s own CIFAR-10 model through diffusers' `DDPMPipeline` (50 of its 1000 steps):

# %%
if cfg.is_full:
    ddpm_pipe = hub.load("ddpm-cifar10", cfg)
    ddpm_pipe.set_progress_bar_config(disable=True)
    viz.image_grid(ddpm_pipe(batch_size=8, num_inference_steps=50, output_type="pt").images.float().cpu(), ncols=8)
else:
    print("tiny profile: DDPMPipeline with google/ddpm-cifar10-32 needs PROFILE='full'")

# %% [markdown]
# ## 10. Play with it
#
# Type a caption (the model knows the words of the shapes world: six colours, five shapes),
# move the guidance weight, pick the sampler and its number of steps, and see eight samples.
# Try a pair it never saw ("a blue diamond"), w = 0 against w = 8, and DDPM against DDIM at 4 steps.

# %%
def draw_samples(prompt="a red circle", w=2.0, steps=50, sampler="ddpm", seed=0):
    images = ldm.generate([prompt] * 8, steps=int(steps), guidance=float(w), sampler=sampler, seed=int(seed))
    pred = mmcourse.metrics.predict(judge, images).argmax(1)
    fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
    for ax, image, p in zip(axes, images, pred):
        ax.imshow(image.permute(1, 2, 0))
        ax.set_title(test.class_names("pair")[int(p)], fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{prompt!r}, w = {w}, {steps} {sampler.upper()} steps (titles: what the classifier sees)",
                 fontsize=9)
    return fig


mmcourse.widgets.demo(draw_samples, {"prompt": "a red circle", "w": (0.0, 8.0, 0.5), "steps": (1, 100, 1),
                                     "sampler": ["ddpm", "ddim"], "seed": (0, 9, 1)},
                      examples=[{"prompt": "a blue diamond", "w": 2.0, "steps": 50}]);

# %% [markdown]
# ## Summary
#
# * A VAE codes images as Gaussians; the reparameterisation trick makes sampling
#   differentiable, and β trades sharp reconstructions against a tidy latent space.
# * DDPM's forward process jumps to any t in closed form; its reverse step (eq. 11) and DDIM's
#   (eq. 12) are a few lines each, and equal diffusers' schedulers step for step.
# * Classifier-free guidance trains one network with and without the caption and extrapolates
#   between the two: up to a point, samples follow the prompt more often, and drift from the
#   variety of real scenes; held-out colour–shape pairs are drawn about as well as seen ones.
# * Latent diffusion runs the same denoiser on an autoencoder's small latent, many times
#   cheaper per step; the parts assemble into `StableDiffusionPipeline` unchanged.
# * CLIP's caption and image embeddings need not coincide; DALL·E 2's prior learns to map one
#   onto the other, and a decoder trained on image embeddings draws the prompt from the prior's
#   output far more often than from the caption's own embedding.
#
# **Next:** chapter 06 turns images into tokens, so that one transformer can read and draw.
