"""Instruction data for a vision-language model: conversations about shapes scenes, tokenised
with the loss masked to the assistant's words.

* stage 1 (feature alignment, LLaVA §4.2): "describe the image." -> the scene's caption;
* stage 2 (instruction tuning): questions about colour, shape, count, position, yes/no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from ..chat import ASSISTANT, EOS, assistant, build_prompt, make_tokenizer, user
from ..contracts import Instance, ListOf, Tensor, Texts, contract
from .shapes import ShapesData, make_qa, make_shapes
from .vocabulary import SceneObject
from .words import QA

IGNORE_INDEX = -100  # labels the loss skips (the default ignore_index of PyTorch's cross_entropy)
DESCRIBE = "describe the image."


@lru_cache(maxsize=1)
def _tokenizer_corpus() -> tuple[str, ...]:
    sample = make_shapes(3000, objects=(1, 4), seed=12345)
    qas = make_qa(sample, per_image=3, seed=12345)
    return (*sample.captions, *(f"{q.question} {q.answer}" for q in qas))


@contract()
def shapes_chat_tokenizer() -> Any:
    """The course's VLM tokenizer: every word of shapes captions, questions and answers
    (built from a fixed sample, so its ids never change), plus the chat words. Each call
    returns a new tokenizer (they are mutable); the sample is made once.

    Used in: chapter 03
    """
    return make_tokenizer(_tokenizer_corpus(), extra_words=["what colour is the top left object ?"])


@dataclass
class Conversation:
    """One image (an index into an image tensor) and the messages about it.

    Used in: chapter 03
    """

    image: int
    messages: list[dict[str, Any]]
    kind: str  # "caption" or a QA kind
    answer: str  # the last assistant turn


@contract(data=Instance(ShapesData, "make it with data.make_shapes(...)"))
def caption_conversations(data: ShapesData) -> list[Conversation]:
    """Stage 1: "describe the image." -> the caption, one per image.
    """
    return [Conversation(i, [user(DESCRIBE), assistant(c)], "caption", c) for i, c in enumerate(data.captions)]


@contract(qas=ListOf(Instance(QA), "QA records from data.make_qa"))
def qa_conversations(qas: Sequence[QA]) -> list[Conversation]:
    """Stage 2: one question and its answer per conversation.

    Used in: chapter 03
    """
    return [Conversation(q.index, [user(q.question), assistant(q.answer)], q.kind, q.answer) for q in qas]


@contract(qas=ListOf(Instance(QA), "QA records from data.make_qa"))
def two_turn_conversations(qas: Sequence[QA]) -> list[Conversation]:
    """Chats of two questions about the same image (the image comes with the first):
    consecutive QAs about one image are paired, so the model learns to answer in context.
    """
    out = []
    for a, b in zip(qas[::2], qas[1::2]):
        if a.index != b.index:
            continue
        msgs = [user(a.question), assistant(a.answer), user(b.question, image=False), assistant(b.answer)]
        out.append(Conversation(a.index, msgs, b.kind, b.answer))
    return out


@dataclass
class InstructionSet:
    """Tokenised conversations, right-padded: ids, labels (IGNORE_INDEX except the assistant's
    words and ``</s>``), attention mask, and which image each row is about.
    """

    input_ids: torch.Tensor  # (N, T)
    labels: torch.Tensor  # (N, T)
    attention_mask: torch.Tensor  # (N, T)
    image: torch.Tensor  # (N,)
    kinds: list[str]
    answers: list[str]
    questions: list[str]  # the last user turn's text

    def __len__(self) -> int:
        return self.input_ids.shape[0]


@contract(messages=Instance((list, tuple), "a list of chat.user(...) / chat.assistant(...) messages"))
def encode_conversation(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Token ids of ``build_prompt(messages)`` and labels that keep only what the assistant says.

    Each turn is tokenised on its own; the word-level tokenizer splits on spaces, so the
    pieces join into exactly the ids of the whole prompt.

    Used in: chapter 03
    """
    ids: list[int] = []
    labels: list[int] = []
    for m in messages:
        text = build_prompt([m])
        if m["role"] == "assistant":
            head = tokenizer(ASSISTANT, add_special_tokens=False).input_ids
            body = tokenizer(text[len(ASSISTANT):], add_special_tokens=False).input_ids
            ids += head + body
            labels += [IGNORE_INDEX] * len(head) + body  # learn the answer and when to stop
        else:
            piece = tokenizer(text, add_special_tokens=False).input_ids
            ids += piece
            labels += [IGNORE_INDEX] * len(piece)
    return ids, labels


@contract(conversations=ListOf(Instance(Conversation), "Conversation records"))
def encode_conversations(tokenizer: Any, conversations: Sequence[Conversation]) -> InstructionSet:
    """Tokenise and right-pad a list of conversations.

    Used in: chapter 03
    """
    if not conversations:
        raise ValueError("conversations must not be empty")
    rows = [encode_conversation(tokenizer, c.messages) for c in conversations]
    T = max(len(r[0]) for r in rows)
    N = len(rows)
    ids = torch.full((N, T), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((N, T), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((N, T), dtype=torch.long)
    for n, (row_ids, row_labels) in enumerate(rows):
        k = len(row_ids)
        ids[n, :k], labels[n, :k], mask[n, :k] = torch.tensor(row_ids), torch.tensor(row_labels), 1
    last_user = [next(m for m in reversed(c.messages) if m["role"] == "user") for c in conversations]
    questions = [" ".join(i["text"] for i in m["content"] if i["type"] == "text") for m in last_user]
    return InstructionSet(ids, labels, mask, torch.tensor([c.image for c in conversations]),
                          [c.kind for c in conversations], [c.answer for c in conversations], questions)


@contract(questions=Texts())
def generation_prompts(tokenizer: Any, questions: Sequence[str], *, image: bool = True
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and mask of ``USER: <image> question ASSISTANT:`` for each question.

    Used in: chapter 03
    """
    texts = [build_prompt([user(q, image=image)], add_generation_prompt=True) for q in questions]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    return enc.input_ids, enc.attention_mask


@contract(new_tokens=Tensor(rank=2, kind="int", what="(batch, new tokens) ids"))
def decode_answers(tokenizer: Any, new_tokens: torch.Tensor) -> list[str]:
    """Generated ids -> strings, stopping at ``</s>``."""
    eos = tokenizer.convert_tokens_to_ids(EOS)
    out = []
    for row in new_tokens.tolist():
        row = row[: row.index(eos)] if eos in row else row
        out.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return out


@contract(objects=ListOf(Instance(SceneObject), "SceneObject records, e.g. ShapesData.objects(i)"))
def scene_words(objects: Sequence[Any]) -> str:
    """A scene written out word by word, object by object: ``"red circle top left , blue cross
    bottom right"`` (single objects: ``"red circle left"``).

    Used in: chapter 03
    """
    if len(objects) == 1:
        o = objects[0]
        return f"{o.color} {o.shape} {o.hpos}"
    return " , ".join(f"{o.color} {o.shape} {o.vpos} {o.hpos}" for o in objects)


@contract(data=Instance(ShapesData), qas=ListOf(Instance(QA), "QA records"))
def text_conversations(data: ShapesData, qas: Sequence[QA]) -> list[str]:
    """Text-only pretraining for the language model: scenes *described in words*, then a
    question (or "describe the image.") and its answer, in the chat format.

    The language model learns to read a scene and answer about it; a VLM's projector later
    has to make pixels readable in the same way.
    """
    out = [build_prompt([user(f"{scene_words(data.objects(q.index))} {q.question}", image=False),
                         assistant(q.answer)]) for q in qas]
    out += [build_prompt([user(f"{scene_words(data.objects(i))} {DESCRIBE}", image=False), assistant(c)])
            for i, c in enumerate(data.captions)]
    return out
