"""How each zoo entry is trained: data, model config, optimiser settings, metric."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .. import text, zeroshot
from ..data import Batches, make_shapes
from ..data.shapes import COLORS, SHAPES
from ..metrics import accuracy, predict
from ..models import CNNConfig, SmallCNN
from ..models.clip import CLIP, CLIPConfig, CNNTower, clip_loss
from ..runtime import RunConfig, seed_everything
from ..train import fit

PAIR_NAMES = [f"{c} {s}" for c in COLORS for s in SHAPES]
CLIP_PROMPTS = ("a {}", "a photo of a {}", "there is a {}", "a small {}", "a large {}")


@dataclass(frozen=True)
class ZooEntry:
    """A named recipe: ``build(config) -> model`` and ``train(cfg) -> (model, metrics)``."""

    name: str
    description: str
    chapter: str
    recipe: dict[str, Any]
    build: Callable[[dict[str, Any]], torch.nn.Module]
    config_dict: Callable[[torch.nn.Module], dict[str, Any]]
    run: Callable[..., tuple[torch.nn.Module, dict[str, float]]]
    tolerance: dict[str, float]  # allowed |retrained - stored| per metric

    def train(self, *, cfg: RunConfig | None = None, progress: bool = True
              ) -> tuple[torch.nn.Module, dict[str, float]]:
        return self.run(self.recipe, cfg=cfg, progress=progress)


def _train_shapes_cnn(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                      ) -> tuple[torch.nn.Module, dict[str, float]]:
    d, t = recipe["data"], recipe["train"]
    train_set = make_shapes(d["n_train"], seed=d["train_seed"])
    test_set = make_shapes(d["n_test"], seed=d["test_seed"])
    target = d["target"]
    seed_everything(t["seed"])
    channels = tuple(recipe["model"]["channels"])
    model = SmallCNN(CNNConfig(channels=channels, num_classes=len(train_set.class_names(target))))
    batches = Batches(train_set.images, train_set.label(target), batch_size=t["batch_size"], seed=t["seed"])
    fit(model, batches, steps=t["steps"], lr=t["lr"], cfg=cfg, desc="shapes-cnn", progress=progress)
    acc = accuracy(predict(model, test_set.images), test_set.label(target))
    return model, {"test_accuracy": round(acc, 4)}


def _build_clip(c: dict[str, Any]) -> CLIP:
    model = CLIP(CLIPConfig(**c["clip"]), vision_model=CNNTower(tuple(c["tower_channels"])))
    model.tokenizer = text.TextBatcher(text.WordTokenizer(dict(c["vocab"])), c["clip"]["context_length"])
    return model


def _clip_config_dict(model: CLIP) -> dict[str, Any]:
    return {"clip": asdict(model.config), "tower_channels": [m.out_channels for m in model.vision_model.modules()
                                                              if isinstance(m, torch.nn.Conv2d)],
            "vocab": model.tokenizer.tokenizer.vocab}


def shapes_tokenizer(captions: list[str]) -> text.WordTokenizer:
    """A word tokenizer for shapes captions and the zero-shot prompts.

    Used in: chapter 02
    """
    prompts = [p.format(c) for p in CLIP_PROMPTS for c in PAIR_NAMES]
    return text.WordTokenizer.train(list(captions) + prompts, max_vocab=200)


def shapes_clip(tok: text.WordTokenizer, *, embed_dim: int = 64, tower_channels: tuple[int, ...] = (16, 32, 64),
                context_length: int = 12, text_width: int = 64, text_layers: int = 2, text_heads: int = 4) -> CLIP:
    """A fresh tiny CLIP for shapes: SmallCNN image tower, causal text transformer, the
    tokenizer attached so ``encode_text`` takes strings.

    Used in: chapter 02
    """
    config = CLIPConfig(embed_dim=embed_dim, vision_width=tower_channels[-1], vocab_size=tok.vocab_size,
                        context_length=context_length, text_width=text_width, text_layers=text_layers,
                        text_heads=text_heads, eos_token_id=tok.vocab[text.EOS])
    model = CLIP(config, vision_model=CNNTower(tuple(tower_channels)))
    model.tokenizer = text.TextBatcher(tok, context_length)
    return model


def zero_shot_pair_accuracy(model: CLIP, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Zero-shot accuracy over the 30 colour-shape pairs with the prompt ensemble."""
    emb = zeroshot.class_embeddings(model, PAIR_NAMES, CLIP_PROMPTS)
    return (zeroshot.classify(model, images, emb).argmax(1) == labels).float().mean().item()


def _train_clip_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                       ) -> tuple[torch.nn.Module, dict[str, float]]:
    d, t, m = recipe["data"], recipe["train"], recipe["model"]
    train_set = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    seen = make_shapes(d["n_test"], split="train", seed=d["seen_seed"])
    held = make_shapes(d["n_test"], split="holdout", seed=d["holdout_seed"])
    tok = shapes_tokenizer(train_set.captions)
    seed_everything(t["seed"])
    model = shapes_clip(tok, embed_dim=m["embed_dim"], tower_channels=tuple(m["tower_channels"]),
                        context_length=m["context_length"], text_width=m["text_width"],
                        text_layers=m["text_layers"], text_heads=m["text_heads"])
    tokens = model.tokenizer(train_set.captions)
    fit(model, Batches(train_set.images, tokens, batch_size=t["batch_size"], seed=t["seed"]),
        loss_fn=lambda mdl, b: clip_loss(mdl(*b)[0]), steps=t["steps"], lr=t["lr"], warmup=t["warmup"],
        schedule="cosine", cfg=cfg, desc="clip-shapes", progress=progress)
    model.cpu()
    return model, {
        "zero_shot_seen": round(zero_shot_pair_accuracy(model, seen.images, seen.label("pair")), 4),
        "zero_shot_holdout": round(zero_shot_pair_accuracy(model, held.images, held.label("pair")), 4),
    }


ENTRIES: dict[str, ZooEntry] = {
    "shapes-cnn": ZooEntry(
        name="shapes-cnn",
        description="SmallCNN classifying the 30 colour-shape pairs of 32x32 shapes scenes",
        chapter="00",
        recipe={
            "data": {"n_train": 6000, "n_test": 1000, "train_seed": 0, "test_seed": 1, "target": "pair"},
            "model": {"channels": [16, 32, 64]},
            "train": {"steps": 300, "batch_size": 128, "lr": 3e-3, "seed": 0},
        },
        build=lambda c: SmallCNN(CNNConfig.from_dict(c)),
        config_dict=lambda m: m.config.to_dict(),
        run=_train_shapes_cnn,
        tolerance={"test_accuracy": 0.02},
    ),
    "clip-shapes": ZooEntry(
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
    ),
}


from . import vlm_recipes  # noqa: E402  (chapter 03 entries; imports this module's helpers lazily)

ENTRIES["lm-shapes"] = ZooEntry(
    name="lm-shapes",
    description="tiny LlamaForCausalLM pretrained on shapes text: scenes described in words, questions, "
                "captions (the 'pretrained LLM' of chapter 03)",
    chapter="03",
    recipe={
        "data": {"n_scenes": 8000, "per_image": 3, "seed": 12},
        "model": {"hidden_size": 64, "layers": 2, "heads": 4, "intermediate_size": 128},
        "train": {"steps": 3000, "batch_size": 64, "lr": 1e-3, "seed": 0},
    },
    build=lambda c: vlm_recipes._llama_from_config(c["llama"]),
    config_dict=lambda m: {"llama": vlm_recipes._llama_config(m)},
    run=vlm_recipes.train_lm_shapes,
    tolerance={"text_vqa_accuracy": 0.06},
)
ENTRIES["vlm-shapes"] = ZooEntry(
    name="vlm-shapes",
    description="tiny LLaVA: frozen clip-shapes tower (4 merged patch tokens), mlp2x_gelu projector, "
                "lm-shapes; stage 1 on captions, stage 2 on colour/shape/count/position/yes-no questions",
    chapter="03",
    recipe={
        "data": {"n_train": 6000, "seed": 0},
        "train": {"stage1_steps": 300, "stage1_lr": 3e-3, "stage2_steps": 12000, "stage2_lr": 1e-3, "seed": 0},
    },
    build=vlm_recipes.build_vlm,
    config_dict=vlm_recipes.vlm_config_dict,
    run=vlm_recipes.train_vlm_shapes,
    tolerance={"vqa_all": 0.03, "vqa_after_stage1": 0.05, "caption_accuracy": 0.06,
               **{f"vqa_{k}": 0.06 for k in ("color", "count", "position", "shape", "yesno")},
               **{f"vqa_at_step_{s}": 0.1 for s in range(1000, 12001, 1000)}},
)
