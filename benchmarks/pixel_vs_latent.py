"""Pixel space against latent space at the same training budget: one unconditional diffusers
``UNet2DModel`` config (DDPM's architecture) trained with L_simple (Ho et al. 2020, eq. 14) on
shapes scenes, once on pixels (32x32x3) and once on ``vae-shapes`` latents (8x8x4), the same
steps, batch and seed (budgeted in steps: the same numbers on every machine, only the seconds
differ). Then the same number of DDIM samples from each, judged by the zoo's ``shapes-cnn``:
the Frechet distance of its features to real scenes (FID's formula on these features) and the
share of samples it reads with confidence. Prints a Markdown table.

    .venv/bin/python benchmarks/pixel_vs_latent.py [--steps 1000] [--batch 64] [--samples 256]

About 8 minutes on two CPU cores at the defaults, nearly all of it the pixel model.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import mmcourse
from mmcourse import diffusion, viz, zoo
from mmcourse.data import make_shapes
from mmcourse.metrics.image import frechet_distance
from mmcourse.models.schedulers import NoiseSchedule
from mmcourse.models.unet import DenoiserConfig, build_denoiser
from mmcourse.train import fit

CHANNELS = (32, 64, 64)


def flops_per_image(unet, x: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(x[:1], 500)
    return counter.get_total_flops()


def train_and_sample(space: str, data: torch.Tensor, schedule: NoiseSchedule, args) -> dict:
    """Train one denoiser on ``data`` ((N, C, H, W), about unit scale) and draw samples from it."""
    torch.manual_seed(args.seed)
    _, channels, size, _ = data.shape
    unet = build_denoiser(DenoiserConfig(in_channels=channels, sample_size=size, block_out_channels=CHANNELS,
                                         cross_attention_dim=None))
    g = torch.Generator().manual_seed(args.seed)

    def batch() -> torch.Tensor:
        return data[torch.randint(0, len(data), (args.batch,), generator=g)]

    start = time.perf_counter()
    history = fit(unet, batch, loss_fn=lambda m, x0: diffusion.denoising_loss(m, schedule, x0), steps=args.steps,
                  lr=1e-3, warmup=50, schedule="cosine", desc=space)
    train_s = time.perf_counter() - start
    unet.eval()
    start = time.perf_counter()
    x = diffusion.sample(unet, schedule, (args.samples, channels, size, size), steps=50, sampler="ddim",
                         generator=torch.Generator().manual_seed(args.seed))
    sample_s = time.perf_counter() - start
    return {"unet": unet, "x": x, "loss": sum(history.loss[-50:]) / 50, "train_s": train_s, "sample_s": sample_s,
            "flops": flops_per_image(unet, data), "params": sum(p.numel() for p in unet.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mmcourse.setup("tiny", seed=args.seed)
    vae, judge = zoo.load("vae-shapes"), zoo.load("shapes-cnn")
    schedule = NoiseSchedule.create("linear", 1000)
    train = make_shapes(4000, split="train", seed=args.seed).images  # (4000, 3, 32, 32) in [0, 1]
    real = make_shapes(args.samples, split="train", seed=args.seed + 5).images
    runs = {"pixel 32x32x3": train_and_sample("pixel", train * 2 - 1, schedule, args),
            "latent 8x8x4": train_and_sample("latent", diffusion.encode_images(vae, train), schedule, args)}
    runs["pixel 32x32x3"]["images"] = (runs["pixel 32x32x3"]["x"] / 2 + 0.5).clamp(0, 1)
    start = time.perf_counter()
    runs["latent 8x8x4"]["images"] = diffusion.decode_latents(vae, runs["latent 8x8x4"]["x"])
    runs["latent 8x8x4"]["sample_s"] += time.perf_counter() - start  # the decoder runs once per sample
    rows = []
    with torch.no_grad():
        real_f = judge.features(real)
        for space, r in runs.items():
            confident = judge(r["images"]).softmax(-1).amax(-1) >= 0.9
            rows.append({"space": space, "UNet params": r["params"], "MFLOPs per step": round(r["flops"] / 1e6, 1),
                         "final loss": round(r["loss"], 4),
                         "Frechet to real": round(frechet_distance(judge.features(r["images"]), real_f), 2),
                         "read with confidence": round(confident.float().mean().item(), 3),
                         "train s": round(r["train_s"], 1), "sample s": round(r["sample_s"], 1)})
            print(rows[-1], flush=True)
    print(f"\n{args.steps} steps of batch {args.batch}, seed {args.seed}; {args.samples} DDIM-50 samples each; "
          f"{len(real)} real scenes\n")
    print(viz.table(rows, display=False))
    viz.image_grid(torch.cat([runs[s]["images"][:16] for s in runs]), ncols=16)
    import matplotlib.pyplot as plt

    plt.savefig("build/pixel_vs_latent.png", dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
