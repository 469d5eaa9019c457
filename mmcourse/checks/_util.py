"""Helpers shared by the check modules."""

from __future__ import annotations

import math
from typing import Any

import torch


def generator(seed: int = 0) -> torch.Generator:
    """A private RNG, so that checks never disturb the notebook's global seed."""
    return torch.Generator().manual_seed(seed)


def as_float(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"{what} should be a number; got {type(value).__name__}") from err
    assert math.isfinite(out), f"{what} should be finite; got {out}"
    return out


def require_callable(obj: Any, what: str) -> None:
    assert callable(obj), f"pass your {what} function itself (not its result); got {type(obj).__name__}"
