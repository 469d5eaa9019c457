"""Chapter 02's zoo entry: ``clip-shapes``, a tiny CLIP that chapters 03 to 07 build on."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ... import contrastive, text, zeroshot
from ...data import Batches, make_shapes, scene
from ...data.vocabulary import COLORS, PAIR_NAMES, SHAPES
from ...metrics.ranking import average_precision, winoground_scores
from ...metrics.retrieval import retrieval_ranks
from ...metrics.stats import Metric
from ...models.clip import CLIP, CLIPConfig, CNNTower
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register

#: The evaluation report's test sets: zero-shot on 500 scenes per split, retrieval among 200,
#: 60 Winoground pairs (the recipe's seeds).
REPORT = {"n_zero_shot": 500, "n_retrieval": 200, "n_winoground": 60, "winoground_seed": 0}


def _build(c: dict[str, Any]) -> CLIP:
    model = CLIP(CLIPConfig(**c["clip"]), vision_model=CNNTower(tuple(c["tower_channels"])))
    model.tokenizer = text.TextBatcher(text.WordTokenizer(dict(c["vocab"])), c["clip"]["context_length"])
    return model


def _config_dict(model: CLIP) -> dict[str, Any]:
    return {"clip": asdict(model.config),
            "tower_channels": [m.out_channels for m in model.vision_model.modules() if isinstance(m, torch.nn.Conv2d)],
            "vocab": model.tokenizer.tokenizer.vocab}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[CLIP, Metrics]:
    d, t, m = recipe["data"], recipe["train"], recipe["model"]
    train_set = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    tok = contrastive.shapes_tokenizer(train_set.captions)
    seed_everything(t["seed"])
    model = contrastive.shapes_clip(tok, embed_dim=m["embed_dim"], tower_channels=tuple(m["tower_channels"]),
                                    context_length=m["context_length"], text_width=m["text_width"],
                                    text_layers=m["text_layers"], text_heads=m["text_heads"])
    tokens = model.tokenizer(train_set.captions)
    fit(model, Batches(train_set.images, tokens, batch_size=t["batch_size"], seed=t["seed"]),
        loss_fn=contrastive.contrastive_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"],
        schedule="cosine", cfg=cfg, desc="clip-shapes", progress=progress)
    return model.cpu(), {}


def _evaluate(model: CLIP, recipe: Recipe) -> Metrics:
    d = recipe["data"]
    seen = make_shapes(d["n_test"], split="train", seed=d["seen_seed"])
    held = make_shapes(d["n_test"], split="holdout", seed=d["holdout_seed"])
    return {"zero_shot_seen": round(zeroshot.pair_accuracy(model, seen.images, seen.label("pair")), 4),
            "zero_shot_holdout": round(zeroshot.pair_accuracy(model, held.images, held.label("pair")), 4)}


def _winoground(model: CLIP, n: int, seed: int) -> dict[str, np.ndarray]:
    """Two objects, colours swapped: "a red circle and a blue square" vs "a blue circle and a red square"."""
    rng, colors = np.random.default_rng(seed), list(COLORS)
    scores = []
    for _ in range(n):
        (c1, c2), (s1, s2) = rng.choice(colors, 2, replace=False), rng.choice(SHAPES, 2, replace=False)
        images = torch.stack([scene([(c1, s1), (c2, s2)]), scene([(c2, s1), (c1, s2)])])
        captions = [f"a {c1} {s1} and a {c2} {s2}", f"a {c2} {s1} and a {c1} {s2}"]
        with torch.no_grad():
            scores.append(model.encode_text(captions) @ model.encode_image(images).T)  # (2 captions, 2 images)
    return winoground_scores(torch.stack(scores))


def _score(model: CLIP, recipe: Recipe) -> dict[str, Metric]:
    d, out = recipe["data"], {}
    emb = zeroshot.class_embeddings(model, list(PAIR_NAMES), zeroshot.CLIP_PROMPTS)  # as the recipe scores it
    for split, name, seed in (("train", "seen", d["seen_seed"]), ("holdout", "unseen", d["holdout_seed"])):
        test = make_shapes(REPORT["n_zero_shot"], split=split, seed=seed)
        pred = zeroshot.classify(model, test.images, emb).argmax(1)
        out[f"zero-shot {name} pairs"] = Metric((pred == test.label("pair")).numpy())
    test = make_shapes(REPORT["n_retrieval"], split="train", seed=d["seen_seed"])
    pairs = test.label("pair")
    relevant = pairs[:, None] == pairs[None, :]  # any caption of the same colour-shape pair is right
    with torch.no_grad():
        sim = model.encode_image(test.images) @ model.encode_text(test.captions).T  # (images, captions)
    for direction, s in (("image→text", sim), ("text→image", sim.T)):
        out[f"R@1 {direction}"] = Metric((retrieval_ranks(s, relevant) == 1).numpy())  # ties count against
        out[f"mAP {direction}"] = Metric(average_precision(s, relevant))
    for kind, values in _winoground(model, REPORT["n_winoground"], REPORT["winoground_seed"]).items():
        out[f"Winoground {kind}"] = Metric(values)
    return out


def _probe_inputs() -> dict[str, Any]:
    scenes = make_shapes(6, split="all", seed=1234)
    return {"images": scenes.images, "captions": [*scenes.captions, "a photo of a red circle", "an unknown word"]}


def _probe_outputs(model: CLIP, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {"image_embeds": model.encode_image(x["images"]), "text_embeds": model.encode_text(x["captions"]),
            "token_ids": model.tokenizer(x["captions"])}


register(ZooEntry(
    name="clip-shapes",
    chapter="02",
    description="tiny CLIP (SmallCNN image tower, 2-layer text transformer) trained on shapes captions "
                "without the held-out colour-shape pairs",
    recipe={
        "data": {"n_train": 30000, "n_test": 1000, "train_seed": 0, "seen_seed": 1, "holdout_seed": 2},
        "model": {"embed_dim": 64, "tower_channels": [16, 32, 64], "context_length": 12, "text_width": 64,
                  "text_layers": 2, "text_heads": 4},
        "train": {"steps": 600, "batch_size": 256, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    tolerance={"zero_shot_seen": 0.01, "zero_shot_holdout": 0.04},
    module=__name__,
    build=_build,
    config_dict=_config_dict,
    trainer=_train,
    evaluator=_evaluate,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=_probe_outputs,
    replay={"train.steps": 25, "data.n_test": 200},  # past the 20 warm-up steps
))
