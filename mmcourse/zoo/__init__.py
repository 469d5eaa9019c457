"""The tiny model zoo: small checkpoints trained on the course data, shipped in the package.

>>> model = zoo.load("shapes-cnn")      # trained weights, eval mode
>>> model, metrics = zoo.train("shapes-cnn")

Entries register themselves per chapter in ``zoo/entries/``; ``zoo/<name>/`` holds the
weights and ``meta.json``. ``make test`` fails when an entry's code changed since its
weights were trained (a stale hash) and retrains the cheap entries; ``make verify-zoo``
retrains all of them and checks their metrics reproduce.
"""

from . import entries  # noqa: F401  (registers every entry)
from .registry import ENTRIES, ZOO_DIR, ZooEntry, source_hash
from .store import (
           MAX_BYTES,
           entry,
           is_cheap,
           load,
           meta,
           save,
           stale,
           table,
           train,
           within_tolerance,
)

__all__ = ["ENTRIES", "MAX_BYTES", "ZOO_DIR", "ZooEntry", "entry", "is_cheap", "load", "meta", "save",
           "source_hash", "stale", "table", "train", "within_tolerance"]
