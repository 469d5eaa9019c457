"""A Q-Former-style connector: a fixed set of learned queries reads the image by cross-attention.

BLIP-2 (Li et al., 2023, §3.1) bridges a frozen image encoder and a frozen LLM with a
"Querying Transformer": 32 learned query vectors pass through transformer blocks whose
cross-attention layers look at the image features; the queries' outputs, projected to
the LLM width, are the LLM's visual tokens. The LLM then sees 32 tokens however many
patches the encoder produced (257 for ViT-g/14 at 224 px).

This is the mechanism in a few lines, pre-LayerNorm like the rest of the course: no
BERT text branch and none of BLIP-2's stage-1 objectives (ITC, ITM, ITG).
"""

from __future__ import annotations

import torch
from torch import nn

from ..contracts import Tensor, contract
from .layers import MLP, Attention


class QFormerBlock(nn.Module):
    """Queries attend to each other, then to the image, then an MLP (each a residual step)."""

    def __init__(self, width: int, vision_dim: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.self_attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.cross_attn = Attention(width, heads, context_dim=vision_dim)
        self.ln_3 = nn.LayerNorm(width)
        self.mlp = MLP(width, 4 * width)

    def forward(self, q: torch.Tensor, image: torch.Tensor, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        q = q + self.self_attn(self.ln_1(q))[0]
        # cross-attention: queries (B, Q, W) ask, image patches (B, N, D_v) answer
        h, weights = self.cross_attn(self.ln_2(q), image, return_weights=need_weights)
        q = q + h
        mean_weights = None if weights is None else weights.mean(1)  # (B, Q, N), averaged over heads
        return q + self.mlp(self.ln_3(q)), mean_weights


class QFormer(nn.Module):
    """``num_queries`` learned queries -> blocks of self/cross-attention -> Linear to the LM width.

    (B, N, vision_dim) image features -> (B, num_queries, hidden_size) visual tokens.

    Used in: chapter 03
    """

    def __init__(self, vision_dim: int, hidden_size: int, *, num_queries: int = 8, width: int = 32,
                 layers: int = 1, heads: int = 4) -> None:
        super().__init__()
        if isinstance(num_queries, bool) or not isinstance(num_queries, int) or num_queries <= 0:
            raise ValueError(f"num_queries must be a positive int; got {num_queries!r}")
        self.num_queries = num_queries
        self.queries = nn.Parameter(torch.randn(num_queries, width) * 0.02)  # BLIP-2: 32 x 768
        self.blocks = nn.ModuleList(QFormerBlock(width, vision_dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.proj = nn.Linear(width, hidden_size)  # BLIP-2's "language_projection"
        self.last_attention: torch.Tensor | None = None  # (B, Q, N) of the last block, for plots

    @contract(image_features=Tensor(rank=3, kind="float", what="(batch, patches, vision_dim)", finite=False))
    def forward(self, image_features: torch.Tensor) -> torch.Tensor:
        B, N, D = image_features.shape  # (batch, patches, vision_dim)
        q = self.queries.expand(B, -1, -1)  # (B, Q, W)
        for i, block in enumerate(self.blocks):
            q, w = block(q, image_features, need_weights=i == len(self.blocks) - 1)
            if w is not None:
                self.last_attention = w.detach()
        return self.proj(self.ln_f(q))  # (B, Q, hidden_size)
