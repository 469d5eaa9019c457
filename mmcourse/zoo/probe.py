"""Stored probes: fixed inputs and the shipped model's outputs on them, beside the weights.

``zoo/<name>/probe.safetensors`` holds an entry's probe inputs (tensors; lists of strings
go in the file's metadata) and what the shipped model computed from them when the probe was
written. :func:`check` loads the weights, feeds the stored inputs and compares: a change in
the model's code, its config handling, its tokenizer or a library that alters what the
shipped weights compute shows up here in a second, without any training. As timm stores test
tensors beside its weights and diffusers checks output slices; the tolerance allows for
another CPU's float kernels, not for a different computation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .registry import ENTRIES, ZOO_DIR

RTOL, ATOL = 1e-3, 1e-4  # timm's rtol; atol for outputs near zero


def path(name: str, directory: Path = ZOO_DIR) -> Path:
    return Path(directory) / name / "probe.safetensors"


def outputs(name: str, model: torch.nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """What ``model`` (entry ``name``'s, in eval mode) computes from the probe ``inputs``."""
    model.eval()
    with torch.no_grad():
        got = ENTRIES[name].probe_outputs(model, inputs)
    return {k: v.detach().cpu().float().contiguous() for k, v in got.items()}


def write(name: str, model: torch.nn.Module, directory: Path = ZOO_DIR) -> Path:
    """Draw entry ``name``'s probe inputs, run ``model`` on them and store both."""
    inputs = ENTRIES[name].probe_inputs()
    tensors = {f"input.{k}": v.contiguous() for k, v in inputs.items() if isinstance(v, torch.Tensor)}
    strings = {f"input.{k}": json.dumps(v) for k, v in inputs.items() if not isinstance(v, torch.Tensor)}
    tensors.update({f"output.{k}": v for k, v in outputs(name, model, inputs).items()})
    target = path(name, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target), metadata=strings)
    return target


def read(name: str, directory: Path = ZOO_DIR) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The stored (inputs, outputs) of entry ``name``'s probe."""
    file = path(name, directory)
    if not file.exists():
        raise FileNotFoundError(f"zoo entry {name!r} has no stored probe: run `python -m mmcourse zoo write-probe {name}`")
    inputs: dict[str, Any] = {}
    outputs_: dict[str, torch.Tensor] = {}
    with safe_open(str(file), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open has no __iter__)
            kind, _, k = key.partition(".")
            (inputs if kind == "input" else outputs_)[k] = f.get_tensor(key)
        for key, value in (f.metadata() or {}).items():
            inputs[key.partition(".")[2]] = json.loads(value)
    return inputs, outputs_


def check(name: str, model: torch.nn.Module) -> list[str]:
    """Where ``model``'s outputs on the stored inputs differ from the stored outputs (empty: none)."""
    inputs, want = read(name)
    got = outputs(name, model, inputs)
    problems = [f"{k}: missing from the outputs" for k in want if k not in got]
    for k in (k for k in want if k in got):
        if got[k].shape != want[k].shape:
            problems.append(f"{k}: shape {tuple(got[k].shape)}, stored {tuple(want[k].shape)}")
        elif not torch.allclose(got[k], want[k], rtol=RTOL, atol=ATOL):
            worst = float((got[k] - want[k]).abs().max())
            problems.append(f"{k}: max |difference| {worst:.3g} (rtol {RTOL}, atol {ATOL})")
    return problems
