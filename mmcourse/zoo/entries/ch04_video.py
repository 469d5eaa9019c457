"""Chapter 04's video zoo entry: ``video-motion``, the four attention layouts on both temporal tasks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch import nn

from ...data import Batches
from ...data.motion import make_motion_clips
from ...metrics.classification import accuracy, predict
from ...models.video import ATTENTIONS, VideoClassifier, VideoConfig
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register

TASKS = ("direction", "order")


# -- video-motion: a ModuleDict {"direction/divided": VideoClassifier, ...} --------------
def _build_video_suite(c: dict[str, Any]) -> nn.ModuleDict:
    return nn.ModuleDict({key.replace("/", "__"): VideoClassifier(VideoConfig(**cfg)) for key, cfg in c.items()})


def _video_suite_config(model: nn.ModuleDict) -> dict[str, Any]:
    return {key.replace("__", "/"): asdict(m.config) for key, m in model.items()}


def _train_video_suite(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                       ) -> tuple[nn.Module, dict[str, float]]:
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    suite, metrics = nn.ModuleDict(), {}
    for task in TASKS:
        train_set = make_motion_clips(d["n_train"], task, seed=d["train_seed"])
        test_set = make_motion_clips(d["n_test"], task, seed=d["test_seed"])
        for attention in ATTENTIONS:
            seed_everything(t["seed"])
            model = VideoClassifier(VideoConfig(attention=attention, num_classes=len(train_set.label_names), **m))
            fit(model, Batches(train_set.videos, train_set.labels, batch_size=t["batch_size"], seed=t["seed"]),
                steps=t["steps"][task], lr=t["lr"], warmup=t["warmup"], schedule="cosine", cfg=cfg,
                desc=f"{task}/{attention}", progress=progress)
            model.cpu()
            suite[f"{task}__{attention}"] = model
            metrics[f"{task}_{attention}"] = round(accuracy(predict(model, test_set.videos), test_set.labels), 4)
    return suite, metrics


register(ZooEntry(
    name="video-motion",
    description="the four video attention layouts (frame, late, joint, divided) on clips of moving shapes: "
                "direction of motion and which colour appears first",
    chapter="04",
    recipe={
        "data": {"n_train": 3000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"frames": 8, "image_size": 16, "patch_size": 4, "dim": 48, "depth": 2, "heads": 4},
        "train": {"steps": {"direction": 1800, "order": 400}, "batch_size": 64, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    build=_build_video_suite,
    config_dict=_video_suite_config,
    run=_train_video_suite,
    tolerance={f"{task}_{a}": 0.03 for task in TASKS for a in ATTENTIONS},
    module=__name__,
))
