"""Real checkpoints for the full profile, and ``load`` for both profiles.

* full profile: ``from_pretrained`` with the run config's dtype and device (or, in a
  stand-in run, the tiny random checkpoint saved under the same repo id: see
  :mod:`mmcourse.hub.standin`).
* tiny profile: the *same library class* built from a tiny config (random weights),
  with a printed notice, so the code path is exercised offline on a CPU.

The registry (names, repo ids, sizes, licences) is :mod:`mmcourse.hub.registry`.
"""

from __future__ import annotations

from typing import Any

from ..compat import dtype_kwargs
from ..contracts import Choice, Instance, Maybe, contract
from ..runtime import RunConfig, hub_offline, standin_hub
from . import tiny
from .registry import REGISTRY, ModelSpec, names, spec, table

__all__ = ["REGISTRY", "HubError", "ModelSpec", "build_tiny", "load", "names", "spec", "table", "tiny"]


class HubError(RuntimeError):
    """A checkpoint could not be loaded; the message says what to do instead."""

    def _render_traceback_(self) -> list[str]:  # one clear line in Jupyter
        return [f"HubError: {self}"]


def _check_standin(s: ModelSpec) -> None:
    """In a stand-in run, a repo the stand-in hub lacks is a clear error, not a cache miss."""
    import json
    from pathlib import Path

    folder = standin_hub()
    held = json.loads((Path(folder) / "STANDIN.json").read_text())
    if held.get(s.repo_id, "").startswith(("model", "pipeline")):
        return
    why = held.get(s.repo_id, "it was not written")
    raise HubError(f"{s.name!r} ({s.repo_id}) is not in the stand-in hub {folder} ({why}); "
                   f"it holds: {', '.join(k for k, v in held.items() if v.startswith(('model', 'pipeline')))}")


def _library_class(s: ModelSpec) -> Any:
    import importlib

    module = importlib.import_module(s.library)
    return getattr(module, s.cls)


@contract(name=Choice(tuple(REGISTRY)), cfg=Maybe(Instance(RunConfig)))
def build_tiny(name: str, cfg: RunConfig | None = None, *, verbose: bool = True) -> Any:
    """The tiny stand-in for ``name``: the same class, a tiny config, random weights."""
    s = spec(name)
    if s.tiny is None:
        raise HubError(
            f"{name!r} ({s.cls}) has no tiny stand-in yet: it needs the full profile and a GPU "
            f"(see chapter {s.chapter} for what the tiny profile uses instead)"
        )
    model = s.tiny()
    if cfg is not None and hasattr(model, "to"):
        model = model.to(cfg.device)
    if verbose:
        modules = [model] if hasattr(model, "parameters") and callable(model.parameters) else [
            m for m in getattr(model, "components", {}).values() if hasattr(m, "parameters")]
        n = sum(p.numel() for m in modules for p in m.parameters())
        full = f"{s.params_m:g}M" if s.params_m else "?"
        print(f"[tiny profile] built {s.library}.{type(model).__name__} from a tiny config "
              f"({n / 1e3:.0f}k parameters, random weights) instead of loading {s.repo_id} ({full})")
    return model


@contract(name=Choice(tuple(REGISTRY)), cfg=Instance(RunConfig, "the RunConfig of mmcourse.setup()"))
def load(name: str, cfg: RunConfig, **kwargs: Any) -> Any:
    """Load checkpoint ``name`` for the run: real weights (full) or a tiny stand-in (tiny).

    Args:
        name: a registry name (see :func:`names`).
        cfg: the run config from :func:`mmcourse.setup`.
        **kwargs: passed on to ``from_pretrained`` (full profile only).

    Raises:
        ValueError: unknown name (the message lists the known ones).
        HubError: full profile but the checkpoint cannot be had (offline, not cached,
            no CUDA for a 4-bit model); the message says what to do instead.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    s = spec(name)
    if not isinstance(cfg, RunConfig):
        raise TypeError(f"cfg must be the RunConfig from mmcourse.setup(); got {type(cfg).__name__}")
    if cfg.is_tiny:
        return build_tiny(name, cfg)
    if cfg.standin:
        _check_standin(s)
    cls = _library_class(s)
    options: dict[str, Any] = dict(dtype_kwargs(s.library, cfg.dtype))
    if s.subfolder:
        options["subfolder"] = s.subfolder
    if hub_offline():
        options["local_files_only"] = True
    if s.quantization == "nf4" and cfg.standin:
        print(f"[stand-in run] {name!r} would load in 4-bit on a GPU; its stand-in loads in float32")
    elif s.quantization == "nf4":
        if cfg.device != "cuda":
            raise HubError(f"{name!r} loads in 4-bit with bitsandbytes, which needs a CUDA GPU; "
                           f"this run is on {cfg.device}. Pick a smaller model, e.g. 'smolvlm-256m'.")
        import torch
        from transformers import BitsAndBytesConfig

        options["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16)
        options["device_map"] = {"": 0}
    options.update(kwargs)
    try:
        model = cls.from_pretrained(s.repo_id, **options)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = ("the hub is offline (HF_HUB_OFFLINE=1) and it is not in the local cache"
                 if hub_offline() else "it could not be downloaded or read")
        raise HubError(
            f"could not load {name!r} ({s.repo_id}): {where}. Either connect to the internet "
            f"(and unset HF_HUB_OFFLINE), download it once with `hf download {s.repo_id}`, or run "
            f"the tiny profile: mmcourse.setup('tiny'). [{type(err).__name__}: {reason[:200]}]"
        ) from None
    if s.quantization is None and hasattr(model, "to"):
        model = model.to(cfg.device)
    if hasattr(model, "eval"):
        model.eval()
    return model
