"""Chapter 04's audio-text zoo entry: ``clap-sounds``, a tiny CLAP."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from ... import audiotext, text, zeroshot
from ...audio import log_mel_batch
from ...contrastive import contrastive_loss
from ...data.sound_scenes import SOUND_CLASSES, class_name, make_sound_captions
from ...metrics.stats import Metric
from ...models.audio import CLAP, AudioCNN, AudioCNNConfig
from ...models.clip import CLIPConfig
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register

REPORT = {"n_test": 300}  # the evaluation report's clips per split (the recipe's seeds)


def _build(c: dict[str, Any]) -> CLAP:
    model = CLAP(CLIPConfig(**c["clip"]), AudioCNN(AudioCNNConfig(**c["audio"])), text_tower=c.get("text_tower", "eos"))
    model.tokenizer = text.TextBatcher(text.WordTokenizer(dict(c["vocab"])), c["clip"]["context_length"])
    return model


def _config_dict(model: CLAP) -> dict[str, Any]:
    audio = asdict(model.vision_model.config)
    audio["channels"] = list(audio["channels"])
    return {"clip": asdict(model.config), "audio": audio, "text_tower": model.text_tower,
            "vocab": model.tokenizer.tokenizer.vocab}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[CLAP, Metrics]:
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    train_set = make_sound_captions(d["n_train"], "train", seed=d["train_seed"])
    seed_everything(t["seed"])
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(train_set.captions), **m)
    batches = audiotext.clap_batches(model, train_set.waves, train_set.captions, batch_size=t["batch_size"],
                                     seed=t["seed"])
    fit(model, batches, loss_fn=contrastive_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"], schedule="cosine",
        cfg=cfg, desc="clap-sounds", progress=progress)
    return model.cpu().eval(), {}


def _evaluate(model: CLAP, recipe: Recipe) -> Metrics:
    d = recipe["data"]
    seen = make_sound_captions(d["n_test"], "train", seed=d["seen_seed"])
    held = make_sound_captions(d["n_test"], "holdout", seed=d["holdout_seed"])
    return audiotext.sound_metrics(model, seen, held)


def _score(model: CLAP, recipe: Recipe) -> dict[str, Metric]:
    d, out = recipe["data"], {}
    class_emb = zeroshot.class_embeddings(model, [class_name(s) for s in SOUND_CLASSES], ["{}"])
    for split, name, seed in (("train", "seen", d["seen_seed"]), ("holdout", "unseen", d["holdout_seed"])):
        clips = make_sound_captions(REPORT["n_test"], split, seed=seed)
        with torch.no_grad():
            pred = (model.encode_audio(log_mel_batch(clips.waves)) @ class_emb.T).argmax(1)
        out[f"zero-shot {name} sounds"] = Metric((pred == clips.labels).numpy())
    return out


def _probe_inputs() -> dict[str, Any]:
    clips = make_sound_captions(2, "all", seed=1234)
    return {"waves": clips.waves, "captions": [*clips.captions, "a rising whistle"]}


def _probe_outputs(model: CLAP, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {"audio_embeds": model.encode_audio(log_mel_batch(x["waves"])), "text_embeds": model.encode_text(x["captions"])}


register(ZooEntry(
    name="clap-sounds",
    chapter="04",
    description="tiny CLAP (AudioCNN on log-mel, bag-of-words text tower) on generated sounds with "
                "compositional captions, three pitch-contour-texture combinations held out",
    recipe={
        "data": {"n_train": 16000, "n_test": 500, "train_seed": 0, "seen_seed": 2, "holdout_seed": 1},
        "model": {"embed_dim": 64, "width": 128, "channels": [16, 32, 64], "context_length": 14, "text_tower": "bag"},
        "train": {"steps": 800, "batch_size": 128, "lr": 2e-3, "warmup": 20, "seed": 0},
    },
    tolerance={"zero_shot_seen": 0.02, "zero_shot_holdout": 0.05, "a2t_R@1": 0.03, "a2t_R@5": 0.03,
               "t2a_R@1": 0.03, "t2a_R@5": 0.03},
    module=__name__,
    build=_build,
    config_dict=_config_dict,
    trainer=_train,
    evaluator=_evaluate,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=_probe_outputs,
    replay={"train.steps": 25, "data.n_train": 2000, "data.n_test": 100},  # past the 20 warm-up steps
))
