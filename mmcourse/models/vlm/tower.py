"""A frozen CNN as a LLaVA vision tower: its feature map as patch tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...contracts import check_images
from ..vit import sincos_2d


class PatchFeatureTower(nn.Module):
    """A CNN image tower's feature map as patch tokens: (B, 3, H, W) -> (B, N, D_v).

    For the course's ``clip-shapes`` tower (32x32 input, three 2x2 pools) the map is a 4x4
    grid of 64-wide features.

    1. Position: a ViT's patch tokens carry position embeddings. A CNN's features already
       know roughly where they are (zero padding at the borders). ``position`` adds
       chapter 01's fixed sine-cosine table times that scale; at full scale (1.0) it
       drowned the weaker shape signal in our runs.
    2. Merge: ``merge=2`` concatenates each 2x2 block of neighbours into one token
       ("pixel shuffle", as SmolVLM and InternVL do to cut visual tokens), giving 4 tokens
       of width 256, one per image quadrant (the default). ``merge=1`` keeps all 16.
    """

    def __init__(self, cnn: nn.Module, image_size: int = 32, *, position: float = 0.0, merge: int = 2) -> None:
        super().__init__()
        self.cnn = cnn  # a SmallCNN (its ``body`` is the conv stack)
        self.image_size = image_size
        channels = cnn.config.channels[-1]
        self.side = image_size // 2 ** len(cnn.config.channels)
        if merge not in (1, 2, 4) or self.side % merge:
            raise ValueError(f"merge must be 1, 2 or 4 and divide the {self.side}x{self.side} grid; got {merge!r}")
        self.merge = merge
        self.position_scale = float(position)
        self.width = channels * merge * merge
        self.num_patches = (self.side // merge) ** 2
        pos = float(position) * sincos_2d(self.side, channels)[1:]  # (h*w, C); position=0 turns it off
        self.register_buffer("position", pos.T.reshape(1, channels, self.side, self.side), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, channels=3, size=self.image_size)
        fmap = self.cnn.body(images) + self.position  # (B, C, h, w)
        if self.merge > 1:
            fmap = F.pixel_unshuffle(fmap, self.merge)  # (B, C*m*m, h/m, w/m)
        return fmap.flatten(2).transpose(1, 2)  # (B, N, D_v), patches in raster order
