"""Shipped checkpoints: load, inspect, train, save and verify zoo entries.

Each trained entry is a folder ``mmcourse/zoo/<name>/`` with ``model.safetensors`` and
``meta.json`` (config, recipe, metrics, tolerance, and the source hash of the code that
trained it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .. import viz
from ..contracts import Choice, Instance, Maybe, contract
from ..runtime import RunConfig, library_versions
from .registry import ENTRIES, ZOO_DIR, ZooEntry, source_hash

MAX_BYTES = 2 * 2**20  # DESIGN.md §6: each checkpoint <= 2 MB
CHEAP_SECONDS = 60.0  # entries that retrain faster than this are retrained by `make test`


@contract(name=Choice(lambda: sorted(ENTRIES)))
def entry(name: str) -> ZooEntry:
    """The recipe entry for ``name``; a clear error listing known names otherwise."""
    if not isinstance(name, str) or name not in ENTRIES:
        raise ValueError(f"name={name!r} is not in the zoo; known entries: {sorted(ENTRIES)}")
    return ENTRIES[name]


@contract(name=Choice(lambda: sorted(ENTRIES)))
def meta(name: str) -> dict[str, Any]:
    """The stored ``meta.json`` of a trained entry (config, recipe, metrics).

    Used in: chapters 00, 03, 04, 05, 06
    """
    entry(name)
    path = ZOO_DIR / name / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"zoo entry {name!r} has no checkpoint yet: run "
                                f"`python -m mmcourse zoo train {name} --save`")
    return json.loads(path.read_text(encoding="utf-8"))


def table(*, display: bool = True) -> list[dict[str, Any]]:
    """Every zoo entry: name, chapter, description and the metrics its checkpoint reached
    (shown as a Markdown table unless ``display=False``).
    """
    rows = []
    for name, e in sorted(ENTRIES.items()):
        try:
            m = meta(name)["metrics"]
        except FileNotFoundError:
            m = {}
        headline = {k: v for k, v in m.items() if not k.startswith("vqa_at_step_")}
        rows.append({"name": name, "chapter": e.chapter, "description": e.description,
                     "metrics": ", ".join(f"{k}={v:.3g}" for k, v in headline.items()) or "(not trained)"})
    if display:
        viz.table(rows)
    return rows


@contract(name=Choice(lambda: sorted(ENTRIES)), cfg=Maybe(Instance(RunConfig, "the RunConfig of mmcourse.setup()")))
def load(name: str, cfg: RunConfig | None = None) -> torch.nn.Module:
    """Build the entry's model and load its shipped weights (eval mode, on ``cfg.device``).
    Each call returns a new model.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    e = entry(name)
    model = e.build(meta(name)["config"])
    model.load_state_dict(load_file(str(ZOO_DIR / name / "model.safetensors")))
    model.eval()
    return model.to(cfg.device) if cfg is not None else model


@contract(name=Choice(lambda: sorted(ENTRIES)), cfg=Maybe(Instance(RunConfig, "the RunConfig of mmcourse.setup()")))
def train(name: str, *, cfg: RunConfig | None = None, progress: bool = True
          ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Re-run the entry's recipe from scratch; returns (model, metrics)."""
    return entry(name).train(cfg=cfg, progress=progress)


def is_cheap(name: str) -> bool:
    """Whether retraining ``name`` took under :data:`CHEAP_SECONDS` when it was made."""
    return meta(name).get("train_seconds", float("inf")) < CHEAP_SECONDS


def stale(name: str) -> bool:
    """Whether the code or data behind ``name`` changed since its weights were trained."""
    return meta(name).get("source_hash") != source_hash(name)


def save(name: str, model: torch.nn.Module, metrics: dict[str, float], seconds: float,
         directory: Path = ZOO_DIR) -> Path:
    """Write ``model.safetensors`` + ``meta.json`` for an entry (``zoo train --save``)."""
    e = entry(name)
    folder = Path(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    # clone: tied weights share memory, which safetensors refuses
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
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
        "source_hash": source_hash(name),
        "versions": {k: v for k, v in library_versions().items() if k == "torch"},
        "created": time.strftime("%Y-%m-%d"),
    }
    (folder / "meta.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder


def record_verified_hash(name: str) -> None:
    """After a retraining reproduced ``name``'s metrics, store the current source hash."""
    path = ZOO_DIR / name / "meta.json"
    info = meta(name)
    info["source_hash"] = source_hash(name)
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def within_tolerance(name: str, metrics: dict[str, float]) -> list[str]:
    """The stored metrics a retraining missed (empty when all are within tolerance).

    A tolerance of ``"*"`` applies to every metric that has none of its own.
    """
    stored = meta(name)
    tolerance = {k: stored["tolerance"].get(k, stored["tolerance"].get("*")) for k in stored["metrics"]}
    return [f"{k}: retrained {metrics.get(k)} vs stored {v} (tolerance {tolerance[k]})"
            for k, v in stored["metrics"].items()
            if k not in metrics or tolerance[k] is None or abs(metrics[k] - v) > tolerance[k]]
