"""mmcourse: an interactive textbook on multimodal AI.

Start every notebook with ``cfg = mmcourse.setup(PROFILE, seed=SEED)``; check exercises
with ``mmcourse.check("name", your_function)``. The package is built in one-way layers
(an import never points up a layer; ``mmcourse/layers.py`` is the list a test enforces)::

    tools            _tools/ (cli, zoocmd, tables, grade, runner, course, book, budgets, authoring,
                     fullrun, smoke, classroom, exercise_index, submission, judge)
      ↓
    reports          evaluation (every zoo model scored, each number with a bootstrap interval)
      ↓
    assets           zoo/ (tiny checkpoints, an entry per model: recipe, train, score, probe, replay)
                     hub/ (real checkpoints, stand-ins)  checks/ (exercise checks)
      ↓
    tasks & metrics  zeroshot  contrastive  retrieval  instruct  audiotext  asr  diffusion
                     unconditional  prior  sampling  unified  memory  metrics/  viz  widgets
      ↓
    training         train (lr_at, train_step, fit)
      ↓
    models           models/ (architectures only: layers, cnn, vit, fusion, clip, vlm/, video, audio,
                     schedulers, vae, unet, unclip, vq, unified)
      ↓
    data & signals   data/ (vocabulary, render, words, shapes, sounds, motion, spoken digits,
                     instructions)  text  patches  audio  video  chat  tokens  sequences
      ↓
    base             runtime  compat  contracts  layers
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
