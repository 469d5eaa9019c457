"""Chapter 06's ``unified-shapes``: one decoder that draws, captions and answers, on one vocabulary.

A ``LlamaForCausalLM`` over text ids, ``<boi>``/``<eoi>`` and the 128 codes of ``vq-shapes``,
trained on one stream mixing text -> image, image -> caption and image + question -> answer
(captions dropped 10 % of the time in text -> image, for guidance). Training never sees the
six held-out colour-shape pairs. The recipe also trains the seed's *staged* schedule for the
same total steps and records its scores beside the joint model's (whose weights are kept).
``zoo.pipeline("unified-shapes")`` is the assembled :class:`~mmcourse.unified.UnifiedGPT`.
"""

from __future__ import annotations

from typing import Any

import torch

from ... import diffusion, unified
from ...data import make_qa, make_shapes
from ...data.vocabulary import HOLDOUT_PAIRS, SEEN_PAIRS, SHAPES
from ...metrics import predict
from ...metrics.stats import Metric
from ...models.unified import UnifiedConfig, build_unified
from ...models.vq import image_to_codes
from ...runtime import RunConfig, seed_everything
from ...sequences import TaskMix, unified_data, unified_loss
from ...tokens import MultimodalVocabulary
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load

#: The evaluation report's test sets: 4 drawings per seen pair, 16 per never-seen pair; 200 scenes to caption.
REPORT = {"per_pair": {"seen": 4, "unseen": 16}, "n_read": 200, "read_seed": 7}


def _assemble(model: Any, recipe: Recipe, cfg: RunConfig | None = None) -> unified.UnifiedGPT:
    vq = load("vq-shapes", cfg)
    return unified.UnifiedGPT(model, unified.vocabulary_for(vq), vq)


def _fit_stages(model: Any, vocab: MultimodalVocabulary, data: Any, stages: list[dict[str, Any]], t: dict[str, Any],
                *, cfg: RunConfig | None, progress: bool) -> None:
    for k, stage in enumerate(stages):
        mix = TaskMix(vocab, data, stage["weights"], batch_size=t["batch_size"], p_uncond=t["p_uncond"],
                      seed=t["seed"] + k)
        fit(model, mix, loss_fn=unified_loss, steps=stage["steps"], lr=t["lr"], warmup=t["warmup"],
            schedule="cosine", cfg=cfg, progress=progress, desc=f"unified-shapes {stage['name']}")
    model.cpu().eval()


def _understanding(gpt: unified.UnifiedGPT, e: dict[str, Any]) -> Metrics:
    out = {}
    for split in ("train", "holdout"):  # held-out images of seen pairs; images of never-seen pairs
        scenes = make_shapes(e["n_read"], split=split, seed=e["read_seed"])
        codes = image_to_codes(gpt.vq, scenes.images)
        objects = [[(o.color, o.shape) for o in scenes.objects(i)] for i in range(len(scenes))]
        name = "seen" if split == "train" else "unseen"
        out[f"caption_exact_{name}"] = unified.caption_exactness(gpt.model, gpt.vocab, codes, objects)
        vqa = unified.vqa_scores(gpt.model, gpt.vocab, codes, make_qa(scenes, seed=e["read_seed"]))
        out.update({f"vqa_{k}_{name}": v for k, v in vqa.items()})
    return out


def _drawing(gpt: unified.UnifiedGPT, e: dict[str, Any], *, full: bool) -> Metrics:
    judge, out = load("shapes-cnn"), {}
    real = {"seen": make_shapes(len(SEEN_PAIRS) * e["per_pair"], split="train", seed=e["real_seed"]).images,
            "unseen": make_shapes(len(HOLDOUT_PAIRS) * e["per_pair"], split="holdout", seed=e["real_seed"]).images}

    def score(split: str, pairs: tuple[tuple[str, str], ...], **sampling: Any) -> Metrics:
        return unified.draw_scores(gpt.model, gpt.vocab, gpt.vq, judge, list(pairs), per_pair=e["per_pair"],
                                   real=real[split], seed=e["seed"], **sampling)

    splits = (("seen", SEEN_PAIRS), ("unseen", HOLDOUT_PAIRS))
    for w in e["guidance"] if full else [0]:  # the guidance sweep, temperature 1: plain, then plausible ids only
        for split, pairs in splits:
            out.update({f"draw_{split}_{k}_w{w:g}": v for k, v in score(split, pairs, guidance=float(w)).items()})
            if full and w > 0:
                s = score(split, pairs, guidance=float(w), plausibility=e["plausibility"])
                out.update({f"draw_{split}_{k}_w{w:g}_plausible": v for k, v in s.items()})
    for temperature, top_k in e["sampling"] if full else []:  # the sampling table, no guidance
        s = score("seen", SEEN_PAIRS, temperature=temperature, top_k=top_k)
        out.update({f"sample_t{temperature:g}_k{top_k or 0}_{k}": v for k, v in s.items()})
    return out


def _scores(gpt: unified.UnifiedGPT, e: dict[str, Any], *, full: bool) -> Metrics:
    return {k: round(v, 4) for k, v in {**_understanding(gpt, e), **_drawing(gpt, e, full=full)}.items()}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[Any, Metrics]:
    d, t = recipe["data"], recipe["train"]
    vq = load("vq-shapes")
    vocab = unified.vocabulary_for(vq)
    scenes = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    data = unified_data(scenes, image_to_codes(vq, scenes.images), seed=d["train_seed"])
    config = UnifiedConfig(vocab_size=len(vocab), pad_token_id=vocab.pad, bos_token_id=vocab.bos,
                           eos_token_id=vocab.eos, **recipe["model"])
    seed_everything(t["seed"])  # 1. the staged schedule, for the comparison: scored, not kept
    staged = build_unified(config)
    _fit_stages(staged, vocab, data, recipe["schedules"]["staged"], t, cfg=cfg, progress=progress)
    metrics = {f"staged_{k}": v for k, v in _scores(unified.UnifiedGPT(staged, vocab, vq), recipe["eval"],
                                                    full=False).items()}
    seed_everything(t["seed"])  # 2. the joint mix, the same total steps: the kept model
    model = build_unified(config)
    _fit_stages(model, vocab, data, recipe["schedules"]["joint"], t, cfg=cfg, progress=progress)
    return model, metrics


def _evaluate(model: Any, recipe: Recipe) -> Metrics:
    return _scores(_assemble(model, recipe), recipe["eval"], full=True)


def _score(gpt: unified.UnifiedGPT, recipe: Recipe) -> dict[str, Metric]:
    e, judge, out = recipe["eval"], load("shapes-cnn"), {}
    for split, name, pairs in (("train", "seen", SEEN_PAIRS), ("holdout", "unseen", HOLDOUT_PAIRS)):
        prompts, colors, shapes = diffusion.shape_prompts(list(pairs), REPORT["per_pair"][name])
        right = predict(judge, gpt.draw(prompts, seed=e["seed"])).argmax(1) == colors * len(SHAPES) + shapes
        out[f"draws the prompt, {name} pairs"] = Metric(right.numpy())
        scenes = make_shapes(REPORT["n_read"], split=split, seed=REPORT["read_seed"])
        answers = gpt.read(scenes.images, ["describe :"] * len(scenes))
        out[f"caption exact, {name} pairs"] = Metric([unified.names_exactly(a, [(o.color, o.shape) for o in
                                                                                scenes.objects(i)])
                                                      for i, a in enumerate(answers)])
    return out


def _probe_inputs() -> dict[str, Any]:
    vocab = unified.vocabulary_for(load("vq-shapes"))
    g = torch.Generator().manual_seed(1234)
    codes = torch.randint(0, vocab.codebook_size, (vocab.tokens_per_image,), generator=g)
    ids = [vocab.encode(["draw : a red circle", codes]), vocab.encode([codes, "describe : a blue square"])]
    width = max(len(i) for i in ids)
    return {"input_ids": torch.tensor([i + [vocab.pad] * (width - len(i)) for i in ids])}


ALL_TASKS = {"draw": 2.0, "caption": 1.0, "vqa": 1.0}
register(ZooEntry(
    name="unified-shapes",
    chapter="06",
    description="LlamaForCausalLM over text + <boi>/<eoi> + vq-shapes codes: draws, captions and answers",
    recipe={
        "data": {"n_train": 12000, "train_seed": 0},
        "model": {"hidden_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 256,
                  "max_position_embeddings": 96},
        "train": {"batch_size": 32, "lr": 2e-3, "warmup": 200, "p_uncond": 0.1, "seed": 0},
        "schedules": {
            "joint": [{"name": "joint mix", "steps": 7000, "weights": ALL_TASKS}],
            "staged": [{"name": "1 per-modality", "steps": 2000, "weights": {"text": 1.0, "image": 1.0}},
                       {"name": "2 alignment", "steps": 2500, "weights": {"draw": 1.0, "caption": 1.0}},
                       {"name": "3 instruction mix", "steps": 2500, "weights": ALL_TASKS}],
        },
        "eval": {"n_read": 500, "read_seed": 11, "per_pair": 8, "real_seed": 12, "seed": 0,
                 "guidance": [0, 1, 2, 4, 8], "plausibility": 0.1,
                 "sampling": [[0.5, None], [1.0, None], [1.5, None], [1.0, 4], [1.0, 16]]},
    },
    # Fréchet distances move by a few units between retrainings; every other metric is a fraction.
    tolerance={"*frechet*": 5.0, "*": 0.06},
    module=__name__,
    build=lambda c: build_unified(UnifiedConfig(**c)),
    config_dict=lambda m: UnifiedConfig.from_model(m).to_dict(),
    trainer=_train,
    evaluator=_evaluate,
    assembler=_assemble,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=lambda model, x: {"logits": model(input_ids=x["input_ids"]).logits},
    # every stage of both schedules, a few steps each; the tables shrunk to one weight and one sampler
    replay={"data.n_train": 1000, "schedules.joint.0.steps": 12, "schedules.staged.0.steps": 4,
            "schedules.staged.1.steps": 4, "schedules.staged.2.steps": 4, "eval.n_read": 16, "eval.per_pair": 2,
            "eval.guidance": [0, 2], "eval.sampling": [[1.0, 4]]},
    uses=("vq-shapes", "shapes-cnn"),
))
