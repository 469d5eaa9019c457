"""Every library-version difference the course cares about, in one place.

Chapters and modules never branch on versions themselves; they call these helpers.
The sources are the libraries' own notes: transformers' ``MIGRATION_GUIDE_V5.md`` and
release notes, diffusers' release notes.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from typing import Any

import torch

from .contracts import Duck, Text, contract


def version_tuple(package: str) -> tuple[int, ...]:
    """``"5.24.0"`` -> ``(5, 24, 0)``; ``(0,)`` when the package is not installed.
    """
    try:
        raw = metadata.version(package)
    except metadata.PackageNotFoundError:
        return (0,)
    parts = []
    for piece in raw.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or (0,)


def dtype_kwargs(library: str, dtype: torch.dtype) -> dict[str, Any]:
    """The keyword that sets the load dtype in ``from_pretrained``.

    * transformers >= 5 takes ``dtype=`` (``torch_dtype=`` still works but warns).
    * diffusers takes ``torch_dtype=`` before 0.40; 0.40 adds ``dtype=`` and deprecates
      ``torch_dtype``.
    """
    if library == "transformers":
        return {"dtype": dtype} if version_tuple("transformers") >= (5,) else {"torch_dtype": dtype}
    if library == "diffusers":
        return {"dtype": dtype} if version_tuple("diffusers") >= (0, 40) else {"torch_dtype": dtype}
    raise ValueError(f"library={library!r}: expected 'transformers' or 'diffusers'")


def autocast_dtype(device: str, dtype: torch.dtype) -> torch.dtype | None:
    """The dtype to autocast to on ``device``, or None when training should stay in fp32.

    CPU autocast to bf16 is slow on most laptops, so the tiny profile trains in fp32.
    """
    if device == "cuda" and dtype in (torch.float16, torch.bfloat16):
        return dtype
    return None


@contract()
def video_processors_available() -> bool:
    """Whether transformers can build video processors, which need torchvision in 5.x.

    Processors that bundle one (LLaVA-OneVision, Qwen2.5-VL, SmolVLM) cannot be created
    without it, even to read images. Colab ships torchvision; the CPU install does not.

    Used in: chapters 03, 04
    """
    return importlib.util.find_spec("torchvision") is not None


@contract(name=Text())
def image_processor_class(name: str) -> Any:
    """A transformers image processor class that works without torchvision.

    transformers 5 makes the torchvision-backed "fast" processors the default and falls
    back, with a warning, to ``<Name>Pil`` when torchvision is missing (the course does
    not install it: it breaks beside the CPU torch wheel). Ask for the PIL one directly when it exists.

    Used in: chapter 01
    """
    import transformers

    if importlib.util.find_spec("torchvision") is None and hasattr(transformers, name + "Pil"):
        return getattr(transformers, name + "Pil")
    if not hasattr(transformers, name):
        raise ValueError(f"name={name!r} is not a transformers image processor")
    return getattr(transformers, name)


def cache_kwarg() -> str:
    """The name of the KV-cache argument of a transformers model's ``forward``.

    transformers 5.2x renames ``past_key_values`` to ``cache`` (the old name warns until
    5.40); earlier versions only know ``past_key_values``.
    """
    import inspect

    from transformers import LlamaForCausalLM

    return "cache" if "cache" in inspect.signature(LlamaForCausalLM.forward).parameters else "past_key_values"


def output_cache(output: Any) -> Any:
    """The KV cache a forward pass returned (``output.cache`` or ``output.past_key_values``)."""
    for name in ("cache", "past_key_values"):
        value = output.get(name) if hasattr(output, "get") else getattr(output, name, None)
        if value is not None:
            return value
    return None


@contract(processor=Duck(("apply_chat_template",), "a transformers processor"))
def processor_call_kwargs(processor: Any, **kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for the processor call inside ``processor.apply_chat_template``
    (e.g. ``padding=True``): transformers 5.2x wants them in ``processor_kwargs={...}``,
    earlier versions take them directly.

    Used in: chapter 03
    """
    import inspect

    if "processor_kwargs" in inspect.signature(processor.apply_chat_template).parameters:
        return {"processor_kwargs": kwargs}
    return kwargs
