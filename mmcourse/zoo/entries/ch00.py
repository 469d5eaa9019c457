"""Chapter 00's zoo entry: ``shapes-cnn``, the first model a learner trains."""

from __future__ import annotations

from typing import Any

import torch

from ...data import Batches, make_shapes
from ...metrics import accuracy, predict
from ...models import CNNConfig, SmallCNN
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register


def _train_shapes_cnn(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                      ) -> tuple[torch.nn.Module, dict[str, float]]:
    d, t = recipe["data"], recipe["train"]
    train_set = make_shapes(d["n_train"], seed=d["train_seed"])
    test_set = make_shapes(d["n_test"], seed=d["test_seed"])
    target = d["target"]
    seed_everything(t["seed"])
    channels = tuple(recipe["model"]["channels"])
    model = SmallCNN(CNNConfig(channels=channels, num_classes=len(train_set.class_names(target))))
    batches = Batches(train_set.images, train_set.label(target), batch_size=t["batch_size"], seed=t["seed"])
    fit(model, batches, steps=t["steps"], lr=t["lr"], cfg=cfg, desc="shapes-cnn", progress=progress)
    acc = accuracy(predict(model, test_set.images), test_set.label(target))
    return model, {"test_accuracy": round(acc, 4)}


register(ZooEntry(
    name="shapes-cnn",
    description="SmallCNN classifying the 30 colour-shape pairs of 32x32 shapes scenes",
    chapter="00",
    recipe={
        "data": {"n_train": 6000, "n_test": 1000, "train_seed": 0, "test_seed": 1, "target": "pair"},
        "model": {"channels": [16, 32, 64]},
        "train": {"steps": 300, "batch_size": 128, "lr": 3e-3, "seed": 0},
    },
    build=lambda c: SmallCNN(CNNConfig.from_dict(c)),
    config_dict=lambda m: m.config.to_dict(),
    run=_train_shapes_cnn,
    tolerance={"test_accuracy": 0.02},
    module=__name__,
))
