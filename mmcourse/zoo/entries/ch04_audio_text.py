"""Chapter 04's audio-text zoo entry: ``clap-sounds``, a tiny CLAP."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch import nn

from ... import audiotext, text
from ...contrastive import contrastive_loss
from ...data.sound_scenes import make_sound_captions
from ...models.audio import CLAP, AudioCNN, AudioCNNConfig
from ...models.clip import CLIPConfig
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register


# -- clap-sounds ------------------------------------------------------------------------
def _build_clap(c: dict[str, Any]) -> CLAP:
    model = CLAP(CLIPConfig(**c["clip"]), AudioCNN(AudioCNNConfig(**c["audio"])), text_tower=c.get("text_tower", "eos"))
    model.tokenizer = text.TextBatcher(text.WordTokenizer(dict(c["vocab"])), c["clip"]["context_length"])
    return model


def _clap_config(model: CLAP) -> dict[str, Any]:
    audio = asdict(model.vision_model.config)
    audio["channels"] = list(audio["channels"])
    return {"clip": asdict(model.config), "audio": audio, "text_tower": model.text_tower,
            "vocab": model.tokenizer.tokenizer.vocab}


def _train_clap(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool) -> tuple[nn.Module, dict[str, float]]:
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    train_set = make_sound_captions(d["n_train"], "train", seed=d["train_seed"])
    seen = make_sound_captions(d["n_test"], "train", seed=d["seen_seed"])
    held = make_sound_captions(d["n_test"], "holdout", seed=d["holdout_seed"])
    seed_everything(t["seed"])
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(train_set.captions), **m)
    batches = audiotext.clap_batches(model, train_set.waves, train_set.captions, batch_size=t["batch_size"],
                                     seed=t["seed"])
    fit(model, batches, loss_fn=contrastive_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"], schedule="cosine",
        cfg=cfg, desc="clap-sounds", progress=progress)
    model.cpu().eval()
    return model, audiotext.sound_metrics(model, seen, held)


register(ZooEntry(
    name="clap-sounds",
    description="tiny CLAP (AudioCNN on log-mel, bag-of-words text tower) on generated sounds with "
                "compositional captions, three pitch-contour-texture combinations held out",
    chapter="04",
    recipe={
        "data": {"n_train": 16000, "n_test": 500, "train_seed": 0, "seen_seed": 2, "holdout_seed": 1},
        "model": {"embed_dim": 64, "width": 128, "channels": [16, 32, 64], "context_length": 14, "text_tower": "bag"},
        "train": {"steps": 800, "batch_size": 128, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    build=_build_clap,
    config_dict=_clap_config,
    run=_train_clap,
    tolerance={"zero_shot_seen": 0.02, "zero_shot_holdout": 0.05, "a2t_R@1": 0.03, "a2t_R@5": 0.03,
               "t2a_R@1": 0.03, "t2a_R@5": 0.03},
    module=__name__,
))
