"""Helpers shared by the check modules: calling the learner's code and reading what it
returned, with hints that name the usual mistakes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

#: Error messages (a substring) that betray a common mistake, and the hint for it.
COMMON_ERRORS = {
    "could not infer output dtype": "a comparison such as (a == b) gives a bool tensor; convert it with "
                                    ".float() before .mean()",
    "mean(): input dtype should be": "a comparison such as (a == b) gives a bool tensor; convert it with "
                                     ".float() before .mean()",
    "element 0 of tensors does not require grad": "the loss has no gradient: compute it from model(x), "
                                                  "not from detached values or .item()",
}


def generator(seed: int = 0) -> torch.Generator:
    """A private RNG, so that checks never disturb the notebook's global seed."""
    return torch.Generator().manual_seed(seed)


def require_callable(obj: Any, what: str) -> None:
    assert callable(obj), f"pass your {what} function itself (not its result); got {type(obj).__name__}"


def call(fn: Callable[..., Any], *args: Any, what: str, hints: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; an error whose message contains a known substring becomes a
    failed check with the hint for that mistake (``hints`` first, then :data:`COMMON_ERRORS`)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        message = str(err)
        for table in (hints or {}, COMMON_ERRORS):
            for needle, hint in table.items():
                if needle in message:
                    raise AssertionError(f"{what} raised {type(err).__name__}: {message.splitlines()[0][:120]} "
                                         f"-- hint: {hint}") from None
        raise


def _returned(value: Any, what: str) -> None:
    if value is None:
        raise AssertionError(f"{what} returned None: did you forget `return`?")


def expect_float(value: Any, what: str) -> float:
    """The learner's result must be a Python float (``np.float64`` is one), and finite."""
    _returned(value, what)
    if isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} returned a tensor of shape {tuple(value.shape)}; the exercise asks for a "
                             "Python float: end with .item()")
    if isinstance(value, np.ndarray) or (isinstance(value, np.generic) and not isinstance(value, float)):
        raise AssertionError(f"{what} returned NumPy {type(value).__name__}; return a Python float: float(...)")
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        raise AssertionError(f"{what} should return a float; got {type(value).__name__}")
    if isinstance(value, int):
        raise AssertionError(f"{what} returned the int {value}; the exercise asks for a float (did an integer "
                             "division // or a count slip in?)")
    assert math.isfinite(value), f"{what} should be finite; got {value}"
    return value


def expect_int(value: Any, what: str) -> int:
    """The learner's result must be a Python int (not a float, not a tensor)."""
    _returned(value, what)
    if isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} returned a tensor; the exercise asks for a Python int: end with .item() "
                             "or use Python's sum()")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AssertionError(f"{what} should return an int; got {type(value).__name__} {value!r}")
    return int(value)


def expect_tensor(value: Any, what: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """The learner's result must be a torch tensor (of ``shape`` when given)."""
    _returned(value, what)
    if isinstance(value, np.ndarray):
        raise AssertionError(f"{what} returned a NumPy array; return a torch tensor (torch.from_numpy(...))")
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} should return a torch tensor; got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}; got {tuple(value.shape)}")
    return value


def expect_loss(value: Any, what: str) -> float:
    """A loss must be a scalar tensor (so that it can be back-propagated); returns its value."""
    _returned(value, what)
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} returned {type(value).__name__}; a loss must stay a torch tensor so that "
                             "loss.backward() works (no .item() here)")
    if value.dim() != 0:
        raise AssertionError(f"{what} returned shape {tuple(value.shape)}; a loss is one number: average "
                             "with .mean()")
    out = float(value.detach())
    assert math.isfinite(out), f"{what} should be finite; got {out}"
    return out
