"""DALL·E 2's prior, small: from a caption's CLIP text embedding to a CLIP image embedding.

DALL·E 2 (Ramesh et al., 2022, §2.1) generates in two stages: a *prior* P(z_i | y) turns
a caption into a CLIP image embedding, then a decoder P(x | z_i) draws an image from it.
Why not hand the decoder the text embedding itself? In CLIP's space, text and image
embeddings of the same scene sit in two separate cones (the "modality gap", Liang et al.,
2022): matched pairs have a cosine far below 1. The prior bridges the gap.

Here the prior is an MLP with a residual connection regressing the (normalised) image
embedding by cosine loss (DALL·E 2's priors are an autoregressive model and a diffusion
model, 1B parameters each; this is the deterministic core of the idea), trained on
``clip-shapes`` embeddings of the shapes scenes. :func:`draw` is the second stage: the
zoo's ``unclip-shapes`` decoder (:class:`mmcourse.models.unclip.EmbeddingDecoder`) drawing
from one image embedding per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .contracts import Duck, Float, Instance, Int, Tensor, contract
from .data.shapes import ShapesData
from .diffusion import decode_latents, sample
from .metrics.retrieval import rank_summary
from .models.schedulers import NoiseSchedule

_CLIP = Duck(("encode_image", "encode_text"), "a CLIP-style model, e.g. zoo.load('clip-shapes')")


class EmbeddingPrior(nn.Module):
    """z_text (B, D) -> predicted z_image (B, D), unit length: z_text + MLP(z_text), normalised.

    Used in: chapter 05
    """

    @contract(dim=Int(min=1), hidden=Int(min=1))
    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, dim))

    def forward(self, text_embeds: torch.Tensor) -> torch.Tensor:
        return F.normalize(text_embeds + self.mlp(text_embeds), dim=-1)


@contract(prior=Instance(nn.Module, "an EmbeddingPrior"), batch=Instance((tuple, list), "(text_embeds, image_embeds)"))
def prior_loss(prior: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """1 - cos(predicted image embedding, true image embedding), averaged (for ``fit``).

    Used in: chapter 05
    """
    if len(batch) != 2:
        raise ValueError(f"batch must be (text_embeds, image_embeds); got {len(batch)} items")
    text_embeds, image_embeds = batch  # (B, D) each, unit length
    return (1 - (prior(text_embeds) * image_embeds).sum(-1)).mean()


@contract(clip=_CLIP)
@torch.no_grad()
def clip_pairs(clip: nn.Module, data: ShapesData) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit-length CLIP embeddings of ``data``'s captions and images: (N, D) and (N, D).

    Used in: chapter 05
    """
    if not isinstance(data, ShapesData):
        raise TypeError(f"data must be a ShapesData (mmcourse.data.make_shapes); got {type(data).__name__}")
    device = next(clip.parameters()).device
    text = torch.cat([clip.encode_text(data.captions[i:i + 512]) for i in range(0, len(data), 512)])
    images = torch.cat([clip.encode_image(data.images[i:i + 512].to(device)) for i in range(0, len(data), 512)])
    return text.cpu(), images.cpu()


@contract(text_embeds=Tensor(rank=2, kind="float", what="(N, D) caption embeddings"),
          predicted=Tensor(rank=2, kind="float", what="(N, D) predicted image embeddings"),
          image_embeds=Tensor(rank=2, kind="float", what="(N, D) image embeddings"))
def gap_and_retrieval(text_embeds: torch.Tensor, predicted: torch.Tensor, image_embeds: torch.Tensor
                      ) -> list[dict[str, float | str]]:
    """For queries by caption embedding and by the prior's prediction: the mean cosine to the
    matching image's embedding (the modality gap) and caption -> image retrieval (R@1/5/10).

    Used in: chapter 05
    """
    if not text_embeds.shape == predicted.shape == image_embeds.shape:
        raise ValueError(f"text_embeds, predicted and image_embeds must share a shape; got {tuple(text_embeds.shape)}, "
                         f"{tuple(predicted.shape)}, {tuple(image_embeds.shape)}")
    rows = []
    targets = torch.arange(len(image_embeds))
    for name, query in (("caption embedding", text_embeds), ("prior's image embedding", predicted)):
        cos = (query * image_embeds).sum(-1).mean().item()
        rows.append({"query": name, "cosine to its image": cos, **rank_summary(query @ image_embeds.T, targets)})
    return rows


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"),
          image_embeds=Tensor(rank=2, kind="float", what="(N, D) CLIP image embeddings"), steps=Int(min=1),
          guidance=Float(min=0), seed=Int(min=0))
@torch.no_grad()
def draw(decoder: nn.Module, vae: nn.Module, schedule: NoiseSchedule, image_embeds: torch.Tensor, *, steps: int = 25,
         guidance: float = 2.0, seed: int = 0) -> torch.Tensor:
    """DALL·E 2's second stage: images in [0, 1] (N, 3, H, W) drawn by an embedding-conditioned
    decoder (:class:`mmcourse.models.unclip.EmbeddingDecoder`) from one image embedding each,
    with DDIM and classifier-free guidance against a zero embedding, then the VAE's decoder.
    """
    n, dim = image_embeds.shape
    side = decoder.config.sample_size
    if decoder.config.cross_attention_dim != dim:
        raise ValueError(f"image_embeds are {dim}-d but the decoder reads {decoder.config.cross_attention_dim}-d tokens")
    cond, uncond = image_embeds[:, None, :], torch.zeros(1, 1, dim)  # one token each; "no condition" is zero
    z = sample(decoder, schedule, (n, decoder.config.in_channels, side, side), steps=steps, cond=cond, uncond=uncond,
               guidance=guidance, sampler="ddim", generator=torch.Generator().manual_seed(seed))
    return decode_latents(vae, z).cpu()


@dataclass
class UnCLIPDecoder:
    """DALL·E 2's second stage assembled: an embedding-conditioned decoder, the VAE that decodes
    its latents and its noise schedule (``zoo.pipeline("unclip-shapes")``).
    """

    decoder: nn.Module
    vae: nn.Module
    schedule: NoiseSchedule

    def draw(self, image_embeds: torch.Tensor, *, steps: int = 25, guidance: float = 2.0, seed: int = 0) -> torch.Tensor:
        """Images in [0, 1] (N, 3, H, W), one per image embedding: :func:`draw` with these parts."""
        return draw(self.decoder, self.vae, self.schedule, image_embeds, steps=steps, guidance=guidance, seed=seed)
