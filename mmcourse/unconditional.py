"""Unconditional DDPM on the shapes world: images from a ``UNet2DModel`` in pixel or latent space.

Chapter 05 trains one ``UNet2DModel`` config twice, on pixels and on ``vae-shapes`` latents,
for the same steps (the zoo's ``ddpm-pixel-shapes`` and ``ddpm-latent-shapes``), and draws
from both with :func:`images`: the same sampling loop (:func:`mmcourse.diffusion.sample`,
DDPM Algorithm 2 or DDIM eq. 12), with the VAE's decoder run once at the end on the latent side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .contracts import Choice, Instance, Int, contract
from .diffusion import SAMPLERS, Sampler, decode_latents, sample
from .models.schedulers import NoiseSchedule


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), n=Int(min=1), steps=Int(min=1),
          sampler=Choice(SAMPLERS), seed=Int(min=0))
def images(unet: Any, schedule: NoiseSchedule, n: int, *, vae: Any = None, steps: int = 50,
           sampler: Sampler = "ddim", seed: int = 0) -> torch.Tensor:
    """``n`` images in [0, 1] (n, 3, H, W) from an unconditional ``UNet2DModel``: on pixels in
    [-1, 1] when ``vae`` is None, else on the VAE's scaled latents, decoded once at the end.
    """
    c, side = unet.config.in_channels, unet.config.sample_size
    if vae is not None and c != vae.config.latent_channels:
        raise ValueError(f"unet has {c} input channels but vae's latents have {vae.config.latent_channels}: "
                         "a pixel-space UNet takes vae=None")
    if vae is None and c != 3:
        raise ValueError(f"unet has {c} input channels: a latent-space UNet needs its vae to decode")
    x = sample(unet, schedule, (n, c, side, side), steps=steps, sampler=sampler,
               generator=torch.Generator().manual_seed(seed))
    return (decode_latents(vae, x) if vae is not None else (x / 2 + 0.5).clamp(0, 1)).cpu()


@dataclass
class UnconditionalDiffusion:
    """An unconditional ``UNet2DModel`` with its noise schedule, and the VAE that decodes its
    latents (``None`` for a pixel-space model): ``zoo.pipeline("ddpm-latent-shapes")``.
    """

    unet: Any
    schedule: NoiseSchedule
    vae: Any = None

    def images(self, n: int, *, steps: int = 50, sampler: Sampler = "ddim", seed: int = 0) -> torch.Tensor:
        """``n`` images in [0, 1] (n, 3, H, W): :func:`images` with these parts."""
        return images(self.unet, self.schedule, n, vae=self.vae, steps=steps, sampler=sampler, seed=seed)
