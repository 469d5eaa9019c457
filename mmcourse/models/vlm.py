"""LLaVA from scratch: a frozen vision tower, a projector, and a causal language model.

The recipe of LLaVA (Liu et al., 2023, "Visual Instruction Tuning", §4.1) and LLaVA-1.5
(Liu et al., 2024, "Improved Baselines with Visual Instruction Tuning", §3.2):

1. The vision tower turns an image into N patch features ``Z_v = g(X_v)``  (N, D_v).
2. The projector maps them into the word-embedding space, ``H_v = W · Z_v`` (eq. 1 of
   LLaVA; LLaVA-1.5's ``mlp2x_gelu`` is Linear -> GELU -> Linear).
3. The prompt's ``<image>`` placeholder is replaced by the N projected features (the
   *splice*); their labels are ``IGNORE_INDEX`` so no loss is asked of them.
4. The language model continues the sequence; the loss is next-token cross-entropy on
   the answer tokens only (eq. 3).

Names match transformers' ``LlavaForConditionalGeneration`` (``multi_modal_projector.linear_1``
...), so :mod:`mmcourse.models.vlm_hf` moves weights across both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -100  # labels the loss skips (PyTorch's cross_entropy default)


@dataclass
class VLMConfig:
    """Sizes of the tiny VLM.

    Used in: chapter 03
    """

    vision_dim: int = 64  # width of a patch feature from the tower
    image_size: int = 32  # the tower's input side, pixels
    image_token_id: int = 4  # id of "<image>" in the tokenizer
    connector: str = "mlp2x_gelu"  # "mlp2x_gelu", "linear" or "qformer"
    num_queries: int = 8  # learned queries when connector == "qformer"


class Projector(nn.Module):
    """LLaVA-1.5's ``mlp2x_gelu``: Linear(D_v -> D) -> GELU -> Linear(D -> D), per patch.

    Used in: chapter 03
    """

    def __init__(self, vision_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(vision_dim, hidden_size)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(hidden_size, hidden_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(features)))  # (B, N, D_v) -> (B, N, D)


class PatchFeatureTower(nn.Module):
    """A CNN image tower's feature map as patch tokens: (B, 3, H, W) -> (B, N, D_v).

    For the course's ``clip-shapes`` tower (32x32 input, three 2x2 pools) the map is a 4x4
    grid of 64-wide features.

    1. Position: a ViT's patch tokens carry position embeddings. A CNN's features already
       know roughly where they are (zero padding at the borders). ``position`` adds
       chapter 01's fixed sine-cosine table times that scale; at full scale (1.0) it
       drowned the weaker shape signal in our runs.
    2. Merge: ``merge=2`` concatenates each 2x2 block of neighbours into one token
       ("pixel shuffle", as SmolVLM and InternVL do to cut visual tokens), giving 4 tokens
       of width 256, one per image quadrant (the default). ``merge=1`` keeps all 16.

    Used in: chapter 03
    """

    def __init__(self, cnn: nn.Module, image_size: int = 32, *, position: float = 0.0, merge: int = 2) -> None:
        super().__init__()
        from .vit import sincos_2d

        self.cnn = cnn  # a SmallCNN (its ``body`` is the conv stack)
        self.image_size = image_size
        channels = cnn.config.channels[-1]
        self.side = image_size // 2 ** len(cnn.config.channels)
        if merge not in (1, 2, 4) or self.side % merge:
            raise ValueError(f"merge must be 1, 2 or 4 and divide the {self.side}x{self.side} grid; got {merge!r}")
        self.merge = merge
        self.position_scale = float(position)
        self.width = channels * merge * merge
        self.num_patches = (self.side // merge) ** 2
        pos = float(position) * sincos_2d(self.side, channels)[1:]  # (h*w, C); position=0 turns it off
        self.register_buffer("position", pos.T.reshape(1, channels, self.side, self.side), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        fmap = self.cnn.body(images) + self.position  # (B, C, h, w)
        if self.merge > 1:
            fmap = F.pixel_unshuffle(fmap, self.merge)  # (B, C*m*m, h/m, w/m)
        return fmap.flatten(2).transpose(1, 2)  # (B, N, D_v), patches in raster order


def check_images(images: Any, image_size: int) -> None:
    """A clear error for anything but a float (B, 3, S, S) batch.

    Used in: chapter 03
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor of shape (batch, 3, {image_size}, {image_size}); "
                        f"got {type(images).__name__}")
    if images.dim() != 4 or tuple(images.shape[1:]) != (3, image_size, image_size):
        raise ValueError(f"images must have shape (batch, 3, {image_size}, {image_size}); got {tuple(images.shape)}"
                         f" (resize to {image_size}x{image_size}, e.g. with the LlavaProcessor)")


def splice_image_features(
    embeds: torch.Tensor,
    input_ids: torch.Tensor,
    image_features: torch.Tensor,
    image_token_id: int,
    labels: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Replace each ``<image>`` token by the features of one image (in order), as LLaVA's
    ``prepare_inputs_labels_for_multimodal`` does.

    Args:
        embeds: (B, T, D) token embeddings of ``input_ids``.
        input_ids: (B, T) with one ``image_token_id`` per image.
        image_features: (I, N, D) projected features, I = number of ``<image>`` tokens in the batch.
        labels: (B, T) or None; the N image positions get ``IGNORE_INDEX``.
        attention_mask: (B, T) or None (all ones).

    Returns:
        ``(embeds, labels, attention_mask)``, each row T - 1 + N longer per image token,
        right-padded (zeros, IGNORE_INDEX, 0) to the longest row.

    Used in: chapter 03
    """
    B, T, D = embeds.shape  # (batch, tokens, width)
    I, N, Df = image_features.shape  # (images, features per image, width)  # noqa: E741
    if Df != D:
        raise ValueError(f"image_features width {Df} must equal the embedding width {D}")
    is_image = input_ids == image_token_id
    n_tokens = int(is_image.sum())
    if n_tokens != I:
        if n_tokens == 0:
            raise ValueError(f"input_ids has no <image> token (id {image_token_id}) but {I} image(s) were given: "
                             "put '<image>' in the prompt where the image goes")
        raise ValueError(f"{I} image(s) but {n_tokens} <image> token(s) in input_ids: give one image per token")
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    # 1. Where each token goes: every image token before it pushes it N - 1 places right.
    images_before = is_image.long().cumsum(1) - is_image.long()  # (B, T) image tokens strictly before
    new_pos = torch.arange(T, device=input_ids.device) + (N - 1) * images_before  # (B, T)
    L = T + (N - 1) * int(is_image.sum(1).max())
    out_e = embeds.new_zeros(B, L, D)
    out_m = mask.new_zeros(B, L)
    out_l = None if labels is None else labels.new_full((B, L), IGNORE_INDEX)
    # 2. Text tokens keep their order (and their labels and mask).
    text = ~is_image
    rows = torch.arange(B, device=input_ids.device)[:, None].expand(B, T)
    out_e[rows[text], new_pos[text]] = embeds[text]
    out_m[rows[text], new_pos[text]] = mask[text]
    if out_l is not None:
        out_l[rows[text], new_pos[text]] = labels[text]
    # 3. Each image token becomes its N features (images taken in reading order), attended
    #    to, with no loss on them (their labels stay IGNORE_INDEX).
    img_rows = rows[is_image]  # (I,)
    slots = new_pos[is_image][:, None] + torch.arange(N, device=input_ids.device)  # (I, N)
    out_e[img_rows[:, None].expand(I, N), slots] = image_features.to(embeds.dtype)
    out_m[img_rows[:, None].expand(I, N), slots] = 1
    return out_e, out_l, out_m


class VLM(nn.Module):
    """A LLaVA-style vision-language model: ``vision_tower`` -> connector -> ``language_model``.

    ``language_model`` is any transformers causal LM (``LlamaForCausalLM`` in the tiny
    profile); the connector is :class:`Projector` or a :class:`~mmcourse.models.qformer.QFormer`.

    Used in: chapter 03
    """

    def __init__(self, config: VLMConfig, vision_tower: nn.Module, language_model: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.vision_tower = vision_tower
        self.language_model = language_model
        hidden = language_model.config.hidden_size
        if config.connector == "mlp2x_gelu":
            self.multi_modal_projector: nn.Module = Projector(config.vision_dim, hidden)
        elif config.connector == "linear":
            self.multi_modal_projector = nn.Linear(config.vision_dim, hidden)
        elif config.connector == "qformer":
            from .qformer import QFormer

            self.multi_modal_projector = QFormer(config.vision_dim, hidden, num_queries=config.num_queries)
        else:
            raise ValueError(f"connector={config.connector!r}: expected 'mlp2x_gelu', 'linear' or 'qformer'")
        self.vision_tower.requires_grad_(False)  # frozen in both stages (LLaVA §4.2)

    def train(self, mode: bool = True) -> VLM:
        """Train/eval mode for the connector and LM; the frozen tower always stays in eval
        mode (its BatchNorm statistics must not drift)."""
        super().train(mode)
        self.vision_tower.eval()
        return self

    # -- the pieces -------------------------------------------------------------------
    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, S, S) -> projected features (B, N, D) ready to splice."""
        check_images(images, self.config.image_size)
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

        Used in: chapter 03
        """
        embeds, labels, mask = self.embed(input_ids, features=features, labels=labels, attention_mask=attention_mask)
        logits = self.language_model(inputs_embeds=embeds, attention_mask=mask).logits
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE_INDEX)

    # -- training stages --------------------------------------------------------------
    def set_stage(self, stage: int) -> dict[str, int]:
        """Freeze for LLaVA's stage 1 (projector only) or stage 2 (projector + LM); the
        tower stays frozen. Returns the trainable / frozen parameter counts.

        Used in: chapter 03
        """
        if stage not in (1, 2):
            raise ValueError(f"stage must be 1 (projector only) or 2 (projector + language model); got {stage!r}")
        self.vision_tower.requires_grad_(False)
        self.multi_modal_projector.requires_grad_(True)
        self.language_model.requires_grad_(stage == 2)
        return parameter_counts(self)

    def answer(self, image: torch.Tensor, question: str, *, max_new_tokens: int = 8) -> str:
        """Answer one question about one image (3, S, S) with greedy decoding; needs the
        model's tokenizer in ``self.tokenizer`` (zoo models have it).

        Used in: chapter 03
        """
        from ..instruct import answer

        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is None:
            raise ValueError("this VLM has no tokenizer: set vlm.tokenizer = instruct.shapes_chat_tokenizer()")
        if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4) or (image.dim() == 4 and len(image) != 1):
            raise ValueError(f"image must be one (3, H, W) image tensor; got {getattr(image, 'shape', image)!r}")
        images = image[None] if image.dim() == 3 else image
        return answer(self, tokenizer, images, [question], max_new_tokens=max_new_tokens)[0]

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, images: torch.Tensor | None = None, *,
                 attention_mask: torch.Tensor | None = None, max_new_tokens: int = 8,
                 eos_token_id: int = 3, use_cache: bool = True) -> torch.Tensor:
        """Greedy decoding. Prompts are left-padded (``attention_mask`` 0 on the left);
        returns the new tokens (B, <= max_new_tokens), EOS then padding (0) after it.

        With ``use_cache`` each step feeds only the newest token and reuses the keys and
        values of the ones before (the KV cache); without it every step re-reads the whole
        sequence. Both give the same tokens.

        Used in: chapter 03
        """
        from ..compat import cache_kwarg, output_cache

        embeds, _, mask = self.embed(input_ids, images, attention_mask=attention_mask)
        lm = self.language_model
        B = embeds.shape[0]
        done = torch.zeros(B, dtype=torch.bool, device=embeds.device)
        out: list[torch.Tensor] = []
        cache = None
        for _ in range(max_new_tokens):
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            if use_cache and cache is not None:
                res = lm(inputs_embeds=embeds[:, -1:], attention_mask=mask, position_ids=position_ids[:, -1:],
                         use_cache=True, **{cache_kwarg(): cache})
            else:
                res = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids, use_cache=use_cache)
            cache = output_cache(res) if use_cache else None
            nxt = res.logits[:, -1].argmax(-1)  # (B,)
            nxt = torch.where(done, torch.zeros_like(nxt), nxt)
            out.append(nxt)
            done |= nxt == eos_token_id
            if bool(done.all()):
                break
            embeds = torch.cat([embeds, lm.get_input_embeddings()(nxt)[:, None]], 1)
            mask = torch.cat([mask, mask.new_ones(B, 1)], 1)
        return torch.stack(out, 1)


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Trainable and frozen parameters of ``model``.

    Used in: chapter 03
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}


def tiny_llama(vocab_size: int, *, hidden_size: int = 128, layers: int = 2, heads: int = 4,
               intermediate_size: int = 256, max_positions: int = 128, pad_token_id: int = 0,
               bos_token_id: int = 2, eos_token_id: int = 3) -> nn.Module:
    """A transformers ``LlamaForCausalLM`` from a tiny config: the same class that loads
    real Llama checkpoints, at about 0.3 M parameters.

    Used in: chapter 03
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, pad_token_id=pad_token_id,
                         bos_token_id=bos_token_id, eos_token_id=eos_token_id, tie_word_embeddings=True)
    return LlamaForCausalLM(config)
