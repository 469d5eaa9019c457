"""Shipped checkpoints: load, inspect, train, save and verify zoo entries.

Each trained entry is a folder ``mmcourse/zoo/<name>/`` with ``model.safetensors``,
``probe.safetensors`` (fixed inputs and the shipped model's outputs on them) and
``meta.json`` (config, recipe, metrics, tolerance, ``trained_at``: the commit whose code
trained or last verified the weights, and ``trigger``: the hash of what the recipe read then).
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
from . import probe
from .registry import ENTRIES, ZOO_DIR, ZooEntry
from .trigger import LIBRARIES, trigger

MAX_BYTES = 2 * 2**20  # DESIGN.md §6: each checkpoint <= 2 MB


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
def pipeline(name: str, cfg: RunConfig | None = None) -> Any:
    """The entry's model assembled for use, with its companions: ``ldm-shapes`` as a
    :class:`~mmcourse.diffusion.TextToImage` (schedule, VAE, text encoder and tokenizer),
    ``unified-shapes`` as a :class:`~mmcourse.unified.UnifiedGPT` (vocabulary, VQ tokenizer),
    ``ddpm-*-shapes`` and ``unclip-shapes`` with their schedule and VAE; the loaded model itself
    for the entries that need nothing more (a CLIP, a VLM and a Whisper carry their tokenizers).

    Used in: chapters 05, 06, 07
    """
    e = entry(name)
    return e.assembler(load(name, cfg), e.recipe, cfg)


@contract(name=Choice(lambda: sorted(ENTRIES)), cfg=Maybe(Instance(RunConfig, "the RunConfig of mmcourse.setup()")))
def train(name: str, *, cfg: RunConfig | None = None, progress: bool = True
          ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Re-run the entry's recipe from scratch; returns (model, metrics)."""
    return entry(name).train(cfg=cfg, progress=progress)


def needs_replay(name: str) -> bool:
    """Whether anything ``name``'s recipe reads changed since its weights were trained or last
    replayed (the cheap trigger); :func:`mmcourse.zoo.replay.probe` then decides."""
    return meta(name).get("trigger") != trigger(name)


def _commit() -> str:
    from .replay import ReplayUnavailable, head

    try:
        return head()
    except ReplayUnavailable:
        return "unknown"


def save(name: str, model: torch.nn.Module, metrics: dict[str, float], seconds: float,
         directory: Path = ZOO_DIR) -> Path:
    """Write ``model.safetensors``, ``probe.safetensors`` and ``meta.json`` for an entry (``zoo train --save``)."""
    e = entry(name)
    folder = Path(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    # clone: tied weights share memory, which safetensors refuses
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    size = (folder / "model.safetensors").stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{name}: checkpoint is {size / 2**20:.1f} MB, over the 2 MB zoo limit")
    probe.write(name, model, folder.parent)
    info = {
        "name": name,
        "description": e.description,
        "config": e.config_dict(model),
        "recipe": e.recipe,
        "metrics": metrics,
        "tolerance": e.tolerance,
        "train_seconds": round(seconds, 1),
        "trained_at": _commit(),
        "trigger": trigger(name),
        "versions": library_versions(LIBRARIES),
        "created": time.strftime("%Y-%m-%d"),
    }
    (folder / "meta.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder


def record_current(name: str, commit: str | None) -> None:
    """After a replay or a retraining showed the weights are current: store the trigger, and
    ``commit`` as ``trained_at`` (``None`` keeps the old one: the working tree was not committed)."""
    path = ZOO_DIR / name / "meta.json"
    info = meta(name)
    info.pop("source_hash", None)
    if commit is not None:
        info["trained_at"] = commit
    info["trigger"] = trigger(name)
    info["versions"] = library_versions(LIBRARIES)
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def within_tolerance(name: str, metrics: dict[str, float], *, partial: bool = False) -> list[str]:
    """The stored metrics that ``metrics`` (a retraining's, or with ``partial`` a re-scoring of
    the shipped weights that gives only some of them) missed; empty when all are within the
    entry's tolerance.
    """
    e, stored = entry(name), meta(name)["metrics"]
    missed = []
    for k, v in stored.items():
        tolerance = e.tolerance_of(k)
        if k not in metrics:
            if not partial:
                missed.append(f"{k}: missing from the new metrics (stored {v})")
        elif tolerance is None or abs(metrics[k] - v) > tolerance:
            missed.append(f"{k}: now {metrics[k]} vs stored {v} (tolerance {tolerance})")
    return missed


def reproduce(name: str) -> tuple[dict[str, float], list[str]]:
    """Re-score the shipped weights with the entry's evaluator: (metrics, the stored ones they miss)."""
    e = entry(name)
    metrics = e.evaluator(load(name), e.recipe)
    return metrics, within_tolerance(name, metrics, partial=True)
