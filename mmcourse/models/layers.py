"""Transformer building blocks shared by the course's models.

One multi-head attention (self- or cross-), one MLP and one pre-LayerNorm block: the ViT
(chapter 01), the fusion models (chapter 01) and the Q-Former (chapter 03) are made of
these. CLIP (:mod:`.clip`) keeps its own copies because its parameter names must match
transformers' ``CLIPModel`` so that weights load across.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Bool, Instance, contract


class Attention(nn.Module):
    """Multi-head attention, softmax(Q K^T / sqrt(d)) V (Vaswani et al., 2017, eq. 1).

    Self-attention by default (one fused ``qkv`` projection); with ``context_dim`` it is
    cross-attention: queries from ``x``, keys and values from ``context`` (as in
    Flamingo's and BLIP-2's cross-attention layers).
    """

    def __init__(self, dim: int, heads: int, *, context_dim: int | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        if context_dim is None:
            self.qkv = nn.Linear(dim, 3 * dim)
        else:
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *,
                key_padding: torch.Tensor | None = None, return_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` (B, T, D) attends to itself, or to ``context`` (B, S, D_c).

        ``key_padding`` (B, S) is True where a key is padding (never attended). Returns the
        output (B, T, D) and, if asked, the attention weights (B, heads, T, S).
        """
        B, T, D = x.shape  # (batch, queries, width)
        H = self.heads
        # 1. Project to queries, keys and values, split into heads: (B, H, tokens, D/H).
        if context is None:
            q, k, v = self.qkv(x).reshape(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        else:
            S = context.shape[1]  # (batch, keys, context width)
            q = self.q(x).reshape(B, T, H, D // H).transpose(1, 2)
            k, v = self.kv(context).reshape(B, S, 2, H, D // H).permute(2, 0, 3, 1, 4)
        keep = None if key_padding is None else ~key_padding[:, None, None, :]  # (B, 1, 1, S)
        # 2. Scaled dot products, softmax over the keys, weighted sum of the values.
        if return_weights:  # explicit softmax, so the weights can be returned
            scores = q @ k.transpose(-2, -1) * (D // H) ** -0.5  # (B, H, T, S)
            if keep is not None:
                scores = scores.masked_fill(~keep, float("-inf"))
            weights = scores.softmax(-1)
            out = weights @ v
        else:
            weights, out = None, F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        # 3. Concatenate the heads and mix them.
        return self.proj(out.transpose(1, 2).reshape(B, T, D)), weights


class MLP(nn.Sequential):
    """Linear -> GELU -> Dropout -> Linear: the position-wise feed-forward of a transformer."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: torch.Tensor, *, key_padding: torch.Tensor | None = None,
                return_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, w = self.attn(self.ln1(x), key_padding=key_padding, return_weights=return_weights)
        x = x + a
        return x + self.mlp(self.ln2(x)), w


class Encoder(nn.Module):
    """A stack of :class:`Block` s (no final LayerNorm): (B, T, D) -> (B, T, D)."""

    def __init__(self, dim: int, heads: int, depth: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout) for _ in range(depth))

    def forward(self, x: torch.Tensor, *, key_padding: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, key_padding=key_padding)[0]
        return x


@contract(model=Instance(nn.Module, "a torch.nn.Module, e.g. SmallCNN(CNNConfig())"), trainable_only=Bool())
def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (shared tensors counted once); with ``trainable_only``,
    only those with ``requires_grad``.

    Used in: chapters 00, 01, 03
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total
