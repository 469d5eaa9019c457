"""Clips where one frame cannot answer: chapter 04's temporal tasks.

* ``"direction"`` -- one shape drifts steadily left, right, up or down while it jumps
  about across its drift. Both axes visit the same evenly spaced positions, along the
  drift in order, across it shuffled; so the *set* of frames is equally likely under all
  four labels (a left drift is a right drift played backwards, and a horizontal drift's
  frames, taken as a set, could as well be a vertical one's). Only the order says which.
* ``"order"`` -- a red and a blue shape each flash for the same number of frames, at
  different times: did red appear first? Each is on screen equally long, so a model that
  pools frames without knowing their order cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..contracts import Choice, Int, contract
from .render import render
from .vocabulary import COLORS, SHAPES

MotionTask = Literal["direction", "order"]
LABELS: dict[str, tuple[str, ...]] = {"direction": ("left", "right", "up", "down"),
                                      "order": ("blue first", "red first")}
_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


@dataclass(frozen=True)
class MotionClips:
    """``videos`` (n, T, 3, H, W) in [0, 1] with ``labels`` (n,) indexing ``label_names``."""

    videos: torch.Tensor
    labels: torch.Tensor
    label_names: tuple[str, ...]
    task: str

    def __len__(self) -> int:
        return len(self.labels)


def _direction_scene(label: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    dx, dy = _STEP[LABELS["direction"][label]]
    travel = rng.uniform(0.3, 0.45)  # fraction of the frame crossed
    steps = np.linspace(0.0, travel, T)  # T evenly spaced positions
    low = rng.uniform(0.2, 0.8 - travel, 2)  # where each axis's range starts
    drift = steps if dx + dy > 0 else steps[::-1]  # 1. steady motion along the labelled axis
    jitter = rng.permutation(steps)  # 2. the same positions, shuffled, across it
    along, across = low[0] + drift, low[1] + jitter
    centers = np.stack([along, across] if dx else [across, along], 1)  # (T, 2) as (x, y)
    colors = np.full((T, 1), rng.integers(len(COLORS)))
    shapes = np.full((T, 1), rng.integers(len(SHAPES)))
    return colors, shapes, centers[:, None, :]


def _order_scene(label: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    red, blue = list(COLORS).index("red"), list(COLORS).index("blue")
    on = max(1, T // 4)  # frames each shape is visible
    first, second = sorted(rng.choice(T - on + 1, size=2, replace=False))
    start = {red: first, blue: second} if label == 1 else {red: second, blue: first}
    colors = np.full((T, 2), -1)
    for k, c in enumerate((red, blue)):
        colors[start[c]:start[c] + on, k] = c
    shapes = np.tile(rng.integers(len(SHAPES), size=(1, 2)), (T, 1))
    spots = rng.uniform(0.25, 0.75, (1, 2, 2))
    return colors, shapes, np.repeat(spots, T, 0)


@contract(n=Int(min=1), task=Choice(tuple(LABELS)), frames=Int(min=4), size=Int(min=8), seed=Int(min=0))
def make_motion_clips(n: int, task: MotionTask = "direction", *, frames: int = 8, size: int = 16,
                      seed: int = 0) -> MotionClips:
    """``n`` clips of ``frames`` frames, ``size`` pixels square, with balanced labels.

    Used in: chapter 04
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(LABELS[task])
    rng.shuffle(labels)
    scene = _direction_scene if task == "direction" else _order_scene
    videos = np.empty((n, frames, size, size, 3), np.float32)
    for i, label in enumerate(labels):
        colors, shapes, centers = scene(int(label), frames, rng)
        radii = np.full(colors.shape, 0.16 * size, np.float32)
        videos[i] = render(colors, shapes, radii, (centers * size).astype(np.float32), size=size, noise=0.03,
                           rng=rng, same_background=True)
    return MotionClips(torch.from_numpy(videos).permute(0, 1, 4, 2, 3).contiguous(),
                       torch.from_numpy(labels).long(), LABELS[task], task)
