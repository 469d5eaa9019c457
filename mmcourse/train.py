"""``fit``: the one training loop every chapter uses.

A step budget (``steps=``), a time budget (``seconds=``) or both (whichever ends
first); a ``tqdm.auto`` bar with the live loss; gradient clipping; an optional
evaluation callback; device placement and mixed precision from the run config; and a
:class:`History` to plot with :func:`mmcourse.viz.plot_history`.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm as tqdm_auto
from tqdm.std import tqdm as tqdm_text

from .compat import autocast_dtype
from .runtime import RunConfig

Batch = Any
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], Mapping[str, float]]


@dataclass
class History:
    """What :func:`fit` measured: the loss per step and the evaluations.

    Used in: chapter 00
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)  # seconds since the start
    lr: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)  # each has "step"
    stopped_by: str = ""  # "steps" or "seconds"

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
        return {
            "step": self.step,
            "loss": self.loss,
            "time": self.time,
            "lr": self.lr,
            "evals": self.evals,
            "stopped_by": self.stopped_by,
        }


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (shared tensors counted once).

    Used in: chapter 00
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def to_device(batch: Batch, device: str | torch.device) -> Batch:
    """Move every tensor inside a (nested) tuple/list/dict batch to ``device``.

    Used in: chapter 00
    """
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
    """Default loss: ``batch = (inputs, labels)``, cross-entropy of ``model(inputs)``.

    Used in: chapter 00
    """
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(
            "the default loss_fn expects each batch to be (inputs, labels); "
            "pass loss_fn=... for other batch layouts"
        )
    x, y = batch
    return F.cross_entropy(model(x), y)


def _batches(data: Iterable[Batch] | Callable[[], Batch]) -> Iterator[Batch]:
    """An endless stream of batches from an iterable (re-iterated) or a callable."""
    if callable(data) and not hasattr(data, "__iter__"):
        while True:
            yield data()
    elif not hasattr(data, "__iter__"):
        raise TypeError(
            f"data must be an iterable of batches or a callable returning a batch; "
            f"got {type(data).__name__}"
        )
    if iter(data) is data:  # a generator / iterator: consume once, then stop
        yield from data
        return
    for epoch in itertools.count():
        n = 0
        for batch in data:
            n += 1
            yield batch
        if n == 0:
            raise ValueError(f"data yielded no batches (epoch {epoch})")


def fit(
    model: nn.Module,
    data: Iterable[Batch] | Callable[[], Batch],
    *,
    loss_fn: LossFn = classification_loss,
    steps: int | None = None,
    seconds: float | None = None,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    warmup: int = 0,
    schedule: str = "constant",
    clip_grad: float | None = 1.0,
    eval_fn: EvalFn | None = None,
    eval_every: int | None = None,
    cfg: RunConfig | None = None,
    desc: str = "train",
    progress: bool = True,
) -> History:
    """Train ``model`` on ``data`` until a step or time budget runs out.

    Args:
        model: any ``nn.Module``; it is moved to ``cfg.device``.
        data: an iterable of batches (re-iterated when exhausted, e.g. a ``DataLoader``),
            an iterator (consumed once), or a callable returning a fresh batch.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; default: cross-entropy on
            ``(inputs, labels)``.
        steps: stop after this many optimiser steps.
        seconds: stop once this much wall time has passed (checked after each step).
        lr, weight_decay: AdamW settings when ``optimizer`` is None.
        warmup: linear learning-rate warm-up steps.
        schedule: after warm-up, ``"constant"`` or ``"cosine"`` decay to zero at the end
            of the budget (the budget's progress: steps done, or time spent, whichever
            is further along).
        clip_grad: max global gradient norm, or None for no clipping.
        eval_fn: ``eval_fn(model) -> {"metric": value}``, run in eval mode without grad.
        eval_every: evaluate every this many steps (and always at the end).
        cfg: the run config from :func:`mmcourse.setup` (device, dtype); default CPU fp32.
        desc: label of the progress bar.
        progress: show the progress bar.

    Returns:
        A :class:`History`.

    Used in: chapter 00
    """
    # 0. Validate the budget and arguments before touching the model.
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if steps is None and seconds is None:
        raise ValueError("give a budget: steps=N, seconds=S, or both")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0):
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0
    ):
        raise ValueError(f"seconds must be a positive number of seconds; got {seconds!r}")
    if eval_every is not None and (not isinstance(eval_every, int) or eval_every <= 0):
        raise ValueError(f"eval_every must be a positive int; got {eval_every!r}")
    if clip_grad is not None and not clip_grad > 0:
        raise ValueError(f"clip_grad must be positive or None; got {clip_grad!r}")
    if not (callable(data) or hasattr(data, "__iter__")):
        raise TypeError(
            f"data must be an iterable of batches or a callable returning a batch; "
            f"got {type(data).__name__}"
        )
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule={schedule!r}: expected 'constant' or 'cosine'")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(model, batch)")

    device = cfg.device if cfg is not None else "cpu"
    amp_dtype = autocast_dtype(device, cfg.dtype) if cfg is not None else None
    model.to(device)
    model.train()
    if optimizer is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    scaler = torch.amp.GradScaler(device, enabled=amp_dtype == torch.float16)
    history = History()

    def evaluate(step: int) -> None:
        if eval_fn is None:
            return
        model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in eval_fn(model).items()}
        model.train()
        history.evals.append({"step": step, **metrics})

    # 1. The bar counts steps when there is a step budget, else seconds.
    by_time = steps is None
    # Headless runs (CI, `make course`) get a text bar: a widget bar would be saved in the
    # executed notebook as its first frame ("0%"); the text bar keeps its final line.
    headless = os.environ.get("MMCOURSE_HEADLESS") == "1"
    bar = (tqdm_text if headless else tqdm_auto)(
        total=round(float(seconds), 1) if by_time else steps,
        desc=desc,
        unit="s" if by_time else "step",
        disable=not progress,
        mininterval=5.0 if headless else 0.5,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s {postfix}" if by_time else None,
    )
    start = time.perf_counter()
    stream = _batches(data)
    step = 0
    try:
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                history.stopped_by = "data"
                break
            step += 1
            # 2. Learning rate: linear warm-up, then constant or cosine decay.
            scale = min(1.0, step / warmup) if warmup else 1.0
            if schedule == "cosine":
                done = max(step / steps if steps else 0.0,
                           (time.perf_counter() - start) / seconds if seconds else 0.0)
                scale *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))
            if warmup or schedule != "constant":
                for g, base in zip(optimizer.param_groups, base_lrs):
                    g["lr"] = base * scale
            # 3. Forward under autocast (GPU only), backward, clip, step.
            batch = to_device(batch, device)
            with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype or torch.float32,
                                enabled=amp_dtype is not None):
                loss = loss_fn(model, batch)
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise TypeError("loss_fn must return a scalar tensor")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip_grad is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
            # 4. Record and report.
            elapsed = time.perf_counter() - start
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {step}; lower lr?")
            history.step.append(step)
            history.loss.append(value)
            history.time.append(elapsed)
            history.lr.append(optimizer.param_groups[0]["lr"])
            if eval_every and step % eval_every == 0:
                evaluate(step)
            if by_time:  # move the bar to the elapsed time; update(0) redraws at most every mininterval
                bar.n = min(elapsed, float(seconds))
                bar.set_postfix(step=step, loss=f"{value:.3f}", refresh=False)
                bar.update(0)
            else:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
            if steps is not None and step >= steps:
                history.stopped_by = "steps"
                break
            if seconds is not None and elapsed >= seconds:
                history.stopped_by = "seconds"
                break
    finally:
        if by_time:
            bar.n = min(time.perf_counter() - start, float(seconds))
            bar.refresh()
        bar.close()
    if not history.evals or history.evals[-1]["step"] != step:
        evaluate(step)
    model.eval()
    return history
