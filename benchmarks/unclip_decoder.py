"""DALL-E 2's whole pipeline, small (Ramesh et al. 2022, section 2): a decoder that draws from a
CLIP *image* embedding, fed three ways: with the prior's prediction from the caption's CLIP
text embedding (the pipeline), with the caption's text embedding itself (no prior: the
modality gap), and with the image embedding of a real scene of the requested pair (the
ceiling). Everything is budgeted in steps with fixed seeds.

The decoder is chapter 05's ``UNet2DConditionModel`` in ``vae-shapes``' latent space, whose
cross-attention reads one token: the ``clip-shapes`` image embedding (condition dropped 10% of
the time, for guidance). It trains on seen colour-shape pairs only; the zoo's ``shapes-cnn``
reads what it draws for seen and never-seen pairs. Prints a Markdown table.

    .venv/bin/python benchmarks/unclip_decoder.py --projection [--steps 1500] [--per-pair 8] [--guidance 2]

About 5 minutes on two CPU cores. Measured (seed 0, ``--projection``, scale 8), pair accuracy on
seen / never-seen pairs: prior 0.411 / 0.396, caption embedding without the prior 0.109 / 0.188,
a real scene's image embedding 0.328 / 0.250. The gap is plain (the decoder fed the caption's
embedding gets colours wrong: 0.297 against 0.703 with the prior), but 1,500 decoder steps
are far from the text-conditioned ``ldm-shapes`` (>= 0.9). Without ``--scale`` (unit-length
embeddings, components ~0.125) every condition stayed near 0.2: the UNet barely read them.
"""

from __future__ import annotations

import argparse

import torch

import mmcourse
from mmcourse import diffusion, prior, viz, zoo
from mmcourse.data import make_shapes
from mmcourse.data.vocabulary import COLORS, HOLDOUT_PAIRS, SHAPES
from mmcourse.metrics.image import prompt_accuracy
from mmcourse.models.schedulers import NoiseSchedule
from mmcourse.models.unet import DenoiserConfig, build_denoiser
from mmcourse.train import fit

SEEN = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in HOLDOUT_PAIRS]


def pair_of(data, i: int) -> tuple[str, str]:
    o = data.objects(i)[0]
    return o.color, o.shape


class EmbeddingConditioned(torch.nn.Module):
    """DALL-E 2's decoder conditioning (Ramesh et al. 2022, section 2.1), on a diffusers UNet: the
    image embedding is projected and added to the timestep embedding (``class_embed_type=
    "projection"``) and is also the one token its cross-attention reads."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        c = DenoiserConfig(in_channels=4, sample_size=8, cross_attention_dim=dim)
        base = build_denoiser(c)
        self.unet = type(base).from_config(base.config, class_embed_type="projection",
                                           projection_class_embeddings_input_dim=dim)

    def forward(self, x, t, encoder_hidden_states):
        return self.unet(x, t, encoder_hidden_states=encoder_hidden_states, class_labels=encoder_hidden_states[:, 0])


def train_decoder(vae, latents: torch.Tensor, image_embeds: torch.Tensor, schedule, args):
    torch.manual_seed(args.seed)
    unet = EmbeddingConditioned(image_embeds.shape[1]) if args.projection else build_denoiser(
        DenoiserConfig(in_channels=4, sample_size=8, cross_attention_dim=image_embeds.shape[1]))
    uncond = torch.zeros(1, 1, image_embeds.shape[1])  # the dropped condition: a zero token
    g = torch.Generator().manual_seed(args.seed)

    def batch():
        i = torch.randint(0, len(latents), (128,), generator=g)
        return latents[i], args.scale * image_embeds[i][:, None, :]  # one conditioning token per image

    fit(unet, batch, loss_fn=lambda m, b: diffusion.denoising_loss(m, schedule, b[0], b[1], uncond, p_uncond=0.1),
        steps=args.steps, lr=1e-3, warmup=50, schedule="cosine", desc="decoder")
    return unet.eval(), uncond


def train_prior(text: torch.Tensor, images: torch.Tensor, args) -> prior.EmbeddingPrior:
    torch.manual_seed(args.seed)
    model = prior.EmbeddingPrior(text.shape[1])
    g = torch.Generator().manual_seed(args.seed)

    def batch():
        i = torch.randint(0, len(text), (128,), generator=g)
        return text[i], images[i]

    fit(model, batch, loss_fn=prior.prior_loss, steps=args.prior_steps, lr=1e-3, desc="prior")
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="decoder steps of batch 128")
    parser.add_argument("--prior-steps", type=int, default=600, help="prior steps of batch 128")
    parser.add_argument("--per-pair", type=int, default=8)
    parser.add_argument("--guidance", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=8.0,
                        help="the unit-length embedding times this (8 = sqrt(64): components of unit scale, like "
                             "the layer-normed token states the text-conditioned UNet reads)")
    parser.add_argument("--projection", action="store_true",
                        help="also add the projected embedding to the timestep embedding (DALL-E 2's decoder)")
    args = parser.parse_args()
    mmcourse.setup("tiny", seed=args.seed)
    clip, vae, judge = zoo.load("clip-shapes"), zoo.load("vae-shapes"), zoo.load("shapes-cnn")
    schedule = NoiseSchedule.create("linear", 1000)
    # 1. training data: seen pairs only; CLIP embeddings of captions and images, VAE latents
    train = make_shapes(4000, split="train", seed=args.seed)
    text_emb, image_emb = prior.clip_pairs(clip, train)  # (4000, D) each, unit length
    latents = diffusion.encode_images(vae, train.images)
    emb_prior = train_prior(text_emb, image_emb, args)
    decoder, uncond = train_decoder(vae, latents, image_emb, schedule, args)
    # 2. one condition per requested pair, three ways
    rows = []
    for split, pairs in (("seen", SEEN), ("unseen", list(HOLDOUT_PAIRS))):
        prompts, colors, shapes = diffusion.shape_prompts(pairs, args.per_pair)
        reference = make_shapes(len(prompts) * 8, split="holdout" if split == "unseen" else "train", seed=99)
        by_pair = {}
        for i in range(len(reference)):
            by_pair.setdefault(pair_of(reference, i), i)
        _, real_emb = prior.clip_pairs(clip, reference)
        with torch.no_grad():
            caption = clip.encode_text(prompts)  # (N, D) unit length
            conditions = {"prior(caption embedding)": emb_prior(caption), "caption embedding (no prior)": caption,
                          "a real scene's image embedding": real_emb[[by_pair[p] for p in pairs
                                                                     for _ in range(args.per_pair)]]}
        for name, cond in conditions.items():
            x = diffusion.sample(decoder, schedule, (len(prompts), 4, 8, 8), steps=25, sampler="ddim",
                                 cond=args.scale * cond[:, None, :], uncond=uncond, guidance=args.guidance,
                                 generator=torch.Generator().manual_seed(args.seed))
            images = diffusion.decode_latents(vae, x)
            with torch.no_grad():
                scores = prompt_accuracy(judge(images).argmax(1), colors, shapes)
            rows.append({"pairs": split, "decoder conditioned on": name, **{k: round(v, 3) for k, v in scores.items()}})
            print(rows[-1], flush=True)
    print(f"\ndecoder {args.steps} steps of 128, prior {args.prior_steps} steps of 128, seed {args.seed}; "
          f"{args.per_pair} DDIM-25 samples per pair at w = {args.guidance:g}\n")
    print(viz.table(rows, display=False))


if __name__ == "__main__":
    main()
