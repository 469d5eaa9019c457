"""What chapter 05's diffusion entries share: the schedule a recipe names, one denoiser-training
loop (DDPM's L_simple with condition dropout), and the Fréchet distance as a report metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...diffusion import denoising_loss
from ...metrics.generation import FrechetReference
from ...metrics.stats import Metric
from ...models.schedulers import NoiseSchedule
from ...runtime import RunConfig
from ...train import History, fit
from ..registry import Recipe


def schedule(recipe: Recipe) -> NoiseSchedule:
    """The noise schedule a recipe names: ``{"schedule": {"kind": "linear", "timesteps": 1000}}``."""
    return NoiseSchedule.create(**recipe["schedule"])


def train_denoiser(unet: Any, noise_schedule: NoiseSchedule, x0: torch.Tensor, cond: torch.Tensor | None = None,
                   uncond: torch.Tensor | None = None, *, train: dict[str, Any], cfg: RunConfig | None,
                   progress: bool, desc: str) -> History:
    """Fit ``unet`` with L_simple (Ho et al. 2020, eq. 14) on ``x0`` (N, C, H, W), each example
    with its condition ``cond`` (N, L, D) or none, the condition swapped for ``uncond`` with
    probability ``train["p_uncond"]`` (classifier-free guidance's dropout). Batches of
    ``train["batch_size"]`` drawn with replacement by a generator seeded with ``train["seed"]``;
    ``train["steps"]`` steps, warm-up then cosine decay of ``train["lr"]``.
    """
    g = torch.Generator().manual_seed(train["seed"])

    def batch() -> tuple[torch.Tensor, ...]:
        i = torch.randint(0, len(x0), (train["batch_size"],), generator=g)
        return (x0[i],) if cond is None else (x0[i], cond[i])

    def loss(model: Any, b: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if cond is None:
            return denoising_loss(model, noise_schedule, b[0])
        return denoising_loss(model, noise_schedule, b[0], b[1], uncond, p_uncond=train["p_uncond"])

    return fit(unet, batch, loss_fn=loss, steps=train["steps"], lr=train["lr"], warmup=train["warmup"],
               schedule="cosine", cfg=cfg, desc=desc, progress=progress)


def frechet_metric(fake: torch.Tensor, reference: FrechetReference) -> Metric:
    """The Fréchet distance of ``fake`` features to a fixed real side, as a corpus metric."""
    rows = fake.double().numpy()  # NumPy rows: indexing a tensor with an index array is 100x slower here
    return Metric(np.arange(len(rows)), lambda i: reference(rows[i]), higher_is_better=False)
