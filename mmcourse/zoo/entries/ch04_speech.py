"""Chapter 04's speech zoo entries: ``whisper-digits`` and its control run without SpecAugment."""

from __future__ import annotations

from typing import Any

from torch import nn

from ... import asr
from ...data.spoken_digits import DIGITS, load_spoken_digits
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register


# -- whisper-digits ---------------------------------------------------------------------
def _build_whisper(c: dict[str, Any]) -> nn.Module:
    return asr.tiny_whisper(asr.WordTokenizer(c["words"]), **c["model"])


def _whisper_config(model: nn.Module) -> dict[str, Any]:
    cfg = model.config
    return {"words": model.tokenizer.words[len(asr.SPECIAL_TOKENS):],
            "model": {"d_model": cfg.d_model, "layers": cfg.encoder_layers, "heads": cfg.encoder_attention_heads,
                      "seconds": cfg.max_source_positions * 2 / 100,
                      "max_words": cfg.max_target_positions - len(model.tokenizer.prompt) - 2}}


def _train_whisper(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                   ) -> tuple[nn.Module, dict[str, float]]:
    m, t = recipe["model"], recipe["train"]
    train_set, held = load_spoken_digits("train"), load_spoken_digits("heldout")
    seed_everything(t["seed"])
    model = asr.tiny_whisper(asr.WordTokenizer(DIGITS), **m)
    batches = asr.SpeechBatches(train_set.waves, train_set.texts, model.tokenizer, batch_size=t["batch_size"],
                                seconds=m["seconds"], speeds=t["speeds"], spec_augment=t["spec_augment"],
                                seed=t["seed"])
    fit(model, batches, loss_fn=asr.asr_loss, steps=t["steps"], lr=t["lr"], warmup=t["warmup"], schedule="cosine",
        weight_decay=t["weight_decay"], cfg=cfg, desc="whisper-digits", progress=progress)
    model.cpu().eval()
    return model, {"heldout_voice_wer": round(asr.corpus_wer(model, held, m["seconds"]), 4),
                   "train_voice_wer": round(asr.corpus_wer(model, train_set, m["seconds"]), 4)}


WHISPER_RECIPE = {
    "model": {"d_model": 80, "layers": 2, "heads": 4, "seconds": 3.0, "max_words": 6},
    "train": {"steps": 2500, "batch_size": 32, "lr": 2e-3, "warmup": 50, "weight_decay": 0.01,
              "speeds": [0.85, 0.92, 1.0, 1.08, 1.15], "spec_augment": True, "seed": 0},
}

register(ZooEntry(
    name="whisper-digits",
    description="tiny WhisperForConditionalGeneration transcribing spoken digit strings; tested on three "
                "espeak-ng voices never heard in training",
    chapter="04",
    recipe=WHISPER_RECIPE,
    build=_build_whisper,
    config_dict=_whisper_config,
    run=_train_whisper,
    tolerance={"heldout_voice_wer": 0.03, "train_voice_wer": 0.02},
    module=__name__,
))

register(ZooEntry(
    name="whisper-digits-no-specaugment",
    description="whisper-digits' recipe without SpecAugment (same steps and seed): the augmentation's control run",
    chapter="04",
    recipe={"model": WHISPER_RECIPE["model"], "train": {**WHISPER_RECIPE["train"], "spec_augment": False}},
    build=_build_whisper,
    config_dict=_whisper_config,
    run=_train_whisper,
    tolerance={"heldout_voice_wer": 0.03, "train_voice_wer": 0.02},
    module=__name__,
))
