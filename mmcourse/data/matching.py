"""Image-caption matching: "does this caption describe this image?"

One object per scene, described as "a red circle on the left". The caption is either
right (label 1) or wrong in exactly one word (label 0): the colour ("color"), the shape
("shape") or the side ("side"). To answer, a model must combine what it sees with every
word it reads -- the smallest task that needs both modalities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..contracts import Choice, Float, Int, Text, contract
from .shapes import make_shapes
from .vocabulary import COLORS, SHAPES, correct_articles

NEGATIVE_KINDS = ("color", "shape", "side")
SIDES = ("left", "right")
WORDS = ("[PAD]", "a", "an", "on", "the", *SIDES, *COLORS, *SHAPES)
VOCAB = {w: i for i, w in enumerate(WORDS)}
MAX_LEN = 6  # "a red circle on the left"


@dataclass
class MatchingData:
    """Images, captions as words and token ids, labels (1 = the caption is right), and
    the kind of each pair ("match" or a negative kind).
    """

    images: torch.Tensor  # (N, 3, H, W)
    captions: list[str]
    tokens: torch.Tensor  # (N, MAX_LEN) int64, 0 = padding
    labels: torch.Tensor  # (N,) float32 in {0, 1}
    kinds: list[str]

    def __len__(self) -> int:
        return len(self.captions)


@contract(caption=Text())
def encode_caption(caption: str) -> list[int]:
    """Word ids of a matching caption, padded to ``MAX_LEN``."""
    words = caption.split()
    bad = [w for w in words if w not in VOCAB]
    if bad:
        raise ValueError(f"caption has words outside the matching vocabulary: {bad}")
    if len(words) > MAX_LEN:
        raise ValueError(f"caption has {len(words)} words; at most {MAX_LEN}")
    return [VOCAB[w] for w in words] + [0] * (MAX_LEN - len(words))


@contract(color=Choice(tuple(COLORS)), shape=Choice(SHAPES), side=Choice(SIDES))
def describe(color: str, shape: str, side: str) -> str:
    """``describe("orange", "cross", "left")`` -> ``"an orange cross on the left"``.
    """
    return correct_articles(f"a {color} {shape} on the {side}")


@contract(n=Int(min=1), seed=Int(min=0), size=Int(min=16),
          positive_rate=Float(min=0, max=1, open_min=True, open_max=True))
def make_matching(n: int, *, seed: int = 0, size: int = 32, positive_rate: float = 0.5) -> MatchingData:
    """``n`` scene-caption pairs; negatives are spread evenly over ``NEGATIVE_KINDS``.

    Used in: chapter 01
    """
    scenes = make_shapes(n, size=size, seed=seed)
    colors, shapes = list(COLORS), list(SHAPES)
    rng = np.random.default_rng(seed + 1)
    positive = rng.random(n) < positive_rate
    kind_ids = rng.integers(0, len(NEGATIVE_KINDS), n)
    offsets = rng.integers(1, 1 << 30, n)  # picks the replacement word
    captions, kinds = [], []
    for i, (ci, si, x) in enumerate(zip(scenes.colors[:, 0].tolist(), scenes.shapes[:, 0].tolist(),
                                        scenes.centers[:, 0, 0].tolist())):
        side = 0 if x < size / 2 else 1
        kind = "match" if positive[i] else NEGATIVE_KINDS[kind_ids[i]]
        if kind == "color":
            ci = (ci + 1 + offsets[i] % (len(colors) - 1)) % len(colors)
        elif kind == "shape":
            si = (si + 1 + offsets[i] % (len(shapes) - 1)) % len(shapes)
        elif kind == "side":
            side = 1 - side
        captions.append(describe(colors[ci], shapes[si], SIDES[side]))
        kinds.append(kind)
    return MatchingData(
        images=scenes.images,
        captions=captions,
        tokens=torch.tensor([encode_caption(c) for c in captions]),
        labels=torch.from_numpy(positive.astype(np.float32)),
        kinds=kinds,
    )
