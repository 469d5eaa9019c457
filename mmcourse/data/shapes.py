"""Synthetic "shapes" scenes: the course's own tiny multimodal data set.

Coloured shapes on a noisy background, with everything a multimodal model needs:
class labels, attributes, captions from several templates, question-answer pairs,
and a held-out set of colour-shape combinations for compositional tests.

Rendering is vectorised NumPy with anti-aliased edges from signed distances, so
20,000 images of 32x32 take about a second.

Tensor shapes (``N`` images, ``K = max_objects`` slots, ``-1`` marks an empty slot):

* ``images``   (N, 3, H, W) float32 in [0, 1]
* ``colors``   (N, K) int64 index into ``COLORS``
* ``shapes``   (N, K) int64 index into ``SHAPES``
* ``radii``    (N, K) float32, pixels
* ``centers``  (N, K, 2) float32, (x, y) pixels from the top-left corner
* ``count``    (N,) int64
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..contracts import Choice, Float, Int, IntRange, Maybe, Texts, contract
from .render import render
from .vocabulary import (
    COLORS,
    HOLDOUT_PAIRS,
    MAX_OBJECTS,
    NUMBER_WORDS,
    PAIR_NAMES,
    SHAPES,
    SPLITS,
    SceneObject,
)
from .words import QA, caption, pope_pair, question_about

#: What :meth:`ShapesData.label` can return; "colour" is accepted as a spelling of "color".
TARGETS = ("shape", "color", "pair", "count")


def _target(target: str) -> str:
    if target == "colour":
        return "color"
    if target not in TARGETS:
        raise ValueError(f"target={target!r}: expected one of {TARGETS} (or 'colour')")
    return target


@dataclass
class ShapesData:
    """A batch of rendered scenes with their labels (see the module docstring for shapes)."""

    images: torch.Tensor
    colors: torch.Tensor
    shapes: torch.Tensor
    radii: torch.Tensor
    centers: torch.Tensor
    count: torch.Tensor
    captions: list[str]
    color_names: tuple[str, ...] = tuple(COLORS)
    shape_names: tuple[str, ...] = SHAPES
    size_threshold: float = 0.0
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.images[i], self.captions[i]

    def __repr__(self) -> str:
        split, objects = self.meta.get("split", "?"), self.meta.get("objects", "?")
        return (f"ShapesData({len(self)} images of {tuple(self.images.shape[1:])}, split={split!r}, "
                f"objects={objects}, seed={self.meta.get('seed', '?')})")

    @contract(target=Choice(TARGETS, aliases={"colour": "color"}))
    def label(self, target: str = "shape") -> torch.Tensor:
        """Class labels of the first object: ``"shape"`` (5), ``"color"`` (6),
        ``"pair"`` (30, ``color * len(SHAPES) + shape``) or ``"count"``."""
        target = _target(target)
        if target == "shape":
            return self.shapes[:, 0].clone()
        if target == "color":
            return self.colors[:, 0].clone()
        if target == "pair":
            return self.colors[:, 0] * len(SHAPES) + self.shapes[:, 0]
        return self.count.clone()

    @contract(target=Choice(TARGETS, aliases={"colour": "color"}))
    def class_names(self, target: str = "shape") -> list[str]:
        """Names for the labels returned by :meth:`label`."""
        names = {"shape": SHAPES, "color": tuple(COLORS), "pair": PAIR_NAMES, "count": NUMBER_WORDS}
        return list(names[_target(target)])

    @contract(i=Int(min=0))
    def objects(self, i: int) -> list[SceneObject]:
        """The objects of image ``i`` as :class:`SceneObject` records."""
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        size = self.images.shape[-1]
        out = []
        for k in range(int(self.count[i])):
            x, y = (float(v) for v in self.centers[i, k])
            r = float(self.radii[i, k])
            out.append(
                SceneObject(
                    color=self.color_names[int(self.colors[i, k])],
                    shape=self.shape_names[int(self.shapes[i, k])],
                    radius=r,
                    x=x,
                    y=y,
                    size="large" if r >= self.size_threshold else "small",
                    hpos="left" if x < size / 2 else "right",
                    vpos="top" if y < size / 2 else "bottom",
                )
            )
        return out


# ----------------------------------------------------------------------------------
# Sampling


def _check_names(arg: str, given: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    if given is None:
        return list(known)
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise TypeError(f"{arg} must be a list of names from {list(known)}; got {given!r}")
    bad = [g for g in given if g not in known]
    if bad:
        raise ValueError(f"{arg}: unknown name(s) {bad}; known {arg}: {list(known)}")
    if not given:
        raise ValueError(f"{arg} must not be empty")
    return list(given)



def _draw_pairs(rng: np.random.Generator, n: int, lo: int, hi: int, color_list: Sequence[str],
                shape_list: Sequence[str], split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count (n,), colour ids (n, hi), shape ids (n, hi)): -1 marks an empty slot."""
    cidx = {c: i for i, c in enumerate(COLORS)}
    sidx = {s: i for i, s in enumerate(SHAPES)}
    held = {(cidx[c], sidx[s]) for c, s in HOLDOUT_PAIRS}
    allowed = [(cidx[c], sidx[s]) for c in color_list for s in shape_list]
    train_pairs = np.array([p for p in allowed if p not in held])
    hold_pairs = np.array([p for p in allowed if p in held])
    if split == "train" and len(train_pairs) == 0:
        raise ValueError("split='train' leaves no colour-shape pair for these colors/shapes")
    if split == "holdout" and len(hold_pairs) == 0:
        raise ValueError("split='holdout' has no held-out pair among these colors/shapes")
    count = rng.integers(lo, hi + 1, n)
    slot_pool = train_pairs if split == "train" else np.array(allowed)
    pairs = slot_pool[rng.integers(0, len(slot_pool), (n, hi))]
    if split == "holdout":  # the first object is always a held-out pair
        pairs[:, 0] = hold_pairs[rng.integers(0, len(hold_pairs), n)]
    empty = np.arange(hi)[None, :] >= count[:, None]
    return count, np.where(empty, -1, pairs[..., 0]), np.where(empty, -1, pairs[..., 1])


def _place_objects(rng: np.random.Generator, n: int, K: int, size: int
                   ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """(radii (n, K), centres (n, K, 2), the radius range): one object anywhere but clearly on one
    side of each axis; several, one per quadrant (shuffled), jittered inside it."""
    if K == 1:
        r_lo, r_hi = 0.16 * size, 0.30 * size
        radii = rng.uniform(r_lo, r_hi, (n, 1)).astype(np.float32)
        side = rng.integers(0, 2, (n, 2))  # 0 = left/top, 1 = right/bottom
        margin = 1.2 * radii  # keep the whole object inside the frame
        lo_c = np.where(side == 0, margin, size / 2 + 1.0)
        hi_c = np.where(side == 0, size / 2 - 1.0, size - margin)
        centers = rng.uniform(0, 1, (n, 2)) * np.maximum(hi_c - lo_c, 0) + lo_c
        return radii, centers[:, None, :].astype(np.float32), (r_lo, r_hi)
    r_lo, r_hi = 0.10 * size, 0.17 * size
    radii = rng.uniform(r_lo, r_hi, (n, K)).astype(np.float32)
    quadrant = np.argsort(rng.uniform(size=(n, 4)), axis=1)[:, :K]
    qx, qy = (quadrant % 2).astype(np.float32), (quadrant // 2).astype(np.float32)
    half = size / 2
    jitter = rng.uniform(-1, 1, (n, K, 2)) * np.maximum(half / 2 - 1.2 * radii, 0)[..., None]
    centers = np.stack([(qx + 0.5) * half, (qy + 0.5) * half], -1) + jitter
    return radii, centers.astype(np.float32), (r_lo, r_hi)


@contract(n=Int(min=1), size=Int(min=16), objects=IntRange(1, MAX_OBJECTS), colors=Maybe(Texts()),
          shapes=Maybe(Texts()), split=Choice(SPLITS), noise=Float(min=0, max=1), seed=Int(min=0))
def make_shapes(
    n: int,
    *,
    size: int = 32,
    objects: int | tuple[int, int] = 1,
    colors: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
    split: str = "all",
    noise: float = 0.05,
    seed: int = 0,
) -> ShapesData:
    """Generate ``n`` deterministic scenes.

    Args:
        n: number of images (> 0).
        size: image side in pixels (>= 16).
        objects: objects per image, an int or an inclusive range ``(lo, hi)`` within 1..4.
            Several objects sit in distinct quadrants, so they never overlap.
        colors, shapes: restrict to these names (default: all of ``COLORS`` / ``SHAPES``).
        split: ``"all"``; ``"train"`` (no object is a held-out pair); ``"holdout"`` (the
            first object is always a held-out pair from ``HOLDOUT_PAIRS``).
        noise: standard deviation of the Gaussian pixel noise.
        seed: same seed, same images.

    Used in: chapters 00, 01, 02, 03, 05, 06, 07
    """
    # 0. The contract checked every argument; colour and shape names are checked here.
    lo, hi = (objects, objects) if isinstance(objects, int) else tuple(objects)
    color_list = _check_names("colors", colors, tuple(COLORS))
    shape_list = _check_names("shapes", shapes, SHAPES)
    rng = np.random.default_rng(seed)
    # 1. How many objects each image has, and which (colour, shape) each slot holds.
    count, color_ids, shape_ids = _draw_pairs(rng, n, lo, hi, color_list, shape_list, split)
    # 2. Size and position. One object: anywhere, but clearly left/right and top/bottom.
    #    Several: one per quadrant (shuffled), jittered inside it.
    radii, centers, (r_lo, r_hi) = _place_objects(rng, n, hi, size)
    radii = np.where(color_ids < 0, 0.0, radii).astype(np.float32)
    # 3. Render, then write one caption per image.
    images = render(color_ids, shape_ids, radii, centers, size=size, noise=noise, rng=rng)
    data = ShapesData(
        images=torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        colors=torch.from_numpy(color_ids.astype(np.int64)),
        shapes=torch.from_numpy(shape_ids.astype(np.int64)),
        radii=torch.from_numpy(radii),
        centers=torch.from_numpy(centers),
        count=torch.from_numpy(count.astype(np.int64)),
        captions=[],
        size_threshold=(r_lo + r_hi) / 2,
        meta={"seed": seed, "split": split, "objects": (lo, hi), "size": size, "noise": noise},
    )
    template_ids = rng.integers(0, 1 << 30, n)
    data.captions = [caption(data.objects(i), int(template_ids[i])) for i in range(n)]
    return data


@contract(size=Int(min=16), radius=Maybe(Float(min=0, open_min=True)), noise=Float(min=0, max=1),
          seed=Int(min=0))
def scene(
    objects: Sequence[tuple[str, str]] | Sequence[SceneObject],
    *,
    size: int = 32,
    radius: float | None = None,
    noise: float = 0.05,
    seed: int = 0,
) -> torch.Tensor:
    """Render one hand-made scene: ``scene([("red", "circle")])`` -> (3, H, W) in [0, 1].

    Pairs are laid out one per quadrant (a single pair sits in the middle).

    Used in: chapters 00, 02
    """
    if not objects or len(objects) > MAX_OBJECTS:
        raise ValueError(f"objects must hold 1..{MAX_OBJECTS} (colour, shape) pairs")
    cidx = {c: i for i, c in enumerate(COLORS)}
    sidx = {s: i for i, s in enumerate(SHAPES)}
    K = len(objects)
    col, shp = np.zeros((1, K), np.int64), np.zeros((1, K), np.int64)
    rad, cen = np.zeros((1, K), np.float32), np.zeros((1, K, 2), np.float32)
    for k, obj in enumerate(objects):
        if isinstance(obj, SceneObject):
            c, s, r, xy = obj.color, obj.shape, obj.radius, (obj.x, obj.y)
        else:
            c, s = obj
            r = radius if radius is not None else (0.25 if K == 1 else 0.14) * size
            xy = (size / 2, size / 2) if K == 1 else ((k % 2 + 0.5) * size / 2, (k // 2 + 0.5) * size / 2)
        if c not in cidx:
            raise ValueError(f"objects: unknown colour {c!r}; known colours: {list(COLORS)}")
        if s not in sidx:
            raise ValueError(f"objects: unknown shape {s!r}; known shapes: {list(SHAPES)}")
        col[0, k], shp[0, k], rad[0, k], cen[0, k] = cidx[c], sidx[s], r, xy
    img = render(col, shp, rad, cen, size=size, noise=noise, rng=np.random.default_rng(seed))
    return torch.from_numpy(img[0]).permute(2, 0, 1).contiguous()


@contract(per_image=Int(min=1), seed=Int(min=0))
def make_qa(data: ShapesData, *, per_image: int = 1, seed: int = 0) -> list[QA]:
    """Question-answer pairs about each image: colour, shape, count, position, yes/no.

    Questions only refer to an object by a description that is unique in its scene.

    Used in: chapters 00, 03, 06, 07
    """
    if not isinstance(data, ShapesData):
        raise TypeError(f"data must be the ShapesData of make_shapes(); got {type(data).__name__}")
    rng = np.random.default_rng(seed)
    out: list[QA] = []
    for i in range(len(data)):
        objs = data.objects(i)
        for _ in range(per_image):
            out.append(question_about(i, objs, rng))
    return out


@contract(negatives=Choice(("random", "adversarial")), seed=Int(min=0))
def make_pope(data: ShapesData, *, negatives: str = "random", seed: int = 0) -> list[QA]:
    """POPE-style yes/no probes (see :func:`~mmcourse.data.words.pope_pair`): for each image
    one present object (answer "yes") and one absent object (answer "no").
    """
    if not isinstance(data, ShapesData):
        raise TypeError(f"data must be the ShapesData of make_shapes(); got {type(data).__name__}")
    rng = np.random.default_rng(seed)
    return [q for i in range(len(data)) for q in pope_pair(i, data.objects(i), negatives, rng)]
