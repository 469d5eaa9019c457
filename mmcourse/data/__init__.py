"""Data: synthetic shapes scenes with their words, clips, sounds, shipped photos, batches.

* :mod:`.vocabulary` -- colours, shapes, held-out pairs (a leaf module);
* :mod:`.render` -- scenes to pixels; :mod:`.words` -- captions and questions;
* :mod:`.shapes` -- :func:`make_shapes`, :func:`scene`, :func:`make_qa`;
* :mod:`.matching`, :mod:`.instructions` -- task data for chapters 01 and 03;
* :mod:`.clips`, :mod:`.sounds`, :mod:`.real` -- video, audio and photos;
* :mod:`.batches` -- in-memory mini-batches.
"""

from . import real, shapes
from .batches import Batches
from .shapes import make_pope, make_qa, make_shapes, scene
from .vocabulary import COLORS, HOLDOUT_PAIRS, PAIR_NAMES, SEEN_PAIRS, SHAPES, correct_articles

__all__ = ["COLORS", "HOLDOUT_PAIRS", "PAIR_NAMES", "SEEN_PAIRS", "SHAPES", "Batches", "correct_articles", "make_pope", "make_qa",
           "make_shapes", "real", "scene", "shapes"]
