"""Chapter 03's zoo entries: ``lm-shapes`` (the "pretrained LLM") and ``vlm-shapes`` (LLaVA)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ... import instruct
from ...data import Batches, make_pope, make_qa, make_shapes
from ...data.instructions import (
    IGNORE_INDEX,
    generation_prompts,
    shapes_chat_tokenizer,
    text_conversations,
)
from ...data.words import MULTI_TEMPLATES, SINGLE_TEMPLATES, caption
from ...metrics import vqa
from ...metrics.captioning import bleu_from_statistics, bleu_statistics, cider_d, tokenize
from ...metrics.stats import Metric
from ...models import CNNConfig, SmallCNN
from ...models.vlm import VLM, PatchFeatureTower, VLMConfig, tiny_llama
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load

_LLAMA_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "max_position_embeddings", "pad_token_id", "bos_token_id", "eos_token_id",
               "tie_word_embeddings")
LM_TEST_SCENES = 500  # lm-shapes' text questions are asked about 500 scenes (recipe seed + 1)
#: The evaluation report's test set: shapes_instructions' test scenes and questions (recipe seed),
#: 300 scenes; captions of the first 150; POPE's adversarial negatives.
REPORT = {"n_test": 300, "n_captions": 150, "pope_seed": 0}


def _llama_from_config(c: dict[str, Any]) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**c))


def _llama_config(model: torch.nn.Module) -> dict[str, Any]:
    return {k: getattr(model.config, k) for k in _LLAMA_KEYS}


# -- lm-shapes ----------------------------------------------------------------------------
def _train_lm(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[torch.nn.Module, Metrics]:
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
    return lm.cpu().eval(), {}


def _evaluate_lm(lm: torch.nn.Module, recipe: Recipe) -> Metrics:
    seed = recipe["data"]["seed"] + 1
    test = make_shapes(LM_TEST_SCENES, objects=(1, 4), seed=seed)
    acc = instruct.text_vqa_accuracy(lm, shapes_chat_tokenizer(), test, make_qa(test, seed=seed))
    return {"text_vqa_accuracy": round(acc, 4)}


def _lm_probe_inputs() -> dict[str, Any]:
    return {"texts": ["a red circle on the left . what colour is the circle ?", "two blue squares"]}


def _lm_probe_outputs(lm: torch.nn.Module, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    enc = shapes_chat_tokenizer()(x["texts"], padding=True, return_tensors="pt", add_special_tokens=False)
    return {"input_ids": enc.input_ids, "logits": lm(input_ids=enc.input_ids, attention_mask=enc.attention_mask).logits}


# -- vlm-shapes ---------------------------------------------------------------------------
def _build_vlm(c: dict[str, Any]) -> VLM:
    """A VLM from a stored config: SmallCNN tower (clip-shapes' shape), projector, Llama."""
    cnn = SmallCNN(CNNConfig(channels=tuple(c["tower_channels"]), num_classes=2))
    tower = PatchFeatureTower(cnn, merge=c["merge"], position=c["position"])
    return VLM(VLMConfig(**c["vlm"]), tower, _llama_from_config(c["llama"]), shapes_chat_tokenizer())


def _vlm_config_dict(model: VLM) -> dict[str, Any]:
    t = model.vision_tower
    return {"vlm": asdict(model.config), "llama": _llama_config(model.language_model),
            "tower_channels": list(t.cnn.config.channels), "merge": t.merge, "position": t.position_scale}


def _train_vlm(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[VLM, Metrics]:
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
    metrics = {"vqa_after_stage1": round(after1, 4)}
    metrics.update({f"vqa_at_step_{e['step']}": round(e["vqa"], 4) for e in history.evals})
    return vlm.cpu().eval(), metrics


def _vlm_test(vlm: VLM, recipe: Recipe, n_test: int = 500) -> instruct.ShapesInstructions:
    """The recipe's test scenes and questions (they depend on the seed only, not on the training set)."""
    return instruct.shapes_instructions(vlm.vision_tower, n_train=64, n_test=n_test, seed=recipe["data"]["seed"])


def _evaluate_vlm(vlm: VLM, recipe: Recipe) -> Metrics:
    data = _vlm_test(vlm, recipe)
    metrics = {f"vqa_{k}": round(v, 4) for k, v in instruct.evaluate_vqa(vlm, data).items()}
    metrics["caption_accuracy"] = round(instruct.caption_accuracy(vlm, data), 4)
    return metrics


def _references(objects: list[Any]) -> list[str]:
    templates = SINGLE_TEMPLATES if len(objects) == 1 else MULTI_TEMPLATES
    return [tokenize(caption(objects, t)) for t in range(len(templates))]


def _caption_metrics(captions: list[str], refs: list[list[str]]) -> dict[str, Metric]:
    cands = [tokenize(c) for c in captions]
    stats = bleu_statistics(cands, refs)
    # CIDEr-D's IDF comes from the whole set; the interval resamples the per-caption scores
    return {"BLEU-4": Metric(stats, lambda i: bleu_from_statistics(stats[i])["BLEU-4"]),
            "CIDEr-D": Metric(cider_d(cands, refs))}


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp, fp, fn = (pred * truth).sum(), (pred * (1 - truth)).sum(), ((1 - pred) * truth).sum()
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def _score_vlm(vlm: VLM, recipe: Recipe) -> dict[str, Metric]:
    data = _vlm_test(vlm, recipe, REPORT["n_test"])
    test, qas = data.test, data.test_qas
    preds = vlm.answer(test.images[[q.index for q in qas]], [q.question for q in qas])
    right = np.array([vqa.normalize_answer(p) == vqa.normalize_answer(q.answer) for p, q in zip(preds, qas)], float)
    out = {"VQA exact (all)": Metric(right)}
    for kind in sorted({q.kind for q in qas}):
        out[f"VQA exact ({kind})"] = Metric(right[[q.kind == kind for q in qas]])
    n = REPORT["n_captions"]
    captions, objects = vlm.describe(test.images[:n]), [test.objects(i) for i in range(n)]
    out["caption names the objects"] = Metric([sorted(vqa.caption_objects(c)) == sorted((o.color, o.shape) for o in objs)
                                               for c, objs in zip(captions, objects)])
    out.update(_caption_metrics(captions, [_references(objs) for objs in objects]))
    probes = make_pope(test, negatives="adversarial", seed=REPORT["pope_seed"])
    answers = vlm.answer(test.images[[q.index for q in probes]], [q.question for q in probes])
    said_yes = np.array([vqa.normalize_answer(a) == "yes" for a in answers], float)
    truth = np.array([q.answer == "yes" for q in probes], float)
    out["POPE accuracy"] = Metric(said_yes == truth)
    out["POPE F1"] = Metric(np.arange(len(probes)), lambda i: _f1(said_yes[i], truth[i]))
    out["POPE yes ratio"] = Metric(said_yes, higher_is_better=False)
    return out


def _vlm_probe_inputs() -> dict[str, Any]:
    return {"images": make_shapes(3, objects=(1, 4), seed=1234).images,
            "questions": ["what colour is the circle?", "how many objects are there?", "is there a red square?"]}


def _vlm_probe_outputs(vlm: VLM, x: dict[str, Any]) -> dict[str, torch.Tensor]:
    ids, mask = generation_prompts(vlm.tokenizer, x["questions"])
    return {"input_ids": ids, "logits": vlm(ids, x["images"], attention_mask=mask).logits}


register(ZooEntry(
    name="lm-shapes",
    chapter="03",
    description="tiny LlamaForCausalLM pretrained on shapes text: scenes described in words, questions, "
                "captions (the 'pretrained LLM' of chapter 03)",
    recipe={
        "data": {"n_scenes": 8000, "per_image": 3, "seed": 12},
        "model": {"hidden_size": 64, "layers": 2, "heads": 4, "intermediate_size": 128},
        "train": {"steps": 3000, "batch_size": 64, "lr": 1e-3, "seed": 0},
    },
    tolerance={"text_vqa_accuracy": 0.06},
    module=__name__,
    build=lambda c: _llama_from_config(c["llama"]),
    config_dict=lambda m: {"llama": _llama_config(m)},
    trainer=_train_lm,
    evaluator=_evaluate_lm,
    probe_inputs=_lm_probe_inputs,
    probe_outputs=_lm_probe_outputs,
    replay={"train.steps": 60, "data.n_scenes": 1000},  # past the 50 warm-up steps
))
register(ZooEntry(
    name="vlm-shapes",
    chapter="03",
    description="tiny LLaVA: frozen clip-shapes tower (4 merged patch tokens), mlp2x_gelu projector, "
                "lm-shapes; stage 1 on captions, stage 2 on colour/shape/count/position/yes-no questions",
    recipe={
        "data": {"n_train": 6000, "seed": 0},
        "train": {"stage1_steps": 300, "stage1_lr": 3e-3, "stage2_steps": 12000, "stage2_lr": 1e-3, "seed": 0},
    },
    tolerance={"vqa_all": 0.03, "vqa_after_stage1": 0.05, "caption_accuracy": 0.06, "vqa_at_step_*": 0.1,
               "vqa_*": 0.06},  # the first glob that matches applies
    module=__name__,
    build=_build_vlm,
    config_dict=_vlm_config_dict,
    trainer=_train_vlm,
    evaluator=_evaluate_vlm,
    scorer=_score_vlm,
    probe_inputs=_vlm_probe_inputs,
    probe_outputs=_vlm_probe_outputs,
    replay={"data.n_train": 600, "train.stage1_steps": 10, "train.stage2_steps": 10},  # both stages
    uses=("clip-shapes", "lm-shapes"),
))
