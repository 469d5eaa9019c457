"""A VQ-VAE image tokenizer for the shapes scenes, as diffusers' ``VQModel``.

The encoder maps an image to a grid of vectors z_e; each is replaced by its nearest entry
of a learned codebook, so an image becomes a grid of integer *codes*, tokens a transformer
can read and write (van den Oord et al., 2017, "Neural Discrete Representation Learning",
§3.1). Nearest-neighbour lookup has no gradient, so the decoder's gradient is copied
straight through to the encoder (§3.2, the straight-through estimator). The loss (eq. 3) is

    log p(x | z_q) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2,   beta = 0.25,

reconstruction, then the *codebook* term (moves codes towards the encoder's outputs) and the
*commitment* term (keeps the encoder near its codes). The model is the library class that
aMUSEd's tokenizer (``amused/amused-256``, subfolder ``vqvae``) loads into, built from a tiny
config, so :func:`image_to_codes` and :func:`codes_to_image` run on both.
:func:`quantise` equals diffusers' ``VectorQuantizer(legacy=False)`` on a copied codebook
(``tests/models/test_vq.py``); diffusers' default ``legacy=True`` keeps an old bug that puts
beta on the codebook term instead of the commitment term.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Bool, Float, Instance, Int, Tensor, check_images, contract


@dataclass
class VQConfig:
    """A tiny ``VQModel``: each block after the first halves the side (32 -> 4 with 4 blocks).

    Used in: chapter 06
    """

    block_out_channels: tuple[int, ...] = (32, 64, 64, 64)
    codebook_size: int = 256
    code_dim: int = 16
    image_size: int = 32
    layers_per_block: int = 1
    norm_num_groups: int = 8
    beta: float = 0.25  # the commitment weight of eq. 3

    def __post_init__(self) -> None:
        self.block_out_channels = tuple(self.block_out_channels)
        if not self.block_out_channels or any(not isinstance(c, int) or c < 1 for c in self.block_out_channels):
            raise ValueError(f"block_out_channels must be positive ints; got {self.block_out_channels}")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(f"norm_num_groups={self.norm_num_groups} must divide every block_out_channels")
        if self.image_size % self.downsample:
            raise ValueError(f"image_size={self.image_size} must be divisible by {self.downsample}")
        if self.codebook_size < 2:
            raise ValueError(f"codebook_size must be >= 2; got {self.codebook_size}")
        if self.code_dim < 1:
            raise ValueError(f"code_dim must be >= 1; got {self.code_dim}")

    @property
    def downsample(self) -> int:
        """The factor f between image side and code grid side."""
        return 2 ** (len(self.block_out_channels) - 1)

    @property
    def grid(self) -> int:
        """Codes per side of the grid."""
        return self.image_size // self.downsample

    @property
    def tokens_per_image(self) -> int:
        return self.grid**2

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "block_out_channels": list(self.block_out_channels)}

    @classmethod
    def from_model(cls, vq: Any, beta: float = 0.25) -> VQConfig:
        """The config that builds ``vq`` (a ``VQModel`` from :func:`build_vq`), read back from its
        config; ``beta`` (a training weight) is not stored in the model."""
        c = vq.config
        return cls(block_out_channels=tuple(c.block_out_channels), codebook_size=c.num_vq_embeddings,
                   code_dim=c.vq_embed_dim, image_size=c.sample_size, layers_per_block=c.layers_per_block,
                   norm_num_groups=c.norm_num_groups, beta=beta)


@contract(config=Instance(VQConfig, "a VQConfig"))
def build_vq(config: VQConfig) -> Any:
    """The diffusers ``VQModel`` of ``config`` (no mid-block attention: the grid is small).

    Used in: chapter 06
    """
    from diffusers import VQModel

    n = len(config.block_out_channels)
    return VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                   up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=config.block_out_channels,
                   layers_per_block=config.layers_per_block, latent_channels=config.code_dim,
                   num_vq_embeddings=config.codebook_size, vq_embed_dim=config.code_dim,
                   norm_num_groups=config.norm_num_groups, sample_size=config.image_size,
                   mid_block_add_attention=False)


class Quantised(NamedTuple):
    """What :func:`quantise` returns."""

    z_q: torch.Tensor  # (B, D, H, W) codebook vectors, with the straight-through gradient
    codes: torch.Tensor  # (B, H, W) int64 indices into the codebook
    codebook_loss: torch.Tensor  # ||sg[z_e] - e||^2
    commitment_loss: torch.Tensor  # ||z_e - sg[e]||^2 (not yet times beta)


@contract(z=Tensor(rank=4, kind="float", what="(batch, code_dim, height, width) encoder outputs"),
          codebook=Tensor(rank=2, kind="float", what="(codebook_size, code_dim) codes"))
def nearest_codes(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """The index of the nearest codebook vector (Euclidean) for every position. (B, H, W)"""
    B, D, H, W = z.shape  # (batch, code dim, grid, grid)
    if codebook.shape[1] != D:
        raise ValueError(f"codebook has vectors of {codebook.shape[1]} numbers; z has {D} channels")
    flat = z.permute(0, 2, 3, 1).reshape(-1, D)  # (B*H*W, D)
    return torch.cdist(flat, codebook).argmin(1).view(B, H, W)


@contract(z=Tensor(rank=4, kind="float", what="(batch, code_dim, height, width) encoder outputs"),
          codebook=Tensor(rank=2, kind="float", what="(codebook_size, code_dim) codes"), beta=Float(min=0))
def quantise(z: torch.Tensor, codebook: torch.Tensor, beta: float = 0.25) -> Quantised:
    """Vector quantisation with the straight-through estimator and the two losses of eq. 3.

    Used in: chapter 06
    """
    # 1. nearest code for every position, and its vector
    codes = nearest_codes(z, codebook)  # (B, H, W)
    # a lookup whose backward is deterministic on the CPU (codebook[codes] accumulates its gradient
    # in a thread-dependent order, so two runs with the same seed would drift apart)
    e = F.embedding(codes, codebook).permute(0, 3, 1, 2)  # (B, D, H, W)
    # 2. eq. 3's last two terms: the codebook moves to the encoder, the encoder commits to the codebook
    codebook_loss = (e - z.detach()).pow(2).mean()
    commitment_loss = (z - e.detach()).pow(2).mean()
    # 3. straight-through: forward pass uses e, backward pass copies the gradient to z
    z_q = z + (e - z).detach()
    return Quantised(z_q, codes, codebook_loss, beta * commitment_loss)


@contract(codes=Tensor(kind="int", what="code indices"), codebook_size=Int(min=1))
def codebook_usage(codes: torch.Tensor, codebook_size: int) -> dict[str, float]:
    """How well the codebook is used: perplexity exp(H(p)) of the code frequencies (the
    number of equally used codes that would give the same entropy), codes used and dead.

    Used in: chapter 06
    """
    if codes.numel() and (codes.min() < 0 or codes.max() >= codebook_size):
        raise ValueError(f"codes must lie in [0, {codebook_size}); got [{int(codes.min())}, {int(codes.max())}]")
    counts = torch.bincount(codes.flatten(), minlength=codebook_size).double()
    p = counts / counts.sum().clamp(min=1)
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    used = int((counts > 0).sum())
    return {"perplexity": float(entropy.exp()), "codes used": used, "dead codes": codebook_size - used}


def _codebook(vq: Any) -> torch.Tensor:
    return vq.quantize.embedding.weight


@contract(images=Tensor(rank=4, kind="float", what="(batch, 3, H, W) images in [0, 1]"),
          signed=Bool())
def image_to_codes(vq: Any, images: torch.Tensor, *, signed: bool = True) -> torch.Tensor:
    """Images in [0, 1] -> their code grid (B, h, w), through any diffusers ``VQModel``.

    ``signed``: the model works on images in [-1, 1] (the course's, Stable Diffusion's); pass
    False for one that works in [0, 1] (aMUSEd's tokenizer).

    Used in: chapters 06, 07
    """
    check_images(images, channels=3)
    param = next(vq.parameters())
    with torch.no_grad():
        z = vq.encode((images * 2 - 1 if signed else images).to(param.device, param.dtype)).latents  # (B, D, h, w)
        return nearest_codes(z.float(), _codebook(vq).float()).cpu()


@contract(codes=Tensor(rank=3, kind="int", what="(batch, h, w) code indices"), signed=Bool())
def codes_to_image(vq: Any, codes: torch.Tensor, *, signed: bool = True) -> torch.Tensor:
    """A code grid (B, h, w) -> images in [0, 1] (B, 3, H, W).

    Used in: chapters 06, 07
    """
    K = _codebook(vq).shape[0]
    if codes.min() < 0 or codes.max() >= K:
        raise ValueError(f"codes must lie in [0, {K}) for this codebook; got [{int(codes.min())}, {int(codes.max())}]")
    device = next(vq.parameters()).device
    B, h, w = codes.shape
    with torch.no_grad():
        if vq.config.lookup_from_codebook:  # aMUSEd's VQModel looks the codes up itself
            out = vq.decode(codes.flatten().to(device), force_not_quantize=True,
                            shape=(B, h, w, vq.config.latent_channels)).sample
        else:
            e = _codebook(vq)[codes.to(device)].permute(0, 3, 1, 2)  # (B, D, h, w)
            out = vq.decode(e, force_not_quantize=True).sample
        return (out.float() / 2 + 0.5 if signed else out.float()).clamp(0, 1).cpu()


class VQLoss:
    """The VQ-VAE training loss for :func:`~mmcourse.train.fit`, with optional dead-code restarts.

    ``loss_fn(vq, (images,))`` = squared error + codebook + beta * commitment (eq. 3). With
    ``restart_every=N`` every N steps each code unused since the last restart is moved onto a
    random encoder output of the current batch (the "dead code" fix of Jukebox, Dhariwal et al.
    2020, §2.3, and of many VQGAN reimplementations). ``usage`` keeps the counts.

    Used in: chapter 06
    """

    @contract(beta=Float(min=0), restart_every=Int(min=0))
    def __init__(self, beta: float = 0.25, restart_every: int = 0, seed: int = 0) -> None:
        self.beta, self.restart_every = beta, restart_every
        self.generator = torch.Generator().manual_seed(seed)
        self.counts: torch.Tensor | None = None
        self.steps, self.restarted = 0, 0

    def __call__(self, vq: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        images = batch[0] * 2 - 1  # the VQ-VAE works in [-1, 1]
        z = vq.encode(images).latents  # (B, D, h, w)
        codebook = _codebook(vq)
        q = quantise(z, codebook, self.beta)
        recon = vq.decode(q.z_q, force_not_quantize=True).sample
        self._count(q.codes, codebook.shape[0])
        if self.restart_every and self.steps % self.restart_every == 0:
            self._restart(z.detach(), codebook)
        return (recon - images).pow(2).mean() + q.codebook_loss + q.commitment_loss

    def _count(self, codes: torch.Tensor, K: int) -> None:
        counts = torch.bincount(codes.flatten().cpu(), minlength=K)
        self.counts = counts if self.counts is None else self.counts + counts
        self.steps += 1

    def _restart(self, z: torch.Tensor, codebook: torch.Tensor) -> None:
        dead = (self.counts == 0).nonzero().flatten()
        if len(dead):
            flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])  # (B*h*w, D)
            pick = torch.randint(0, len(flat), (len(dead),), generator=self.generator)
            with torch.no_grad():
                codebook[dead.to(codebook.device)] = flat[pick.to(flat.device)]
            self.restarted += len(dead)
        self.counts = torch.zeros_like(self.counts)
