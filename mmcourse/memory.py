"""Where training memory goes, measured on the CPU so it is the same on every machine.

Training with Adam holds, per parameter: the weight, its gradient, and Adam's two moment
estimates. In fp32 that is 4 + 4 + 8 = 16 bytes; mixed precision keeps fp16 weights and
gradients plus an fp32 master copy and the moments, 2 + 2 + 12 = 16 bytes again (ZeRO,
Rajbhandari et al. 2020, §3.1). On top come the *activations* saved for the backward pass,
which grow with batch and sequence length; gradient checkpointing saves only each block's
input and recomputes the rest (Chen et al. 2016).

* :func:`saved_activation_bytes` -- bytes of the tensors autograd saves during one forward
  pass (``torch.autograd.graph.saved_tensors_hooks``), parameters excluded;
* :func:`optimizer_state_bytes` -- bytes Adam actually allocates after one step;
* :func:`weight_bytes` -- a checkpoint's weights at a given precision (nf4 counts its block
  scales: 4 bits + one fp32 absmax per 64 weights, Dettmers et al. 2023 §3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from .contracts import Bool, Choice, Duck, Float, Function, Instance, contract

Precision = Literal["fp32", "fp16", "bf16", "int8", "nf4"]
BYTES_PER_WEIGHT = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "nf4": 0.5 + 4 / 64}


def _loss(loss_fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    loss = loss_fn()
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.requires_grad:
        raise TypeError("loss_fn must run a forward pass and return the scalar loss tensor (with a gradient), "
                        f"e.g. lambda: model(input_ids=ids, labels=ids).loss; it returned {type(loss).__name__}")
    return loss


@contract(model=Instance(torch.nn.Module), loss_fn=Function())
def saved_activation_bytes(model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor]) -> int:
    """Bytes autograd keeps for backward while ``loss_fn()`` runs a forward pass of ``model``
    (each storage counted once; the model's own parameters are not activations).

    Used in: chapter 07
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = _loss(loss_fn)
    loss.backward()  # the saved tensors are used (and, with checkpointing, recomputed) here
    model.zero_grad(set_to_none=True)
    return sum(seen.values())


@contract(model=Instance(torch.nn.Module), loss_fn=Function(), lr=Float(min=0, open_min=True))
def optimizer_state_bytes(model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor], lr: float = 1e-4) -> int:
    """Bytes AdamW allocates for its moments after one step on the trainable parameters.

    Used in: chapter 07
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=lr)
    _loss(loss_fn).backward()
    opt.step()
    model.zero_grad(set_to_none=True)
    return sum(t.nbytes for state in opt.state.values() for t in state.values()
               if isinstance(t, torch.Tensor) and t.dim() > 0)


@contract(model=Duck(("gradient_checkpointing_enable",), "a transformers model"), on=Bool())
def checkpointing(model: torch.nn.Module, on: bool = True) -> None:
    """Turn activation (gradient) checkpointing on or off, non-reentrant. transformers 5.x
    renamed ``gradient_checkpointing_enable`` to ``activation_checkpointing_enable`` (the old
    name warns); this calls whichever the installed version has.

    Used in: chapter 07
    """
    if on:
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    elif hasattr(model, "activation_checkpointing_disable"):
        model.activation_checkpointing_disable()
    else:
        model.gradient_checkpointing_disable()


@contract(params=Float(min=0, open_min=True), precision=Choice(tuple(BYTES_PER_WEIGHT)))
def weight_bytes(params: float, precision: Precision = "fp16") -> float:
    """Bytes of ``params`` weights stored at ``precision``.

    Used in: chapter 07
    """
    return params * BYTES_PER_WEIGHT[precision]
