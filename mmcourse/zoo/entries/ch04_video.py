"""Chapter 04's video zoo entry: ``video-motion``, the four attention layouts on both temporal tasks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from ...data import Batches
from ...data.motion import make_motion_clips
from ...metrics.classification import accuracy, predict
from ...metrics.stats import Metric
from ...models.video import ATTENTIONS, VideoClassifier, VideoConfig
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register

TASKS = ("direction", "order")
REPORT = {"n_test": 500}  # the evaluation report's clips per task (the recipe's test seed)


# -- video-motion: a ModuleDict {"direction__divided": VideoClassifier, ...} -------------
def _build(c: dict[str, Any]) -> nn.ModuleDict:
    return nn.ModuleDict({key.replace("/", "__"): VideoClassifier(VideoConfig(**cfg)) for key, cfg in c.items()})


def _config_dict(model: nn.ModuleDict) -> dict[str, Any]:
    return {key.replace("__", "/"): asdict(m.config) for key, m in model.items()}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[nn.ModuleDict, Metrics]:
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    suite = nn.ModuleDict()
    for task in TASKS:
        train_set = make_motion_clips(d["n_train"], task, seed=d["train_seed"])
        for attention in ATTENTIONS:
            seed_everything(t["seed"])
            model = VideoClassifier(VideoConfig(attention=attention, num_classes=len(train_set.label_names), **m))
            fit(model, Batches(train_set.videos, train_set.labels, batch_size=t["batch_size"], seed=t["seed"]),
                steps=t["steps"][task], lr=t["lr"], warmup=t["warmup"], schedule="cosine", cfg=cfg,
                desc=f"{task}/{attention}", progress=progress)
            suite[f"{task}__{attention}"] = model.cpu()
    return suite, {}


def _evaluate(suite: nn.ModuleDict, recipe: Recipe) -> Metrics:
    d, metrics = recipe["data"], {}
    for task in TASKS:
        test_set = make_motion_clips(d["n_test"], task, seed=d["test_seed"])
        for attention in ATTENTIONS:
            acc = accuracy(predict(suite[f"{task}__{attention}"], test_set.videos), test_set.labels)
            metrics[f"{task}_{attention}"] = round(acc, 4)
    return metrics


def _score(suite: nn.ModuleDict, recipe: Recipe) -> dict[str, Metric]:
    out = {}
    for task in TASKS:
        test = make_motion_clips(REPORT["n_test"], task, seed=recipe["data"]["test_seed"])
        for key, model in suite.items():
            if key.startswith(task):
                right = predict(model, test.videos).argmax(1) == test.labels
                out[f"{task}, {key.split('__')[1]} attention"] = Metric(right.numpy())
    return out


def _probe_inputs() -> dict[str, Any]:
    return {f"{task}_videos": make_motion_clips(2, task, seed=1234).videos for task in TASKS}


def _probe_outputs(suite: nn.ModuleDict, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {key: model(x[f"{key.split('__')[0]}_videos"]) for key, model in suite.items()}


register(ZooEntry(
    name="video-motion",
    chapter="04",
    description="the four video attention layouts (frame, late, joint, divided) on clips of moving shapes: "
                "direction of motion and which colour appears first",
    recipe={
        "data": {"n_train": 3000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"frames": 8, "image_size": 16, "patch_size": 4, "dim": 48, "depth": 2, "heads": 4},
        "train": {"steps": {"direction": 1800, "order": 400}, "batch_size": 64, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    tolerance={"direction_*": 0.03, "order_*": 0.03},
    module=__name__,
    build=_build,
    config_dict=_config_dict,
    trainer=_train,
    evaluator=_evaluate,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=_probe_outputs,
    # eight models one after another, each past its 20 warm-up steps
    replay={"train.steps.direction": 21, "train.steps.order": 21, "data.n_test": 100},
))
