"""A variational autoencoder for the shapes scenes, as diffusers' ``AutoencoderKL``.

The encoder maps an image to a diagonal Gaussian q(z | x) = N(mu, sigma^2); a sample is
drawn with the reparameterisation trick z = mu + sigma * eps, eps ~ N(0, I) (Kingma &
Welling, 2014, "Auto-Encoding Variational Bayes", §2.4), so gradients flow through mu and
sigma. Training maximises the ELBO: reconstruction minus KL(q(z | x) || N(0, I)), whose
closed form for Gaussians is -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2) (Appendix B).
beta-VAE (Higgins et al., 2017) weighs the KL by beta.

The model is the library class Stable Diffusion uses, built from a tiny config, so the
same object drops into a ``StableDiffusionPipeline``. :func:`reparameterise` and
:func:`gaussian_kl` are the formulas written out; they equal diffusers'
``DiagonalGaussianDistribution.sample`` and ``.kl`` (``tests/models/test_vae.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..contracts import Float, Instance, Tensor, check_images, contract


@dataclass
class VAEConfig:
    """A tiny ``AutoencoderKL``: each extra block halves the side (32 -> 8 with 3 blocks).

    Used in: chapter 05
    """

    block_out_channels: tuple[int, ...] = (16, 32, 32)
    latent_channels: int = 4
    image_size: int = 32
    layers_per_block: int = 1
    norm_num_groups: int = 8
    scaling_factor: float = 1.0  # set after training so that latents have unit variance (SD: 0.18215)

    def __post_init__(self) -> None:
        self.block_out_channels = tuple(self.block_out_channels)
        if not self.block_out_channels or any(not isinstance(c, int) or c < 1 for c in self.block_out_channels):
            raise ValueError(f"block_out_channels must be positive ints; got {self.block_out_channels}")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(f"norm_num_groups={self.norm_num_groups} must divide every block_out_channels")
        if self.image_size % self.downsample:
            raise ValueError(f"image_size={self.image_size} must be divisible by {self.downsample}")

    @property
    def downsample(self) -> int:
        """The factor f between image side and latent side."""
        return 2 ** (len(self.block_out_channels) - 1)

    @property
    def latent_size(self) -> int:
        return self.image_size // self.downsample

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "block_out_channels": list(self.block_out_channels)}

    @classmethod
    def from_model(cls, vae: Any) -> VAEConfig:
        """The config that builds ``vae`` (an ``AutoencoderKL`` from :func:`build_vae`), read back from its config."""
        c = vae.config
        return cls(block_out_channels=tuple(c.block_out_channels), latent_channels=c.latent_channels,
                   image_size=c.sample_size, layers_per_block=c.layers_per_block, norm_num_groups=c.norm_num_groups,
                   scaling_factor=c.scaling_factor)


@contract(config=Instance(VAEConfig, "a VAEConfig"))
def build_vae(config: VAEConfig) -> Any:
    """The diffusers ``AutoencoderKL`` of ``config`` (no mid-block attention: 8x8 is small).

    Used in: chapter 05
    """
    from diffusers import AutoencoderKL

    if not isinstance(config, VAEConfig):
        raise TypeError(f"config must be a VAEConfig; got {type(config).__name__}")
    n = len(config.block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=config.latent_channels,
                         block_out_channels=config.block_out_channels,
                         down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
                         layers_per_block=config.layers_per_block, norm_num_groups=config.norm_num_groups,
                         sample_size=config.image_size, mid_block_add_attention=False,
                         scaling_factor=config.scaling_factor)


@contract(mean=Tensor(kind="float"), logvar=Tensor(kind="float"), noise=Tensor(kind="float"))
def reparameterise(mean: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2): a sample that is differentiable in
    mu and sigma (Kingma & Welling §2.4).

    Used in: chapter 05
    """
    if not mean.shape == logvar.shape == noise.shape:
        raise ValueError(f"mean, logvar and noise must share a shape; got {tuple(mean.shape)}, "
                         f"{tuple(logvar.shape)}, {tuple(noise.shape)}")
    return mean + torch.exp(0.5 * logvar) * noise


@contract(mean=Tensor(rank=(2, 3, 4), kind="float", what="(batch, ...) means"),
          logvar=Tensor(rank=(2, 3, 4), kind="float", what="(batch, ...) log-variances"))
def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per sample, summed over all but the batch dimension:
    -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2) (Kingma & Welling, Appendix B). (B,)

    Used in: chapter 05
    """
    if mean.shape != logvar.shape:
        raise ValueError(f"mean and logvar must share a shape; got {tuple(mean.shape)} and {tuple(logvar.shape)}")
    kl = -0.5 * (1 + logvar - mean.pow(2) - logvar.exp())
    return kl.flatten(1).sum(1)


@contract(beta=Float(min=0))
def elbo_loss(vae: Any, images: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The negative beta-ELBO of a batch of images in [-1, 1]: summed squared error (a
    Gaussian decoder) + beta * KL, averaged over the batch; also returns both parts.

    Used in: chapter 05
    """
    check_images(images, channels=3)
    # 1. encode to a Gaussian (diffusers keeps logvar clamped to [-30, 20])
    posterior = vae.encode(images).latent_dist
    mean, logvar = posterior.mean, posterior.logvar
    # 2. reparameterised sample, decode
    z = reparameterise(mean, logvar, torch.randn_like(mean))
    recon = vae.decode(z).sample
    # 3. the two terms of the ELBO
    rec = (recon - images).pow(2).flatten(1).sum(1).mean()
    kl = gaussian_kl(mean, logvar).mean()
    return rec + beta * kl, {"reconstruction": float(rec.detach()), "kl": float(kl.detach())}
