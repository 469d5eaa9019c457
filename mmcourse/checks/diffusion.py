"""Checks for chapter 05's exercises: closed-form noising, one reverse step, classifier-free
guidance, the VAE's reparameterised sample and KL."""

from __future__ import annotations

import torch

from ..models.schedulers import NoiseSchedule, add_noise, ddpm_step, make_betas
from ..models.vae import gaussian_kl, reparameterise
from ._util import call, expect_tensor, generator, require_callable
from .registry import register


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    return torch.allclose(got.double(), want.double(), atol=1e-4, rtol=1e-4)


@register("diffusion.add_noise")
def check_add_noise(fn) -> None:
    """``fn(x0 (B, C, H, W), noise, t (B,), betas (T,)) -> x_t`` by DDPM eq. 4."""
    require_callable(fn, "add_noise")
    g = generator(5)
    for kind, T in (("linear", 1000), ("cosine", 50)):
        betas = make_betas(kind, T).float()
        x0, noise = torch.randn(4, 3, 4, 4, generator=g), torch.randn(4, 3, 4, 4, generator=g)
        t = torch.tensor([0, 1, T // 2, T - 1])
        got = expect_tensor(call(fn, x0, noise, t, betas, what="add_noise(x0, noise, t, betas)"), "add_noise",
                            shape=tuple(x0.shape))
        assert got.dtype == x0.dtype, (f"x_t is {got.dtype} for a {x0.dtype} x0: the UNet's weights are float32, so "
                                       "bring the coefficients to x0's dtype (abar[t].to(x0.dtype))")
        want = add_noise(NoiseSchedule(betas.double()), x0, noise, t)
        assert _close(got, want), (
            f"add_noise differs from sqrt(abar_t) x0 + sqrt(1 - abar_t) noise ({kind} schedule, largest gap "
            f"{(got - want).abs().max():.3g}); hint: abar_t is the *cumulative* product of (1 - beta) up to and "
            "including step t (torch.cumprod), and each sample has its own t: reshape abar[t] to (B, 1, 1, 1)")


@register("diffusion.ddpm_step")
def check_ddpm_step(fn) -> None:
    """``fn(x_t, eps, t, betas, z) -> x_{t-1}`` by DDPM Algorithm 2 with sigma_t^2 = beta~_t."""
    require_callable(fn, "reverse_step")
    g = generator(6)
    cases = [(make_betas("linear", 1000).float(), t) for t in (999, 500, 10, 1, 0)]
    cases += [(make_betas("cosine", 50).float(), t) for t in (49, 20, 1)]  # the schedule is an argument
    for betas, t in cases:
        schedule = NoiseSchedule(betas.double())
        x_t, eps, z = (torch.randn(2, 3, 4, 4, generator=g) for _ in range(3))
        got = expect_tensor(call(fn, x_t, eps, t, betas, z, what=f"reverse_step(x_t, eps, t={t}, betas, z)"),
                            f"reverse_step at t={t}", shape=tuple(x_t.shape))
        want = ddpm_step(schedule, eps, t, x_t, noise=z)
        if t == 0 and not _close(got, want):
            raise AssertionError("at t = 0 the step must return the mean alone: no noise is added at the last step")
        assert _close(got, want), (
            f"reverse_step at t={t} differs from Algorithm 2 (largest gap {(got - want).abs().max():.3g}); hint: "
            "x_(t-1) = (x_t - beta_t / sqrt(1 - abar_t) * eps) / sqrt(alpha_t) + sigma_t z, alpha_t = 1 - beta_t, "
            "sigma_t^2 = (1 - abar_(t-1)) / (1 - abar_t) * beta_t")


@register("diffusion.cfg")
def check_cfg(fn) -> None:
    """``fn(eps_uncond, eps_cond, w) -> guided eps`` (Ho & Salimans eq. 6)."""
    require_callable(fn, "guide")
    g = generator(7)
    for w in (0.0, 1.0, 2.5, 7.0):
        u, c = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
        u_in, c_in = u.clone(), c.clone()
        got = expect_tensor(call(fn, u_in, c_in, w, what=f"guide(eps_uncond, eps_cond, w={w})"),
                            f"guide with w={w}", shape=tuple(u.shape))
        assert torch.equal(u_in, u) and torch.equal(c_in, c), (
            f"guide with w={w} changed its inputs in place (e.g. eps_cond.mul_(1 + w) or eps_cond -= ...): the "
            "sampler reuses both predictions, so compute a new tensor")
        want = (1 + w) * c - w * u
        if w > 0 and _close(got, c - w * (c - u)):
            raise AssertionError(f"guide with w={w} points the wrong way: (1 + w) eps_cond - w eps_uncond moves "
                                 "*away* from the unconditional prediction; yours moves towards it")
        assert _close(got, want), (
            f"guide with w={w} differs from (1 + w) eps_cond - w eps_uncond (largest gap {(got - want).abs().max():.3g});"
            " hint: w = 0 must give the conditional prediction itself, and w is not diffusers' guidance_scale "
            "(which is 1 + w)")


@register("vae.sample_kl")
def check_sample_kl(fn) -> None:
    """``fn(mean, logvar, noise) -> (z, kl per sample (B,))``."""
    require_callable(fn, "sample_and_kl")
    g = generator(8)
    for shape in ((3, 4, 8, 8), (5, 2, 2, 2)):
        mean, logvar, noise = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
        mean.requires_grad_(True)
        logvar.requires_grad_(True)  # the encoder learns through both
        got = call(fn, mean, logvar, noise, what="sample_and_kl(mean, logvar, noise)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, "sample_and_kl should return two things: (z, kl)"
        z = expect_tensor(got[0], "z", shape=shape)
        kl = expect_tensor(got[1], "kl", shape=(shape[0],))
        want_z = reparameterise(mean, logvar, noise)
        assert _close(z, want_z), ("z differs from mu + sigma * noise; hint: sigma = exp(logvar / 2), "
                                   "the square root of the variance")
        want_kl = gaussian_kl(mean, logvar)
        assert _close(kl, want_kl), ("kl differs from -1/2 sum(1 + logvar - mu^2 - exp(logvar)) summed over every "
                                     "dimension but the batch (Kingma & Welling, Appendix B)")
        assert z.requires_grad and kl.requires_grad, (
            "z and kl must carry gradients back to mean and logvar (the encoder learns through them): compute them "
            "with torch operations, no .item(), float() or torch.tensor(...) around numbers")
        (z.sum() + kl.sum()).backward()
        ref_mean, ref_logvar = mean.detach().clone().requires_grad_(True), logvar.detach().clone().requires_grad_(True)
        (reparameterise(ref_mean, ref_logvar, noise).sum() + gaussian_kl(ref_mean, ref_logvar).sum()).backward()
        assert _close(mean.grad, ref_mean.grad) and _close(logvar.grad, ref_logvar.grad), (
            "the gradients reaching mean and logvar differ from the reference's")
