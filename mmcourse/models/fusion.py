"""Three ways to fuse an image and a caption into one "do they match?" score.

All three share the same image tokenizer (a small conv stem: 4x4 = 16 image tokens) and
text tokenizer (word embeddings + positions); they differ only in *where* the two
streams meet:

* ``early`` -- one transformer over [CLS] + image tokens + text tokens (as ViLT does;
  Kim et al., 2021): every layer can mix the modalities.
* ``mid``   -- each stream gets its own self-attention first, then text tokens
  cross-attend to image tokens (as in Flamingo's or BLIP's cross-attention layers).
* ``late``  -- two separate encoders each squeeze their input into one vector; the
  score is their cosine similarity (a dual encoder, as CLIP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Images, Instance, Int, Tensor, contract
from .cnn import CNNConfig, SmallCNN
from .layers import Attention, Encoder

Fusion = Literal["early", "mid", "late"]
FUSIONS: tuple[str, ...] = get_args(Fusion)


@dataclass(frozen=True)
class FusionConfig:
    """Configuration of :class:`FusionClassifier`.

    Used in: chapter 01
    """

    fusion: Fusion = "early"
    vocab_size: int = 16
    max_len: int = 6
    dim: int = 64
    heads: int = 4
    depth: int = 2

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion={self.fusion!r}: expected one of {FUSIONS}")
        if self.dim % self.heads:
            raise ValueError(f"dim={self.dim} must be divisible by heads={self.heads}")
        for name in ("vocab_size", "max_len", "dim", "heads", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")


class ImageTokenizer(nn.Module):
    """(B, 3, 32, 32) -> (B, 16, D): a conv body's 4x4 feature map as 16 tokens.

    By default the body is three conv-BN-GELU-pool blocks trained from scratch; pass a
    pretrained one (e.g. ``zoo.load("shapes-cnn").body``) to start from features that
    already know colours and shapes -- it is then frozen.
    """

    def __init__(self, dim: int, body: nn.Module | None = None) -> None:
        super().__init__()
        if body is None:  # chapter 00's CNN body, trained from scratch
            body, self.frozen = SmallCNN(CNNConfig()).body, False
        else:
            body.requires_grad_(False)
            self.frozen = True
        self.body = body
        channels = [m.out_channels for m in body.modules() if isinstance(m, nn.Conv2d)][-1]
        self.proj = nn.Linear(channels, dim)
        self.pos = nn.Parameter(torch.randn(1, 16, dim) * 0.5)  # strong enough to tell left from right early

    def train(self, mode: bool = True) -> ImageTokenizer:
        super().train(mode)
        if self.frozen:  # a frozen body keeps its BatchNorm statistics
            self.body.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.body(images)  # (B, C, 4, 4)
        if h.shape[-2:] != (4, 4):
            raise ValueError(f"images must give a 4x4 feature map (32x32 input); got {tuple(h.shape[-2:])}")
        return self.proj(h.flatten(2).transpose(1, 2)) + self.pos  # (B, 16, D)


class TextTokenizer(nn.Module):
    """(B, L) word ids -> (B, L, D) embeddings with learned positions; id 0 is padding."""

    def __init__(self, vocab_size: int, max_len: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embed(tokens) + self.pos[:, : tokens.shape[1]]


class FusionClassifier(nn.Module):
    """``model(images, tokens) -> (B,)`` logits that the caption describes the image.

    Used in: chapter 01
    """

    def __init__(self, config: FusionConfig, image_body: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(config, FusionConfig):
            raise TypeError(f"config must be a FusionConfig; got {type(config).__name__}")
        self.config = c = config
        self.image = ImageTokenizer(c.dim, image_body)
        self.text = TextTokenizer(c.vocab_size, c.max_len, c.dim)
        if c.fusion == "early":
            self.cls = nn.Parameter(torch.zeros(1, 1, c.dim))
            self.type_embed = nn.Parameter(torch.randn(2, c.dim) * 0.02)  # image / text
            self.joint = Encoder(c.dim, c.heads, c.depth, mlp_ratio=2.0)
            self.head = nn.Sequential(nn.LayerNorm(c.dim), nn.Linear(c.dim, 1))
        elif c.fusion == "mid":
            self.image_enc = Encoder(c.dim, c.heads, 1, mlp_ratio=2.0)
            self.text_enc = Encoder(c.dim, c.heads, 1, mlp_ratio=2.0)
            self.cross = Attention(c.dim, c.heads, context_dim=c.dim)
            self.cross_norm = nn.LayerNorm(c.dim)
            self.mixer = Encoder(c.dim, c.heads, max(1, c.depth - 1), mlp_ratio=2.0)
            self.head = nn.Sequential(nn.LayerNorm(c.dim), nn.Linear(c.dim, 1))
        else:
            self.image_enc = Encoder(c.dim, c.heads, c.depth, mlp_ratio=2.0)
            self.text_enc = Encoder(c.dim, c.heads, c.depth, mlp_ratio=2.0)
            self.image_proj = nn.Linear(c.dim, c.dim)
            self.text_proj = nn.Linear(c.dim, c.dim)
            self.logit_scale = nn.Parameter(torch.tensor(10.0).log())
            self.bias = nn.Parameter(torch.tensor(-5.0))

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        img = self.image(images)  # (B, 16, D)
        txt = self.text(tokens)  # (B, L, D)
        pad = tokens == 0  # (B, L) True where padding
        c = self.config
        if c.fusion == "early":
            B = img.shape[0]
            seq = torch.cat([self.cls.expand(B, -1, -1), img + self.type_embed[0], txt + self.type_embed[1]], 1)
            mask = torch.cat([torch.zeros(B, 1 + img.shape[1], dtype=torch.bool, device=pad.device), pad], 1)
            return self.head(self.joint(seq, key_padding=mask)[:, 0]).squeeze(-1)
        if c.fusion == "mid":
            img = self.image_enc(img)
            txt = self.text_enc(txt, key_padding=pad)
            attended, _ = self.cross(self.cross_norm(txt), img)  # text queries, image keys/values
            h = self.mixer(txt + attended, key_padding=pad)
            keep = (~pad).unsqueeze(-1).float()
            return self.head((h * keep).sum(1) / keep.sum(1)).squeeze(-1)
        cos = (self.encode_image(images) * self.encode_text(tokens)).sum(-1)
        return self.logit_scale.exp() * cos + self.bias

    def _require_late(self) -> None:
        if self.config.fusion != "late":
            raise ValueError(f"only late fusion has separate embeddings; this model is {self.config.fusion!r}")

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Late fusion only: one L2-normalised vector per image, (B, D)."""
        self._require_late()
        return F.normalize(self.image_proj(self.image_enc(self.image(images)).mean(1)), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Late fusion only: one L2-normalised vector per caption, (B, D)."""
        self._require_late()
        pad = tokens == 0
        h = self.text_enc(self.text(tokens), key_padding=pad)
        keep = (~pad).unsqueeze(-1).float()
        return F.normalize(self.text_proj((h * keep).sum(1) / keep.sum(1)), dim=-1)


@contract(image_emb=Tensor(rank=2, kind="float"), text_emb=Tensor(rank=2, kind="float"))
def similarity_matrix(image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every image with every caption: (M, D), (N, D) -> (M, N)."""
    if image_emb.dim() != 2 or text_emb.dim() != 2 or image_emb.shape[1] != text_emb.shape[1]:
        raise ValueError(f"image_emb and text_emb must be (M, D) and (N, D) with the same D; "
                         f"got {tuple(image_emb.shape)} and {tuple(text_emb.shape)}")
    return F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T


@contract(model=Instance(FusionClassifier, "a models.fusion.FusionClassifier"), images=Images(channels=3),
          tokens=Tensor(rank=2, kind="int", what="(captions, words) ids"), batch_size=Int(min=1))
@torch.no_grad()
def score_all_pairs(model: FusionClassifier, images: torch.Tensor, tokens: torch.Tensor,
                    batch_size: int = 1000) -> torch.Tensor:
    """Logits for every (image, caption) pair, (M, N). Late fusion encodes M images and N
    captions once each and multiplies; early and mid fusion must run the joint model on
    all M x N pairs.

    Used in: chapter 01
    """
    model.eval()
    M, N = images.shape[0], tokens.shape[0]
    if model.config.fusion == "late":
        cos = similarity_matrix(model.encode_image(images), model.encode_text(tokens))
        return model.logit_scale.exp() * cos + model.bias
    ii = torch.arange(M).repeat_interleave(N)  # pair p = (ii[p], jj[p])
    jj = torch.arange(N).repeat(M)
    out = [model(images[ii[k:k + batch_size]], tokens[jj[k:k + batch_size]])
           for k in range(0, M * N, batch_size)]
    return torch.cat(out).reshape(M, N)


@contract(model=Instance(nn.Module), batch=Instance((tuple, list), "(images, tokens, labels)"))
def matching_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Binary cross-entropy on ``(images, tokens, labels)`` batches, for :func:`mmcourse.train.fit`.

    Used in: chapter 01
    """
    images, tokens, labels = batch
    return F.binary_cross_entropy_with_logits(model(images, tokens), labels)
