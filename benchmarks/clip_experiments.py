"""The experiments chapter 02 discusses, on the tiny CLIP and shapes, budgeted in steps
(same seed, same numbers on every machine): learnable vs fixed temperature, batch size at
equal compute (the same number of training examples), hard negatives, the spread between
random seeds of one short run, and a few-shot linear probe vs zero-shot on the zoo model.

    .venv/bin/python benchmarks/clip_experiments.py [--steps 650] [--only temperature batch hard seeds probe]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

import mmcourse
from mmcourse import data, text, zoo
from mmcourse.contrastive import contrastive_loss, shapes_clip, shapes_tokenizer
from mmcourse.models.clip import CLIP
from mmcourse.train import fit
from mmcourse.zeroshot import pair_accuracy

CONTEXT = 12


def setup_data():
    train = data.make_shapes(30000, split="train", seed=0)
    seen = data.make_shapes(1000, split="train", seed=1)
    held = data.make_shapes(1000, split="holdout", seed=2)
    return train, seen, held, shapes_tokenizer(train.captions)


def new_model(tok, seed: int) -> CLIP:
    torch.manual_seed(seed)
    return shapes_clip(tok, context_length=CONTEXT)


def evaluate(model, seen, held) -> dict[str, float]:
    return {"seen": pair_accuracy(model, seen.images, seen.label("pair")),
            "held-out": pair_accuracy(model, held.images, held.label("pair"))}


def hard_negative_batches(train, batch_size: int, seed: int):
    """Batches built from pairs of scenes that share a colour but not a shape (or the
    reverse), so each image's most confusable caption is in its own batch."""
    rng = np.random.default_rng(seed)
    colors, shapes = train.colors[:, 0].numpy(), train.shapes[:, 0].numpy()
    by_color = {c: np.nonzero(colors == c)[0] for c in np.unique(colors)}
    by_shape = {s: np.nonzero(shapes == s)[0] for s in np.unique(shapes)}
    while True:
        anchors = rng.integers(0, len(train), batch_size // 2)
        partners = []
        for a in anchors:
            pool = by_color[colors[a]] if rng.random() < 0.5 else by_shape[shapes[a]]
            partners.append(pool[rng.integers(len(pool))])
        idx = np.concatenate([anchors, np.array(partners)])
        yield idx


def train_run(train, tokens, tok, seen, held, *, steps, seed=0, batch_size=64, learn_temp=True,
              fixed_scale=None, hard=False, cfg=None) -> dict[str, float]:
    model = new_model(tok, seed)
    if not learn_temp:
        model.logit_scale.requires_grad_(False)
        if fixed_scale is not None:
            with torch.no_grad():
                model.logit_scale.fill_(float(np.log(fixed_scale)))
    if hard:
        gen = hard_negative_batches(train, batch_size, seed)
        stream = lambda: (lambda i: (train.images[i], tokens[i]))(torch.from_numpy(next(gen)))  # noqa: E731
    else:
        stream = data.Batches(train.images, tokens, batch_size=batch_size, seed=seed)
    h = fit(model, stream, loss_fn=contrastive_loss, steps=steps, lr=2e-3, warmup=20, schedule="cosine", cfg=cfg,
            progress=False)
    return {**evaluate(model, seen, held), "steps": h.steps, "ms / step": round(1000 * h.seconds / h.steps, 1),
            "final temperature": round(1 / model.logit_scale.exp().item(), 4)}


def probe_rows(seen, held) -> list[dict]:
    """Few-shot logistic-regression probes on zoo clip-shapes image embeddings vs zero-shot."""
    model = zoo.load("clip-shapes")
    pool = data.make_shapes(6000, seed=7)  # all 30 pairs, held-out ones included
    with torch.no_grad():
        feats = model.encode_image(pool.images).numpy()
        test_x = model.encode_image(held.images).numpy()
    labels = pool.label("pair").numpy()
    rows = [{"method": "zero-shot (no examples)", "held-out pairs": pair_accuracy(
        model, held.images, held.label("pair"))}]
    rng = np.random.default_rng(0)
    for shots in (1, 4, 16):
        idx = np.concatenate([rng.choice(np.nonzero(labels == c)[0], shots, replace=False) for c in range(30)])
        probe = LogisticRegression(max_iter=2000, C=10.0).fit(feats[idx], labels[idx])
        acc = float((probe.predict(test_x) == held.label("pair").numpy()).mean())
        rows.append({"method": f"linear probe, {shots} examples per class", "held-out pairs": acc})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=650, help="steps of batch 64 (chapter 02's live run)")
    parser.add_argument("--only", nargs="+", default=["temperature", "batch", "hard", "seeds", "probe"])
    args = parser.parse_args()
    cfg = mmcourse.setup("tiny", seed=0)
    train, seen, held, tok = setup_data()
    tokens = text.TextBatcher(tok, CONTEXT)(train.captions)
    n = args.steps
    run = lambda **kw: train_run(train, tokens, tok, seen, held, cfg=cfg, **kw)  # noqa: E731
    if "temperature" in args.only:
        rows = [{"temperature": "learnable, from 0.07", **run(steps=n)},
                {"temperature": "fixed 0.07", **run(steps=n, learn_temp=False)},
                {"temperature": "fixed 1.0", **run(steps=n, learn_temp=False, fixed_scale=1.0)}]
        print(mmcourse.viz.table(rows, display=False), flush=True)
    if "batch" in args.only:  # equal compute: the same number of examples, n x 64
        rows = [{"batch size": b, **run(steps=max(1, n * 64 // b), batch_size=b)} for b in (32, 64, 128, 256, 512)]
        print(mmcourse.viz.table(rows, display=False), flush=True)
    if "hard" in args.only:
        rows = [{"batches": "random", **run(steps=n)}, {"batches": "hard negatives", **run(steps=n, hard=True)}]
        print(mmcourse.viz.table(rows, display=False), flush=True)
    if "seeds" in args.only:
        rows = [{"seed": seed, **run(steps=n, seed=seed)} for seed in (0, 1, 2)]
        print(mmcourse.viz.table(rows, display=False), flush=True)
    if "probe" in args.only:
        print(mmcourse.viz.table(probe_rows(seen, held), display=False), flush=True)


if __name__ == "__main__":
    main()
