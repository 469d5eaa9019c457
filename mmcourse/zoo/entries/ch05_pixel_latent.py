"""Chapter 05's ``ddpm-pixel-shapes`` and ``ddpm-latent-shapes``: the same budget, two spaces.

One unconditional diffusers ``UNet2DModel`` config (DDPM's architecture, Ho et al. 2020 §4)
trained with L_simple (eq. 14) on the same shapes scenes, the same steps, batch and seed:
once on pixels (32×32×3 in [-1, 1]) and once on ``vae-shapes``' scaled latents (8×8×4).
Both are then judged the same way: DDIM samples, read by the zoo's ``shapes-cnn``, and the
Fréchet distance of its features to real scenes (FID's formula on these features). The two
entries differ only in ``recipe["space"]``: the comparison Rombach et al. (2022, Fig. 6) make
between pixel-space LDM-1 and latent LDM-4..16 over training steps, at a size that trains on
a CPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ... import diffusion, unconditional
from ...data import make_shapes
from ...metrics.image import frechet_distance
from ...models.schedulers import NoiseSchedule
from ...models.unet import DenoiserConfig, build_denoiser
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register
from ..store import load


def _recipe(space: str) -> dict[str, Any]:
    channels, side = (4, 8) if space == "latent" else (3, 32)
    return {
        "space": space,
        "data": {"n_train": 4000, "train_seed": 0},
        "schedule": {"kind": "linear", "timesteps": 1000},
        "model": {"in_channels": channels, "sample_size": side, "block_out_channels": [32, 32, 32],
                  "cross_attention_dim": None},
        "train": {"steps": 1000, "batch_size": 64, "lr": 1e-3, "warmup": 50, "seed": 0},
        "eval": {"samples": 256, "sampler": "ddim", "steps": 50, "seed": 0, "real_seed": 5},
    }


def schedule_of(recipe: dict[str, Any]) -> NoiseSchedule:
    return NoiseSchedule.create(recipe["schedule"]["kind"], recipe["schedule"]["timesteps"])


def _flops_per_step(unet: Any) -> float:
    """FLOPs of one network evaluation for one image (PyTorch's count; machine-independent)."""
    c, side = unet.config.in_channels, unet.config.sample_size
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(torch.zeros(1, c, side, side), 500)
    return counter.get_total_flops()


def _evaluate(unet: Any, recipe: dict[str, Any], vae: Any) -> dict[str, float]:
    e = recipe["eval"]
    judge = load("shapes-cnn")
    images = unconditional.images(unet, schedule_of(recipe), e["samples"], vae=vae, steps=e["steps"],
                                            sampler=e["sampler"], seed=e["seed"])
    real = make_shapes(e["samples"], split="train", seed=e["real_seed"]).images
    with torch.no_grad():
        frechet = frechet_distance(judge.features(images), judge.features(real))
        confident = (judge(images).softmax(-1).amax(-1) >= 0.9).float().mean().item()
    return {"frechet": round(frechet, 3), "confident": round(confident, 4),
            "mflops_per_step": round(_flops_per_step(unet) / 1e6, 1)}


def _train(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool) -> tuple[Any, dict[str, float]]:
    d, t = recipe["data"], recipe["train"]
    images = make_shapes(d["n_train"], split="train", seed=d["train_seed"]).images  # (N, 3, 32, 32) in [0, 1]
    # 1. the training set in this entry's space: pixels in [-1, 1], or latents of unit scale
    vae = load("vae-shapes") if recipe["space"] == "latent" else None
    data = diffusion.encode_images(vae, images) if vae is not None else images * 2 - 1
    seed_everything(t["seed"])
    unet = build_denoiser(DenoiserConfig(**recipe["model"]))
    g = torch.Generator().manual_seed(t["seed"])
    schedule = schedule_of(recipe)
    # 2. L_simple, unconditional
    history = fit(unet, lambda: data[torch.randint(0, len(data), (t["batch_size"],), generator=g)],
                  loss_fn=lambda m, x0: diffusion.denoising_loss(m, schedule, x0), steps=t["steps"], lr=t["lr"],
                  warmup=t["warmup"], schedule="cosine", cfg=cfg, desc=f"ddpm-{recipe['space']}-shapes",
                  progress=progress)
    unet.cpu().eval()
    final_loss = sum(history.loss[-50:]) / 50
    return unet, {"final_loss": round(final_loss, 4), **_evaluate(unet, recipe, vae)}


def _config_dict(m: Any) -> dict[str, Any]:
    return DenoiserConfig(in_channels=m.config.in_channels, sample_size=m.config.sample_size,
                          block_out_channels=tuple(m.config.block_out_channels),
                          layers_per_block=m.config.layers_per_block, cross_attention_dim=None,
                          attention_head_dim=m.config.attention_head_dim,
                          norm_num_groups=m.config.norm_num_groups).to_dict()


#: sampling is chaotic: a last-digit difference elsewhere changes some samples
TOLERANCE = {"final_loss": 0.01, "frechet": 8.0, "confident": 0.05, "mflops_per_step": 0.0}

for _space, _what in (("pixel", "on 32x32x3 pixels"), ("latent", "on vae-shapes' 8x8x4 latents")):
    register(ZooEntry(
        name=f"ddpm-{_space}-shapes",
        description=f"unconditional DDPM (UNet2DModel 32/32/32) {_what}: 1,000 steps of 64, the same budget "
                    "as its pixel/latent twin",
        chapter="05",
        recipe=_recipe(_space),
        build=lambda c: build_denoiser(DenoiserConfig(**c)),
        config_dict=_config_dict,
        run=_train,
        tolerance=TOLERANCE,
        module=__name__,
        uses=("vae-shapes", "shapes-cnn") if _space == "latent" else ("shapes-cnn",),
    ))
