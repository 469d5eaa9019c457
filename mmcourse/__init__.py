"""mmcourse: an interactive textbook on multimodal AI.

Start every notebook with ``cfg = mmcourse.setup(PROFILE, seed=SEED)``; check exercises
with ``mmcourse.check("name", your_function)``. Each submodule is one concept:
``runtime``, ``data``, ``models``, ``train``, ``metrics``, ``viz``, ``widgets``,
``text``, ``patches``, ``audio``, ``video``, ``retrieval``, ``zeroshot``, ``chat``,
``instruct``, ``vqa``, ``hub``, ``zoo``,
``checks``, ``compat``; ``grade``/``course``/``authoring`` power the
command line (``python -m mmcourse --help``).
"""

from . import (
    audio,
    chat,
    checks,
    compat,
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
    vqa,
    widgets,
    zeroshot,
    zoo,
)
from .checks import check
from .runtime import BUDGETS, RunConfig, log_metric, setup

__all__ = [
    "BUDGETS",
    "RunConfig",
    "audio",
    "chat",
    "check",
    "checks",
    "compat",
    "data",
    "hub",
    "instruct",
    "log_metric",
    "metrics",
    "models",
    "patches",
    "retrieval",
    "setup",
    "text",
    "train",
    "video",
    "viz",
    "vqa",
    "widgets",
    "zeroshot",
    "zoo",
]
