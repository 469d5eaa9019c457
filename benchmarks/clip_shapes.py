"""Tiny CLIP on shapes: zero-shot accuracy on seen and held-out colour-shape pairs.

    .venv/bin/python benchmarks/clip_shapes.py [--steps 600] [--seeds 0 1 2] [--configs cnn-bs128 cnn-bs256 vit-bs256]

Each run trains for ``--steps`` optimiser steps (same seed, same numbers on every machine;
the time per step is reported beside) on 30,000 single-object scenes whose
colour-shape pair is never one of ``HOLDOUT_PAIRS``, then classifies 1,000 seen-pair and
1,000 held-out-pair scenes among all 30 pairs with an ensemble of 5 prompt templates.
Prints one row per configuration: the per-seed accuracies and their medians.
"""

from __future__ import annotations

import argparse
import statistics

import torch

import mmcourse
from mmcourse import data, text
from mmcourse.contrastive import contrastive_loss
from mmcourse.data import PAIR_NAMES
from mmcourse.models.clip import CLIP, CLIPConfig, CNNTower
from mmcourse.train import fit
from mmcourse.zeroshot import CLIP_PROMPTS, pair_accuracy

CONTEXT = 12
CONFIGS = {
    "cnn-bs128": {"tower": "cnn", "batch_size": 128},
    "cnn-bs256": {"tower": "cnn", "batch_size": 256},
    "vit-bs256": {"tower": "vit", "batch_size": 256},
}


def run(name: str, seed: int, steps: int, cfg) -> tuple[float, float, float]:
    spec = CONFIGS[name]
    train = data.make_shapes(30000, split="train", seed=0)
    seen = data.make_shapes(1000, split="train", seed=1)
    held = data.make_shapes(1000, split="holdout", seed=2)
    tok = text.WordTokenizer.train(train.captions + [p.format(c) for p in CLIP_PROMPTS for c in PAIR_NAMES],
                                   max_vocab=200)
    torch.manual_seed(seed)
    config = CLIPConfig(embed_dim=64, vision_width=64, vision_layers=3, vision_heads=4, patch_size=8,
                        vocab_size=tok.vocab_size, context_length=CONTEXT, text_width=64, text_layers=2,
                        text_heads=4, eos_token_id=tok.vocab[text.EOS])
    model = CLIP(config, vision_model=CNNTower((16, 32, 64)) if spec["tower"] == "cnn" else None)
    model.tokenizer = text.TextBatcher(tok, CONTEXT)
    tokens = model.tokenizer(train.captions)
    h = fit(model, data.Batches(train.images, tokens, batch_size=spec["batch_size"], seed=seed),
            loss_fn=contrastive_loss, steps=steps, lr=2e-3, warmup=20, schedule="cosine", cfg=cfg, progress=False)
    return (pair_accuracy(model, seen.images, seen.label("pair")),
            pair_accuracy(model, held.images, held.label("pair")), 1000 * h.seconds / h.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args()
    cfg = mmcourse.setup("tiny", seed=0)
    rows = []
    for name in args.configs:
        results = [run(name, s, args.steps, cfg) for s in args.seeds]
        rows.append({"config": name, "steps": args.steps,
                     "ms / step": round(statistics.median(ms for _, _, ms in results), 1),
                     "seen per seed": ", ".join(f"{a:.3f}" for a, _, _ in results),
                     "held-out per seed": ", ".join(f"{b:.3f}" for _, b, _ in results),
                     "median seen": statistics.median(a for a, _, _ in results),
                     "median held-out": statistics.median(b for _, b, _ in results)})
        print(rows[-1], flush=True)
    print(mmcourse.viz.table(rows, display=False))


if __name__ == "__main__":
    main()
