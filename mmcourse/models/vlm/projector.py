"""LLaVA-1.5's projector: image patch features into the word-embedding space (LLaVA eq. 1)."""

from __future__ import annotations

import torch
from torch import nn


class Projector(nn.Module):
    """LLaVA-1.5's ``mlp2x_gelu``: Linear(D_v -> D) -> GELU -> Linear(D -> D), per patch.

    Used in: chapter 03
    """

    def __init__(self, vision_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(vision_dim, hidden_size)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(hidden_size, hidden_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(features)))  # (B, N, D_v) -> (B, N, D)
