"""Chapter 06's ``unified-shapes``: one decoder that draws, captions and answers, on one vocabulary.

A ``LlamaForCausalLM`` over text ids, ``<boi>``/``<eoi>`` and the 128 codes of ``vq-shapes``,
trained on one stream mixing text -> image, image -> caption and image + question -> answer
(captions dropped 10 % of the time in text -> image, for guidance). Training never sees the
six held-out colour-shape pairs. The recipe also trains the seed's *staged* schedule for the
same total steps and records its scores beside the joint model's (whose weights are kept).
"""

from __future__ import annotations

from typing import Any

from ... import unified
from ...data import make_qa, make_shapes
from ...data.vocabulary import COLORS, HOLDOUT_PAIRS, SHAPES
from ...models.unified import UnifiedConfig, build_unified
from ...models.vq import image_to_codes
from ...runtime import RunConfig, seed_everything
from ...sequences import TaskMix, unified_data, unified_loss
from ...tokens import MultimodalVocabulary, unified_text_tokenizer
from ...train import fit
from ..registry import ZooEntry, register
from ..store import load

SEEN_PAIRS = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in HOLDOUT_PAIRS]


def vocabulary(vq: Any) -> MultimodalVocabulary:
    """The unified vocabulary over ``vq``'s codebook (64 codes per 32x32 image)."""
    grid = vq.config.sample_size // 2 ** (len(vq.config.block_out_channels) - 1)
    return MultimodalVocabulary(unified_text_tokenizer(), vq.config.num_vq_embeddings, grid * grid)


def _fit_stages(model: Any, vocab: MultimodalVocabulary, data: Any, stages: list[dict[str, Any]], t: dict[str, Any],
                *, cfg: RunConfig | None, progress: bool) -> None:
    for k, stage in enumerate(stages):
        mix = TaskMix(vocab, data, stage["weights"], batch_size=t["batch_size"], p_uncond=t["p_uncond"],
                      seed=t["seed"] + k)
        fit(model, mix, loss_fn=unified_loss, steps=stage["steps"], lr=t["lr"], warmup=t["warmup"],
            schedule="cosine", cfg=cfg, progress=progress, desc=f"unified-shapes {stage['name']}")
    model.cpu().eval()


def _understanding(model: Any, vocab: MultimodalVocabulary, vq: Any, e: dict[str, Any]) -> dict[str, float]:
    out = {}
    for split in ("train", "holdout"):  # held-out images of seen pairs; images of never-seen pairs
        scenes = make_shapes(e["n_read"], split=split, seed=e["read_seed"])
        codes = image_to_codes(vq, scenes.images)
        objects = [[(o.color, o.shape) for o in scenes.objects(i)] for i in range(len(scenes))]
        name = "seen" if split == "train" else "unseen"
        out[f"caption_exact_{name}"] = unified.caption_exactness(model, vocab, codes, objects)
        vqa = unified.vqa_scores(model, vocab, codes, make_qa(scenes, seed=e["read_seed"]))
        out.update({f"vqa_{k}_{name}": v for k, v in vqa.items()})
    return out


def _drawing(model: Any, vocab: MultimodalVocabulary, vq: Any, e: dict[str, Any], *, full: bool) -> dict[str, float]:
    judge, out = load("shapes-cnn"), {}
    real = {"seen": make_shapes(len(SEEN_PAIRS) * e["per_pair"], split="train", seed=e["real_seed"]).images,
            "unseen": make_shapes(len(HOLDOUT_PAIRS) * e["per_pair"], split="holdout", seed=e["real_seed"]).images}

    def score(split: str, pairs: list[tuple[str, str]], **sampling: Any) -> dict[str, float]:
        return unified.draw_scores(model, vocab, vq, judge, pairs, per_pair=e["per_pair"], real=real[split],
                                   seed=e["seed"], **sampling)

    splits = (("seen", SEEN_PAIRS), ("unseen", list(HOLDOUT_PAIRS)))
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


def _train_unified(recipe: dict[str, Any], *, cfg: RunConfig | None, progress: bool) -> tuple[Any, dict[str, float]]:
    d, t, e = recipe["data"], recipe["train"], recipe["eval"]
    vq = load("vq-shapes")
    vocab = vocabulary(vq)
    scenes = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    data = unified_data(scenes, image_to_codes(vq, scenes.images), seed=d["train_seed"])
    config = UnifiedConfig(vocab_size=len(vocab), pad_token_id=vocab.pad, bos_token_id=vocab.bos,
                           eos_token_id=vocab.eos, **recipe["model"])
    metrics: dict[str, float] = {}
    for schedule in ("staged", "joint"):  # the kept model (joint) last
        seed_everything(t["seed"])
        model = build_unified(config)
        _fit_stages(model, vocab, data, recipe["schedules"][schedule], t, cfg=cfg, progress=progress)
        scores = {**_understanding(model, vocab, vq, e), **_drawing(model, vocab, vq, e, full=schedule == "joint")}
        metrics.update({(k if schedule == "joint" else f"staged_{k}"): round(v, 4) for k, v in scores.items()})
    return model, metrics


def _config_dict(model: Any) -> dict[str, Any]:
    c = model.config
    return UnifiedConfig(vocab_size=c.vocab_size, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
                         num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
                         max_position_embeddings=c.max_position_embeddings, pad_token_id=c.pad_token_id,
                         bos_token_id=c.bos_token_id, eos_token_id=c.eos_token_id).to_dict()


ALL_TASKS = {"draw": 2.0, "caption": 1.0, "vqa": 1.0}
GUIDANCE, SAMPLING = [0, 1, 2, 4, 8], [[0.5, None], [1.0, None], [1.5, None], [1.0, 4], [1.0, 16]]
#: Fréchet distances move by a few units between retrainings; every other metric is a fraction.
FRECHET = {k: 5.0 for k in [*(f"draw_{s}_frechet_w{w}" for s in ("seen", "unseen") for w in GUIDANCE),
                              *(f"draw_{s}_frechet_w{w}_plausible" for s in ("seen", "unseen") for w in GUIDANCE[1:]),
                              *(f"staged_draw_{s}_frechet_w0" for s in ("seen", "unseen")),
                              *(f"sample_t{t:g}_k{k or 0}_frechet" for t, k in SAMPLING)]}
register(ZooEntry(
    name="unified-shapes",
    description="LlamaForCausalLM over text + <boi>/<eoi> + vq-shapes codes: draws, captions and answers",
    chapter="06",
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
                 "guidance": GUIDANCE, "plausibility": 0.1, "sampling": SAMPLING},
    },
    build=lambda c: build_unified(UnifiedConfig(**c)),
    config_dict=_config_dict,
    run=_train_unified,
    tolerance={"*": 0.06, **FRECHET},
    module=__name__,
    uses=("vq-shapes", "shapes-cnn"),
))
