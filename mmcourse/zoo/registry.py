"""Zoo entries and their registry: each entry owns its model's whole life.

An entry registers itself from ``zoo/entries/chNN_*.py`` with its recipe (data, model,
training settings in steps, seeds), its description and tolerances (data too), and the
functions that make and use its model:

1. ``build(config) -> model``: the architecture from its stored config; ``config_dict(model)``
   is the inverse, stored in ``meta.json``;
2. ``trainer(recipe, cfg=, progress=) -> (model, metrics)``: train from scratch; the metrics
   only training can give (a learning curve, a control run whose weights are not kept);
3. ``evaluator(model, recipe) -> metrics``: the stored metrics computable from the weights,
   so shipped weights can be re-scored (``zoo reproduce``) without retraining;
4. ``assembler(model, recipe, cfg) -> pipeline``: the model ready for use with its companions (schedule,
   VAE, text encoder, vocabulary), what :func:`mmcourse.zoo.pipeline` returns;
5. ``scorer(pipeline, recipe) -> {metric: Metric}``: per-example scores for the evaluation report;
6. ``probe_inputs()`` and ``probe_outputs(model, inputs)``: the stored probe (:mod:`.probe`);
7. ``replay``: dotted recipe overrides that shrink the recipe for ``zoo probe`` (:mod:`.replay`)
   while keeping every stage boundary and periodic event.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..runtime import RunConfig

ZOO_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = ZOO_DIR.parent

Recipe = dict[str, Any]
Metrics = dict[str, float]


def _model_itself(model: torch.nn.Module, recipe: Recipe, cfg: RunConfig | None) -> torch.nn.Module:
    return model


@dataclass(frozen=True)
class ZooEntry:
    """A named tiny model: recipe, description and tolerances, and the functions of its life
    (the numbered list in :mod:`mmcourse.zoo.registry`)."""

    name: str
    chapter: str
    description: str
    recipe: Recipe
    tolerance: dict[str, float]  # allowed |retrained - stored| per metric; keys may be globs ("*_frechet_*")
    module: str  # the entries module that registered it
    build: Callable[[dict[str, Any]], torch.nn.Module]
    config_dict: Callable[[torch.nn.Module], dict[str, Any]]
    trainer: Callable[..., tuple[torch.nn.Module, Metrics]]
    evaluator: Callable[[torch.nn.Module, Recipe], Metrics]
    probe_inputs: Callable[[], dict[str, Any]]
    probe_outputs: Callable[[torch.nn.Module, dict[str, Any]], dict[str, torch.Tensor]]
    replay: dict[str, Any]
    uses: tuple[str, ...] = field(default=())  # zoo entries whose weights the recipe loads
    assembler: Callable[[torch.nn.Module, Recipe, RunConfig | None], Any] = _model_itself
    scorer: Callable[[Any, Recipe], dict[str, Any]] | None = None

    def run(self, recipe: Recipe, *, cfg: RunConfig | None = None, progress: bool = True
            ) -> tuple[torch.nn.Module, Metrics]:
        """Train from ``recipe`` and score the result: (model, every metric ``meta.json`` stores)."""
        model, metrics = self.trainer(recipe, cfg=cfg, progress=progress)
        return model, {**metrics, **self.evaluator(model, recipe)}

    def train(self, *, cfg: RunConfig | None = None, progress: bool = True) -> tuple[torch.nn.Module, Metrics]:
        """:meth:`run` on the entry's own recipe."""
        return self.run(self.recipe, cfg=cfg, progress=progress)

    def tolerance_of(self, metric: str) -> float | None:
        """The tolerance of ``metric``: its own, else the first glob that matches it."""
        if metric in self.tolerance:
            return self.tolerance[metric]
        return next((v for k, v in self.tolerance.items() if fnmatch.fnmatchcase(metric, k)), None)


ENTRIES: dict[str, ZooEntry] = {}


def register(entry: ZooEntry) -> ZooEntry:
    """Add an entry to the registry (once per name)."""
    if entry.name in ENTRIES:
        raise ValueError(f"zoo entry {entry.name!r} is registered twice")
    ENTRIES[entry.name] = entry
    return entry
