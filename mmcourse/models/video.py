"""Four ways to spend attention on video, built from one transformer block.

A clip (B, T, C, H, W) becomes T x N patch tokens (N = (H/P)(W/P) per frame; tubelets of
t frames give T/t token frames, as in ViViT and VideoMAE). The variants differ only in
which tokens attend to which:

* ``"frame"``   -- each frame alone (spatial blocks), then the frames' mean: a single-frame
  model that cannot see order. Cost per block: T N^2 query-key pairs.
* ``"late"``    -- the same per-frame blocks, then a transformer over the T frame vectors
  (late temporal fusion). T N^2 + T^2.
* ``"joint"``   -- all T N tokens attend to all (ViViT's model 1). (T N)^2: quadratic in frames.
* ``"divided"`` -- TimeSformer's divided space-time attention (Bertasius et al., 2021, §3,
  Fig. 1): in each block every patch first attends to the same patch in the other frames,
  then to the other patches of its frame. T N (T + N).

:class:`DividedBlock` computes what transformers' ``TimesformerLayer`` computes (weights
copy across; ``tests/models/test_video.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..contracts import Bool, Choice, Int, Maybe, Tensor, contract
from ..video import TubeletEmbed
from .layers import MLP, Attention, Block

VideoAttention = Literal["frame", "late", "joint", "divided"]
ATTENTIONS: tuple[str, ...] = ("frame", "late", "joint", "divided")


@dataclass
class VideoConfig:
    attention: VideoAttention = "divided"
    frames: int = 8
    image_size: int = 16
    patch_size: int = 4
    tubelet: int = 1  # frames per token (VideoMAE uses 2)
    channels: int = 3
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0
    num_classes: int = 4

    def __post_init__(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {self.attention!r}")
        for name in ("frames", "image_size", "patch_size", "tubelet", "dim", "depth", "heads", "num_classes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size={self.patch_size} must divide image_size={self.image_size}")
        if self.frames % self.tubelet:
            raise ValueError(f"tubelet={self.tubelet} must divide frames={self.frames}")
        if self.dim % self.heads:
            raise ValueError(f"dim={self.dim} must be divisible by heads={self.heads}")

    @property
    def token_frames(self) -> int:
        return self.frames // self.tubelet

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class DividedBlock(nn.Module):
    """Time attention, then space attention, then an MLP, each pre-LayerNorm and residual.

    Takes tokens (B, T, N, D) and optionally a clip-level CLS token (B, 1, D), which (as in
    TimeSformer) skips the time step, joins every frame's space attention, and receives
    the mean of its per-frame updates.

    Used in: chapter 04
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.temporal_norm, self.temporal_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.temporal_proj = nn.Linear(dim, dim)  # TimeSformer's extra projection after time attention
        self.ln1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.ln2, self.mlp = nn.LayerNorm(dim), MLP(dim, int(dim * mlp_ratio))

    @contract(x=Tensor(rank=4, kind="float", what="(batch, frames, patches, width) tokens", finite=False),
              cls=Maybe(Tensor(rank=3, kind="float", what="(batch, 1, width) CLS token", finite=False)),
              return_weights=Bool())
    def forward(self, x: torch.Tensor, cls: torch.Tensor | None = None, *, return_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Returns tokens (B, T, N, D), the CLS token (or None) and, if asked, the time

        Used in: chapter 04
        attention weights (B, N, heads, T, T)."""
        B, T, N, D = x.shape  # (batch, frames, patches per frame, width)
        # 1. Time: each patch position is a sequence of T tokens, one per frame.
        xt = x.transpose(1, 2).reshape(B * N, T, D)
        a, w = self.temporal_attn(self.temporal_norm(xt), return_weights=return_weights)
        x = x + self.temporal_proj(a).reshape(B, N, T, D).transpose(1, 2)
        # 2. Space: each frame is a sequence of N patches (plus the CLS token, copied per frame).
        xs = x.reshape(B * T, N, D)
        if cls is not None:
            xs = torch.cat([cls.repeat_interleave(T, dim=0), xs], dim=1)  # (B*T, 1+N, D)
        s = self.attn(self.ln1(xs))[0]
        if cls is not None:
            cls = cls + s[:, :1].reshape(B, T, D).mean(1, keepdim=True)  # average the per-frame updates
            s = s[:, 1:]
        x = x + s.reshape(B, T, N, D)
        # 3. MLP on every token.
        x = x + self.mlp(self.ln2(x))
        if cls is not None:
            cls = cls + self.mlp(self.ln2(cls))
        weights = None if w is None else w.reshape(B, N, *w.shape[1:])
        return x, cls, weights


class VideoClassifier(nn.Module):
    """Tubelet embedding + space/time position embeddings + blocks + mean pooling + linear head.

    Used in: chapter 04
    """

    def __init__(self, config: VideoConfig) -> None:
        super().__init__()
        if not isinstance(config, VideoConfig):
            raise TypeError(f"config must be a VideoConfig; got {type(config).__name__}")
        self.config = c = config
        T, N, D = c.token_frames, c.patches, c.dim
        self.embed = TubeletEmbed(c.patch_size, c.tubelet, c.channels, D)
        self.space_pos = nn.Parameter(torch.randn(1, 1, N, D) * 0.02)
        # The single-frame model gets no time embedding: it must not know where a frame sits.
        self.time_pos = None if c.attention == "frame" else nn.Parameter(torch.randn(1, T, 1, D) * 0.02)
        if c.attention == "divided":
            self.blocks = nn.ModuleList(DividedBlock(D, c.heads, c.mlp_ratio) for _ in range(c.depth))
        else:
            self.blocks = nn.ModuleList(Block(D, c.heads, c.mlp_ratio) for _ in range(c.depth))
        self.temporal = Block(D, c.heads, c.mlp_ratio) if c.attention == "late" else None
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, c.num_classes)

    def tokens(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> (B, T', N, D) embedded tokens with positions."""
        c = self.config
        if video.dim() != 5 or video.shape[1:] != (c.frames, c.channels, c.image_size, c.image_size):
            raise ValueError(f"video must have shape (batch, {c.frames}, {c.channels}, {c.image_size}, "
                             f"{c.image_size}); got {tuple(video.shape)}")
        B = video.shape[0]
        x = self.embed(video).reshape(B, c.token_frames, c.patches, c.dim) + self.space_pos
        return x if self.time_pos is None else x + self.time_pos

    def frame_features(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One vector per token frame (B, T', D), and the attention over frames the model
        used (B, T') where it has one (``late``, ``divided``)."""
        x = self.tokens(video)
        B, T, N, D = x.shape  # (batch, token frames, patches, width)
        weights = None
        if self.config.attention == "joint":
            flat = x.reshape(B, T * N, D)
            for block in self.blocks:
                flat = block(flat)[0]
            x = flat.reshape(B, T, N, D)
        elif self.config.attention == "divided":
            for block in self.blocks:
                x, _, w = block(x, return_weights=True)
                weights = w.mean((1, 2, 3))  # (B, T): how much attention each frame received
        else:  # "frame" and "late": each frame on its own
            flat = x.reshape(B * T, N, D)
            for block in self.blocks:
                flat = block(flat)[0]
            x = flat.reshape(B, T, N, D)
        frames = x.mean(2)  # (B, T, D)
        if self.temporal is not None:
            frames, w = self.temporal(frames, return_weights=True)
            weights = w.mean((1, 2))  # (B, T)
        return frames, weights

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        frames, _ = self.frame_features(video)
        return self.head(self.norm(frames.mean(1)))  # (B, num_classes)


@contract(attention=Choice(ATTENTIONS), frames=Int(min=1), patches=Int(min=1))
def attention_pairs(attention: VideoAttention, frames: int, patches: int) -> int:
    """Query-key pairs one block scores for a clip of ``frames`` x ``patches`` tokens."""
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}; got {attention!r}")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be a positive int; got {frames!r}")
    if isinstance(patches, bool) or not isinstance(patches, int) or patches < 1:
        raise ValueError(f"patches must be a positive int; got {patches!r}")
    T, N = frames, patches
    return {"frame": T * N * N, "late": T * N * N + T * T, "joint": (T * N) ** 2,
            "divided": T * N * (T + N)}[attention]


@contract(attention=Choice(ATTENTIONS), frames=Int(min=1), patches=Int(min=1), dim=Int(min=1))
def attention_flops(attention: VideoAttention, frames: int, patches: int, dim: int) -> int:
    """Multiply-adds x 2 of one block's attention core: Q K^T and the weighted sum of V,
    2 D FLOPs each per query-key pair (projections and MLP excluded: they cost the same
    in every variant).

    Used in: chapter 04
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int; got {dim!r}")
    return 4 * dim * attention_pairs(attention, frames, patches)
