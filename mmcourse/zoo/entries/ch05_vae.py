"""Chapter 05's ``vae-shapes``: the autoencoder whose latent space the diffusion model works in."""

from __future__ import annotations

from typing import Any

import torch

from ...data import make_shapes
from ...metrics import predict
from ...models.vae import VAEConfig, build_vae, elbo_loss
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register
from ..store import load


def _vae_config(model: Any) -> dict[str, Any]:
    c = model.config
    return VAEConfig(block_out_channels=tuple(c.block_out_channels), latent_channels=c.latent_channels,
                     image_size=c.sample_size, layers_per_block=c.layers_per_block,
                     norm_num_groups=c.norm_num_groups, scaling_factor=c.scaling_factor).to_dict()


def _train_vae(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool) -> tuple[Any, dict[str, float]]:
    d, t = recipe["data"], recipe["train"]
    train = make_shapes(d["n_train"], seed=d["train_seed"])
    test = make_shapes(d["n_test"], seed=d["test_seed"])
    seed_everything(t["seed"])
    vae = build_vae(VAEConfig(**recipe["model"]))
    x = train.images * 2 - 1  # the VAE works in [-1, 1], as Stable Diffusion's
    batches = lambda g=torch.Generator().manual_seed(t["seed"]): (x[torch.randint(0, len(x), (t["batch_size"],), generator=g)],)  # noqa: E731, B008
    fit(vae, batches, loss_fn=lambda m, b: elbo_loss(m, b[0], t["beta"])[0], steps=t["steps"], lr=t["lr"],
        schedule="cosine", cfg=cfg, desc="vae-shapes", progress=progress)
    vae.cpu().eval()
    with torch.no_grad():
        posterior = vae.encode(test.images * 2 - 1).latent_dist
        recon = (vae.decode(posterior.mean).sample / 2 + 0.5).clamp(0, 1)
        mse = float((recon - test.images).pow(2).mean())
        kl = float(posterior.kl().mean())
        std = float(posterior.mean.std())
    vae.register_to_config(scaling_factor=round(1 / std, 4))  # scaled latents have unit variance
    judge = load("shapes-cnn")
    recon_acc = float((predict(judge, recon).argmax(1) == test.label("pair")).float().mean())
    return vae, {"test_mse": round(mse, 5), "test_kl": round(kl, 2), "latent_std": round(std, 4),
                 "recon_pair_accuracy": round(recon_acc, 4)}


register(ZooEntry(
    name="vae-shapes",
    description="AutoencoderKL (3 blocks, 32x32x3 -> 8x8x4 latents) trained on shapes scenes with the beta-ELBO",
    chapter="05",
    recipe={
        "data": {"n_train": 12000, "n_test": 1000, "train_seed": 0, "test_seed": 1},
        "model": {"block_out_channels": [16, 32, 32], "latent_channels": 4, "image_size": 32},
        "train": {"steps": 2500, "batch_size": 64, "lr": 2e-3, "beta": 0.01, "seed": 0},
    },
    build=lambda c: build_vae(VAEConfig(**c)),
    config_dict=_vae_config,
    run=_train_vae,
    tolerance={"test_mse": 0.003, "test_kl": 15.0, "latent_std": 0.1, "recon_pair_accuracy": 0.02},
    module=__name__,
    uses=("shapes-cnn",),
))
