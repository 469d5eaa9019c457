"""A stand-in hub: every registry checkpoint as a tiny random model of the same class, with
a working processor, under its real repo id, so that the full profile's loading code runs
offline on a CPU.

``python -m mmcourse standin-hub DIR`` writes a Hugging Face cache folder
(``DIR/models--org--name/snapshots/<commit>/...`` plus ``refs/main``). With
``HF_HUB_CACHE=DIR``, ``HF_HUB_OFFLINE=1`` and ``MMCOURSE_STANDIN_HUB=DIR`` set before
Python starts, ``from_pretrained("openai/clip-vit-base-patch32")`` and friends load the
stand-ins, and ``mmcourse.setup("full")`` runs on the CPU in float32 with ``cfg.standin``
set, so a chapter skips only the claims that random weights cannot meet.
``make test-full`` does this for every chapter.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ..contracts import Instance, Maybe, Strings, contract
from ..runtime import STANDIN_ENV
from .processors import NEEDS_TORCHVISION
from .processors import build as build_processor
from .registry import REGISTRY, REMOTE_CODE, spec

MANIFEST = "STANDIN.json"


def snapshot_dir(root: str | Path, repo_id: str) -> Path:
    """Where ``from_pretrained(repo_id)`` looks in a Hugging Face cache at ``root``."""
    org, _, name = repo_id.partition("/")
    commit = hashlib.sha1(f"standin {repo_id}".encode()).hexdigest()
    return Path(root) / f"models--{org}--{name}" / "snapshots" / commit


def _new_snapshot(root: Path, repo_id: str) -> Path:
    folder = snapshot_dir(root, repo_id)
    refs = folder.parents[1] / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(folder.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _label_classes(target: Path) -> None:
    """Name a classifier's classes "stand-in class i", so no one mistakes them for ImageNet's."""
    path = target / "config.json"
    config = json.loads(path.read_text())
    if "id2label" in config and len(config["id2label"]) <= 10:
        config["id2label"] = {str(i): f"stand-in class {i}" for i in range(len(config["id2label"]))}
        config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
        path.write_text(json.dumps(config, indent=2))


def _mark_missing_configs(folder: Path) -> None:
    """Record that a tokenizer subfolder (InstructBLIP's ``qformer_tokenizer/``) has no
    ``config.json``, as a download would: the cache's ``.no_exist/<commit>/`` entry lets
    ``from_pretrained(..., subfolder=...)`` go on offline instead of failing (a real cache
    gets it from the hub's 404 on first download)."""
    for sub in folder.iterdir():
        if sub.is_dir() and (sub / "tokenizer_config.json").exists() and not (sub / "config.json").exists():
            marker = folder.parents[1] / ".no_exist" / folder.name / sub.name / "config.json"
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()


def _write_one(root: Path, name: str) -> str:
    """Save ``name``'s stand-in; returns what was saved, or why nothing was."""
    import torch

    s = spec(name)
    if s.library == REMOTE_CODE:
        return "not available: ships only remote code (trust_remote_code), which the course does not run"
    if s.tiny is None:
        return "not available: no tiny config of this class yet"
    torch.manual_seed(0)
    folder = _new_snapshot(root, s.repo_id)
    model = s.tiny()
    target = folder / s.subfolder if s.subfolder else folder
    model.save_pretrained(target)
    if s.library == "diffusers" and s.subfolder is None:
        return "pipeline (with its tokenizer and scheduler)" if hasattr(model, "tokenizer") else "pipeline"
    _label_classes(target)
    processor = build_processor(name)
    if processor is not None:
        processor.save_pretrained(folder)
        _mark_missing_configs(folder)
        return "model + processor"
    if name in NEEDS_TORCHVISION:
        return "model (its processor bundles a video processor, which needs torchvision)"
    return "model"


@contract(directory=Instance((str, Path), "a folder to write the cache into"), names=Maybe(Strings()))
def write(directory: str | Path, names: list[str] | None = None) -> dict[str, str]:
    """Write the stand-in hub into ``directory`` (emptied first).

    Returns:
        repo id -> what was saved ("model + processor", "model", "pipeline", or why nothing was).
    """
    unknown = [n for n in names or [] if n not in REGISTRY]
    if unknown:
        raise ValueError(f"names={unknown!r} are not in the hub registry; known names: {', '.join(REGISTRY)}")
    root = Path(directory)
    if root.exists():
        if not (root / MANIFEST).exists() and any(root.iterdir()):
            raise ValueError(f"directory={str(root)!r} exists and is not a stand-in hub; refusing to empty it")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    wrote = {spec(name).repo_id: _write_one(root, name) for name in names or list(REGISTRY)}
    (root / MANIFEST).write_text(json.dumps(wrote, indent=2) + "\n")
    return wrote


def available(directory: str | Path) -> dict[str, str]:
    """What a stand-in hub at ``directory`` holds (repo id -> description)."""
    path = Path(directory) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def environment(directory: str | Path) -> dict[str, str]:
    """The environment variables a stand-in run needs (set them before Python starts)."""
    folder = str(Path(directory).resolve())
    return {STANDIN_ENV: folder, "HF_HUB_CACHE": folder, "HF_HUB_OFFLINE": "1",
            "MMCOURSE_PROFILE": "full", "TRANSFORMERS_OFFLINE": "1"}

