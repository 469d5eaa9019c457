"""Chapter 05's ``vae-shapes``: the autoencoder whose latent space the diffusion models work in."""

from __future__ import annotations

from typing import Any

import torch

from ...data import make_shapes
from ...metrics import predict
from ...metrics.stats import Metric
from ...models.vae import VAEConfig, build_vae, elbo_loss
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load

REPORT = {"n_test": 500}  # the evaluation report's scenes (the recipe's test seed)


def _test_set(recipe: Recipe, n: int | None = None) -> Any:
    return make_shapes(n or recipe["data"]["n_test"], seed=recipe["data"]["test_seed"])


@torch.no_grad()
def _reconstruct(vae: Any, images: torch.Tensor) -> tuple[Any, torch.Tensor]:
    """The posterior of images in [0, 1], and the decoded posterior mean back in [0, 1]."""
    posterior = vae.encode(images * 2 - 1).latent_dist  # the VAE works in [-1, 1], as Stable Diffusion's
    return posterior, (vae.decode(posterior.mean).sample / 2 + 0.5).clamp(0, 1)


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[Any, Metrics]:
    d, t = recipe["data"], recipe["train"]
    x = make_shapes(d["n_train"], seed=d["train_seed"]).images * 2 - 1
    seed_everything(t["seed"])
    vae = build_vae(VAEConfig(**recipe["model"]))
    g = torch.Generator().manual_seed(t["seed"])
    fit(vae, lambda: (x[torch.randint(0, len(x), (t["batch_size"],), generator=g)],),
        loss_fn=lambda m, b: elbo_loss(m, b[0], t["beta"])[0], steps=t["steps"], lr=t["lr"], schedule="cosine",
        cfg=cfg, desc="vae-shapes", progress=progress)
    vae.cpu().eval()
    posterior, _ = _reconstruct(vae, _test_set(recipe).images)
    vae.register_to_config(scaling_factor=round(1 / float(posterior.mean.std()), 4))  # unit-variance latents
    return vae, {}


def _evaluate(vae: Any, recipe: Recipe) -> Metrics:
    test = _test_set(recipe)
    posterior, recon = _reconstruct(vae, test.images)
    right = predict(load("shapes-cnn"), recon).argmax(1) == test.label("pair")
    return {"test_mse": round(float((recon - test.images).pow(2).mean()), 5),
            "test_kl": round(float(posterior.kl().mean()), 2), "latent_std": round(float(posterior.mean.std()), 4),
            "recon_pair_accuracy": round(float(right.float().mean()), 4)}


def _score(vae: Any, recipe: Recipe) -> dict[str, Metric]:
    test = _test_set(recipe, REPORT["n_test"])
    _, recon = _reconstruct(vae, test.images)
    right = predict(load("shapes-cnn"), recon).argmax(1) == test.label("pair")
    mse = (recon - test.images).pow(2).flatten(1).mean(1)
    return {"reconstruction read right": Metric(right.numpy()),
            "reconstruction MSE": Metric(mse.numpy(), higher_is_better=False)}


def _probe_outputs(vae: Any, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    posterior, recon = _reconstruct(vae, x["images"])
    return {"latent_mean": posterior.mean, "latent_logvar": posterior.logvar, "reconstruction": recon}


register(ZooEntry(
    name="vae-shapes",
    chapter="05",
    description="AutoencoderKL (3 blocks, 32x32x3 -> 8x8x4 latents) trained on shapes scenes with the beta-ELBO",
    recipe={
        "data": {"n_train": 12000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"block_out_channels": [16, 32, 32], "latent_channels": 4, "image_size": 32},
        "train": {"steps": 2500, "batch_size": 64, "lr": 2e-3, "beta": 0.01, "seed": 0},
    },
    tolerance={"test_mse": 0.003, "test_kl": 15.0, "latent_std": 0.1, "recon_pair_accuracy": 0.02},
    module=__name__,
    build=lambda c: build_vae(VAEConfig(**c)),
    config_dict=lambda m: VAEConfig.from_model(m).to_dict(),
    trainer=_train,
    evaluator=_evaluate,
    scorer=_score,
    probe_inputs=lambda: {"images": make_shapes(2, seed=1234).images},
    probe_outputs=_probe_outputs,
    replay={"train.steps": 30, "data.n_test": 200},
    uses=("shapes-cnn",),
))
