"""Words for shapes scenes: captions from several templates, and question-answer pairs.

Used by :mod:`mmcourse.data.shapes` (which re-exports everything here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .shapes import COLORS, NUMBER_WORDS, SHAPES, SceneObject

if TYPE_CHECKING:
    from .shapes import ShapesData

SINGLE_TEMPLATES = (
    "a {color} {shape}",
    "a photo of a {color} {shape}",
    "a {size} {color} {shape}",
    "a {color} {shape} on the {hpos}",
    "a {color} {shape} at the {vpos} {hpos}",
    "there is a {size} {color} {shape}",
)
MULTI_TEMPLATES = (
    "{list}",
    "{count} objects: {list}",
    "a picture with {list}",
)


@dataclass(frozen=True)
class QA:
    """A question about one image, with its answer and question type.

    Used in: chapter 00
    """

    index: int
    question: str
    answer: str
    kind: str  # "color", "shape", "count", "position" or "yesno"


def caption(objects: Sequence[SceneObject], template: int = 0) -> str:
    """Describe a scene in words with one of several templates (``template`` picks one).

    Used in: chapter 00
    """
    if not objects:
        raise ValueError("objects must contain at least one SceneObject")
    if len(objects) == 1:
        o = objects[0]
        t = SINGLE_TEMPLATES[template % len(SINGLE_TEMPLATES)]
        text = t.format(color=o.color, shape=o.shape, size=o.size, hpos=o.hpos, vpos=o.vpos)
        return _fix_articles(text)
    names = [_fix_articles(f"a {o.color} {o.shape}") for o in objects]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    t = MULTI_TEMPLATES[template % len(MULTI_TEMPLATES)]
    return t.format(list=listed, count=NUMBER_WORDS[len(objects)])


def _fix_articles(text: str) -> str:
    """'a orange' -> 'an orange' (the only vowel-initial word our templates produce)."""
    words = text.split(" ")
    for i in range(len(words) - 1):
        if words[i] == "a" and words[i + 1][:1] in "aeiou":
            words[i] = "an"
    return " ".join(words)


def make_qa(data: ShapesData, *, per_image: int = 1, seed: int = 0) -> list[QA]:
    """Question-answer pairs about each image: colour, shape, count, position, yes/no.

    Questions only refer to an object by a description that is unique in its scene.

    Used in: chapter 00
    """
    if isinstance(per_image, bool) or not isinstance(per_image, int) or per_image <= 0:
        raise ValueError(f"per_image must be a positive int; got {per_image!r}")
    rng = np.random.default_rng(seed)
    out: list[QA] = []
    for i in range(len(data)):
        objs = data.objects(i)
        for _ in range(per_image):
            out.append(_one_question(i, objs, rng))
    return out


def _one_question(i: int, objs: list[SceneObject], rng: np.random.Generator) -> QA:
    o = objs[int(rng.integers(len(objs)))]
    unique_shape = sum(p.shape == o.shape for p in objs) == 1
    unique_color = sum(p.color == o.color for p in objs) == 1
    unique_name = sum(p.name == o.name for p in objs) == 1
    kinds = ["count", "yesno"]
    if unique_shape:
        kinds.append("color")
    if unique_color:
        kinds.append("shape")
    if unique_name:
        kinds.append("position")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "color":
        return QA(i, f"what colour is the {o.shape}?", o.color, kind)
    if kind == "shape":
        return QA(i, f"what shape is the {o.color} object?", o.shape, kind)
    if kind == "position":
        where = o.hpos if len(objs) == 1 else f"{o.vpos} {o.hpos}"
        return QA(i, f"where is the {o.name}?", where, kind)
    if kind == "count":
        return QA(i, "how many objects are there?", str(len(objs)), kind)
    # yes/no: half the time ask about an object that is there, half about one that is not
    if rng.random() < 0.5:
        return QA(i, _fix_articles(f"is there a {o.name}?"), "yes", kind)
    present = {p.name for p in objs}
    absent = [f"{c} {s}" for c in COLORS for s in SHAPES if f"{c} {s}" not in present]
    other = absent[int(rng.integers(len(absent)))]
    return QA(i, _fix_articles(f"is there a {other}?"), "no", kind)
