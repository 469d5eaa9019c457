"""The chapter 01 ViT with and without patch normalisation, same step budget, 3 seeds.

    .venv/bin/python benchmarks/vit_shapes.py [STEPS]

Prints a Markdown table: test accuracy on 1,000 shapes scenes (5 shape classes) after
STEPS steps (default 1000, about 25 s each on 2 CPU cores).
"""

from __future__ import annotations

import statistics
import sys

import torch

import mmcourse
from mmcourse import data, metrics
from mmcourse.models import ViT, ViTConfig
from mmcourse.train import fit


def main(steps: int = 1000) -> None:
    cfg = mmcourse.setup("tiny", seed=0)
    train, test = data.make_shapes(20000, seed=0), data.make_shapes(1000, seed=1)
    rows = []
    for patch_norm in (False, True):
        accs = []
        for seed in range(3):
            torch.manual_seed(seed)
            vit = ViT(ViTConfig(image_size=32, patch_size=8, dim=64, depth=3, heads=4, num_classes=5,
                                patch_norm=patch_norm))
            fit(vit, data.Batches(train.images, train.label("shape"), batch_size=128, seed=seed), steps=steps,
                lr=3e-3, warmup=20, schedule="cosine", cfg=cfg, progress=False)
            accs.append(metrics.accuracy(metrics.predict(vit, test.images), test.label("shape")))
        rows.append({"patch embedding": "LN -> linear -> LN" if patch_norm else "linear (conv)",
                     "steps": steps, "accuracy per seed": ", ".join(f"{a:.3f}" for a in accs),
                     "median": statistics.median(accs)})
    print(mmcourse.viz.table(rows, display=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
