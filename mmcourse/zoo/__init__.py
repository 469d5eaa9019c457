"""The tiny model zoo: small checkpoints trained on the course data, shipped in the package.

Each entry is a folder ``mmcourse/zoo/<name>/`` with ``model.safetensors`` and
``meta.json`` (config, the recipe that trained it, the metrics it reached, versions).
``train(name)`` re-runs the recipe; a test checks the metrics reproduce.

>>> model = zoo.load("shapes-cnn")      # trained weights, eval mode
>>> model, metrics = zoo.train("shapes-cnn")
"""

from __future__ import annotations

import builtins
import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..runtime import RunConfig, library_versions
from .recipes import ENTRIES, ZooEntry

ZOO_DIR = Path(__file__).resolve().parent
MAX_BYTES = 2 * 2**20  # DESIGN.md §6: each checkpoint <= 2 MB


def entry(name: str) -> ZooEntry:
    """The recipe entry for ``name``; a clear error listing known names otherwise.

    Used in: chapter 00
    """
    if not isinstance(name, str) or name not in ENTRIES:
        raise ValueError(f"name={name!r} is not in the zoo; known entries: {sorted(ENTRIES)}")
    return ENTRIES[name]


def meta(name: str) -> dict[str, Any]:
    """The stored ``meta.json`` of a trained entry (config, recipe, metrics).

    Used in: chapter 00
    """
    entry(name)
    path = ZOO_DIR / name / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"zoo entry {name!r} has no checkpoint yet: run "
                                f"`python -m mmcourse zoo train {name} --save`")
    return json.loads(path.read_text(encoding="utf-8"))


def list() -> builtins.list[dict[str, Any]]:  # noqa: A001 - the API the course documents
    """Every zoo entry with its description and the metrics its checkpoint reached.

    Used in: chapter 00
    """
    rows = []
    for name, e in sorted(ENTRIES.items()):
        try:
            m = meta(name)["metrics"]
        except FileNotFoundError:
            m = {}
        rows.append({"name": name, "description": e.description, "chapter": e.chapter, **m})
    return rows


def load(name: str, cfg: RunConfig | None = None) -> torch.nn.Module:
    """Build the entry's model and load its shipped weights (eval mode, on ``cfg.device``).

    Used in: chapter 00
    """
    e = entry(name)
    info = meta(name)
    model = e.build(info["config"])
    state = load_file(str(ZOO_DIR / name / "model.safetensors"))
    model.load_state_dict(state)
    model.eval()
    return model.to(cfg.device) if cfg is not None else model


def train(name: str, *, cfg: RunConfig | None = None, progress: bool = True
          ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Re-run the entry's recipe from scratch; returns (model, metrics).

    Used in: chapter 00
    """
    return entry(name).train(cfg=cfg, progress=progress)


def save(name: str, model: torch.nn.Module, metrics: dict[str, float], seconds: float,
         directory: Path = ZOO_DIR) -> Path:
    """Write ``model.safetensors`` + ``meta.json`` for an entry (used by ``zoo train --save``).

    Used in: chapter 00
    """
    e = entry(name)
    folder = Path(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}  # clone: tied weights share memory
    save_file(state, str(folder / "model.safetensors"))
    size = (folder / "model.safetensors").stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{name}: checkpoint is {size / 2**20:.1f} MB, over the 2 MB zoo limit")
    info = {
        "name": name,
        "description": e.description,
        "config": e.config_dict(model),
        "recipe": e.recipe,
        "metrics": metrics,
        "tolerance": e.tolerance,
        "train_seconds": round(seconds, 1),
        "versions": {k: v for k, v in library_versions().items() if k == "torch"},
        "created": time.strftime("%Y-%m-%d"),
    }
    (folder / "meta.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder
