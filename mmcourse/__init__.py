"""mmcourse: an interactive textbook on multimodal AI.

Start every notebook with ``cfg = mmcourse.setup(PROFILE, seed=SEED)``; check exercises
with ``mmcourse.check("name", your_function)``. The package is built in one-way layers
(an import never points up a layer):

====================  =============================================================
base                  ``runtime``, ``compat``, ``contracts``
data & signals        ``data`` (shapes, clips, sounds, photos), ``text``, ``patches``,
                      ``audio``, ``video``, ``chat``
models                ``models`` (architectures only)
training              ``train``
tasks & metrics       ``zeroshot``, ``contrastive``, ``retrieval``, ``instruct``,
                      ``metrics``, ``viz``, ``widgets``
assets                ``zoo`` (tiny trained checkpoints), ``hub`` (real ones), ``checks``
tools                 ``_tools`` (``python -m mmcourse --help``)
====================  =============================================================
"""

from . import (
    audio,
    chat,
    checks,
    compat,
    contracts,
    contrastive,
    data,
    hub,
    instruct,
    metrics,
    models,
    patches,
    retrieval,
    text,
    train,
    video,
    viz,
    widgets,
    zeroshot,
    zoo,
)
from .checks import check
from .runtime import RunConfig, log_metric, setup

__all__ = ["RunConfig", "audio", "chat", "check", "checks", "compat", "contracts", "contrastive", "data", "hub",
           "instruct", "log_metric", "metrics", "models", "patches", "retrieval", "setup", "text", "train", "video",
           "viz", "widgets", "zeroshot", "zoo"]
