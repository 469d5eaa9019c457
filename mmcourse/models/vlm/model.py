"""The ``VLM`` module: vision tower -> projector -> splice -> language model, with the loss
on answer tokens only and KV-cache generation. The recipe and its equations are in the
package docstring (:mod:`mmcourse.models.vlm`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from ...chat import IMAGE_TOKEN, build_prompt
from ...compat import cache_kwarg, output_cache
from ...contracts import (
    Bool,
    Images,
    Instance,
    Int,
    Maybe,
    Tensor,
    Text,
    Texts,
    check_images,
    contract,
)
from ...data.instructions import DESCRIBE, IGNORE_INDEX, decode_answers, generation_prompts
from ..layers import count_parameters
from ..qformer import QFormer
from .projector import Projector
from .splice import splice_image_features

Connector = Literal["mlp2x_gelu", "linear", "qformer"]
CONNECTORS: tuple[str, ...] = get_args(Connector)


@dataclass
class VLMConfig:
    """Sizes of the tiny VLM. ``image_token_id`` is the id of ``<image>`` in its tokenizer."""

    vision_dim: int  # width of a patch feature from the tower
    image_token_id: int  # id of "<image>" in the tokenizer
    image_size: int = 32  # the tower's input side, pixels
    connector: Connector = "mlp2x_gelu"  # LLaVA-1.5's MLP, LLaVA v1's linear layer, or BLIP-2's Q-Former
    num_queries: int = 8  # learned queries when connector == "qformer"

    def __post_init__(self) -> None:
        if self.connector not in CONNECTORS:
            raise ValueError(f"connector={self.connector!r}: expected one of {CONNECTORS}")
        for name in ("vision_dim", "image_size", "num_queries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if isinstance(self.image_token_id, bool) or not isinstance(self.image_token_id, int) or self.image_token_id < 0:
            raise ValueError(f"image_token_id must be a token id (a non-negative int); got {self.image_token_id!r}")


class VLM(nn.Module):
    """A LLaVA-style vision-language model: ``vision_tower`` -> connector -> ``language_model``.

    ``language_model`` is any transformers causal LM (``LlamaForCausalLM`` in the tiny
    profile); the connector is :class:`Projector`, a linear layer, or a
    :class:`~mmcourse.models.qformer.QFormer`. ``tokenizer`` (a transformers tokenizer with
    an ``<image>`` token) lets the model take questions as text: :meth:`ask`,
    :meth:`answer`, :meth:`describe`, :meth:`chat`.

    Used in: chapter 03
    """

    def __init__(self, config: VLMConfig, vision_tower: nn.Module, language_model: nn.Module,
                 tokenizer: Any = None) -> None:
        super().__init__()
        if not isinstance(config, VLMConfig):
            raise TypeError(f"config must be a VLMConfig; got {type(config).__name__}")
        self.config = config
        self.vision_tower = vision_tower
        self.language_model = language_model
        hidden = language_model.config.hidden_size
        if config.connector == "mlp2x_gelu":
            self.multi_modal_projector: nn.Module = Projector(config.vision_dim, hidden)
        elif config.connector == "linear":
            self.multi_modal_projector = nn.Linear(config.vision_dim, hidden)
        else:
            self.multi_modal_projector = QFormer(config.vision_dim, hidden, num_queries=config.num_queries)
        self.vision_tower.requires_grad_(False)  # frozen in both stages (LLaVA §4.2)
        if tokenizer is not None:
            image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
            if image_id != config.image_token_id:
                raise ValueError(f"tokenizer: its {IMAGE_TOKEN} id is {image_id}, but config.image_token_id is "
                                 f"{config.image_token_id}; build the config from this tokenizer")
        self.tokenizer = tokenizer

    def train(self, mode: bool = True) -> VLM:
        """Train/eval mode for the connector and LM; the frozen tower always stays in eval
        mode (its BatchNorm statistics must not drift)."""
        super().train(mode)
        self.vision_tower.eval()
        return self

    # -- the pieces -------------------------------------------------------------------
    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, S, S) -> projected features (B, N, D) ready to splice."""
        check_images(images, channels=3, size=self.config.image_size)
        with torch.no_grad():
            patches = self.vision_tower(images)  # (B, N, D_v), frozen
        return self.multi_modal_projector(patches)

    def embed(self, input_ids: torch.Tensor, images: torch.Tensor | None = None, *,
              features: torch.Tensor | None = None, labels: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Token embeddings with the images spliced in (see :func:`splice_image_features`).

        ``features`` are precomputed tower outputs (I, N, D_v), an alternative to ``images``.
        """
        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            raise ValueError("input_ids must be a (batch, tokens) tensor of token ids")
        if images is not None and features is not None:
            raise ValueError("give images or features, not both")
        embeds = self.language_model.get_input_embeddings()(input_ids)
        if images is None and features is None:
            if bool((input_ids == self.config.image_token_id).any()):
                raise ValueError("input_ids has <image> tokens but no images were given")
            mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            return embeds, labels, mask
        proj = self.image_features(images) if images is not None else self.multi_modal_projector(features)
        return splice_image_features(embeds, input_ids, proj, self.config.image_token_id, labels, attention_mask)

    def forward(self, input_ids: torch.Tensor, images: torch.Tensor | None = None, *,
                features: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> Any:
        """Logits over the spliced sequence; ``.loss`` on the labelled tokens when ``labels`` is given."""
        embeds, labels, mask = self.embed(input_ids, images, features=features, labels=labels,
                                          attention_mask=attention_mask)
        return self.language_model(inputs_embeds=embeds, attention_mask=mask, labels=labels)

    def loss(self, input_ids: torch.Tensor, labels: torch.Tensor, attention_mask: torch.Tensor,
             features: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy on the answer tokens (LLaVA eq. 3).

        The logits at position t predict token t + 1: drop the last logit and the first
        label, so each prediction lines up with the token that follows it.
        """
        embeds, labels, mask = self.embed(input_ids, features=features, labels=labels, attention_mask=attention_mask)
        logits = self.language_model(inputs_embeds=embeds, attention_mask=mask).logits  # (B, L, V)
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE_INDEX)

    # -- training stages --------------------------------------------------------------
    @contract(stage=Int(min=1, max=2))
    def set_stage(self, stage: int) -> dict[str, int]:
        """Freeze for LLaVA's stage 1 (projector only) or stage 2 (projector + LM); the
        tower stays frozen. Returns the trainable / frozen / total parameter counts."""
        if stage not in (1, 2) or isinstance(stage, bool):
            raise ValueError(f"stage must be 1 (projector only) or 2 (projector + language model); got {stage!r}")
        self.vision_tower.requires_grad_(False)
        self.multi_modal_projector.requires_grad_(True)
        self.language_model.requires_grad_(stage == 2)
        trainable, total = count_parameters(self, trainable_only=True), count_parameters(self)
        return {"trainable": trainable, "frozen": total - trainable, "total": total}

    # -- generation -------------------------------------------------------------------
    @contract(input_ids=Tensor(rank=2, kind="int", what="(batch, tokens) ids"), images=Maybe(Images(channels=3)),
              max_new_tokens=Int(min=1), use_cache=Bool())
    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, images: torch.Tensor | None = None, *,
                 attention_mask: torch.Tensor | None = None, max_new_tokens: int = 8,
                 eos_token_id: int | None = None, use_cache: bool = True) -> torch.Tensor:
        """Greedy decoding. Prompts are left-padded (``attention_mask`` 0 on the left);
        returns the new tokens (B, <= max_new_tokens), EOS then padding after it.

        With ``use_cache`` each step feeds only the newest token and reuses the keys and
        values of the ones before (the KV cache); without it every step re-reads the whole
        sequence. Both give the same tokens.

        Used in: chapter 03
        """
        eos = eos_token_id if eos_token_id is not None else self._eos_token_id()
        pad = self.tokenizer.pad_token_id if self.tokenizer is not None else self.language_model.config.pad_token_id
        lm, embed_tokens = self.language_model, self.language_model.get_input_embeddings()
        embeds, _, mask = self.embed(input_ids, images, attention_mask=attention_mask)  # (B, L, D), (B, L)
        done = torch.zeros(embeds.shape[0], dtype=torch.bool, device=embeds.device)
        new, cache = [], None
        for _ in range(max_new_tokens):
            positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding does not count
            if cache is None:  # 1. the whole prompt once (or every step, without a cache)
                out = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, use_cache=use_cache)
            else:  # 2. then only the newest token, reading the cached keys and values
                out = lm(inputs_embeds=embeds[:, -1:], attention_mask=mask, position_ids=positions[:, -1:],
                         use_cache=True, **{cache_kwarg(): cache})
            cache = output_cache(out) if use_cache else None
            token = out.logits[:, -1].argmax(-1).masked_fill(done, pad or 0)  # 3. greedy: the most likely token
            new.append(token)
            done |= token == eos
            if bool(done.all()):
                break
            embeds = torch.cat([embeds, embed_tokens(token)[:, None]], 1)  # 4. append it and go on
            mask = torch.cat([mask, mask.new_ones(len(mask), 1)], 1)
        return torch.stack(new, 1)

    def _eos_token_id(self) -> int:
        if self.tokenizer is not None:
            return self.tokenizer.eos_token_id
        return self.language_model.config.eos_token_id

    def _require_tokenizer(self) -> Any:
        if self.tokenizer is None:
            raise ValueError("this VLM has no tokenizer: build it with VLM(config, tower, lm, tokenizer) "
                             "(instruct.new_vlm and zoo.load('vlm-shapes') do)")
        return self.tokenizer

    @contract(images=Images(channels=3), questions=Texts(), max_new_tokens=Int(min=1), batch_size=Int(min=1))
    @torch.no_grad()
    def answer(self, images: torch.Tensor, questions: Sequence[str], *, max_new_tokens: int = 4,
               batch_size: int = 256) -> list[str]:
        """Greedy answers, one per (image, question) pair: ``images`` (B, 3, S, S), ``questions``
        a list of B strings.
        """
        tokenizer = self._require_tokenizer()
        if isinstance(questions, str):
            raise TypeError(f"questions must be a list of strings (one per image), not one string: "
                            f"[{questions!r}]; for a single image use vlm.ask(image, question)")
        check_images(images, channels=3, size=self.config.image_size)
        if len(questions) != images.shape[0]:
            raise ValueError(f"images has {images.shape[0]} images but questions has {len(questions)} entries: "
                             "give one question per image")
        for i, q in enumerate(questions):
            if not isinstance(q, str) or not q.strip():
                raise ValueError(f"questions[{i}] is empty: ask something, e.g. 'what colour is the circle?'")
        was_training, device = self.training, next(self.parameters()).device
        self.eval()
        out: list[str] = []
        for lo in range(0, len(questions), batch_size):
            ids, mask = generation_prompts(tokenizer, questions[lo:lo + batch_size])
            new = self.generate(ids.to(device), images[lo:lo + batch_size].to(device),
                                attention_mask=mask.to(device), max_new_tokens=max_new_tokens)
            out += decode_answers(tokenizer, new.cpu())
        self.train(was_training)
        return out

    @contract(question=Text(), max_new_tokens=Int(min=1))
    def ask(self, image: torch.Tensor, question: str, *, max_new_tokens: int = 8) -> str:
        """Answer one question about one image (3, S, S)."""
        if not isinstance(image, torch.Tensor) or image.dim() != 3:
            raise ValueError(f"image must be one (3, H, W) image tensor; got {getattr(image, 'shape', image)!r} "
                             "(for a batch use vlm.answer(images, questions))")
        if not isinstance(question, str):
            raise TypeError(f"question must be a string; got {type(question).__name__}")
        return self.answer(image[None], [question], max_new_tokens=max_new_tokens)[0]

    @contract(images=Images(channels=3), max_new_tokens=Int(min=1))
    def describe(self, images: torch.Tensor, *, max_new_tokens: int = 24) -> list[str]:
        """A caption per image: the answer to "describe the image.".
        """
        check_images(images, channels=3, size=self.config.image_size)
        return self.answer(images, [DESCRIBE] * images.shape[0], max_new_tokens=max_new_tokens)

    @contract(messages=Instance((list, tuple), "a list of chat.user(...) / chat.assistant(...) messages"),
              max_new_tokens=Int(min=1))
    @torch.no_grad()
    def chat(self, image: torch.Tensor, messages: Sequence[dict[str, Any]], *, max_new_tokens: int = 8) -> str:
        """The assistant's next turn in a conversation about one image (3, S, S); ``messages``
        hold exactly one ``{"type": "image"}`` item.
        """
        tokenizer = self._require_tokenizer()
        if not isinstance(image, torch.Tensor) or image.dim() != 3:
            raise ValueError(f"image must be one (3, H, W) image tensor; got {getattr(image, 'shape', image)!r}")
        ids = tokenizer([build_prompt(messages, add_generation_prompt=True)], return_tensors="pt",
                        add_special_tokens=False).input_ids
        was_training, device = self.training, next(self.parameters()).device
        self.eval()
        new = self.generate(ids.to(device), image[None].to(device), max_new_tokens=max_new_tokens)
        self.train(was_training)
        return decode_answers(tokenizer, new.cpu())[0]
