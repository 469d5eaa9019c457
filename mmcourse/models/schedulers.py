"""Noise schedules and sampling steps of diffusion models, written out from the papers.

* Forward process (Ho et al., 2020, "Denoising Diffusion Probabilistic Models"):
  q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)  (eq. 2), and in closed form
  q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_s (1 - beta_s)  (eq. 4).
* Schedules: DDPM's linear betas 1e-4 -> 0.02 over T = 1000 (§4); the cosine schedule of
  Nichol & Dhariwal (2021, §3.2, eq. 17); Stable Diffusion's "scaled linear".
* Reverse step (DDPM Algorithm 2 line 4, the mean of eq. 11):
  x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps) + sigma_t z,
  with sigma_t^2 = beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t (§3.2).
* DDIM step (Song et al., 2021, "Denoising Diffusion Implicit Models", eq. 12), eta = 0:
  deterministic; it may jump from t to any earlier t'.

:func:`ddpm_step` equals diffusers' ``DDPMScheduler.step`` and :func:`ddim_step` equals
``DDIMScheduler.step`` on the same inputs (``tests/models/test_schedulers.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..contracts import Choice, Float, Instance, Int, Maybe, Tensor, contract

ScheduleKind = Literal["linear", "cosine", "scaled_linear"]
SCHEDULES: tuple[str, ...] = ("linear", "cosine", "scaled_linear")


@contract(kind=Choice(SCHEDULES), timesteps=Int(min=2), beta_start=Float(min=0, max=1, open_min=True),
          beta_end=Float(min=0, max=1, open_min=True))
def make_betas(kind: ScheduleKind = "linear", timesteps: int = 1000, beta_start: float = 1e-4,
               beta_end: float = 0.02) -> torch.Tensor:
    """The T variances beta_1..beta_T of a noise schedule, float64."""
    if beta_end < beta_start:
        raise ValueError(f"beta_end={beta_end} must be >= beta_start={beta_start}")
    if kind == "linear":  # DDPM §4
        return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
    if kind == "scaled_linear":  # Stable Diffusion: linear in sqrt(beta)
        return torch.linspace(beta_start**0.5, beta_end**0.5, timesteps, dtype=torch.float64) ** 2
    # cosine (Nichol & Dhariwal eq. 17): abar(t) = f(t) / f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2)
    s = 0.008
    f = [math.cos((i / timesteps + s) / (1 + s) * math.pi / 2) ** 2 for i in range(timesteps + 1)]
    betas = [min(1 - f[i + 1] / f[i], 0.999) for i in range(timesteps)]  # beta clipped at 0.999
    return torch.tensor(betas, dtype=torch.float64)


@dataclass
class NoiseSchedule:
    """betas and the cumulative products abar_t that every formula here uses (float64).

    Used in: chapter 05
    """

    betas: torch.Tensor  # (T,)

    def __post_init__(self) -> None:
        if not isinstance(self.betas, torch.Tensor) or self.betas.dim() != 1 or len(self.betas) < 2:
            raise ValueError("betas must be a 1-D tensor of at least 2 variances")
        if not bool(((self.betas > 0) & (self.betas < 1)).all()):
            raise ValueError("every beta must lie in (0, 1)")
        self.betas = self.betas.double()
        self.alphas_cumprod = torch.cumprod(1 - self.betas, 0)  # abar_t, t = 0..T-1

    @classmethod
    @contract(kind=Choice(SCHEDULES), timesteps=Int(min=2))
    def create(cls, kind: ScheduleKind = "linear", timesteps: int = 1000, **kwargs: float) -> NoiseSchedule:
        """``NoiseSchedule.create("cosine", 1000)``; keyword arguments go to :func:`make_betas`.

        Used in: chapter 05
        """
        return cls(make_betas(kind, timesteps, **kwargs))

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    def abar(self, t: int | torch.Tensor) -> torch.Tensor:
        """abar_t; t = -1 means "before the first step" (abar = 1)."""
        t = torch.as_tensor(t)
        return torch.where(t >= 0, self.alphas_cumprod[t.clamp(min=0)], torch.ones((), dtype=torch.float64))

    def snr(self) -> torch.Tensor:
        """Signal-to-noise ratio abar_t / (1 - abar_t) for every t (Kingma et al., 2021)."""
        return self.alphas_cumprod / (1 - self.alphas_cumprod)


def _per_sample(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) or () float64 -> broadcastable over ``like`` (B, C, H, W), in its dtype."""
    value = value.to(like.device, like.dtype)
    return value.reshape(-1, *([1] * (like.dim() - 1))) if value.dim() else value


def _check_t(schedule: NoiseSchedule, t: int | torch.Tensor, name: str = "t") -> torch.Tensor:
    t = torch.as_tensor(t)
    if t.is_floating_point() or bool((t < 0).any()) or bool((t >= schedule.timesteps).any()):
        raise ValueError(f"{name} must be integer steps in [0, {schedule.timesteps - 1}]; got {t.tolist()}")
    return t


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), x0=Tensor(kind="float"),
          noise=Tensor(kind="float"))
def add_noise(schedule: NoiseSchedule, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
    """Sample q(x_t | x_0) in one jump (DDPM eq. 4): sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
    ``t`` is one step or one per sample (B,). Equals ``DDPMScheduler.add_noise``.

    Used in: chapter 05
    """
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have x0's shape {tuple(x0.shape)}; got {tuple(noise.shape)}")
    abar = _per_sample(schedule.abar(_check_t(schedule, t)), x0)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), eps=Tensor(kind="float"),
          x_t=Tensor(kind="float"), t=Int(min=0), t_prev=Maybe(Int(min=-1)), noise=Maybe(Tensor(kind="float")))
def ddpm_step(schedule: NoiseSchedule, eps: torch.Tensor, t: int, x_t: torch.Tensor, *,
              t_prev: int | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
    """One ancestral step x_t -> x_{t_prev} (DDPM Algorithm 2, eq. 11); ``t_prev`` defaults
    to t - 1 (a larger jump is the strided DDPM diffusers runs with fewer steps). ``noise``
    is z (drawn when None); no noise is added at the last step.

    Used in: chapter 05
    """
    t_prev = t - 1 if t_prev is None else t_prev
    _check_t(schedule, t)
    if not -1 <= t_prev < t:
        raise ValueError(f"t_prev must be in [-1, t - 1] = [-1, {t - 1}]; got {t_prev}")
    # 1. alpha and beta of this (possibly strided) step: alpha = abar_t / abar_prev
    abar_t, abar_prev = schedule.abar(t), schedule.abar(t_prev)
    alpha = abar_t / abar_prev
    beta = 1 - alpha
    # 2. the mean of eq. 11: remove the predicted noise, rescale
    mean = (x_t - float(beta / (1 - abar_t).sqrt()) * eps) / float(alpha.sqrt())
    if t_prev < 0:
        return mean
    # 3. add sigma_t z with sigma_t^2 = beta~_t = (1 - abar_prev) / (1 - abar_t) beta_t
    sigma = float(((1 - abar_prev) / (1 - abar_t) * beta).sqrt())
    z = torch.randn_like(x_t) if noise is None else noise
    return mean + sigma * z


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), eps=Tensor(kind="float"),
          x_t=Tensor(kind="float"), t=Int(min=0), t_prev=Int(min=-1))
def ddim_step(schedule: NoiseSchedule, eps: torch.Tensor, t: int, x_t: torch.Tensor, *, t_prev: int) -> torch.Tensor:
    """One deterministic DDIM step x_t -> x_{t_prev} (Song et al. eq. 12 with eta = 0):
    predict x_0, then move to abar_prev along the same noise direction.

    Used in: chapter 05
    """
    _check_t(schedule, t)
    if not -1 <= t_prev < t:
        raise ValueError(f"t_prev must be in [-1, t - 1] = [-1, {t - 1}]; got {t_prev}")
    abar_t, abar_prev = float(schedule.abar(t)), float(schedule.abar(t_prev))
    x0 = (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)  # 1. "predicted x_0"
    return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps  # 2. "direction pointing to x_t"


@contract(timesteps=Int(min=2), steps=Int(min=1))
def sampling_timesteps(timesteps: int, steps: int) -> list[int]:
    """The ``steps`` timesteps a sampler visits, high to low, ending strides at T - 1 as
    diffusers' ``timestep_spacing="trailing"`` (Lin et al., 2024, Table 2: the first step
    then starts from pure noise): T = 1000, 4 steps -> [999, 749, 499, 249].
    """
    if steps > timesteps:
        raise ValueError(f"steps={steps} exceeds the {timesteps} training timesteps")
    return [round(timesteps - i * timesteps / steps) - 1 for i in range(steps)]
