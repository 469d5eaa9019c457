"""Chapter 06's ``vq-shapes``: the VQ-VAE that turns a shapes scene into 8x8 = 64 image tokens.

The recipe trains the same model twice for the same steps, without and with dead-code
restarts, and keeps the weights of the second; the codebook-usage table compares both.
The tokenizer sees all 30 colour-shape pairs (it is a generic image coder, as
``vae-shapes`` is); only the unified model's training leaves pairs out.
"""

from __future__ import annotations

from typing import Any

import torch

from ...data import make_shapes
from ...metrics import predict
from ...metrics.stats import Metric
from ...models.vq import VQConfig, VQLoss, build_vq, codebook_usage, codes_to_image, image_to_codes
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load

REPORT = {"n_test": 500}  # the evaluation report's scenes (the recipe's test seed)


def _test_set(recipe: Recipe, n: int | None = None) -> Any:
    return make_shapes(n or recipe["data"]["n_test"], seed=recipe["data"]["test_seed"])


def _fit_one(recipe: Recipe, images: torch.Tensor, restart_every: int, *, cfg: RunConfig | None,
             progress: bool) -> tuple[Any, VQLoss]:
    t = recipe["train"]
    seed_everything(t["seed"])
    vq = build_vq(VQConfig(**recipe["model"]))
    loss_fn = VQLoss(beta=recipe["model"]["beta"], restart_every=restart_every, seed=t["seed"])
    g = torch.Generator().manual_seed(t["seed"])
    fit(vq, lambda: (images[torch.randint(0, len(images), (t["batch_size"],), generator=g)],), loss_fn=loss_fn,
        steps=t["steps"], lr=t["lr"], schedule="cosine", cfg=cfg, progress=progress,
        desc=f"vq-shapes restart_every={restart_every}")
    return vq.cpu().eval(), loss_fn


def _scores(vq: Any, recipe: Recipe) -> Metrics:
    test = _test_set(recipe)
    codes = image_to_codes(vq, test.images)
    recon = codes_to_image(vq, codes)
    usage = codebook_usage(codes, recipe["model"]["codebook_size"])
    right = predict(load("shapes-cnn"), recon).argmax(1) == test.label("pair")
    return {"recon_pair_accuracy": round(float(right.float().mean()), 4),
            "test_mse": round(float((recon - test.images).pow(2).mean()), 5),
            "perplexity": round(usage["perplexity"], 2), "codes_used": usage["codes used"],
            "dead_codes": usage["dead codes"]}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[Any, Metrics]:
    d = recipe["data"]
    train = make_shapes(d["n_train"], seed=d["train_seed"])
    plain, _ = _fit_one(recipe, train.images, 0, cfg=cfg, progress=progress)  # the control run, not kept
    metrics = {f"no_restart_{k}": v for k, v in _scores(plain, recipe).items()}
    vq, loss_fn = _fit_one(recipe, train.images, recipe["train"]["restart_every"], cfg=cfg, progress=progress)
    metrics["codes_restarted"] = loss_fn.restarted
    return vq, metrics


def _score(vq: Any, recipe: Recipe) -> dict[str, Metric]:
    test = _test_set(recipe, REPORT["n_test"])
    recon = codes_to_image(vq, image_to_codes(vq, test.images))
    right = predict(load("shapes-cnn"), recon).argmax(1) == test.label("pair")
    mse = (recon - test.images).pow(2).flatten(1).mean(1)
    return {"reconstruction read right": Metric(right.numpy()),
            "reconstruction MSE": Metric(mse.numpy(), higher_is_better=False)}


def _probe_inputs() -> dict[str, Any]:
    g = torch.Generator().manual_seed(1234)
    return {"images": make_shapes(2, seed=1234).images, "codes": torch.randint(0, 128, (2, 8, 8), generator=g)}


def _probe_outputs(vq: Any, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {"latents": vq.encode(x["images"] * 2 - 1).latents, "decoded": codes_to_image(vq, x["codes"])}


register(ZooEntry(
    name="vq-shapes",
    chapter="06",
    description="VQModel (3 blocks, 32x32x3 -> 8x8 codes of a 128-entry codebook) with dead-code restarts",
    recipe={
        "data": {"n_train": 12000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"block_out_channels": [16, 32, 32], "codebook_size": 128, "code_dim": 16, "image_size": 32,
                  "beta": 0.25},
        "train": {"steps": 4000, "batch_size": 64, "lr": 2e-3, "restart_every": 50, "seed": 0},
    },
    tolerance={"recon_pair_accuracy": 0.02, "test_mse": 0.001, "perplexity": 10.0, "codes_used": 8,
               "dead_codes": 8, "no_restart_recon_pair_accuracy": 0.1, "no_restart_test_mse": 0.003,
               "no_restart_perplexity": 10.0, "no_restart_codes_used": 15, "no_restart_dead_codes": 15,
               "codes_restarted": 60},
    module=__name__,
    build=lambda c: build_vq(VQConfig(**c)),
    config_dict=lambda m: VQConfig.from_model(m).to_dict(),
    trainer=_train,
    evaluator=_scores,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=_probe_outputs,
    # each run crosses two dead-code restarts (the replay restarts every 10 steps)
    replay={"train.steps": 25, "train.restart_every": 10, "data.n_test": 200},
    uses=("shapes-cnn",),
))
