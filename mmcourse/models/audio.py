"""An audio tower for log-mel features and CLAP: chapter 02's CLIP with ears.

CLAP (Wu et al., 2023, "Large-scale Contrastive Language-Audio Pretraining", LAION)
is CLIP's recipe with the image encoder swapped for an audio encoder: the same two
projections, the same learned temperature, the same symmetric InfoNCE. So :class:`CLAP`
*is* a :class:`~mmcourse.models.clip.CLIP` whose vision tower reads spectrograms, and
chapter 02's ``contrastive_loss`` and zero-shot helpers work on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Bool, contract
from .clip import CLIP, CLIPConfig, TextTransformer

#: How the text tower summarises a caption: at its end-of-text token (chapter 02's CLIP), as
#: the mean over its tokens, or as a bag of words (which words occur, not their order).
TextTower = Literal["eos", "mean", "bag"]


@dataclass
class AudioCNNConfig:
    n_mels: int = 80
    frames: int = 100  # 1 s at Whisper's 100 frames a second
    channels: tuple[int, ...] = (16, 32, 64)
    width: int = 128  # output features
    time_bins: int = 4  # the time axis is pooled into this many stretches (start ... end)

    def __post_init__(self) -> None:
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be positive ints; got {self.channels!r}")
        for name in ("n_mels", "frames", "width", "time_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")


class AudioCNN(nn.Module):
    """(B, mels, frames) log-mel -> (B, width). Strided 3x3 convolutions treat the
    spectrogram as a one-channel image; max-pooling over frequency and into a few
    stretches of time keeps *what* was heard and roughly *when*."""

    def __init__(self, config: AudioCNNConfig) -> None:
        super().__init__()
        self.config = c = config
        layers, in_ch = [], 1
        for out_ch in c.channels:  # each halves frequency and time
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), nn.BatchNorm2d(out_ch), nn.GELU()]
            in_ch = out_ch
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Linear(c.channels[-1] * c.time_bins, c.width)
        self.width = c.width

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        c = self.config
        if features.dim() != 3 or features.shape[1:] != (c.n_mels, c.frames):
            raise ValueError(f"features must have shape (batch, {c.n_mels}, {c.frames}) log-mel; "
                             f"got {tuple(features.shape)}")
        x = self.convs(features[:, None])  # (B, C, mels', frames')
        x = F.adaptive_max_pool1d(x.amax(2), c.time_bins)  # strongest response per channel and stretch: (B, C, bins)
        return self.proj(x.flatten(1))  # (B, width)


class MeanPooledText(TextTransformer):
    """Chapter 02's causal text transformer, summarised by the mean of its outputs over the
    caption (up to and including the end-of-text token) instead of at that token alone."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T = tokens.shape
        causal = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()
        h = self.final_layer_norm(self.encoder(self.embeddings(tokens), causal))  # (B, T, D)
        eos = (tokens == self.config.eos_token_id).int().argmax(dim=-1)  # (B,)
        keep = (torch.arange(T, device=tokens.device)[None] <= eos[:, None]).to(h.dtype)[..., None]  # (B, T, 1)
        return (h * keep).sum(1) / keep.sum(1)  # (B, D)


class BagOfWordsText(nn.Module):
    """A text tower blind to word order: the mean of the caption's token embeddings (padding
    left out), then a small MLP. It knows *which* words a caption has, not where they are."""

    def __init__(self, config: CLIPConfig, pad_id: int = 0) -> None:
        super().__init__()
        width = config.text_width
        self.pad_id = pad_id
        self.token_embedding = nn.Embedding(config.vocab_size, width)
        self.mlp = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        keep = (tokens != self.pad_id).float()[..., None]  # (B, T, 1)
        words = (self.token_embedding(tokens) * keep).sum(1) / keep.sum(1).clamp(min=1)  # (B, D)
        return self.mlp(words)


class CLAP(CLIP):
    """CLIP with an :class:`AudioCNN` in the image tower's place, and a choice of how the
    text tower summarises a caption (:data:`TextTower`)."""

    def __init__(self, config: CLIPConfig, audio_model: AudioCNN, text_tower: TextTower = "eos") -> None:
        if not isinstance(audio_model, AudioCNN):
            raise TypeError(f"audio_model must be an AudioCNN; got {type(audio_model).__name__}")
        if audio_model.width != config.vision_width:
            raise ValueError(f"config.vision_width={config.vision_width} must equal the audio tower's "
                             f"width={audio_model.width}")
        if text_tower not in get_args(TextTower):
            raise ValueError(f"text_tower must be one of {get_args(TextTower)}; got {text_tower!r}")
        super().__init__(config, vision_model=audio_model)
        self.text_tower = text_tower
        if text_tower == "mean":
            self.text_model = MeanPooledText(config)
        elif text_tower == "bag":
            self.text_model = BagOfWordsText(config)

    @contract(normalize=Bool())
    def encode_audio(self, features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """(B, mels, frames) log-mel -> (B, embed_dim)."""
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"features must be a (batch, mels, frames) tensor; got {type(features).__name__}")
        z = self.visual_projection(self.vision_model(features))
        return F.normalize(z, dim=-1) if normalize else z

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """The CLIP name for :meth:`encode_audio`, so CLIP's loss and zero-shot code apply."""
        return self.encode_audio(images, normalize)
