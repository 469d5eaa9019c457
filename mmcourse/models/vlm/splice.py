"""The splice: each ``<image>`` token of a prompt becomes the features of one image
(LLaVA's ``prepare_inputs_labels_for_multimodal``; transformers' ``LlavaModel`` scatters the
same way), with no loss asked of the image positions."""

from __future__ import annotations

import torch

from ...contracts import Int, Maybe, Tensor, contract
from ...data.instructions import IGNORE_INDEX


@contract(embeds=Tensor(rank=3, kind="float", what="(batch, tokens, width)"),
          input_ids=Tensor(rank=2, kind="int", what="(batch, tokens)"),
          image_features=Tensor(rank=3, kind="float", what="(images, features, width)"), image_token_id=Int(min=0),
          labels=Maybe(Tensor(rank=2, kind="int")), attention_mask=Maybe(Tensor(rank=2, kind="int")))
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
