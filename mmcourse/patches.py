"""Images as sequences: cut an image into patches and put it back together.

A ViT reads an image the way a language model reads a sentence: as a sequence of
tokens. Each token is one ``P x P`` patch, flattened channel-first -- ``(C, P, P)`` ->
``C * P * P`` numbers -- so that a linear layer on it equals a convolution with kernel
and stride ``P`` (the identity chapter 01 asserts).
"""

from __future__ import annotations

import torch

from .contracts import Images, Int, Tensor, check_images, contract


def _check_patch_size(patch_size: int, H: int, W: int) -> None:
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size <= 0:
        raise ValueError(f"patch_size must be a positive int; got {patch_size!r}")
    if H % patch_size or W % patch_size:
        raise ValueError(f"patch_size={patch_size} does not divide the image size {H}x{W}; "
                         f"crop or resize to a multiple of {patch_size}")


@contract(images=Images(range01=False), patch_size=Int(min=1))
def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C*P*P) with N = (H/P) * (W/P) patches in row-major order.

    Used in: chapter 01
    """
    B, C, H, W = check_images(images)
    P = patch_size
    _check_patch_size(P, H, W)
    x = images.reshape(B, C, H // P, P, W // P, P)  # (B, C, rows, P, cols, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, rows, cols, C, P, P)
    return x.reshape(B, (H // P) * (W // P), C * P * P)


@contract(patches=Tensor(rank=3, kind="float", what="(batch, patches, C*P*P)"), patch_size=Int(min=1),
          height=Int(min=1), width=Int(min=1), channels=Int(min=1))
def unpatchify(patches: torch.Tensor, patch_size: int, height: int, width: int, channels: int = 3
               ) -> torch.Tensor:
    """The inverse of :func:`patchify`: (B, N, C*P*P) -> (B, C, H, W)."""
    if patches.dim() != 3:
        raise ValueError(f"patches must have shape (batch, num_patches, C*P*P); got {tuple(patches.shape)}")
    P = patch_size
    _check_patch_size(P, height, width)
    B, N, D = patches.shape
    rows, cols = height // P, width // P
    if N != rows * cols or D != channels * P * P:
        raise ValueError(f"patches of shape {tuple(patches.shape)} do not tile a {channels}x{height}x{width} "
                         f"image with patch_size={P} (expected ({B}, {rows * cols}, {channels * P * P}))")
    x = patches.reshape(B, rows, cols, channels, P, P).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(B, channels, height, width)


@contract(height=Int(min=1), width=Int(min=1), patch_size=Int(min=1))
def num_patches(height: int, width: int, patch_size: int) -> int:
    """How many tokens a ViT makes of an image (without the CLS token)."""
    _check_patch_size(patch_size, height, width)
    return (height // patch_size) * (width // patch_size)
