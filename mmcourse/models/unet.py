"""Denoisers for diffusion: diffusers' UNets from a small validated config.

A UNet predicts the noise eps in x_t (DDPM eq. 14). Conditioned on text it is diffusers'
``UNet2DConditionModel``: at each resolution a ResNet block, then a transformer block
whose cross-attention reads the caption's token states (Rombach et al., 2022, eq. 3);
without a condition, ``UNet2DModel`` (Ho et al.'s architecture, §4). The same class with
real weights is Stable Diffusion's UNet (860M parameters; ours has about 450k).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..contracts import Instance, contract


@dataclass
class DenoiserConfig:
    """A tiny UNet. ``cross_attention_dim=None`` builds the unconditional ``UNet2DModel``.

    Used in: chapter 05
    """

    in_channels: int = 4  # 4 latent channels (3 for pixels)
    sample_size: int = 8  # side of x_t: 8 latent pixels, or 32 image pixels
    block_out_channels: tuple[int, ...] = (32, 32)
    layers_per_block: int = 1
    cross_attention_dim: int | None = 64  # width of the text encoder's token states
    attention_head_dim: int = 8
    norm_num_groups: int = 8

    def __post_init__(self) -> None:
        self.block_out_channels = tuple(self.block_out_channels)
        for name in ("in_channels", "sample_size", "layers_per_block", "attention_head_dim", "norm_num_groups"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if not self.block_out_channels or any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(f"block_out_channels {self.block_out_channels} must be non-empty multiples of "
                             f"norm_num_groups={self.norm_num_groups}")
        if self.sample_size % 2 ** (len(self.block_out_channels) - 1):
            raise ValueError(f"sample_size={self.sample_size} must halve {len(self.block_out_channels) - 1} times")
        if self.cross_attention_dim is not None and self.cross_attention_dim < 1:
            raise ValueError(f"cross_attention_dim must be a positive int or None; got {self.cross_attention_dim}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "block_out_channels": list(self.block_out_channels)}

    @classmethod
    def from_model(cls, unet: Any) -> DenoiserConfig:
        """The config that builds ``unet`` (a ``UNet2DConditionModel`` or ``UNet2DModel`` from
        :func:`build_denoiser`), read back from its diffusers config."""
        c = unet.config
        return cls(in_channels=c.in_channels, sample_size=c.sample_size, block_out_channels=tuple(c.block_out_channels),
                   layers_per_block=c.layers_per_block, cross_attention_dim=c.get("cross_attention_dim"),
                   attention_head_dim=c.attention_head_dim, norm_num_groups=c.norm_num_groups)


@contract(config=Instance(DenoiserConfig, "a DenoiserConfig"))
def build_denoiser(config: DenoiserConfig) -> Any:
    """``UNet2DConditionModel`` (cross-attention at every level) or ``UNet2DModel``.

    Used in: chapter 05
    """
    from diffusers import UNet2DConditionModel, UNet2DModel

    if not isinstance(config, DenoiserConfig):
        raise TypeError(f"config must be a DenoiserConfig; got {type(config).__name__}")
    n = len(config.block_out_channels)
    common = dict(sample_size=config.sample_size, in_channels=config.in_channels, out_channels=config.in_channels,
                  layers_per_block=config.layers_per_block, block_out_channels=config.block_out_channels,
                  norm_num_groups=config.norm_num_groups)
    if config.cross_attention_dim is None:
        return UNet2DModel(**common, attention_head_dim=config.attention_head_dim,
                           down_block_types=("DownBlock2D",) * (n - 1) + ("AttnDownBlock2D",),
                           up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (n - 1))
    return UNet2DConditionModel(**common, cross_attention_dim=config.cross_attention_dim,
                                attention_head_dim=config.attention_head_dim,
                                down_block_types=("CrossAttnDownBlock2D",) * n,
                                up_block_types=("CrossAttnUpBlock2D",) * n)
