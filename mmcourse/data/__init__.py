"""Data: synthetic shapes scenes, shipped real photos, fast mini-batches."""

from . import real, shapes
from .batches import Batches
from .shapes import make_qa, make_shapes, scene

__all__ = ["Batches", "make_qa", "make_shapes", "real", "scene", "shapes"]
