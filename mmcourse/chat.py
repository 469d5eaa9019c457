"""Chat prompts for vision-language models: the tokenizer, the chat template, the processor.

A LLaVA-style conversation is a list of messages in the transformers format::

    [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what colour is the circle?"}]},
     {"role": "assistant", "content": [{"type": "text", "text": "red"}]}]

The template turns it into one string (LLaVA-1.5's Vicuna style, ``USER: ... ASSISTANT: ...</s>``)::

    USER: <image> what colour is the circle? ASSISTANT: red</s>

The course's tokenizer is a word-level ``tokenizers`` model wrapped in
``PreTrainedTokenizerFast``, so the same object feeds a transformers ``LlavaProcessor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .compat import image_processor_class
from .contracts import Bool, Instance, Int, Text, Texts, contract

IMAGE_TOKEN = "<image>"
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS, IMAGE_TOKEN)  # ids 0..4
USER, ASSISTANT = "USER:", "ASSISTANT:"

#: Jinja chat template (what ``processor.apply_chat_template`` renders). Mirrors :func:`build_prompt`.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if not loop.first %} {% endif -%}"
    "{{ 'USER: ' if message['role'] == 'user' else 'ASSISTANT: ' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if not loop.first %} {% endif -%}"
    "{%- if item['type'] == 'image' -%}<image>{%- else -%}{{ item['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}</s>{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %} ASSISTANT:{% endif -%}"
)


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        raise TypeError(f"{where}['content'] must be a string or a list of items; got {type(content).__name__}")
    parts = []
    for item in content:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "image":
            parts.append(IMAGE_TOKEN)
        elif kind == "text":
            parts.append(str(item["text"]))
        else:
            raise ValueError(f"{where}: each content item needs type 'image' or 'text'; got {item!r}")
    return " ".join(parts)


@contract(add_generation_prompt=Bool())
def build_prompt(messages: Sequence[dict[str, Any]], add_generation_prompt: bool = False) -> str:
    """Render a conversation with the course's chat template, in plain Python.

    Gives exactly what ``processor.apply_chat_template(messages, tokenize=False)`` gives
    with :data:`CHAT_TEMPLATE` (a test checks it).

    Used in: chapter 03
    """
    if isinstance(messages, (str, dict)) or not isinstance(messages, Sequence) or not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    turns = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("user", "assistant"):
            raise ValueError(f"messages[{i}]['role'] must be 'user' or 'assistant'; got {role!r}")
        body = _content_text(m.get("content"), f"messages[{i}]")
        turns.append(f"{USER} {body}" if role == "user" else f"{ASSISTANT} {body}{EOS}")
    prompt = " ".join(turns)
    return prompt + f" {ASSISTANT}" if add_generation_prompt else prompt


@contract(question=Text(), image=Bool())
def user(question: str, *, image: bool = True) -> dict[str, Any]:
    """A user message: optionally an image, then the question text.

    Used in: chapter 03
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be a non-empty string; got {question!r}")
    content: list[dict[str, str]] = [{"type": "image"}] if image else []
    return {"role": "user", "content": [*content, {"type": "text", "text": question.strip()}]}


@contract(answer=Instance(str, "the answer as a string"))
def assistant(answer: str) -> dict[str, Any]:
    """An assistant message holding ``answer``.

    Used in: chapter 03
    """
    return {"role": "assistant", "content": [{"type": "text", "text": answer}]}


@contract(texts=Texts())
def make_tokenizer(texts: Iterable[str], *, extra_words: Iterable[str] = ()) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` over every word in ``texts`` plus the chat words.

    Words are split on whitespace and punctuation (``"circle?"`` -> ``circle``, ``?``); ids
    0-4 are ``<pad> <unk> <s> </s> <image>``. It carries :data:`CHAT_TEMPLATE`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    splitter = pre_tokenizers.Whitespace()
    words: dict[str, None] = {}
    for t in [*texts, *extra_words, "USER: ASSISTANT: describe the image."]:
        for w, _ in splitter.pre_tokenize_str(t):
            words.setdefault(w, None)
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in sorted(words):
        vocab.setdefault(w, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = splitter
    core.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # joins with spaces, tidies " ?"
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, unk_token=UNK, bos_token=BOS,
                                  eos_token=EOS, extra_special_tokens={"image_token": IMAGE_TOKEN},
                                  chat_template=CHAT_TEMPLATE, padding_side="right")
    return tok


@contract(image_size=Int(min=1), patch_size=Int(min=1))
def llava_processor(tokenizer: Any, *, image_size: int = 32, patch_size: int = 8) -> Any:
    """A transformers ``LlavaProcessor`` built offline: the course tokenizer, a CLIP image
    processor that only resizes and rescales to [0, 1], and the chat template.

    Used in: chapter 03
    """
    from transformers import LlavaProcessor

    image_processor = image_processor_class("CLIPImageProcessor")(
        size={"height": image_size, "width": image_size}, do_center_crop=False, do_normalize=False,
        do_convert_rgb=True)
    return LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
                          vision_feature_select_strategy="full", chat_template=CHAT_TEMPLATE,
                          num_additional_image_tokens=0)
