"""Every task of a unified decoder as one token sequence with its labels.

Three tasks share one stream, each a document of :class:`~mmcourse.tokens.MultimodalVocabulary`:

* draw     ``<s> draw : a red circle <boi> c_1 ... c_N <eoi> </s>``  (text -> image)
* caption  ``<s> <boi> c_1 ... c_N <eoi> describe : a red circle </s>``  (image -> text)
* vqa      ``<s> <boi> c_1 ... c_N <eoi> what colour is the circle ? answer : red </s>``

Labels copy the ids where the model should learn to write and are -100 (ignored by the loss)
on the prompt, as in chapter 03's instruction tuning. "Per-modality pretraining" adds two
unimodal tasks: ``text`` (a caption alone, every word labelled) and ``image`` (an image alone).
A caption is dropped from ``draw`` with probability ``p_uncond`` (``<s> draw : <boi> ...``), so
the same model also learns the unconditional distribution that classifier-free guidance needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .contracts import Choice, Float, Instance, Int, Tensor, Text, contract
from .data.shapes import ShapesData, make_qa
from .data.words import QA
from .tokens import MultimodalVocabulary

IGNORE_INDEX = -100
TASKS = ("draw", "caption", "vqa", "text", "image")


@contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"))
def draw_prompt(vocab: MultimodalVocabulary, caption: str) -> list[int]:
    """``<s> draw : {caption} <boi>``: what the model continues with image codes ("" = unconditional).

    Used in: chapter 06
    """
    return vocab.encode([f"draw : {caption}".strip()], eos=False) + [vocab.boi]


@contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"),
          codes=Tensor(kind="int", what="of image codes"), instruction=Text())
def read_prompt(vocab: MultimodalVocabulary, codes: torch.Tensor, instruction: str) -> list[int]:
    """``<s> <boi> codes <eoi> {instruction}``: what the model continues with words."""
    return vocab.encode([codes, instruction], eos=False)


@contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"), task=Choice(TASKS))
def task_example(vocab: MultimodalVocabulary, task: str, codes: torch.Tensor | None = None, caption: str = "",
                 qa: QA | None = None) -> tuple[list[int], list[int]]:
    """One training sequence and its labels (-100 on the prompt) for ``task`` in :data:`TASKS`.

    Used in: chapter 06
    """
    # 1. prompt (not learned) and target (learned) for each task
    if task == "draw":
        prompt, target = draw_prompt(vocab, caption), vocab.encode_image(codes)[1:] + [vocab.eos]
    elif task == "caption":
        prompt, target = read_prompt(vocab, codes, "describe :"), vocab.encode_text(caption) + [vocab.eos]
    elif task == "vqa":
        prompt, target = read_prompt(vocab, codes, f"{qa.question} answer :"), vocab.encode_text(qa.answer) + [vocab.eos]
    elif task == "text":
        prompt, target = [vocab.bos], vocab.encode_text(caption) + [vocab.eos]
    elif task == "image":
        prompt, target = [vocab.bos], vocab.encode_image(codes) + [vocab.eos]
    else:
        raise ValueError(f"task={task!r}: expected one of {TASKS}")
    # 2. one sequence; labels only on the target
    return prompt + target, [IGNORE_INDEX] * len(prompt) + target


@dataclass
class UnifiedData:
    """Tokenised scenes: code grids, captions and questions of the same images."""

    codes: torch.Tensor  # (N, h, w) image codes
    captions: list[str]
    qas: list[QA]

    def __len__(self) -> int:
        return len(self.captions)


@contract(scenes=Instance(ShapesData, "make it with data.make_shapes(...)"),
          codes=Tensor(rank=3, kind="int", what="(N, h, w) image codes"), seed=Int(min=0))
def unified_data(scenes: ShapesData, codes: torch.Tensor, *, seed: int = 0) -> UnifiedData:
    """Pair each scene's codes with its caption and three questions about it.

    Used in: chapter 06
    """
    if codes.shape[0] != len(scenes):
        raise ValueError(f"codes has {codes.shape[0]} grids for {len(scenes)} scenes")
    return UnifiedData(codes, list(scenes.captions), make_qa(scenes, per_image=3, seed=seed))


class TaskMix:
    """A callable batch source for :func:`~mmcourse.train.fit`: each call draws ``batch_size``
    sequences, tasks in proportion to ``weights``, right-padded, as (ids, attention mask, labels).

    Used in: chapter 06
    """

    @contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"),
              data=Instance(UnifiedData, "unified.unified_data(...)"), batch_size=Int(min=1),
              p_uncond=Float(min=0, max=1), seed=Int(min=0))
    def __init__(self, vocab: MultimodalVocabulary, data: UnifiedData, weights: Mapping[str, float], *,
                 batch_size: int = 32, p_uncond: float = 0.1, seed: int = 0) -> None:
        unknown = sorted(set(weights) - set(TASKS))
        if unknown or not weights:
            raise ValueError(f"weights: unknown task(s) {unknown}; expected a subset of {TASKS}")
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"weights must be >= 0 with a positive sum; got {dict(weights)}")
        self.vocab, self.data, self.batch_size, self.p_uncond = vocab, data, batch_size, p_uncond
        self.tasks = list(weights)
        self.p = np.array([weights[t] for t in self.tasks], dtype=float) / sum(weights.values())
        self.rng = np.random.default_rng(seed)

    def example(self) -> tuple[list[int], list[int]]:
        task = self.tasks[self.rng.choice(len(self.tasks), p=self.p)]
        i = int(self.rng.integers(len(self.data)))
        caption = self.data.captions[i]
        if task == "draw" and self.rng.random() < self.p_uncond:
            caption = ""  # the dropped caption of classifier-free guidance
        qa = self.data.qas[3 * i + int(self.rng.integers(3))] if task == "vqa" else None
        return task_example(self.vocab, task, self.data.codes[i], caption, qa)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return pad_batch([self.example() for _ in range(self.batch_size)], self.vocab.pad)


def pad_batch(examples: Sequence[tuple[list[int], list[int]]], pad: int) -> tuple[torch.Tensor, ...]:
    """Right-pad (ids, labels) pairs into (B, L) ids, attention mask and labels."""
    L = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), L), pad)
    labels = torch.full((len(examples), L), IGNORE_INDEX)
    mask = torch.zeros((len(examples), L), dtype=torch.long)
    for b, (x, y) in enumerate(examples):
        ids[b, : len(x)], labels[b, : len(y)], mask[b, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    return ids, mask, labels


@contract(model=Instance(torch.nn.Module, "a causal LM (models.unified.build_unified)"))
def unified_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Next-token cross-entropy on the labelled positions (transformers shifts the labels).

    Used in: chapter 06
    """
    ids, mask, labels = batch
    return model(input_ids=ids, attention_mask=mask, labels=labels).loss
