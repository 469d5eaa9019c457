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
from ...models.vq import VQConfig, VQLoss, build_vq, codebook_usage, codes_to_image, image_to_codes
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register
from ..store import load


def _vq_config(model: Any) -> dict[str, Any]:
    c = model.config
    return VQConfig(block_out_channels=tuple(c.block_out_channels), codebook_size=c.num_vq_embeddings,
                    code_dim=c.vq_embed_dim, image_size=c.sample_size, layers_per_block=c.layers_per_block,
                    norm_num_groups=c.norm_num_groups).to_dict()


def _fit_one(recipe: dict[str, Any], images: torch.Tensor, restart_every: int, *, cfg: RunConfig | None,
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


def _scores(vq: Any, test: Any, judge: Any, K: int) -> dict[str, float]:
    codes = image_to_codes(vq, test.images)
    recon = codes_to_image(vq, codes)
    usage = codebook_usage(codes, K)
    return {"recon_pair_accuracy": round(float((predict(judge, recon).argmax(1) == test.label("pair")).float().mean()), 4),
            "test_mse": round(float((recon - test.images).pow(2).mean()), 5),
            "perplexity": round(usage["perplexity"], 2), "codes_used": usage["codes used"],
            "dead_codes": usage["dead codes"]}


def _train_vq(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool) -> tuple[Any, dict[str, float]]:
    d, K = recipe["data"], recipe["model"]["codebook_size"]
    train = make_shapes(d["n_train"], seed=d["train_seed"])
    test = make_shapes(d["n_test"], seed=d["test_seed"])
    judge = load("shapes-cnn")
    plain, _ = _fit_one(recipe, train.images, 0, cfg=cfg, progress=progress)
    metrics = {f"no_restart_{k}": v for k, v in _scores(plain, test, judge, K).items()}
    vq, loss_fn = _fit_one(recipe, train.images, recipe["train"]["restart_every"], cfg=cfg, progress=progress)
    metrics.update(_scores(vq, test, judge, K))
    metrics["codes_restarted"] = loss_fn.restarted
    return vq, metrics


register(ZooEntry(
    name="vq-shapes",
    description="VQModel (3 blocks, 32x32x3 -> 8x8 codes of a 128-entry codebook) with dead-code restarts",
    chapter="06",
    recipe={
        "data": {"n_train": 12000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"block_out_channels": [16, 32, 32], "codebook_size": 128, "code_dim": 16, "image_size": 32,
                  "beta": 0.25},
        "train": {"steps": 4000, "batch_size": 64, "lr": 2e-3, "restart_every": 50, "seed": 0},
    },
    build=lambda c: build_vq(VQConfig(**c)),
    config_dict=_vq_config,
    run=_train_vq,
    tolerance={"recon_pair_accuracy": 0.02, "test_mse": 0.001, "perplexity": 10.0, "codes_used": 8,
               "dead_codes": 8, "no_restart_recon_pair_accuracy": 0.1, "no_restart_test_mse": 0.003,
               "no_restart_perplexity": 10.0, "no_restart_codes_used": 15, "no_restart_dead_codes": 15,
               "codes_restarted": 60},
    module=__name__,
    uses=("shapes-cnn",),
))
