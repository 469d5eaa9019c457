"""Run configuration: profile, device, dtype, seeds and threads.

Every notebook starts with ``cfg = mmcourse.setup(PROFILE, seed=SEED)``. The returned
:class:`RunConfig` is the one place that says where tensors live and in which
precision, so no chapter ever writes ``"cuda"`` literally.

Profiles (see DESIGN.md §2):

* ``tiny`` -- CPU-friendly, offline; small models trained inside the notebook.
* ``full`` -- real pretrained checkpoints from the hub, meant for a GPU.
* ``auto`` -- ``full`` only when CUDA is available *and* ``HF_HUB_OFFLINE`` is not set.

The environment variable ``MMCOURSE_PROFILE`` overrides the argument, so CI (and a
learner) can force a profile without editing the notebook.

A *stand-in run* (``MMCOURSE_STANDIN_HUB=DIR``, written by ``python -m mmcourse
standin-hub DIR``) is the full profile on the CPU against tiny random checkpoints saved
under the real repo ids: every full-profile call runs, ``cfg.standin`` is True, and a
chapter skips only the claims that random weights cannot meet (``make test-full``).
"""

from __future__ import annotations

import json
import os
import platform
import random
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

import numpy as np
import torch

from .contracts import Bool, Choice, Float, Int, Maybe, Text, contract

PROFILES = ("auto", "tiny", "full")

METRICS_ENV = "MMCOURSE_METRICS"
STANDIN_ENV = "MMCOURSE_STANDIN_HUB"


@dataclass(frozen=True)
class RunConfig:
    """The resolved run configuration returned by :func:`setup`."""

    profile: str  # "tiny" or "full"
    device: str  # "cpu", "cuda" or "mps"
    dtype: torch.dtype  # compute dtype for autocast / loading checkpoints
    seed: int
    threads: int  # torch intra-op threads
    standin: bool = False  # full profile against the stand-in hub: random weights

    @property
    def is_tiny(self) -> bool:
        return self.profile == "tiny"

    @property
    def is_full(self) -> bool:
        return self.profile == "full"

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    def describe(self) -> str:
        """One line: profile, device, dtype, seed, threads and library versions."""
        dtype = str(self.dtype).replace("torch.", "")
        versions = library_versions()
        own = versions.pop("mmcourse", "?")
        libs = " ".join(f"{k} {v}" for k, v in versions.items())
        profile = f"{self.profile} (stand-in hub)" if self.standin else self.profile
        return (
            f"mmcourse {own} | profile={profile} device={self.device} dtype={dtype} "
            f"seed={self.seed} threads={self.threads} | python {platform.python_version()} {libs}"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dtype"] = str(self.dtype).replace("torch.", "")
        return d


def library_versions(names: tuple[str, ...] = ("mmcourse", "torch", "transformers", "diffusers")) -> dict[str, str]:
    """Installed versions of ``names``, by default the libraries the course teaches (missing ones are skipped)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """True when the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE=1``)."""
    return _env_flag("HF_HUB_OFFLINE")


def standin_hub() -> str | None:
    """The stand-in hub folder of this run (``$MMCOURSE_STANDIN_HUB``), or None.

    The run must also point the Hugging Face cache at it and stay offline, set before
    Python starts (``huggingface_hub`` reads both when it is imported); a clear error
    says which is missing.
    """
    folder = os.environ.get(STANDIN_ENV, "").strip()
    if not folder:
        return None
    if not os.path.isfile(os.path.join(folder, "STANDIN.json")):
        raise ValueError(f"{STANDIN_ENV}={folder!r} is not a stand-in hub (no STANDIN.json); write one "
                         f"with: python -m mmcourse standin-hub {folder}")
    cache = os.environ.get("HF_HUB_CACHE", "")
    if not hub_offline() or os.path.realpath(cache) != os.path.realpath(folder):
        raise ValueError(f"a stand-in run needs HF_HUB_OFFLINE=1 and HF_HUB_CACHE={folder!r} in the "
                         f"environment before Python starts; got HF_HUB_OFFLINE="
                         f"{os.environ.get('HF_HUB_OFFLINE', '')!r}, HF_HUB_CACHE={cache!r}")
    return folder


@contract(profile=Choice(PROFILES))
def resolve_profile(profile: str = "auto") -> str:
    """Turn ``"auto" | "tiny" | "full"`` (or ``$MMCOURSE_PROFILE``) into ``"tiny"``/``"full"``.
    """
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a string, one of {PROFILES}; got {type(profile).__name__}")
    # 1. The argument must be valid on its own, even when the environment overrides it.
    if profile.strip().lower() not in PROFILES:
        raise ValueError(f"profile={profile!r} is not a profile; expected one of {PROFILES}")
    profile = profile.strip().lower()
    # 2. $MMCOURSE_PROFILE (CI, a learner's shell) wins over the notebook's argument.
    env = os.environ.get("MMCOURSE_PROFILE", "").strip().lower()
    if env:
        if env not in PROFILES:
            raise ValueError(f"environment variable MMCOURSE_PROFILE={env!r} is not a profile; "
                             f"expected one of {PROFILES}")
        profile = env
    if profile == "auto":
        return "full" if torch.cuda.is_available() and not hub_offline() else "tiny"
    return profile


def pick_device(profile: str) -> str:
    """CUDA when present; Apple's MPS for the full profile; otherwise the CPU."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if profile == "full" and mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> torch.dtype:
    """fp32 on CPU/MPS; on CUDA bf16 where the card has it natively, else fp16 (e.g. a T4).

    ``torch.cuda.is_bf16_supported()`` counts *emulated* bf16 by default, which would
    pick bf16 on a T4; we ask for native support (compute capability >= 8).
    """
    if device != "cuda":
        return torch.float32
    major, _ = torch.cuda.get_device_capability()
    return torch.bfloat16 if major >= 8 else torch.float16


#: torch's CPU threads unless told otherwise, on every machine. The thread count decides the
#: order in which torch adds partial sums, so two counts differ in the last digits and a
#: training run drifts apart over hundreds of steps (a 650-step CLIP: 75.4% vs 74.6% held-out).
#: One fixed count gives the same numbers on a 2-core laptop, a 16-core workstation or a
#: process pinned to one core (slower there, same result). 2: the reference machine.
DEFAULT_THREADS = 2
THREADS_ENV = "MMCOURSE_THREADS"


def default_threads() -> int:
    """``$MMCOURSE_THREADS`` if set, else :data:`DEFAULT_THREADS` -- not the core count (see
    DEFAULT_THREADS: more threads would be faster on a big machine and give other numbers)."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if not env:
        return DEFAULT_THREADS
    if not env.isdigit() or int(env) < 1:
        raise ValueError(f"environment variable {THREADS_ENV}={env!r} must be a positive whole number")
    return int(env)


@contract(seed=Int(min=0))
def seed_everything(seed: int) -> None:
    """Seed python's ``random``, NumPy and torch (CPU and CUDA)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@contract(profile=Choice(PROFILES), seed=Int(min=0), device=Maybe(Choice(("cpu", "cuda", "mps"))),
          threads=Maybe(Int(min=1)), verbose=Bool())
def setup(
    profile: str = "auto",
    seed: int = 0,
    *,
    device: str | None = None,
    threads: int | None = None,
    verbose: bool = True,
) -> RunConfig:
    """Resolve the profile, seed everything, choose device/dtype/threads and print one line.

    Args:
        profile: ``"auto"``, ``"tiny"`` or ``"full"``; ``$MMCOURSE_PROFILE`` overrides it.
        seed: seeds python, NumPy and torch.
        device: force a device (``"cpu"``, ``"cuda"``, ``"mps"``); default picks one.
        threads: torch CPU threads; default :data:`DEFAULT_THREADS` (2) on every machine, so
            results are the same everywhere (``$MMCOURSE_THREADS`` overrides it).
        verbose: print the one-line report.

    Returns:
        A frozen :class:`RunConfig`.

    Raises:
        ValueError: ``"full"`` with no GPU and no ``device`` given (the message says what
            to do), or a stand-in run whose environment is incomplete.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    resolved = resolve_profile(profile)
    standin = resolved == "full" and standin_hub() is not None
    seed_everything(seed)
    if device is None and standin:
        device = "cpu"  # random tiny checkpoints: the CPU is enough, and results are exact
    if device is None:
        device = pick_device(resolved)
        if resolved == "full" and device == "cpu":
            raise ValueError(
                "profile='full' loads real checkpoints and needs a GPU, but torch sees no CUDA or MPS "
                "device. Use the tiny profile (mmcourse.setup('tiny'), or MMCOURSE_PROFILE=tiny), get a "
                "GPU (Colab: Runtime > Change runtime type > T4 GPU), or, to run the full profile on "
                "the CPU anyway (slow; 4-bit models cannot load), pass device='cpu'.")
    elif device not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is not supported; expected 'cpu', 'cuda' or 'mps'")
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device")
    if threads is None:
        threads = default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int; got {threads!r}")
    torch.set_num_threads(threads)
    cfg = RunConfig(
        profile=resolved, device=device, seed=seed, threads=threads, standin=standin,
        # a stand-in run loads checkpoints in bf16, as a GPU run loads half precision, so a float32
        # input fed to a half-precision model fails here too (training on the CPU stays fp32)
        dtype=torch.bfloat16 if standin else pick_dtype(device),
    )
    if verbose:
        print(cfg.describe())
        if standin:
            print(f"[stand-in run] checkpoints come from the stand-in hub {standin_hub()}: tiny random "
                  "weights under the real repo ids, loaded in bfloat16, so every full-profile call runs "
                  "on the CPU; claims about their quality are skipped.")
    return cfg


@contract(name=Text(), value=Float())
def log_metric(name: str, value: float) -> float:
    """Record a notebook's key result so ``make course`` can list it in ``build/summary.md``.

    Outside the course runner this only returns ``value``.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    value = float(value)
    path = os.environ.get(METRICS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": value}) + "\n")
    return value
