"""Chapter 02's zoo entry: ``clip-shapes``, a tiny CLIP that chapter 03 builds on."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from ... import contrastive, text, zeroshot
from ...data import Batches, make_shapes
from ...models.clip import CLIP, CLIPConfig, CNNTower
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register


def _build_clip(c: dict[str, Any]) -> CLIP:
    model = CLIP(CLIPConfig(**c["clip"]), vision_model=CNNTower(tuple(c["tower_channels"])))
    model.tokenizer = text.TextBatcher(text.WordTokenizer(dict(c["vocab"])), c["clip"]["context_length"])
    return model


def _clip_config_dict(model: CLIP) -> dict[str, Any]:
    return {"clip": asdict(model.config),
            "tower_channels": [m.out_channels for m in model.vision_model.modules() if isinstance(m, torch.nn.Conv2d)],
            "vocab": model.tokenizer.tokenizer.vocab}


def _train_clip_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                       ) -> tuple[torch.nn.Module, dict[str, float]]:
    d, t, m = recipe["data"], recipe["train"], recipe["model"]
    train_set = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    seen = make_shapes(d["n_test"], split="train", seed=d["seen_seed"])
    held = make_shapes(d["n_test"], split="holdout", seed=d["holdout_seed"])
    tok = contrastive.shapes_tokenizer(train_set.captions)
    seed_everything(t["seed"])
    model = contrastive.shapes_clip(tok, embed_dim=m["embed_dim"], tower_channels=tuple(m["tower_channels"]),
                                    context_length=m["context_length"], text_width=m["text_width"],
                                    text_layers=m["text_layers"], text_heads=m["text_heads"])
    tokens = model.tokenizer(train_set.captions)
    fit(model, Batches(train_set.images, tokens, batch_size=t["batch_size"], seed=t["seed"]),
        loss_fn=contrastive.contrastive_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"],
        schedule="cosine", cfg=cfg, desc="clip-shapes", progress=progress)
    model.cpu()
    return model, {
        "zero_shot_seen": round(zeroshot.pair_accuracy(model, seen.images, seen.label("pair")), 4),
        "zero_shot_holdout": round(zeroshot.pair_accuracy(model, held.images, held.label("pair")), 4),
    }


register(ZooEntry(
    name="clip-shapes",
    description="tiny CLIP (SmallCNN image tower, 2-layer text transformer) trained on shapes captions "
                "without the held-out colour-shape pairs",
    chapter="02",
    recipe={
        "data": {"n_train": 30000, "n_test": 1000, "train_seed": 0, "seen_seed": 1, "holdout_seed": 2},
        "model": {"embed_dim": 64, "tower_channels": [16, 32, 64], "context_length": 12, "text_width": 64,
                  "text_layers": 2, "text_heads": 4},
        "train": {"steps": 600, "batch_size": 256, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    build=_build_clip,
    config_dict=_clip_config_dict,
    run=_train_clip_shapes,
    tolerance={"zero_shot_seen": 0.01, "zero_shot_holdout": 0.04},
    module=__name__,
))
