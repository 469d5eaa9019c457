"""Short video clips: a synthetic moving shape, and the animated GIF in scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..contracts import Choice, Float, Int, contract
from .render import render
from .vocabulary import COLORS, SHAPES


@contract(frames=Int(min=1), size=Int(min=8), color=Choice(tuple(COLORS)), shape=Choice(SHAPES),
          radius=Float(min=0, max=0.5, open_min=True), noise=Float(min=0, max=1), seed=Int(min=0))
def moving_shape(frames: int = 16, size: int = 32, *, color: str = "red", shape: str = "circle",
                 start: tuple[float, float] = (0.2, 0.5), end: tuple[float, float] = (0.8, 0.5),
                 radius: float = 0.15, noise: float = 0.02, seed: int = 0) -> torch.Tensor:
    """A (T, 3, H, W) clip of one shape moving in a straight line from ``start`` to ``end``
    (fractions of the frame).

    Used in: chapter 01
    """
    t = np.linspace(0.0, 1.0, frames)[:, None]
    centers = ((1 - t) * np.array(start) + t * np.array(end)) * size  # (T, 2)
    col = np.full((frames, 1), list(COLORS).index(color))
    shp = np.full((frames, 1), SHAPES.index(shape))
    rad = np.full((frames, 1), radius * size, dtype=np.float32)
    imgs = render(col, shp, rad, centers[:, None, :].astype(np.float32), size=size, noise=noise,
                  rng=np.random.default_rng(seed), same_background=True)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()


@contract()
def skimage_gif() -> torch.Tensor:
    """The animated GIF that ships with scikit-image (``no_time_for_that_tiny.gif``, 24
    frames, 25 pixels high and 14 wide) as a (T, 3, H, W) float clip in [0, 1].

    Used in: chapters 01, 04
    """
    import skimage
    from PIL import Image, ImageSequence

    path = Path(skimage.__file__).parent / "data" / "no_time_for_that_tiny.gif"
    with Image.open(path) as im:
        frames = [np.asarray(f.convert("RGB"), dtype=np.float32) / 255.0 for f in ImageSequence.Iterator(im)]
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
