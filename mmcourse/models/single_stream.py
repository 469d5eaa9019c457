"""The "no LLM" baseline: a ViLT-style single-stream transformer that classifies answers.

ViLT (Kim et al., 2021, §3) drops the image encoder altogether: raw image patches go
through one linear layer, are concatenated with the question's word embeddings, and a
single transformer reads both; VQA is classification over a fixed answer list (3,129
answers on VQAv2) from the pooled first token. Here it is transformers'
``ViltForQuestionAnswering`` itself, built from a tiny config and trained from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def answer_vocabulary(answers: Sequence[str]) -> list[str]:
    """The sorted set of answers: VQA as classification over this list.

    Used in: chapter 03
    """
    return sorted(set(answers))


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


def vilt_inputs(tokenizer: Any, questions: Sequence[str], max_text: int = 16) -> dict[str, torch.Tensor]:
    """Question ids for ViLT: ``<s>`` first (its pooled token), right-padded.

    Used in: chapter 03
    """
    enc = tokenizer([f"{tokenizer.bos_token} {q}" for q in questions], return_tensors="pt", padding="max_length",
                    max_length=max_text, truncation=True, add_special_tokens=False)
    return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}


def fit_vilt(vilt: Any, tokenizer: Any, images: torch.Tensor, questions: Sequence[str], answers: Sequence[str],
             image_index: torch.Tensor, vocabulary: Sequence[str], *, steps: int, lr: float = 1e-3,
             batch_size: int = 64, seed: int = 0, cfg: Any = None, progress: bool = True) -> Any:
    """Train ViLT as a classifier over ``vocabulary`` (cross-entropy on the answer's index);
    ``image_index[i]`` says which of ``images`` question i is about.

    Used in: chapter 03
    """
    import torch.nn.functional as F

    from ..data import Batches
    from ..train import fit

    index = {a: i for i, a in enumerate(vocabulary)}
    missing = sorted({a for a in answers if a not in index})
    if missing:
        raise ValueError(f"answers not in vocabulary: {missing[:5]}")
    enc = vilt_inputs(tokenizer, questions, max_text=vilt.config.max_position_embeddings)
    labels = torch.tensor([index[a] for a in answers])

    def loss_fn(model: Any, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        ids, mask, img, y = batch
        logits = model(input_ids=ids, attention_mask=mask, pixel_values=images[img.cpu()].to(ids.device)).logits
        return F.cross_entropy(logits, y)

    batches = Batches(enc["input_ids"], enc["attention_mask"], image_index, labels, batch_size=batch_size, seed=seed)
    return fit(vilt, batches, loss_fn=loss_fn, steps=steps, lr=lr, warmup=min(50, steps // 10), schedule="cosine",
               cfg=cfg, desc="ViLT", progress=progress)


@torch.no_grad()
def vilt_answer(vilt: Any, tokenizer: Any, images: torch.Tensor, questions: Sequence[str],
                vocabulary: Sequence[str]) -> list[str]:
    """The highest-scoring answer from ``vocabulary`` for each (image, question).

    Used in: chapter 03
    """
    vilt.eval()
    device = next(vilt.parameters()).device
    enc = vilt_inputs(tokenizer, questions, max_text=vilt.config.max_position_embeddings)
    logits = vilt(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                  pixel_values=images.to(device)).logits
    return [vocabulary[i] for i in logits.argmax(-1).tolist()]
