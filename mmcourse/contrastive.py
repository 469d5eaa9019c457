"""Contrastive image-text training on shapes (chapter 02): the tokenizer, the tiny CLIP,
and the losses ``fit`` calls, on one process or several.

The model itself is :class:`mmcourse.models.clip.CLIP`; its loss, symmetric InfoNCE, is
:func:`mmcourse.models.clip.clip_loss`. With several processes (``accelerate launch``) each
holds only its slice of the batch, so :func:`contrastive_loss` first gathers every
process's embeddings (open_clip's ``gather_features``): each image is then contrasted with
all the batch's captions, as on one process, not only with its own process's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist

from . import text
from .contracts import Bool, Instance, Int, Tensor, Texts, contract
from .data.vocabulary import PAIR_NAMES
from .models.clip import CLIP, CLIPConfig, CNNTower, clip_loss, siglip_loss
from .zeroshot import CLIP_PROMPTS


@contract(captions=Texts())
def shapes_tokenizer(captions: Sequence[str]) -> text.WordTokenizer:
    """A word tokenizer for shapes captions and the zero-shot prompts.

    Used in: chapters 02, 07
    """
    prompts = [p.format(c) for p in CLIP_PROMPTS for c in PAIR_NAMES]
    return text.WordTokenizer.train(list(captions) + prompts, max_vocab=200)


@contract(embed_dim=Int(min=1), context_length=Int(min=2), text_width=Int(min=1), text_layers=Int(min=1),
          text_heads=Int(min=1))
def shapes_clip(tokenizer: text.WordTokenizer, *, embed_dim: int = 64, tower_channels: tuple[int, ...] = (16, 32, 64),
                context_length: int = 12, text_width: int = 64, text_layers: int = 2, text_heads: int = 4,
                sigmoid: bool = False) -> CLIP:
    """A fresh tiny CLIP for shapes: a SmallCNN image tower, a causal text transformer,
    and ``tokenizer`` attached so that ``encode_text`` takes strings. ``sigmoid=True`` makes
    it a SigLIP: temperature 10 and a learned bias starting at -10 (Zhai et al., 2023, §3.2).

    Used in: chapters 02, 07
    """
    if not isinstance(tokenizer, text.WordTokenizer):
        raise TypeError(f"tokenizer must be a text.WordTokenizer (e.g. shapes_tokenizer(captions)); "
                        f"got {type(tokenizer).__name__}")
    config = CLIPConfig(embed_dim=embed_dim, vision_width=tower_channels[-1], vocab_size=tokenizer.vocab_size,
                        context_length=context_length, text_width=text_width, text_layers=text_layers,
                        text_heads=text_heads, eos_token_id=tokenizer.vocab[text.EOS],
                        **({"logit_scale_init": 10.0, "logit_bias_init": -10.0} if sigmoid else {}))
    model = CLIP(config, vision_model=CNNTower(tuple(tower_channels)))
    model.tokenizer = text.TextBatcher(tokenizer, context_length)
    return model


@contract(features=Tensor(rank=2, kind="float", what="(batch, dim) embeddings"))
def gather_features(features: torch.Tensor) -> torch.Tensor:
    """Every process's ``features`` (B, D), concatenated in rank order: (W x B, D) for W
    processes; a plain run returns ``features`` unchanged.

    The other processes' rows are copies without gradient; this process's rows keep theirs,
    multiplied by W (``W * f - (W - 1) * f.detach()``: the same values). Each process is the
    only path back to its own rows, and :func:`mmcourse.train.fit` averages the gradients
    over the W processes, so the factor makes the update equal to one process holding the
    whole batch. Parameters that act on the gathered features (CLIP's temperature) get their
    whole gradient on every process and need no factor.

    Used in: chapter 02
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return features
    world = dist.get_world_size()
    parts = [torch.zeros_like(features) for _ in range(world)]
    dist.all_gather(parts, features.contiguous())  # copies, without gradient
    parts[dist.get_rank()] = world * features - (world - 1) * features.detach()  # ours, with W x the gradient
    return torch.cat(parts)


@contract(model=Instance(CLIP, "a models.clip.CLIP"), batch=Instance((tuple, list), "(images, token ids)"),
          gather=Bool())
def contrastive_loss(model: CLIP, batch: tuple[torch.Tensor, torch.Tensor], *, gather: bool = True) -> torch.Tensor:
    """The loss for :func:`mmcourse.train.fit`: symmetric InfoNCE on a batch of
    ``(images, token ids)``, the i-th image matching the i-th caption.

    With several processes and ``gather`` (the default) the loss is computed over the whole
    global batch, every process's embeddings gathered (:func:`gather_features`), so each
    image meets all the batch's captions as negatives. ``gather=False`` contrasts each
    process's images only with its own captions: fewer negatives, a different loss.

    Used in: chapters 02, 04, 07
    """
    images, tokens = batch
    if not gather or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        logits_per_image, _ = model(images, tokens)
        return clip_loss(logits_per_image)
    image_emb, text_emb = gather_features(model.encode_image(images)), gather_features(model.encode_text(tokens))
    scale = model.logit_scale.exp().clamp(max=model.config.logit_scale_max)
    return clip_loss(scale * image_emb @ text_emb.T)  # (W x B, W x B): the whole global batch


@contract(model=Instance(CLIP, "a models.clip.CLIP"), batch=Instance((tuple, list), "(images, token ids)"))
def sigmoid_loss(model: CLIP, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Like :func:`contrastive_loss` with SigLIP's sigmoid loss instead of InfoNCE.

    Used in: chapter 02
    """
    images, tokens = batch
    logits_per_image, _ = model(images, tokens)
    return siglip_loss(logits_per_image)
