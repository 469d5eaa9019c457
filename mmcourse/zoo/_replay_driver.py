"""Runs one zoo recipe, shrunk, and records what it did step by step (a *trace*).

:mod:`mmcourse.zoo.replay` runs this file as a script twice with the same interpreter: once
over the commit that trained an entry's weights (a git worktree) and once over the working
tree. It imports ``mmcourse`` from the ``ROOT`` it is given, not from wherever the package is
installed, and needs nothing but the standard library and torch, so the same recorder drives
any commit's code, commits older than this file included::

    python _replay_driver.py ROOT NAME OVERRIDES_JSON OUT_JSON

The recipe runs whole (data, every training stage, the evaluation) with the dotted
``OVERRIDES`` applied (fewer steps, smaller test sets). Recorded, for every optimiser step:

* ``loss`` -- every value ``backward()`` was called on since the previous step;
* ``batch`` -- a digest of every tensor fed to a top-level module call with gradients on
  (the training batch, however the recipe builds it);
* ``params`` -- a digest of the stepped optimiser's parameters after the update;
* ``lr`` -- its first group's learning rate; ``rng`` -- a digest of torch's global RNG state;

and at the end the metrics the recipe returned and a digest of the returned model's
``state_dict``. Floats are written with ``float.hex`` so equal means bit-for-bit equal.

torch runs on one thread here (``MMCOURSE_REPLAY_THREADS``, default 1): with several, a few
kernels sum in an order that depends on which thread finishes first, and a replay would then
differ from itself; one thread each lets the two replays run side by side on two cores.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _import_package(root: Path) -> Any:
    """``mmcourse`` from ``root``, whatever else is installed (an editable install's finder included)."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    sys.path.insert(0, str(root))
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    package = importlib.import_module("mmcourse")
    if not Path(package.__file__).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"imported mmcourse from {package.__file__}, not from {root}")
    return package


def apply_overrides(recipe: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``recipe`` with each ``"a.b.0.c": value`` set; a path the recipe lacks is an error."""
    out = copy.deepcopy(recipe)
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node: Any = out
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        elif last not in node:
            raise KeyError(f"the recipe has no {path!r} to override")
        else:
            node[last] = value
    return out


class Recorder:
    """torch-level hooks: every optimiser step, backward call and top-level module call."""

    def __init__(self, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.steps: list[dict[str, Any]] = []
        self.optimizers = 0  # optimisers seen so far; each is tagged with its order of first use
        self._losses: list[str] = []
        self._batch = hashlib.sha256()
        self._depth = 0

    # -- digests ------------------------------------------------------------------------
    def _feed(self, h: Any, value: Any) -> None:
        torch = self.torch
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                h.update(str(k).encode())
                self._feed(h, value[k])
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._feed(h, v)
        elif isinstance(value, float):
            h.update(value.hex().encode())
        elif value is None or isinstance(value, (bool, int, str)):
            h.update(repr(value).encode())
        else:  # another object (a schedule, a tokenizer): its type
            h.update(type(value).__name__.encode())

    def digest(self, value: Any) -> str:
        h = hashlib.sha256()
        self._feed(h, value)
        return h.hexdigest()[:16]

    # -- hooks --------------------------------------------------------------------------
    def install(self) -> None:
        torch, recorder = self.torch, self
        call, backward = torch.nn.Module.__call__, torch.Tensor.backward

        def module_call(module: Any, *args: Any, **kwargs: Any) -> Any:
            if recorder._depth == 0 and torch.is_grad_enabled():
                recorder._feed(recorder._batch, (args, kwargs))
            recorder._depth += 1
            try:
                return call(module, *args, **kwargs)
            finally:
                recorder._depth -= 1

        def tensor_backward(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            if tensor.numel() == 1:
                recorder._losses.append(float(tensor.detach().double()).hex())
            return backward(tensor, *args, **kwargs)

        def after_step(optimizer: Any, args: Any, kwargs: Any) -> None:
            if not hasattr(optimizer, "_replay_order"):  # tagged: an id() may be reused once one is freed
                optimizer._replay_order = recorder.optimizers
                recorder.optimizers += 1
            order = optimizer._replay_order
            params = [p for group in optimizer.param_groups for p in group["params"]]
            recorder.steps.append({
                "step": len(recorder.steps) + 1, "optimizer": order, "loss": recorder._losses,
                "batch": recorder._batch.hexdigest()[:16], "params": recorder.digest(params),
                "lr": float(optimizer.param_groups[0]["lr"]).hex(), "rng": recorder.digest(torch.get_rng_state()),
            })
            recorder._losses, recorder._batch = [], hashlib.sha256()

        torch.nn.Module.__call__ = module_call
        torch.Tensor.backward = tensor_backward
        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(after_step)


def _plain(value: Any) -> Any:
    """Metrics as JSON with exact floats (``float.hex``)."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, str)) else repr(value)


def main(root: str, name: str, overrides_json: str, out: str) -> None:
    started = time.perf_counter()
    recorder = Recorder(int(os.environ.get("MMCOURSE_REPLAY_THREADS", "1")))
    package = _import_package(Path(root))
    zoo = importlib.import_module("mmcourse.zoo")
    entry = zoo.ENTRIES[name]
    recipe = apply_overrides(entry.recipe, json.loads(overrides_json))
    recorder.install()
    model, metrics = entry.run(recipe, cfg=None, progress=False)
    state = model.state_dict() if hasattr(model, "state_dict") else {}
    result = {
        "name": name, "root": str(root), "package": package.__file__, "steps": recorder.steps,
        "metrics": _plain(metrics), "model": recorder.digest(dict(state)),
        "torch": recorder.torch.__version__, "threads": recorder.torch.get_num_threads(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    Path(out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: python _replay_driver.py ROOT NAME OVERRIDES_JSON OUT_JSON")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(*sys.argv[1:])
