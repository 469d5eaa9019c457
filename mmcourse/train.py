"""Training: one step (:func:`train_step`), the learning-rate schedule (:func:`lr_at`), and
the loop every chapter uses (:func:`fit`).

A run is budgeted in **steps** with a fixed seed, never in seconds, so a slower laptop
takes longer and gets the same numbers. ``time_limit`` is only a guard against a runaway
run: when it trips, :func:`fit` raises :class:`TimeLimitExceeded` instead of returning a
result that would depend on the machine's speed.

The same ``fit`` runs unchanged under ``accelerate launch --num_processes N`` (or
``torchrun``): every process draws the same global batch and trains on its own 1/N slice,
and the gradients are averaged across processes after each backward pass, as PyTorch's
DistributedDataParallel does. N processes with batch B/N then follow one process with batch
B (for losses that average over examples; CLIP's needs :func:`mmcourse.contrastive.gather_features`).
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm as tqdm_auto
from tqdm.std import tqdm as tqdm_text

from .compat import autocast_dtype
from .contracts import Choice, Float, Instance, Int, Maybe, contract
from .runtime import RunConfig

Batch = Any
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], Mapping[str, float]]
Schedule = Literal["constant", "cosine"]


class TimeLimitExceeded(RuntimeError):
    """A run hit its ``time_limit`` guard before its step budget: its result is void."""


@dataclass
class History:
    """What :func:`fit` measured: the loss per step and the evaluations."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)  # seconds since the start (for speed, never for results)
    lr: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)  # each has "step"
    stopped_by: str = ""  # "steps" or "data" (an iterator ran out)

    @property
    def steps(self) -> int:
        return self.step[-1] if self.step else 0

    @property
    def seconds(self) -> float:
        return self.time[-1] if self.time else 0.0

    @property
    def final_loss(self) -> float:
        """Mean loss over the last 10 % of steps (less noisy than the last step)."""
        if not self.loss:
            return math.nan
        k = max(1, len(self.loss) // 10)
        return sum(self.loss[-k:]) / k

    @property
    def final_eval(self) -> dict[str, float]:
        return self.evals[-1] if self.evals else {}

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "loss": self.loss, "time": self.time, "lr": self.lr, "evals": self.evals,
                "stopped_by": self.stopped_by}


def to_device(batch: Batch, device: str | torch.device) -> Batch:
    """Move every tensor inside a (nested) tuple/list/dict batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return type(batch)({k: to_device(v, device) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def classification_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Default loss: ``batch = (inputs, labels)``, cross-entropy of ``model(inputs)``."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError("the default loss_fn expects each batch to be (inputs, labels); "
                        "pass loss_fn=... for other batch layouts")
    x, y = batch
    return F.cross_entropy(model(x), y)


@contract(step=Int(min=1), base_lr=Float(min=0), steps=Int(min=1), warmup=Int(min=0), schedule=Choice(("constant", "cosine")))
def lr_at(step: int, *, base_lr: float, steps: int, warmup: int = 0, schedule: Schedule = "constant") -> float:
    """The learning rate at ``step`` (1 = the first step): a linear warm-up over ``warmup``
    steps, then constant, or a cosine from ``base_lr`` down to 0 at ``steps``
    (Loshchilov & Hutter, 2017, eq. 5 without restarts).
    """
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule={schedule!r}: expected 'constant' or 'cosine'")
    scale = min(1.0, step / warmup) if warmup else 1.0
    if schedule == "cosine":
        scale *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / steps)))
    return base_lr * scale


def distributed_state() -> tuple[int, int]:
    """``(rank, world size)``: ``(0, 1)`` in a plain run; under ``accelerate launch`` or
    ``torchrun`` (``$WORLD_SIZE`` > 1) this process's rank and the number of processes,
    joining the process group on first use (gloo on CPUs, NCCL on GPUs).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        from accelerate import PartialState

        PartialState()  # reads the launcher's environment and joins the process group
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _average_gradients(model: nn.Module) -> None:
    """All-reduce every gradient and divide by the number of processes (DDP's averaging)."""
    world = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


def _shard(batch: Batch, rank: int, world: int) -> Batch:
    """This process's slice of a global batch: rows ``rank * B/world`` to ``(rank + 1) * B/world``."""
    if isinstance(batch, torch.Tensor):
        if len(batch) % world:
            raise ValueError(f"a batch of {len(batch)} cannot be split evenly over {world} processes")
        size = len(batch) // world
        return batch[rank * size:(rank + 1) * size]
    if isinstance(batch, Mapping):
        return type(batch)({k: _shard(v, rank, world) for k, v in batch.items()})
    if isinstance(batch, (list, tuple)):
        return type(batch)(_shard(v, rank, world) for v in batch)
    return batch


@contract(model=Instance(nn.Module), optimizer=Instance(torch.optim.Optimizer), clip_grad=Maybe(Float(min=0, open_min=True)))
def train_step(model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, *,
               loss_fn: LossFn = classification_loss, clip_grad: float | None = None,
               scaler: torch.amp.GradScaler | None = None, amp_dtype: torch.dtype | None = None) -> float:
    """One optimisation step; returns the loss (before the update) as a float.

    1. forward: the loss on ``batch`` (under autocast to ``amp_dtype`` on a GPU);
    2. clear the old gradients, back-propagate (with several processes: average the
       gradients across them);
    3. clip the global gradient norm to ``clip_grad`` (if given);
    4. let the optimizer update the weights.
    """
    device_type = next(model.parameters()).device.type
    with torch.autocast(device_type=device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        loss = loss_fn(model, batch)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise TypeError("loss_fn must return a scalar tensor")
    optimizer.zero_grad(set_to_none=True)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        _average_gradients(model)
    if clip_grad is not None:
        if scaler is not None:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return float(loss.detach())


def _batches(data: Iterable[Batch] | Callable[[], Batch]) -> Iterator[Batch]:
    """An endless stream of batches from an iterable (re-iterated) or a callable;
    an iterator is consumed once."""
    if callable(data) and not hasattr(data, "__iter__"):
        while True:
            yield data()
    if iter(data) is data:
        yield from data
        return
    for epoch in itertools.count():
        n = 0
        for batch in data:
            n += 1
            yield batch
        if n == 0:
            raise ValueError(f"data yielded no batches (epoch {epoch})")


def _progress_bar(steps: int, desc: str, enabled: bool) -> Any:
    # Headless runs (CI, `make course`) get a text bar: a widget bar would be saved in the
    # executed notebook as its first frame ("0%"); the text bar keeps its final line.
    headless = os.environ.get("MMCOURSE_HEADLESS") == "1"
    bar = tqdm_text if headless else tqdm_auto
    return bar(total=steps, desc=desc, unit="step", disable=not enabled, mininterval=5.0 if headless else 0.5)


def _check_fit_arguments(model: Any, data: Any, steps: Any, eval_every: Any, clip_grad: Any, schedule: Any,
                         loss_fn: Any, time_limit: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps must be a positive int (the training budget in optimiser steps); got {steps!r}")
    if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every <= 0):
        raise ValueError(f"eval_every must be a positive int; got {eval_every!r}")
    if clip_grad is not None and not (isinstance(clip_grad, (int, float)) and clip_grad > 0):
        raise ValueError(f"clip_grad must be a positive number or None; got {clip_grad!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ValueError(f"time_limit must be a positive number of seconds or None; got {time_limit!r}")
    if not (callable(data) or hasattr(data, "__iter__")):
        raise TypeError(f"data must be an iterable of batches or a callable returning a batch; "
                        f"got {type(data).__name__}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule={schedule!r}: expected 'constant' or 'cosine'")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(model, batch)")


def _place(model: nn.Module, cfg: RunConfig | None, rank: int, world: int) -> tuple[str, torch.dtype | None]:
    """Move ``model`` to this process's device in training mode (with several processes, every one
    starting from rank 0's weights); return the device and the autocast dtype (None: full precision)."""
    device = cfg.device if cfg is not None else "cpu"
    if world > 1 and device == "cuda":
        device = f"cuda:{os.environ.get('LOCAL_RANK', rank)}"  # one GPU per process
    model.to(device).train()
    if world > 1:
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)
    return device, autocast_dtype(device, cfg.dtype) if cfg is not None else None


@contract(model=Instance(nn.Module, "any torch.nn.Module"), steps=Int(min=1), lr=Float(min=0, open_min=True),
          weight_decay=Float(min=0), warmup=Int(min=0), schedule=Choice(("constant", "cosine")),
          clip_grad=Maybe(Float(min=0, open_min=True)), eval_every=Maybe(Int(min=1)), time_limit=Maybe(Float(min=0, open_min=True)))
def fit(
    model: nn.Module,
    data: Iterable[Batch] | Callable[[], Batch],
    *,
    steps: int,
    loss_fn: LossFn = classification_loss,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    warmup: int = 0,
    schedule: Schedule = "constant",
    clip_grad: float | None = 1.0,
    eval_fn: EvalFn | None = None,
    eval_every: int | None = None,
    cfg: RunConfig | None = None,
    desc: str = "train",
    progress: bool = True,
    time_limit: float | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimiser steps on ``data`` and return its :class:`History`.

    ``data`` is an iterable of batches (re-iterated when exhausted), an iterator (consumed
    once) or a callable returning a batch; ``loss_fn(model, batch)`` defaults to
    cross-entropy on ``(inputs, labels)``. AdamW unless ``optimizer`` is given; ``lr`` follows
    :func:`lr_at`; ``eval_fn(model) -> {name: value}`` runs every ``eval_every`` steps and at
    the end. ``time_limit`` (seconds) is a guard: past it, :class:`TimeLimitExceeded`.

    Used in: chapters 00, 01, 02, 04, 05, 06, 07
    """
    _check_fit_arguments(model, data, steps, eval_every, clip_grad, schedule, loss_fn, time_limit)
    rank, world = distributed_state()
    device, amp = _place(model, cfg, rank, world)
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    scaler = torch.amp.GradScaler(device, enabled=True) if amp == torch.float16 else None
    history, bar, start, step = History(), _progress_bar(steps, desc, progress and rank == 0), time.perf_counter(), 0
    with bar:
        for step, batch in zip(range(1, steps + 1), _batches(data)):
            for group, base in zip(optimizer.param_groups, base_lrs):  # 1. this step's learning rate
                group["lr"] = lr_at(step, base_lr=base, steps=steps, warmup=warmup, schedule=schedule)
            if world > 1:
                batch = _shard(batch, rank, world)  # this process's slice of the global batch
            loss = train_step(model, to_device(batch, device), optimizer, loss_fn=loss_fn,  # 2. one step
                              clip_grad=clip_grad, scaler=scaler, amp_dtype=amp)
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at step {step}; lower lr?")
            elapsed = time.perf_counter() - start  # 3. record, evaluate, report
            history.step.append(step)
            history.loss.append(loss)
            history.time.append(elapsed)
            history.lr.append(optimizer.param_groups[0]["lr"])
            if eval_fn is not None and eval_every and step % eval_every == 0:
                history.evals.append(evaluate(model, eval_fn, step))
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if time_limit is not None and elapsed > time_limit and step < steps:  # 4. the runaway guard
                raise TimeLimitExceeded(f"{desc}: stopped by its {time_limit:g} s guard after {step} of {steps} "
                                        "steps; the result would depend on this machine's speed, so none is given")
    history.stopped_by = "steps" if step == steps else "data"
    if eval_fn is not None and (not history.evals or history.evals[-1]["step"] != step):
        history.evals.append(evaluate(model, eval_fn, step))
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, eval_fn: EvalFn, step: int) -> dict[str, float]:
    """``eval_fn(model)`` in eval mode without gradients, as ``{"step": step, **metrics}``.
    """
    was_training = model.training
    model.eval()
    metrics = {k: float(v) for k, v in eval_fn(model).items()}
    model.train(was_training)
    return {"step": step, **metrics}
