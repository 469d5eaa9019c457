"""Chapter 04's speech zoo entries: ``whisper-digits`` and its control run without SpecAugment."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ... import asr
from ...data.spoken_digits import DIGITS, load_spoken_digits
from ...metrics.speech import edit_distance
from ...metrics.stats import Metric
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register


def _build(c: dict[str, Any]) -> nn.Module:
    return asr.tiny_whisper(asr.WordTokenizer(c["words"]), **c["model"])


def _config_dict(model: nn.Module) -> dict[str, Any]:
    cfg = model.config
    return {"words": model.tokenizer.words[len(asr.SPECIAL_TOKENS):],
            "model": {"d_model": cfg.d_model, "layers": cfg.encoder_layers, "heads": cfg.encoder_attention_heads,
                      "seconds": cfg.max_source_positions * 2 / 100,
                      "max_words": cfg.max_target_positions - len(model.tokenizer.prompt) - 2}}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[nn.Module, Metrics]:
    m, t = recipe["model"], recipe["train"]
    train_set = load_spoken_digits("train")
    seed_everything(t["seed"])
    model = asr.tiny_whisper(asr.WordTokenizer(DIGITS), **m)
    batches = asr.SpeechBatches(train_set.waves, train_set.texts, model.tokenizer, batch_size=t["batch_size"],
                                seconds=m["seconds"], speeds=t["speeds"], spec_augment=t["spec_augment"],
                                seed=t["seed"])
    fit(model, batches, loss_fn=asr.asr_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"], schedule="cosine",
        weight_decay=t["weight_decay"], cfg=cfg, desc="whisper-digits", progress=progress)
    return model.cpu().eval(), {}


def _evaluate(model: nn.Module, recipe: Recipe) -> Metrics:
    seconds = recipe["model"]["seconds"]
    return {"heldout_voice_wer": round(asr.corpus_wer(model, load_spoken_digits("heldout"), seconds), 4),
            "train_voice_wer": round(asr.corpus_wer(model, load_spoken_digits("train"), seconds), 4)}


def _score(model: nn.Module, recipe: Recipe) -> dict[str, Metric]:
    held = load_spoken_digits("heldout")
    hyps = asr.transcribe(model, asr.speech_features(held.waves, recipe["model"]["seconds"]))
    errors = np.array([edit_distance(r.split(), h.split()) for r, h in zip(held.texts, hyps)], float)
    words = np.array([len(r.split()) for r in held.texts], float)
    wer = Metric(errors / words, lambda i: float(errors[i].sum() / words[i].sum()), higher_is_better=False)
    return {"WER, unseen voices": wer}


def _probe_inputs() -> dict[str, Any]:
    held = load_spoken_digits("heldout")
    return {"features": asr.speech_features(held.waves[:1], 3.0), "texts": list(held.texts[:1])}


def _probe_outputs(model: nn.Module, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    inputs, _ = asr.pack_transcripts([model.tokenizer.encode(t) for t in x["texts"]], model.tokenizer)
    return {"decoder_input_ids": inputs,
            "logits": model(input_features=x["features"], decoder_input_ids=inputs).logits}


WHISPER_RECIPE = {
    "model": {"d_model": 80, "layers": 2, "heads": 4, "seconds": 3.0, "max_words": 6},
    "train": {"steps": 2500, "batch_size": 32, "lr": 2e-3, "warmup": 50, "weight_decay": 0.01,
              "speeds": [0.85, 0.92, 1.0, 1.08, 1.15], "spec_augment": True, "seed": 0},
}
_COMMON = dict(chapter="04", tolerance={"heldout_voice_wer": 0.03, "train_voice_wer": 0.02}, module=__name__,
               build=_build, config_dict=_config_dict, trainer=_train, evaluator=_evaluate, scorer=_score,
               probe_inputs=_probe_inputs, probe_outputs=_probe_outputs,
               replay={"train.steps": 60})  # past the 50 warm-up steps

register(ZooEntry(
    name="whisper-digits",
    description="tiny WhisperForConditionalGeneration transcribing spoken digit strings; tested on three "
                "espeak-ng voices never heard in training",
    recipe=WHISPER_RECIPE,
    **_COMMON,
))
register(ZooEntry(
    name="whisper-digits-no-specaugment",
    description="whisper-digits' recipe without SpecAugment (same steps and seed): the augmentation's control run",
    recipe={"model": WHISPER_RECIPE["model"], "train": {**WHISPER_RECIPE["train"], "spec_augment": False}},
    **_COMMON,
))
