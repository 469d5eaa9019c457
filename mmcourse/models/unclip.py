"""DALL·E 2's decoder, small: a diffusers UNet that draws from one CLIP *image* embedding.

DALL·E 2 (Ramesh et al., 2022, §2.1) conditions its decoder on a CLIP image embedding two
ways: projected and added to the timestep embedding, and as extra tokens its attention
reads. :class:`EmbeddingDecoder` does both on chapter 05's ``UNet2DConditionModel``:
diffusers' ``class_embed_type="projection"`` adds a linear projection of the embedding to
the timestep embedding, and the embedding is also the one token the cross-attention reads.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..contracts import Float, Instance, Maybe, contract
from .unet import DenoiserConfig, build_denoiser


class EmbeddingDecoder(nn.Module):
    """eps_theta(z_t, t, z_image): ``unet(z_t, t, encoder_hidden_states=s * e, class_labels=s * e[:, 0])``
    for embedding tokens e (B, 1, D).

    CLIP embeddings are unit length, so each of their D components is about 1/sqrt(D); ``scale``
    (default sqrt(D)) brings them to the unit scale of the layer-normed token states a text
    UNet reads. Without it the UNet barely listens to the condition.
    """

    @contract(config=Instance(DenoiserConfig, "a DenoiserConfig with cross_attention_dim = the embedding width"),
              scale=Maybe(Float(min=0, open_min=True)))
    def __init__(self, config: DenoiserConfig, scale: float | None = None) -> None:
        super().__init__()
        if config.cross_attention_dim is None:
            raise ValueError("config.cross_attention_dim must be the embedding width, not None")
        dim = config.cross_attention_dim
        base = build_denoiser(config)  # UNet2DConditionModel
        self.unet = type(base).from_config(base.config, class_embed_type="projection",
                                           projection_class_embeddings_input_dim=dim)
        self.scale = float(scale) if scale is not None else math.sqrt(dim)

    @property
    def config(self) -> Any:
        return self.unet.config

    def forward(self, sample: torch.Tensor, timestep: Any, encoder_hidden_states: torch.Tensor) -> Any:
        tokens = self.scale * encoder_hidden_states  # (B, 1, D): the image embedding as one token
        return self.unet(sample, timestep, encoder_hidden_states=tokens, class_labels=tokens[:, 0])
