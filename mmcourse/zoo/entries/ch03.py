"""Chapter 03's zoo entries: ``lm-shapes`` (the "pretrained LLM") and ``vlm-shapes`` (LLaVA)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from ... import instruct
from ...data import Batches, make_qa, make_shapes
from ...data.instructions import IGNORE_INDEX, shapes_chat_tokenizer, text_conversations
from ...models import CNNConfig, SmallCNN
from ...models.vlm import VLM, PatchFeatureTower, VLMConfig, tiny_llama
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import ZooEntry, register
from ..store import load

_LLAMA_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "max_position_embeddings", "pad_token_id", "bos_token_id", "eos_token_id",
               "tie_word_embeddings")


def _llama_from_config(c: dict[str, Any]) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**c))


def _llama_config(model: torch.nn.Module) -> dict[str, Any]:
    return {k: getattr(model.config, k) for k in _LLAMA_KEYS}


def _train_lm_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                     ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Pretrain a tiny LlamaForCausalLM on shapes text: scenes in words, questions, captions."""
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    tok = shapes_chat_tokenizer()
    corpus = make_shapes(d["n_scenes"], objects=(1, 4), seed=d["seed"])
    texts = text_conversations(corpus, make_qa(corpus, per_image=d["per_image"], seed=d["seed"]))
    enc = tok(texts, padding=True, return_tensors="pt", add_special_tokens=False)
    labels = enc.input_ids.masked_fill(enc.attention_mask == 0, IGNORE_INDEX)
    seed_everything(t["seed"])
    lm = tiny_llama(tok, hidden_size=m["hidden_size"], layers=m["layers"], heads=m["heads"],
                    intermediate_size=m["intermediate_size"])
    fit(lm, Batches(enc.input_ids, enc.attention_mask, labels, batch_size=t["batch_size"], seed=t["seed"]),
        loss_fn=lambda mdl, b: mdl(input_ids=b[0], attention_mask=b[1], labels=b[2]).loss,
        steps=t["steps"], lr=t["lr"], warmup=50, schedule="cosine", cfg=cfg, desc="lm-shapes", progress=progress)
    lm.cpu().eval()
    test = make_shapes(500, objects=(1, 4), seed=d["seed"] + 1)
    acc = instruct.text_vqa_accuracy(lm, tok, test, make_qa(test, seed=d["seed"] + 1))
    return lm, {"text_vqa_accuracy": round(acc, 4)}


def _build_vlm(c: dict[str, Any]) -> VLM:
    """A VLM from a stored config: SmallCNN tower (clip-shapes' shape), projector, Llama."""
    cnn = SmallCNN(CNNConfig(channels=tuple(c["tower_channels"]), num_classes=2))
    tower = PatchFeatureTower(cnn, merge=c["merge"], position=c["position"])
    return VLM(VLMConfig(**c["vlm"]), tower, _llama_from_config(c["llama"]), shapes_chat_tokenizer())


def _vlm_config_dict(model: VLM) -> dict[str, Any]:
    t = model.vision_tower
    return {"vlm": asdict(model.config), "llama": _llama_config(model.language_model),
            "tower_channels": list(t.cnn.config.channels), "merge": t.merge, "position": t.position_scale}


def _train_vlm_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                      ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Stage 1 (projector, captions) then stage 2 (projector + LM, questions), from lm-shapes."""
    d, t = recipe["data"], recipe["train"]
    seed_everything(t["seed"])
    vlm = instruct.new_vlm(load("clip-shapes"), load("lm-shapes"))
    data = instruct.shapes_instructions(vlm.vision_tower, n_train=d["n_train"], seed=d["seed"])
    instruct.train_stage(vlm, data, stage=1, steps=t["stage1_steps"], lr=t["stage1_lr"], cfg=cfg,
                         progress=progress, seed=t["seed"])
    vlm.cpu()
    after1 = instruct.evaluate_vqa(vlm, data)["all"]

    def eval_fn(model: VLM) -> dict[str, float]:  # the learning curve, on 400 test questions
        return {"vqa": instruct.evaluate_vqa(model, data, data.test_qas[:400])["all"]}

    history = instruct.train_stage(vlm, data, stage=2, steps=t["stage2_steps"], lr=t["stage2_lr"], cfg=cfg,
                                   progress=progress, seed=t["seed"], eval_fn=eval_fn, eval_every=1000)
    curve = {f"vqa_at_step_{e['step']}": round(e["vqa"], 4) for e in history.evals}
    vlm.cpu().eval()
    metrics = {f"vqa_{k}": round(v, 4) for k, v in instruct.evaluate_vqa(vlm, data).items()}
    metrics["vqa_after_stage1"] = round(after1, 4)
    metrics.update(curve)
    metrics["caption_accuracy"] = round(instruct.caption_accuracy(vlm, data), 4)
    return vlm, metrics


register(ZooEntry(
    name="lm-shapes",
    description="tiny LlamaForCausalLM pretrained on shapes text: scenes described in words, questions, "
                "captions (the 'pretrained LLM' of chapter 03)",
    chapter="03",
    recipe={
        "data": {"n_scenes": 8000, "per_image": 3, "seed": 12},
        "model": {"hidden_size": 64, "layers": 2, "heads": 4, "intermediate_size": 128},
        "train": {"steps": 3000, "batch_size": 64, "lr": 1e-3, "seed": 0},
    },
    build=lambda c: _llama_from_config(c["llama"]),
    config_dict=lambda m: {"llama": _llama_config(m)},
    run=_train_lm_shapes,
    tolerance={"text_vqa_accuracy": 0.06},
    module=__name__,
))
register(ZooEntry(
    name="vlm-shapes",
    description="tiny LLaVA: frozen clip-shapes tower (4 merged patch tokens), mlp2x_gelu projector, "
                "lm-shapes; stage 1 on captions, stage 2 on colour/shape/count/position/yes-no questions",
    chapter="03",
    recipe={
        "data": {"n_train": 6000, "seed": 0},
        "train": {"stage1_steps": 300, "stage1_lr": 3e-3, "stage2_steps": 12000, "stage2_lr": 1e-3, "seed": 0},
    },
    build=_build_vlm,
    config_dict=_vlm_config_dict,
    run=_train_vlm_shapes,
    tolerance={"vqa_all": 0.03, "vqa_after_stage1": 0.05, "caption_accuracy": 0.06,
               **{f"vqa_{k}": 0.06 for k in ("color", "count", "position", "shape", "yesno")},
               **{f"vqa_at_step_{s}": 0.1 for s in range(1000, 12001, 1000)}},
    module=__name__,
    uses=("clip-shapes", "lm-shapes"),
))
