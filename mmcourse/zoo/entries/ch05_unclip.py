"""Chapter 05's ``unclip-shapes``: DALL·E 2's decoder, small (Ramesh et al. 2022, §2.1).

An :class:`~mmcourse.models.unclip.EmbeddingDecoder` (chapter 05's ``UNet2DConditionModel``
reading one ``clip-shapes`` image embedding, also added to its timestep embedding) trained
with L_simple on ``vae-shapes`` latents of seen colour-shape pairs, the embedding dropped
10 % of the time for guidance. The metrics feed it three ways for seen and never-seen pairs:
the prior's image embedding predicted from the caption's text embedding (the same prior as
chapter 05's, retrained here), the caption's text embedding itself (no prior: the modality
gap), and a real scene's image embedding; the zoo's ``shapes-cnn`` reads what it draws.
"""

from __future__ import annotations

from typing import Any

import torch

from ... import diffusion, prior
from ...data import make_shapes
from ...data.vocabulary import HOLDOUT_PAIRS, SEEN_PAIRS, SHAPES
from ...metrics import predict
from ...metrics.image import prompt_accuracy
from ...metrics.stats import Metric
from ...models.unclip import EmbeddingDecoder
from ...models.unet import DenoiserConfig
from ...runtime import RunConfig, seed_everything
from ...train import fit
from ..registry import Metrics, Recipe, ZooEntry, register
from ..store import load
from ._diffusion import schedule, train_denoiser

#: The evaluation report's prompts: 2 per pair, seen and never seen, the recipe's sampling.
REPORT = {"per_pair": 2}


def _assemble(decoder: EmbeddingDecoder, recipe: Recipe, cfg: RunConfig | None = None) -> prior.UnCLIPDecoder:
    return prior.UnCLIPDecoder(decoder, load("vae-shapes", cfg), schedule(recipe))


def train_prior(clip: Any, p: dict[str, Any], cfg: RunConfig | None = None, progress: bool = True
                ) -> prior.EmbeddingPrior:
    """The prior exactly as chapter 05 trains it (seen pairs only)."""
    text, images = prior.clip_pairs(clip, make_shapes(p["n_train"], split="train", seed=p["data_seed"]))
    torch.manual_seed(p["seed"])
    model = prior.EmbeddingPrior(text.shape[1])
    g = torch.Generator().manual_seed(p["seed"])

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(0, len(text), (p["batch_size"],), generator=g)
        return text[i], images[i]

    fit(model, batch, loss_fn=prior.prior_loss, steps=p["steps"], lr=p["lr"], cfg=cfg, desc="prior", progress=progress)
    return model.cpu().eval()


def _conditions(clip: Any, emb_prior: prior.EmbeddingPrior, pairs: tuple[tuple[str, str], ...], split: str,
                e: dict[str, Any]) -> dict[str, torch.Tensor]:
    """(N, D) embeddings for each pair repeated ``per_pair`` times, three ways."""
    prompts, _, _ = diffusion.shape_prompts(list(pairs), e["per_pair"])
    reference = make_shapes(len(pairs) * 40, split="holdout" if split == "unseen" else "train", seed=e["real_seed"])
    first = {}
    for i in range(len(reference)):
        o = reference.objects(i)[0]
        first.setdefault((o.color, o.shape), i)
    _, real = prior.clip_pairs(clip, reference)
    with torch.no_grad():
        caption = clip.encode_text(prompts).cpu()
        return {"prior": emb_prior(caption), "caption": caption,
                "real": real[[first[p] for p in pairs for _ in range(e["per_pair"])]]}


def _train(recipe: Recipe, *, cfg: RunConfig | None, progress: bool) -> tuple[EmbeddingDecoder, Metrics]:
    d, t = recipe["data"], recipe["train"]
    clip, vae = load("clip-shapes"), load("vae-shapes")
    # 1. seen pairs only: latents to denoise, and the image embedding each is drawn from
    train = make_shapes(d["n_train"], split="train", seed=d["train_seed"])
    latents = diffusion.encode_images(vae, train.images)  # (N, 4, 8, 8)
    _, image_embeds = prior.clip_pairs(clip, train)  # (N, D), unit length
    seed_everything(t["seed"])
    decoder = EmbeddingDecoder(DenoiserConfig(**recipe["model"]))
    uncond = torch.zeros(1, 1, image_embeds.shape[1])  # the dropped condition: a zero embedding
    # 2. L_simple with condition dropout, one conditioning token per image
    train_denoiser(decoder, schedule(recipe), latents, image_embeds[:, None, :], uncond, train=t, cfg=cfg,
                   progress=progress, desc="unclip-shapes")
    return decoder.cpu().eval(), {}


def _evaluate(decoder: EmbeddingDecoder, recipe: Recipe) -> Metrics:
    e, clip, judge = recipe["eval"], load("clip-shapes"), load("shapes-cnn")
    emb_prior = train_prior(clip, recipe["prior"], progress=False)
    model, out = _assemble(decoder, recipe), {}
    for split, pairs in (("seen", SEEN_PAIRS), ("unseen", HOLDOUT_PAIRS)):
        _, colors, shapes = diffusion.shape_prompts(list(pairs), e["per_pair"])
        for name, embeds in _conditions(clip, emb_prior, pairs, split, e).items():
            images = model.draw(embeds, steps=e["steps"], guidance=e["guidance"], seed=e["seed"])
            with torch.no_grad():
                scores = prompt_accuracy(judge(images).argmax(1), colors, shapes)
            out.update({f"{split}_{name}_{k}": round(v, 4) for k, v in scores.items()})
    return out


def _score(model: prior.UnCLIPDecoder, recipe: Recipe) -> dict[str, Metric]:
    e, clip, judge = recipe["eval"], load("clip-shapes"), load("shapes-cnn")
    emb_prior = train_prior(clip, recipe["prior"], progress=False)
    prompts, colors, shapes = diffusion.shape_prompts([*SEEN_PAIRS, *HOLDOUT_PAIRS], REPORT["per_pair"])
    with torch.no_grad():
        caption = clip.encode_text(prompts).cpu()
        conditions = {"prior": emb_prior(caption), "caption embedding": caption}
    out = {}
    for name, embeds in conditions.items():
        images = model.draw(embeds, steps=e["steps"], guidance=e["guidance"], seed=e["seed"])
        right = predict(judge, images).argmax(1) == colors * len(SHAPES) + shapes
        out[f"prompt accuracy, {name}"] = Metric(right.numpy())
    return out


def _probe_inputs() -> dict[str, Any]:
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        embeds = load("clip-shapes").encode_image(make_shapes(2, seed=1234).images)[:, None, :]  # (2, 1, 64)
    return {"latents": torch.randn(2, 4, 8, 8, generator=g), "timesteps": torch.tensor([10, 500]), "embeds": embeds}


def _config_dict(m: EmbeddingDecoder) -> dict[str, Any]:
    return {**DenoiserConfig.from_model(m.unet).to_dict(), "scale": m.scale}


register(ZooEntry(
    name="unclip-shapes",
    chapter="05",
    description="DALL-E 2's decoder, small: UNet2DConditionModel on vae-shapes latents reading one clip-shapes "
                "image embedding (a token, and added to the timestep embedding); seen pairs only",
    recipe={
        "data": {"n_train": 4000, "train_seed": 0},
        "schedule": {"kind": "linear", "timesteps": 1000},
        "model": {"in_channels": 4, "sample_size": 8, "block_out_channels": [32, 32], "cross_attention_dim": 64},
        "train": {"steps": 5000, "batch_size": 128, "lr": 1e-3, "warmup": 50, "p_uncond": 0.1, "seed": 0},
        "prior": {"n_train": 4000, "data_seed": 7, "steps": 300, "batch_size": 128, "lr": 1e-3, "seed": 0},
        "eval": {"per_pair": 8, "steps": 25, "guidance": 2.0, "seed": 0, "real_seed": 99},
    },
    tolerance={"*": 0.06},  # sampling is chaotic: a few samples of 48-192 may differ elsewhere
    module=__name__,
    build=lambda c: EmbeddingDecoder(DenoiserConfig(**{k: v for k, v in c.items() if k != "scale"}), scale=c["scale"]),
    config_dict=_config_dict,
    trainer=_train,
    evaluator=_evaluate,
    assembler=_assemble,
    scorer=_score,
    probe_inputs=_probe_inputs,
    probe_outputs=lambda decoder, x: {"eps": decoder(x["latents"], x["timesteps"], x["embeds"]).sample},
    # past the 50 warm-up steps; the prior's 300 steps too; one sample per pair, short sampling
    replay={"data.n_train": 1000, "train.steps": 51, "prior.n_train": 500, "prior.steps": 20, "eval.per_pair": 1,
            "eval.steps": 5},
    uses=("clip-shapes", "vae-shapes", "shapes-cnn"),
))
