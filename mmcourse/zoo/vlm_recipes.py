"""Zoo recipes for chapter 03: the text-pretrained language model and the two-stage VLM."""

from __future__ import annotations

from typing import Any

import torch

from .. import instruct
from ..data import Batches, make_qa, make_shapes
from ..data.instructions import decode_answers, generation_prompts, text_conversations
from ..models.cnn import CNNConfig, SmallCNN
from ..models.vlm import VLM, PatchFeatureTower, VLMConfig, tiny_llama
from ..runtime import RunConfig, seed_everything
from ..train import fit


def _llama_from_config(c: dict[str, Any]) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**c))


def _llama_config(model: torch.nn.Module) -> dict[str, Any]:
    keys = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "pad_token_id", "bos_token_id", "eos_token_id",
            "tie_word_embeddings")
    c = model.config
    return {k: getattr(c, k) for k in keys}


def text_vqa_accuracy(lm: torch.nn.Module, tokenizer: Any, data: Any, qas: list[Any]) -> float:
    """Exact match of a text-only LM answering questions about scenes described in words."""
    from ..data.instructions import scene_words
    from ..vqa import exact_match

    questions = [f"{scene_words(data.objects(q.index))} {q.question}" for q in qas]
    ids, mask = generation_prompts(tokenizer, questions, image=False)
    with torch.no_grad():
        out = lm.eval().generate(input_ids=ids, attention_mask=mask, max_new_tokens=4, do_sample=False,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    preds = decode_answers(tokenizer, out[:, ids.shape[1]:])
    return exact_match(preds, [q.answer for q in qas])


def train_lm_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                    ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Pretrain a tiny LlamaForCausalLM on shapes text: scenes in words, questions, captions."""
    d, m, t = recipe["data"], recipe["model"], recipe["train"]
    tok = instruct.shapes_chat_tokenizer()
    corpus = make_shapes(d["n_scenes"], objects=(1, 4), seed=d["seed"])
    texts = text_conversations(corpus, make_qa(corpus, per_image=d["per_image"], seed=d["seed"]))
    enc = tok(texts, padding=True, return_tensors="pt", add_special_tokens=False)
    labels = enc.input_ids.masked_fill(enc.attention_mask == 0, -100)
    seed_everything(t["seed"])
    lm = tiny_llama(len(tok), hidden_size=m["hidden_size"], layers=m["layers"], heads=m["heads"],
                    intermediate_size=m["intermediate_size"])
    fit(lm, Batches(enc.input_ids, enc.attention_mask, labels, batch_size=t["batch_size"], seed=t["seed"]),
        loss_fn=lambda mdl, b: mdl(input_ids=b[0], attention_mask=b[1], labels=b[2]).loss,
        steps=t["steps"], lr=t["lr"], warmup=50, schedule="cosine", cfg=cfg, desc="lm-shapes", progress=progress)
    lm.cpu().eval()
    test = make_shapes(500, objects=(1, 4), seed=d["seed"] + 1)
    acc = text_vqa_accuracy(lm, tok, test, make_qa(test, seed=d["seed"] + 1))
    return lm, {"text_vqa_accuracy": round(acc, 4)}


def build_vlm(c: dict[str, Any]) -> VLM:
    """A VLM from a stored config: SmallCNN tower (clip-shapes' shape), projector, Llama."""
    cnn = SmallCNN(CNNConfig(channels=tuple(c["tower_channels"]), num_classes=2))
    tower = PatchFeatureTower(cnn, merge=c["merge"], position=c["position"])
    vlm = VLM(VLMConfig(**c["vlm"]), tower, _llama_from_config(c["llama"]))
    vlm.tokenizer = instruct.shapes_chat_tokenizer()  # so that vlm.answer(image, question) works
    return vlm


def vlm_config_dict(model: VLM) -> dict[str, Any]:
    from dataclasses import asdict

    t = model.vision_tower
    return {"vlm": asdict(model.config), "llama": _llama_config(model.language_model),
            "tower_channels": list(t.cnn.config.channels), "merge": t.merge, "position": t.position_scale}


def new_vlm(*, connector: str = "mlp2x_gelu", num_queries: int = 8, lm: torch.nn.Module | None = None,
            position: float = 0.0) -> VLM:
    """The chapter's VLM: the frozen clip-shapes tower (4 merged patch tokens), a fresh
    connector, and the zoo's text-pretrained lm-shapes (a copy) unless ``lm`` is given.

    Used in: chapter 03
    """
    import copy

    from . import load

    clip = load("clip-shapes")
    tower = PatchFeatureTower(clip.vision_model.cnn, position=position)
    lm = lm if lm is not None else copy.deepcopy(load("lm-shapes"))
    tok = instruct.shapes_chat_tokenizer()
    vlm = VLM(VLMConfig(vision_dim=tower.width, image_token_id=tok.convert_tokens_to_ids("<image>"),
                        connector=connector, num_queries=num_queries), tower, lm)
    vlm.tokenizer = tok
    return vlm


def train_vlm_shapes(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool
                     ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Stage 1 (projector, captions) then stage 2 (projector + LM, questions), from lm-shapes."""
    d, t = recipe["data"], recipe["train"]
    seed_everything(t["seed"])
    vlm = new_vlm()
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
    scores = instruct.evaluate_vqa(vlm, data)
    metrics = {f"vqa_{k}": round(v, 4) for k, v in scores.items()}
    metrics["vqa_after_stage1"] = round(after1, 4)
    metrics.update(curve)
    metrics["caption_accuracy"] = round(instruct.caption_accuracy(vlm, data), 4)
    return vlm, metrics
