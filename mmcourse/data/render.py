"""Rendering shapes scenes: vectorised NumPy with anti-aliased edges from signed distances.

Used by :mod:`mmcourse.data.shapes` and :mod:`mmcourse.data.clips`.
"""

from __future__ import annotations

import numpy as np

from .vocabulary import COLORS, SHAPES


def _signed_distance(shape_id: int, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance (pixels, negative inside) from each pixel to the shape's edge."""
    name = SHAPES[shape_id]
    if name == "circle":
        return np.sqrt(dx * dx + dy * dy) - r
    if name == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) - 0.8 * r
    if name == "diamond":
        return (np.abs(dx) + np.abs(dy) - 1.1 * r) / np.sqrt(2.0)
    if name == "triangle":  # equilateral, pointing up, circumradius 1.2 r
        R = 1.2 * r
        return np.maximum.reduce(
            [dy - 0.5 * R, -0.866 * dx - 0.5 * dy - 0.5 * R, 0.866 * dx - 0.5 * dy - 0.5 * R]
        )
    if name == "cross":
        w = 0.32 * r
        horizontal = np.maximum(np.abs(dx) - r, np.abs(dy) - w)
        vertical = np.maximum(np.abs(dx) - w, np.abs(dy) - r)
        return np.minimum(horizontal, vertical)
    raise ValueError(f"unknown shape id {shape_id}")


def _coverage(
    shape_ids: np.ndarray, radii: np.ndarray, centers: np.ndarray, size: int
) -> np.ndarray:
    """Anti-aliased coverage (n, H, W) in [0, 1] of one object per row: 1 inside, 0 outside,
    linear across the one-pixel band around the edge."""
    n = shape_ids.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    alpha = np.empty((n, size, size), np.float32)
    for s in range(len(SHAPES)):
        idx = np.nonzero(shape_ids == s)[0]
        if idx.size == 0:
            continue
        cx, cy = centers[idx, 0, None, None], centers[idx, 1, None, None]
        d = _signed_distance(s, xx - cx, yy - cy, radii[idx, None, None])
        alpha[idx] = np.clip(0.5 - d, 0.0, 1.0)
    return alpha


def render(
    colors: np.ndarray,
    shapes: np.ndarray,
    radii: np.ndarray,
    centers: np.ndarray,
    *,
    size: int = 32,
    noise: float = 0.05,
    rng: np.random.Generator | None = None,
    same_background: bool = False,
) -> np.ndarray:
    """Render scenes from object arrays (N, K) / (N, K, 2) to an (N, H, W, 3) float32 array.

    ``same_background=True`` gives every image one background (frames of a clip).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    n = colors.shape[0]
    palette = np.array(list(COLORS.values()), dtype=np.float32)
    # 1. background: a random dark grey per image (or one for all), slightly tinted
    m = 1 if same_background else n
    base = rng.uniform(0.05, 0.35, (m, 1, 1, 1)).astype(np.float32)
    tint = rng.uniform(-0.03, 0.03, (m, 1, 1, 3)).astype(np.float32)
    canvas = np.broadcast_to(base + tint, (n, size, size, 3)).copy()
    # 2. paint slot by slot: canvas <- canvas + alpha * (colour - canvas)
    for k in range(colors.shape[1]):
        idx = np.nonzero(colors[:, k] >= 0)[0]
        if idx.size == 0:
            continue
        alpha = _coverage(shapes[idx, k], radii[idx, k], centers[idx, k], size)[..., None]
        # the object's colour with a little jitter, so colour is a range, not one value
        jitter = rng.uniform(-0.05, 0.05, (idx.size, 3)).astype(np.float32)
        rgb = (palette[colors[idx, k]] + jitter)[:, None, None, :]
        if idx.size == n:
            canvas += alpha * (rgb - canvas)
        else:
            sub = canvas[idx]
            sub += alpha * (rgb - sub)
            canvas[idx] = sub
    # 3. sensor noise
    if noise > 0:
        canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * np.float32(noise)
    return np.clip(canvas, 0.0, 1.0, out=canvas)
