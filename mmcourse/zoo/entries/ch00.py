"""Chapter 00's zoo entry: ``shapes-cnn``, the first model a learner trains.

The course also uses it as a judge: chapters 05 and 06 let it read what their generators draw.
"""

from __future__ import annotations

from typing import Any

from ...data import Batches, make_shapes
from ...metrics import accuracy, predict
from ...metrics.stats import Metric
from ...models import CNNConfig, SmallCNN
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register


def _test_set(recipe: Recipe) -> Any:
    d = recipe["data"]
    return make_shapes(d["n_test"], seed=d["test_seed"])


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[SmallCNN, Metrics]:
    d, t = recipe["data"], recipe["train"]
    train_set = make_shapes(d["n_train"], seed=d["train_seed"])
    seed_everything(t["seed"])
    channels = tuple(recipe["model"]["channels"])
    model = SmallCNN(CNNConfig(channels=channels, num_classes=len(train_set.class_names(d["target"]))))
    batches = Batches(train_set.images, train_set.label(d["target"]), batch_size=t["batch_size"], seed=t["seed"])
    fit(model, batches, steps=t["steps"], lr=t["lr"], cfg=cfg, desc="shapes-cnn", progress=progress)
    return model, {}


def _evaluate(model: SmallCNN, recipe: Recipe) -> Metrics:
    test = _test_set(recipe)
    return {"test_accuracy": round(accuracy(predict(model, test.images), test.label(recipe["data"]["target"])), 4)}


def _score(model: SmallCNN, recipe: Recipe) -> dict[str, Metric]:
    test = _test_set(recipe)
    right = predict(model, test.images).argmax(1) == test.label(recipe["data"]["target"])
    return {"pair accuracy": Metric(right.numpy())}


def _probe_inputs() -> dict[str, Any]:
    return {"images": make_shapes(4, seed=1234).images}


register(ZooEntry(
    name="shapes-cnn",
    chapter="00",
    description="SmallCNN classifying the 30 colour-shape pairs of 32x32 shapes scenes",
    recipe={
        "data": {"n_train": 6000, "n_test": 1000, "train_seed": 0, "test_seed": 1, "target": "pair"},
        "model": {"channels": [16, 32, 64]},
        "train": {"steps": 300, "batch_size": 128, "lr": 3e-3, "seed": 0},
    },
    tolerance={"test_accuracy": 0.02},
    module=__name__,
    build=lambda c: SmallCNN(CNNConfig.from_dict(c)),
    config_dict=lambda m: m.config.to_dict(),
    trainer=_train,
    evaluator=_evaluate,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=lambda model, x: {"logits": model(x["images"])},
    replay={"train.steps": 30, "data.n_test": 200},
))
