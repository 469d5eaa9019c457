"""Words for shapes scenes: captions from several templates, and questions with answers.

Everything here works on :class:`~mmcourse.data.vocabulary.SceneObject` lists, so it
needs no images; :mod:`mmcourse.data.shapes` applies it to rendered scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..contracts import Instance, Int, ListOf, contract
from .vocabulary import COLORS, NUMBER_WORDS, SHAPES, SceneObject, correct_articles

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
QUESTION_KINDS = ("color", "shape", "count", "position", "yesno")


@dataclass(frozen=True)
class QA:
    """A question about one image, with its answer and question kind."""

    index: int
    question: str
    answer: str
    kind: str  # one of QUESTION_KINDS


@contract(objects=ListOf(Instance(SceneObject), "SceneObject records"), template=Int(min=0))
def caption(objects: Sequence[SceneObject], template: int = 0) -> str:
    """Describe a scene in words with one of several templates (``template`` picks one).

    Used in: chapter 07
    """
    if not objects:
        raise ValueError("objects must contain at least one SceneObject")
    if len(objects) == 1:
        o = objects[0]
        t = SINGLE_TEMPLATES[template % len(SINGLE_TEMPLATES)]
        text = t.format(color=o.color, shape=o.shape, size=o.size, hpos=o.hpos, vpos=o.vpos)
        return correct_articles(text)
    names = [correct_articles(f"a {o.color} {o.shape}") for o in objects]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    t = MULTI_TEMPLATES[template % len(MULTI_TEMPLATES)]
    return t.format(list=listed, count=NUMBER_WORDS[len(objects)])


def question_about(index: int, objects: Sequence[SceneObject], rng: np.random.Generator) -> QA:
    """One random question about a scene: colour, shape, count, position or yes/no.

    A question refers to an object only by a description that is unique in its scene;
    yes/no questions ask about a present object half of the time, an absent one otherwise.
    """
    o = objects[int(rng.integers(len(objects)))]
    unique_shape = sum(p.shape == o.shape for p in objects) == 1
    unique_color = sum(p.color == o.color for p in objects) == 1
    unique_name = sum(p.name == o.name for p in objects) == 1
    kinds = ["count", "yesno"]
    if unique_shape:
        kinds.append("color")
    if unique_color:
        kinds.append("shape")
    if unique_name:
        kinds.append("position")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "color":
        return QA(index, f"what colour is the {o.shape}?", o.color, kind)
    if kind == "shape":
        return QA(index, f"what shape is the {o.color} object?", o.shape, kind)
    if kind == "position":
        where = o.hpos if len(objects) == 1 else f"{o.vpos} {o.hpos}"
        return QA(index, f"where is the {o.name}?", where, kind)
    if kind == "count":
        return QA(index, "how many objects are there?", str(len(objects)), kind)
    if rng.random() < 0.5:
        return QA(index, correct_articles(f"is there a {o.name}?"), "yes", kind)
    present = {p.name for p in objects}
    absent = [f"{c} {s}" for c in COLORS for s in SHAPES if f"{c} {s}" not in present]
    other = absent[int(rng.integers(len(absent)))]
    return QA(index, correct_articles(f"is there a {other}?"), "no", kind)


def pope_pair(index: int, objects: Sequence[SceneObject], negatives: str, rng: np.random.Generator
              ) -> tuple[QA, QA]:
    """Two POPE-style probes about one scene (Li et al., 2023, "Evaluating Object
    Hallucination in Large Vision-Language Models", §3): "is there a <present object>?"
    (answer yes) and "is there a <absent object>?" (answer no). ``negatives`` picks the
    absent object: ``"random"`` among all absent colour-shape pairs, or ``"adversarial"``
    among those that share a colour or a shape with an object in the scene (the easiest to
    imagine; POPE's adversarial setting samples the objects that co-occur most).
    """
    present = {o.name for o in objects}
    o = objects[int(rng.integers(len(objects)))]
    absent = [f"{c} {s}" for c in COLORS for s in SHAPES if f"{c} {s}" not in present]
    if negatives == "adversarial":
        close = [a for a in absent if any(a.split()[0] == p.color or a.split()[1] == p.shape for p in objects)]
        absent = close or absent
    elif negatives != "random":
        raise ValueError(f"negatives={negatives!r}: expected 'random' or 'adversarial'")
    other = absent[int(rng.integers(len(absent)))]
    return (QA(index, correct_articles(f"is there a {o.name}?"), "yes", f"pope-{negatives}"),
            QA(index, correct_articles(f"is there a {other}?"), "no", f"pope-{negatives}"))
