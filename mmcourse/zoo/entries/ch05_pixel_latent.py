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

from ... import diffusion
from ...data import make_shapes
from ...metrics.generation import FrechetReference
from ...metrics.image import frechet_distance
from ...metrics.stats import Metric
from ...models.unet import DenoiserConfig, build_denoiser
from ...runtime import RunConfig, seed_everything
from ...unconditional import UnconditionalDiffusion
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load
from ._diffusion import frechet_metric, schedule, train_denoiser

#: The evaluation report's samples: 128 DDIM-10 (the pixel model is slow to sample), the recipe's seeds.
REPORT = {"samples": 128, "steps": 10}


def _assemble(unet: Any, recipe: Recipe, cfg: RunConfig | None = None) -> UnconditionalDiffusion:
    return UnconditionalDiffusion(unet, schedule(recipe), load("vae-shapes", cfg) if recipe["space"] == "latent" else None)


def _flops_per_step(unet: Any) -> float:
    """FLOPs of one network evaluation for one image (PyTorch's count; machine-independent)."""
    c, side = unet.config.in_channels, unet.config.sample_size
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(torch.zeros(1, c, side, side), 500)
    return counter.get_total_flops()


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[Any, Metrics]:
    d, t = recipe["data"], recipe["train"]
    images = make_shapes(d["n_train"], split="train", seed=d["train_seed"]).images  # (N, 3, 32, 32) in [0, 1]
    # 1. the training set in this entry's space: pixels in [-1, 1], or latents of unit scale
    vae = load("vae-shapes") if recipe["space"] == "latent" else None
    data = diffusion.encode_images(vae, images) if vae is not None else images * 2 - 1
    seed_everything(t["seed"])
    unet = build_denoiser(DenoiserConfig(**recipe["model"]))
    # 2. L_simple, unconditional
    history = train_denoiser(unet, schedule(recipe), data, train=t, cfg=cfg, progress=progress,
                             desc=f"ddpm-{recipe['space']}-shapes")
    return unet.cpu().eval(), {"final_loss": round(sum(history.loss[-50:]) / 50, 4)}


def _evaluate(unet: Any, recipe: Recipe) -> Metrics:
    e, judge = recipe["eval"], load("shapes-cnn")
    images = _assemble(unet, recipe).images(e["samples"], steps=e["steps"], sampler=e["sampler"], seed=e["seed"])
    real = make_shapes(e["samples"], split="train", seed=e["real_seed"]).images
    with torch.no_grad():
        frechet = frechet_distance(judge.features(images), judge.features(real))
        confident = (judge(images).softmax(-1).amax(-1) >= 0.9).float().mean().item()
    return {"frechet": round(frechet, 3), "confident": round(confident, 4),
            "mflops_per_step": round(_flops_per_step(unet) / 1e6, 1)}


def _score(model: UnconditionalDiffusion, recipe: Recipe) -> dict[str, Metric]:
    e, judge = recipe["eval"], load("shapes-cnn")
    images = model.images(REPORT["samples"], steps=REPORT["steps"], sampler=e["sampler"], seed=e["seed"])
    with torch.no_grad():
        reference = FrechetReference(judge.features(make_shapes(REPORT["samples"], split="train",
                                                                seed=e["real_seed"]).images))
        fake, confident = judge.features(images), judge(images).softmax(-1).amax(-1) >= 0.9
    return {"FD-shapes": frechet_metric(fake, reference), "read with confidence": Metric(confident.numpy())}


def _probe_inputs(channels: int, side: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(1234)
    return {"x": torch.randn(2, channels, side, side, generator=g), "timesteps": torch.tensor([10, 500])}


PIXEL_RECIPE = {
    "space": "pixel",
    "data": {"n_train": 4000, "train_seed": 0},
    "schedule": {"kind": "linear", "timesteps": 1000},
    "model": {"in_channels": 3, "sample_size": 32, "block_out_channels": [32, 32, 32], "cross_attention_dim": None},
    "train": {"steps": 1000, "batch_size": 64, "lr": 1e-3, "warmup": 50, "seed": 0},
    "eval": {"samples": 256, "sampler": "ddim", "steps": 50, "seed": 0, "real_seed": 5},
}
#: The same recipe on vae-shapes' 8x8x4 latents.
LATENT_RECIPE = {**PIXEL_RECIPE, "space": "latent", "model": {**PIXEL_RECIPE["model"], "in_channels": 4, "sample_size": 8}}

for _recipe, _what in ((PIXEL_RECIPE, "on 32x32x3 pixels"), (LATENT_RECIPE, "on vae-shapes' 8x8x4 latents")):
    _space, _channels, _side = _recipe["space"], _recipe["model"]["in_channels"], _recipe["model"]["sample_size"]
    register(ZooEntry(
        name=f"ddpm-{_space}-shapes",
        chapter="05",
        description=f"unconditional DDPM (UNet2DModel 32/32/32) {_what}: 1,000 steps of 64, the same budget "
                    "as its pixel/latent twin",
        recipe=_recipe,
        # sampling is chaotic: a last-digit difference elsewhere changes some samples
        tolerance={"final_loss": 0.01, "frechet": 8.0, "confident": 0.05, "mflops_per_step": 0.0},
        module=__name__,
        build=lambda c: build_denoiser(DenoiserConfig(**c)),
        config_dict=lambda m: DenoiserConfig.from_model(m).to_dict(),
        trainer=_train,
        evaluator=_evaluate,
        assembler=_assemble,
        scorer=_score,
        probe_inputs=lambda c=_channels, s=_side: _probe_inputs(c, s),
        probe_outputs=lambda unet, x: {"eps": unet(x["x"], x["timesteps"]).sample},
        replay={"data.n_train": 1000, "train.steps": 51, "eval.samples": 16, "eval.steps": 5},  # past the warm-up
        uses=("vae-shapes", "shapes-cnn") if _space == "latent" else ("shapes-cnn",),
    ))
