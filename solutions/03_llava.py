# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 03 — Exercises: the pieces of a LLaVA
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/solutions/03_llava.ipynb)
#
# Four exercises on the parts chapter 03 builds: the projector, the `<image>` splice with
# label masking, the chat prompt, and VQA scoring. Replace each
# `raise NotImplementedError(...)` with your code and run the check below it; grade the
# whole notebook with `python -m mmcourse grade exercises/03_llava.ipynb`.

# %%
import subprocess
import sys

try:  # google.colab exists only on Colab
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "mmcourse @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0

# %%
import re
from collections import OrderedDict

import torch
from torch import nn

import mmcourse

cfg = mmcourse.setup(PROFILE, seed=SEED)
IGNORE_INDEX = -100

# %% [markdown]
# ## Exercise 03.1 — the projector
#
# Build LLaVA-1.5's `mlp2x_gelu` for any widths: `Linear(vision_dim -> hidden_size)`, a
# GELU, `Linear(hidden_size -> hidden_size)`, applied to every patch. Name the layers
# `linear_1`, `act` and `linear_2`, as transformers' `LlavaMultiModalProjector` does, so
# that weights load across. (Hint: `nn.Sequential(OrderedDict(...))` names its layers.)

# %%
def projector(vision_dim: int, hidden_size: int) -> nn.Module:
    # BEGIN SOLUTION
    return nn.Sequential(OrderedDict(linear_1=nn.Linear(vision_dim, hidden_size), act=nn.GELU(),
                                     linear_2=nn.Linear(hidden_size, hidden_size)))
    # END SOLUTION


# %%
mmcourse.check("vlm.projector", projector)

# %% [markdown]
# ## Exercise 03.2 — the splice, with label masking
#
# `embeds` is `(B, T, D)`, the token embeddings of `input_ids` `(B, T)`. Each row holds
# exactly one `image_token_id`. `image_features` is `(B, N, D)`: row b's image. Return
# `(new_embeds, new_labels)` of length `T - 1 + N`: the text before the `<image>` token,
# then the N image features, then the text after it. Labels move with their tokens; the
# N image positions get `IGNORE_INDEX` (-100), so the loss never asks the model to
# predict an image.

# %%
def splice(embeds: torch.Tensor, input_ids: torch.Tensor, image_features: torch.Tensor, image_token_id: int,
           labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    rows_e, rows_l = [], []
    for b in range(input_ids.shape[0]):
        p = int((input_ids[b] == image_token_id).nonzero()[0])
        n = image_features.shape[1]
        rows_e.append(torch.cat([embeds[b, :p], image_features[b], embeds[b, p + 1:]]))
        rows_l.append(torch.cat([labels[b, :p], labels.new_full((n,), IGNORE_INDEX), labels[b, p + 1:]]))
    return torch.stack(rows_e), torch.stack(rows_l)
    # END SOLUTION


# %%
mmcourse.check("vlm.splice", splice)

# %% [markdown]
# ## Exercise 03.3 — the chat prompt
#
# Render a conversation the way the course's chat template does (LLaVA-1.5's Vicuna
# style). Each message is `{"role": "user" or "assistant", "content": [items]}`; an item
# is `{"type": "image"}` (write `<image>`) or `{"type": "text", "text": ...}`; items are
# joined by a space. A user turn is `USER: <content>`, an assistant turn is
# `ASSISTANT: <content></s>`; turns are joined by a space. With `add_generation_prompt`,
# end with ` ASSISTANT:` so the model writes the next answer. Example:
# `USER: <image> what colour is the circle? ASSISTANT: red</s> USER: and the square? ASSISTANT:`

# %%
def build_prompt(messages: list[dict], add_generation_prompt: bool = False) -> str:
    # BEGIN SOLUTION
    turns = []
    for m in messages:
        items = m["content"]
        if isinstance(items, str):
            body = items
        else:
            body = " ".join("<image>" if it["type"] == "image" else it["text"] for it in items)
        turns.append(f"USER: {body}" if m["role"] == "user" else f"ASSISTANT: {body}</s>")
    prompt = " ".join(turns)
    return prompt + " ASSISTANT:" if add_generation_prompt else prompt
    # END SOLUTION


# %%
mmcourse.check("vlm.chat_prompt", build_prompt)

# %% [markdown]
# ## Exercise 03.4 — VQA exact match
#
# Score predictions against answers after the VQA normalisation
# (`GT-Vision-Lab/VQA vqaEval.py`): lower-case; replace punctuation by spaces (keep
# a period between digits, as in `2.5`); map number words to digits (`zero` ... `ten` ->
# `0` ... `10`); drop the articles `a`, `an`, `the`; collapse spaces. Return the fraction
# of predictions equal to their answer.

# %%
NUMBERS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}


def exact_match(predictions: list[str], answers: list[str]) -> float:
    # BEGIN SOLUTION
    def normalise(text: str) -> str:
        text = text.lower()
        text = re.sub(r"[^\w\s.]", " ", text)
        text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
        words = [NUMBERS.get(w, w) for w in text.split() if w not in {"a", "an", "the"}]
        return " ".join(words)

    return sum(normalise(p) == normalise(a) for p, a in zip(predictions, answers)) / len(answers)
    # END SOLUTION


# %%
mmcourse.check("vlm.vqa_exact_match", exact_match)
