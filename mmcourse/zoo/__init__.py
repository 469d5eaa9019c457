"""The tiny model zoo: small checkpoints trained on the course data, shipped in the package.

>>> model = zoo.load("shapes-cnn")          # trained weights, eval mode
>>> ldm = zoo.pipeline("ldm-shapes")        # assembled for use: a TextToImage
>>> model, metrics = zoo.train("shapes-cnn")

Entries register themselves per chapter in ``zoo/entries/``; ``zoo/<name>/`` holds the
weights, ``probe.safetensors`` (fixed inputs and the shipped model's outputs) and
``meta.json``. Whether shipped weights are still what the code would train is judged by
behaviour: ``python -m mmcourse zoo probe`` replays each recipe, shrunk, at the commit that
trained it and at the working tree and compares the two bit for bit (:mod:`.replay`);
``make verify-zoo`` retrains and checks the stored metrics reproduce.
"""

from . import entries  # noqa: F401  (registers every entry)
from .registry import ENTRIES, ZOO_DIR, ZooEntry
from .store import (
           MAX_BYTES,
           entry,
           load,
           meta,
           needs_replay,
           pipeline,
           record_current,
           reproduce,
           save,
           table,
           train,
           within_tolerance,
)

__all__ = ["ENTRIES", "MAX_BYTES", "ZOO_DIR", "ZooEntry", "entry", "load", "meta", "needs_replay", "pipeline",
           "record_current", "reproduce", "save", "table", "train", "within_tolerance"]
