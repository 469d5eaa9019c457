"""The words of the shapes world: colours, shapes, held-out pairs, number words.

A leaf module: everything else in :mod:`mmcourse.data` (rendering, captions, scenes)
imports from here, and it imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contracts import Instance, contract

#: Colour name -> RGB in [0, 1]. Saturated, so that 32x32 images keep them apart.
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.12, 0.12),
    "green": (0.10, 0.72, 0.18),
    "blue": (0.15, 0.35, 0.98),
    "yellow": (0.96, 0.88, 0.10),
    "purple": (0.62, 0.18, 0.82),
    "orange": (1.00, 0.52, 0.02),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross")

#: Colour-shape pairs never shown in ``split="train"``; every colour and every shape
#: still appears in training, only these *combinations* are new.
HOLDOUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("red", "triangle"),
    ("green", "circle"),
    ("blue", "diamond"),
    ("yellow", "cross"),
    ("purple", "square"),
    ("orange", "triangle"),
)

#: The 24 colour-shape pairs that ``split="train"`` shows: every pair but the held-out ones.
SEEN_PAIRS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLORS for s in SHAPES if (c, s) not in HOLDOUT_PAIRS)

#: The 30 colour-shape pairs as class names, in label order (``color * len(SHAPES) + shape``).
PAIR_NAMES: tuple[str, ...] = tuple(f"{c} {s}" for c in COLORS for s in SHAPES)

SPLITS = ("all", "train", "holdout")
NUMBER_WORDS = ("zero", "one", "two", "three", "four")
MAX_OBJECTS = 4  # one per quadrant in multi-object scenes


@dataclass(frozen=True)
class SceneObject:
    """One object in a scene, in words and pixels."""

    color: str
    shape: str
    radius: float  # pixels
    x: float  # centre, pixels from the left
    y: float  # centre, pixels from the top
    size: str  # "small" or "large"
    hpos: str  # "left" or "right"
    vpos: str  # "top" or "bottom"

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


@contract(text=Instance(str, "a string"))
def correct_articles(text: str) -> str:
    """``"a orange circle"`` -> ``"an orange circle"``: "a" becomes "an" before a vowel.

    Used in: chapter 02
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}")
    words = text.split(" ")
    for i in range(len(words) - 1):
        if words[i] == "a" and words[i + 1][:1] in "aeiou":
            words[i] = "an"
    return " ".join(words)
