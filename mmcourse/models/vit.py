"""A small Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words").

Patches -> linear embedding (a strided conv) -> prepend a learned [CLS] token -> add
learned position embeddings -> pre-LayerNorm transformer blocks -> LayerNorm -> the
[CLS] output -> a linear head. Attention weights can be read out for visualisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Int, check_images, contract
from ..patches import patchify
from .layers import Block


@dataclass(frozen=True)
class ViTConfig:
    """Configuration of :class:`ViT`.

    Used in: chapter 01
    """

    image_size: int = 32
    patch_size: int = 4
    in_channels: int = 3
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    num_classes: int = 5  # 0: no head, forward returns the pooled features
    dropout: float = 0.0
    pool: Literal["cls", "mean"] = "cls"  # "cls": the [CLS] output (ViT paper); "mean": average of patches
    ln_pre: bool = False  # LayerNorm on patch + position embeddings, as CLIP's ViT (CLIP §2.4)
    pos: Literal["learned", "sincos"] = "learned"  # learned (ViT paper) or fixed 2-D sine-cosine (MAE)
    patch_norm: bool = False  # LayerNorm each flattened patch before, and each token after, the
    #                           linear embedding (lucidrains/vit-pytorch vit.py); trains faster here

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size={self.patch_size} must divide image_size={self.image_size}")
        if self.dim % self.heads:
            raise ValueError(f"dim={self.dim} must be divisible by heads={self.heads}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1; got {self.depth}")
        if self.pos not in ("learned", "sincos"):
            raise ValueError(f"pos={self.pos!r}: expected 'learned' or 'sincos'")
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool={self.pool!r}: expected 'cls' or 'mean'")

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    def to_dict(self) -> dict:
        return asdict(self)


@contract(side=Int(min=1), dim=Int(min=4))
def sincos_2d(side: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embeddings, (1 + side*side, dim), zeros for [CLS].

    Half the channels encode the row, half the column, each with sines and cosines of
    geometrically spaced frequencies (Vaswani et al., 2017, section 3.5, per axis).

    Used in: chapter 01
    """
    if dim % 4:
        raise ValueError(f"dim must be divisible by 4 for 2-D sine-cosine embeddings; got {dim}")
    quarter = dim // 4
    freqs = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))  # (D/4,)
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float32),
                                torch.arange(side, dtype=torch.float32), indexing="ij")

    def encode(pos: torch.Tensor) -> torch.Tensor:  # (side*side,) -> (side*side, D/2)
        angles = pos.flatten()[:, None] * freqs[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    grid = torch.cat([encode(rows), encode(cols)], dim=1)  # (N, D)
    return torch.cat([torch.zeros(1, dim), grid], dim=0)


class PatchEmbed(nn.Module):
    """(B, C, H, W) -> (B, N, D): a linear map of each flattened patch.

    Written as a conv with kernel = stride = patch size, which equals patchify + linear.
    With ``norm=True`` each flattened patch is LayerNormed before the linear map and each
    token after it (lucidrains/vit-pytorch ``vit.py``), so a patch's brightness offset
    does not have to be learned away.

    Used in: chapter 01
    """

    def __init__(self, patch_size: int, in_channels: int, dim: int, norm: bool = False) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.norm_in = nn.LayerNorm(in_channels * patch_size**2) if norm else None
        self.norm_out = nn.LayerNorm(dim) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm_in is None:
            tokens = self.proj(x).flatten(2).transpose(1, 2)  # (B, D, H/P, W/P) -> (B, N, D)
        else:  # the same weights used as a linear layer on normalised patches
            patches = self.norm_in(patchify(x, self.patch_size))  # (B, N, C*P*P)
            tokens = F.linear(patches, self.proj.weight.flatten(1), self.proj.bias)
        return self.norm_out(tokens)


class ViT(nn.Module):
    """Vision Transformer: (B, C, H, W) -> (B, num_classes) logits (or (B, dim) features).

    Used in: chapter 01
    """

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        if not isinstance(config, ViTConfig):
            raise TypeError(f"config must be a ViTConfig; got {type(config).__name__}")
        self.config = c = config
        self.patch_embed = PatchEmbed(c.patch_size, c.in_channels, c.dim, norm=c.patch_norm)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        if c.pos == "learned":
            self.pos_embed = nn.Parameter(torch.randn(1, 1 + c.num_patches, c.dim) * 0.02)
        else:
            side = c.image_size // c.patch_size
            self.register_buffer("pos_embed", sincos_2d(side, c.dim)[None], persistent=False)
        self.ln_pre = nn.LayerNorm(c.dim) if c.ln_pre else nn.Identity()
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.depth))
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.num_classes) if c.num_classes else nn.Identity()

    def _check(self, x: torch.Tensor) -> None:
        B, C, H, W = check_images(x, "x")
        c = self.config
        if C != c.in_channels or H != c.image_size or W != c.image_size:
            raise ValueError(f"x must have shape (batch, {c.in_channels}, {c.image_size}, {c.image_size}); "
                             f"got {tuple(x.shape)}")

    def forward_features(self, x: torch.Tensor, return_weights: bool = False
                         ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """All output tokens (B, 1 + N, D) and, if asked, each layer's attention (B, heads, T, T)."""
        self._check(x)
        B = x.shape[0]
        # 1. patches -> tokens, 2. prepend [CLS], 3. add position embeddings (ViT eq. 1)
        tokens = self.patch_embed(x)  # (B, N, D)
        tokens = torch.cat([self.cls_token.expand(B, -1, -1), tokens], dim=1)  # (B, 1 + N, D)
        h = self.ln_pre(tokens + self.pos_embed)
        # 4. L pre-LN blocks (ViT eqs. 2-3), 5. final LayerNorm (eq. 4)
        weights = []
        for block in self.blocks:
            h, w = block(h, return_weights=return_weights)
            if w is not None:
                weights.append(w)
        return self.norm(h), weights

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled output (B, dim): the [CLS] token, or the mean of the patch tokens."""
        h = self.forward_features(x)[0]
        return h[:, 0] if self.config.pool == "cls" else h[:, 1:].mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def cls_attention(self, x: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """How much the [CLS] token attends to each patch in ``layer``, averaged over heads,
        as a (B, H/P, W/P) map.
        """
        _, weights = self.forward_features(x, return_weights=True)
        w = weights[layer][:, :, 0, 1:].mean(1)  # (B, N): CLS row, patch columns
        side = self.config.image_size // self.config.patch_size
        return w.reshape(-1, side, side)
