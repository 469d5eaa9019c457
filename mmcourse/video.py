"""Video as tensors: (T, C, H, W) clips, what they cost, and how models pick frames.

* Sampling (which T' of T frames a model sees): uniform, random, and segment-based
  (TSN: Wang et al., 2016 -- split the clip into T' equal segments, take one frame from
  each: random while training, the middle one at test time).
* Tokens: per-frame patches (T * H/P * W/P) vs tubelets of t frames (T/t * H/P * W/P),
  as in ViViT (Arnab et al., 2021) and VideoMAE (Tong et al., 2022).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .contracts import Bool, Int, contract


def check_clip(clip: torch.Tensor, name: str = "clip") -> tuple[int, int, int, int]:
    """Validate a (T, C, H, W) clip and return its shape."""
    if not isinstance(clip, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (frames, channels, height, width)")
    if clip.dim() != 4:
        raise ValueError(f"{name} must have shape (frames, channels, height, width); got {tuple(clip.shape)}")
    T, C, H, W = clip.shape
    if T == 0:
        raise ValueError(f"{name} is empty: it has 0 frames")
    if C not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels (dimension 1); got {C}")
    return T, C, H, W


def _check_counts(num_frames: int, k: int) -> None:
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames <= 0:
        raise ValueError(f"num_frames must be a positive int (the clip is empty?); got {num_frames!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"k must be a positive int (frames to sample); got {k!r}")
    if k > num_frames:
        raise ValueError(f"cannot sample k={k} distinct frames from a clip of num_frames={num_frames}; "
                         "lower k, or loop/pad the clip first")


@contract(num_frames=Int(min=1), k=Int(min=1))
def sample_uniform(num_frames: int, k: int) -> list[int]:
    """``k`` evenly spaced frame indices (the centre of each of ``k`` equal stretches).

    Used in: chapters 01, 04
    """
    _check_counts(num_frames, k)
    return [int((i + 0.5) * num_frames / k) for i in range(k)]


@contract(num_frames=Int(min=1), k=Int(min=1), seed=Int(min=0))
def sample_random(num_frames: int, k: int, seed: int = 0) -> list[int]:
    """``k`` distinct frames chosen at random, in temporal order.

    Used in: chapter 01
    """
    _check_counts(num_frames, k)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(num_frames, size=k, replace=False).tolist())


@contract(num_frames=Int(min=1), k=Int(min=1), train=Bool(), seed=Int(min=0))
def sample_segments(num_frames: int, k: int, *, train: bool = True, seed: int = 0) -> list[int]:
    """TSN sampling: one frame from each of ``k`` equal segments -- a random one when
    ``train``, the middle one otherwise. Always covers the whole clip.

    Used in: chapter 01
    """
    _check_counts(num_frames, k)
    edges = np.linspace(0, num_frames, k + 1)
    starts, ends = np.floor(edges[:-1]).astype(int), np.maximum(np.floor(edges[1:]).astype(int), 1)
    ends = np.maximum(ends, starts + 1)
    if not train:
        return [int((s + e - 1) // 2) for s, e in zip(starts, ends)]
    rng = np.random.default_rng(seed)
    return [int(rng.integers(s, e)) for s, e in zip(starts, ends)]


@contract(frames=Int(min=1), height=Int(min=1), width=Int(min=1), channels=Int(min=1))
def clip_bytes(frames: int, height: int, width: int, channels: int = 3, dtype: torch.dtype = torch.uint8
               ) -> int:
    """Memory of a decoded clip in bytes.

    Used in: chapter 01
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    return frames * channels * height * width * itemsize


@contract(frames=Int(min=1), height=Int(min=1), width=Int(min=1), patch_size=Int(min=1), tubelet=Int(min=1))
def video_tokens(frames: int, height: int, width: int, patch_size: int, tubelet: int = 1) -> int:
    """How many tokens a video transformer makes: (T / t) * (H / P) * (W / P).

    Used in: chapter 01
    """
    if frames % tubelet or height % patch_size or width % patch_size:
        raise ValueError(f"tubelet={tubelet} must divide frames={frames} and patch_size={patch_size} "
                         f"must divide {height}x{width}")
    return (frames // tubelet) * (height // patch_size) * (width // patch_size)


class TubeletEmbed(nn.Module):
    """(B, T, C, H, W) -> (B, N, D) with N = (T/t)(H/P)(W/P): a 3-D conv whose kernel and
    stride are one tubelet of t frames x P x P pixels. With t = 1 it embeds each frame's
    patches separately, like an image ViT applied frame by frame.

    Used in: chapters 01, 04
    """

    def __init__(self, patch_size: int, tubelet: int, in_channels: int = 3, dim: int = 64) -> None:
        super().__init__()
        self.proj = nn.Conv3d(in_channels, dim, kernel_size=(tubelet, patch_size, patch_size),
                              stride=(tubelet, patch_size, patch_size))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f"video must have shape (batch, frames, channels, height, width); got {tuple(video.shape)}")
        x = self.proj(video.transpose(1, 2))  # (B, C, T, H, W) -> (B, D, T/t, H/P, W/P)
        return x.flatten(2).transpose(1, 2)  # (B, N, D)
