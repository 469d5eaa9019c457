"""Visual instruction tuning on shapes: the data bundle, the two training stages, answering,
and scoring. The model is :class:`mmcourse.models.vlm.VLM`.

>>> data = instruct.shapes_instructions(tower)          # captions + VQA, features cached
>>> instruct.train_stage(vlm, data, stage=1, steps=300)  # projector only, on captions
>>> instruct.train_stage(vlm, data, stage=2, steps=600)  # projector + LM, questions + captions
>>> instruct.evaluate_vqa(vlm, data)                    # exact match per question kind
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from . import chat, vqa
from .data import Batches, make_qa, make_shapes
from .data.instructions import (
    DESCRIBE,
    InstructionSet,
    caption_conversations,
    decode_answers,
    encode_conversations,
    generation_prompts,
    qa_conversations,
    two_turn_conversations,
)
from .data.scene_text import QA
from .data.shapes import ShapesData
from .runtime import RunConfig
from .train import History, fit

KINDS = ("color", "shape", "count", "position", "yesno")


@lru_cache(maxsize=1)
def _tokenizer_corpus() -> tuple[str, ...]:
    sample = make_shapes(3000, objects=(1, 4), seed=12345)
    qas = make_qa(sample, per_image=3, seed=12345)
    return (*sample.captions, *(f"{q.question} {q.answer}" for q in qas))


def shapes_chat_tokenizer() -> Any:
    """The course's VLM tokenizer: every word of shapes captions, questions and answers
    (built from a fixed sample, so its ids never change), plus the chat words. Each call
    returns a new tokenizer (they are mutable); the sample is made once.

    Used in: chapter 03
    """
    return chat.make_tokenizer(_tokenizer_corpus(), extra_words=["what colour is the top left object ?"])


@dataclass
class ShapesInstructions:
    """Everything the two stages and the evaluation need, with the tower's features cached
    (the tower is frozen, so each image goes through it once).

    Used in: chapter 03
    """

    tokenizer: Any
    train: ShapesData
    test: ShapesData
    train_features: torch.Tensor  # (N_train, P, D_v)
    captions: InstructionSet  # stage 1
    questions: InstructionSet  # the questions alone
    mixture: InstructionSet  # stage 2: questions, two-turn chats and captions
    test_qas: list[QA]


def shapes_instructions(tower: torch.nn.Module, *, tokenizer: Any = None, n_train: int = 4000,
                        n_test: int = 500, per_image: int = 3, objects: tuple[int, int] = (1, 4),
                        seed: int = 0) -> ShapesInstructions:
    """Scenes with 1-4 objects; stage-1 captions, stage-2 questions; test questions about
    unseen images (other seeds).

    Used in: chapter 03
    """
    tokenizer = tokenizer if tokenizer is not None else shapes_chat_tokenizer()
    train = make_shapes(n_train, objects=objects, seed=seed + 100)
    test = make_shapes(n_test, objects=objects, seed=seed + 101)
    qas = make_qa(train, per_image=per_image, seed=seed + 102)
    test_qas = make_qa(test, per_image=2, seed=seed + 103)
    with torch.no_grad():
        feats = torch.cat([tower(train.images[i:i + 1000]) for i in range(0, n_train, 1000)])
    captions, questions = caption_conversations(train), qa_conversations(qas)
    chats = two_turn_conversations(qas[: len(qas) // 2])  # about half the images also get a two-turn chat
    return ShapesInstructions(tokenizer, train, test, feats, encode_conversations(tokenizer, captions),
                              encode_conversations(tokenizer, questions),
                              encode_conversations(tokenizer, questions + chats + captions), test_qas)


def train_stage(vlm: Any, data: ShapesInstructions, *, stage: int, steps: int, lr: float = 1e-3,
                batch_size: int = 64, seed: int = 0, cfg: RunConfig | None = None, progress: bool = True,
                examples: InstructionSet | None = None, eval_fn: Any = None, eval_every: int | None = None
                ) -> History:
    """LLaVA's stage 1 (projector only, on captions) or stage 2 (projector + LM, on the
    questions mixed with the captions, as LLaVA-1.5's mix keeps captioning data), on the
    cached tower features.

    Used in: chapter 03
    """
    vlm.set_stage(stage)
    ex = examples if examples is not None else (data.captions if stage == 1 else data.mixture)
    return fit_examples(vlm, ex, data.train_features, steps=steps, lr=lr, batch_size=batch_size, seed=seed,
                        cfg=cfg, progress=progress, eval_fn=eval_fn, eval_every=eval_every, desc=f"stage {stage}")


def fit_examples(vlm: Any, examples: InstructionSet, features: torch.Tensor, *, steps: int, lr: float = 1e-3,
                 batch_size: int = 64, seed: int = 0, cfg: RunConfig | None = None, progress: bool = True,
                 eval_fn: Any = None, eval_every: int | None = None, desc: str = "fine-tune") -> History:
    """Train whatever in ``vlm`` requires grad on tokenised conversations, reading each
    image's cached tower ``features`` (indexed by ``examples.image``).

    Used in: chapter 03
    """
    device = next(vlm.parameters()).device
    batches = Batches(examples.input_ids, examples.labels, examples.attention_mask, examples.image,
                      batch_size=batch_size, seed=seed)

    def loss_fn(model: Any, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        ids, labels, mask, image = batch
        T = int(mask.sum(1).max())  # rows are right-padded: drop the columns no row uses
        return model.loss(ids[:, :T], labels[:, :T], mask[:, :T], features[image.cpu()].to(device))

    return fit(vlm, batches, loss_fn=loss_fn, steps=steps, lr=lr, warmup=min(50, steps // 10),
               schedule="cosine", cfg=cfg, desc=desc, progress=progress, eval_fn=eval_fn,
               eval_every=eval_every)


@torch.no_grad()
def answer(vlm: Any, tokenizer: Any, images: torch.Tensor, questions: Sequence[str], *,
           max_new_tokens: int = 4, batch_size: int = 256) -> list[str]:
    """Greedy answers, one per (image, question) pair.

    Used in: chapter 03
    """
    if isinstance(questions, str):
        raise TypeError("questions must be a list of strings (one per image), not one string")
    if len(questions) != images.shape[0]:
        raise ValueError(f"got {images.shape[0]} images but {len(questions)} questions: give one question per image")
    for i, q in enumerate(questions):
        if not isinstance(q, str) or not q.strip():
            raise ValueError(f"questions[{i}] is empty: ask something, e.g. 'what colour is the circle?'")
    was_training = vlm.training
    vlm.eval()
    device = next(vlm.parameters()).device
    out: list[str] = []
    for lo in range(0, len(questions), batch_size):
        ids, mask = generation_prompts(tokenizer, questions[lo:lo + batch_size])
        new = vlm.generate(ids.to(device), images[lo:lo + batch_size].to(device), attention_mask=mask.to(device),
                           max_new_tokens=max_new_tokens, eos_token_id=tokenizer.eos_token_id)
        out += decode_answers(tokenizer, new.cpu())
    vlm.train(was_training)
    return out


def describe(vlm: Any, tokenizer: Any, images: torch.Tensor, *, max_new_tokens: int = 24) -> list[str]:
    """A caption per image: the answer to "describe the image.".

    Used in: chapter 03
    """
    return answer(vlm, tokenizer, images, [DESCRIBE] * images.shape[0], max_new_tokens=max_new_tokens)


def evaluate_vqa(vlm: Any, data: ShapesInstructions, qas: Sequence[QA] | None = None,
                 images: torch.Tensor | None = None) -> dict[str, float]:
    """Exact match (after VQA normalisation) per question kind and overall, on test questions.

    Used in: chapter 03
    """
    qas = list(qas if qas is not None else data.test_qas)
    images = images if images is not None else data.test.images
    preds = answer(vlm, data.tokenizer, images[[q.index for q in qas]], [q.question for q in qas])
    by_kind: dict[str, list[int]] = defaultdict(list)
    for q, p in zip(qas, preds):
        by_kind[q.kind].append(int(vqa.normalize_answer(p) == vqa.normalize_answer(q.answer)))
    scores = {k: sum(v) / len(v) for k, v in sorted(by_kind.items())}
    scores["all"] = vqa.exact_match(preds, [q.answer for q in qas])
    return scores


def caption_accuracy(vlm: Any, data: ShapesInstructions, n: int = 200) -> float:
    """Fraction of test images whose generated caption names exactly their objects.

    Used in: chapter 03
    """
    caps = describe(vlm, data.tokenizer, data.test.images[:n])
    return vqa.caption_object_accuracy(caps, data.test.captions[:n])


@torch.no_grad()
def chat_reply(vlm: Any, tokenizer: Any, image: torch.Tensor, messages: Sequence[dict[str, Any]], *,
               max_new_tokens: int = 8) -> str:
    """The assistant's next turn in a conversation about one image (``image``: (3, S, S) or
    (1, 3, S, S)); ``messages`` hold exactly one ``{"type": "image"}`` item.

    Used in: chapter 03
    """
    prompt = chat.build_prompt(messages, add_generation_prompt=True)
    ids = tokenizer([prompt], return_tensors="pt", add_special_tokens=False).input_ids
    images = image[None] if image.dim() == 3 else image
    was_training = vlm.training
    vlm.eval()
    device = next(vlm.parameters()).device
    new = vlm.generate(ids.to(device), images.to(device), max_new_tokens=max_new_tokens,
                       eos_token_id=tokenizer.eos_token_id)
    vlm.train(was_training)
    return decode_answers(tokenizer, new.cpu())[0]
