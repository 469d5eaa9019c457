"""ViLT, the "no LLM" baseline: a single-stream transformer that classifies answers.

ViLT (Kim et al., 2021, §3) has no separate vision encoder (no CNN, no region detector):
image patches go through one linear layer, are concatenated with the question's word
embeddings, and a single transformer reads both. ViLT-B/32 cuts images with a 384 px
short side into 32x32 patches (``dandelin/ViLT vilt/config.py``) and initialises that
transformer from an ImageNet-pretrained ViT-B/32. VQA is classification over a fixed
answer list (3,129 answers on VQAv2) from the pooled first token. Here it is
transformers' ``ViltForQuestionAnswering`` itself, built from a tiny config (8x8 patches of
a 32x32 image, random initialisation) and trained from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..contracts import Int, Texts, contract


@contract(answers=Texts())
def answer_vocabulary(answers: Sequence[str]) -> list[str]:
    """The sorted set of answers: VQA as classification over this list.

    Used in: chapter 03
    """
    return sorted(set(answers))


@contract(vocab_size=Int(min=1), num_answers=Int(min=1), hidden_size=Int(min=1), layers=Int(min=1),
          heads=Int(min=1), image_size=Int(min=1), patch_size=Int(min=1), max_text=Int(min=2))
def tiny_vilt(vocab_size: int, num_answers: int, *, hidden_size: int = 64, layers: int = 2, heads: int = 4,
              image_size: int = 32, patch_size: int = 8, max_text: int = 16) -> Any:
    """``ViltForQuestionAnswering`` from a tiny config (16 patches of 8x8 for a 32x32 image).

    Used in: chapter 03
    """
    from transformers import ViltConfig, ViltForQuestionAnswering

    config = ViltConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * hidden_size, image_size=image_size,
                        patch_size=patch_size, max_position_embeddings=max_text, num_labels=num_answers,
                        pad_token_id=0)
    return ViltForQuestionAnswering(config)


@contract(questions=Texts(), max_text=Int(min=2))
def vilt_inputs(tokenizer: Any, questions: Sequence[str], max_text: int = 16) -> dict[str, torch.Tensor]:
    """Question ids for ViLT: ``<s>`` first (its pooled token), right-padded."""
    enc = tokenizer([f"{tokenizer.bos_token} {q}" for q in questions], return_tensors="pt", padding="max_length",
                    max_length=max_text, truncation=True, add_special_tokens=False)
    return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}
