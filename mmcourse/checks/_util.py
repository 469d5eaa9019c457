"""Helpers shared by the check modules: calling the learner's code and reading what it
returned, with hints that name the usual mistakes.

A check compares only plain values it made itself. The learner's function could return an
object that lies about itself -- a subclass of ``float``, ``int``, ``str``, ``list``, ``dict``,
``torch.Tensor`` or ``np.ndarray`` whose ``__sub__``, ``__eq__`` or ``__torch_function__``
says "equal" -- so :func:`plain` copies every returned value out with the base type's own
methods (``float.__float__``, ``list.__iter__``, a tensor viewed as ``torch.Tensor`` with
subclass dispatch off), and refuses any other type by name. :func:`plain_returns` wraps the
learner's function so that everything it returns goes through :func:`plain`;
``checks.run`` and the class grader's judge hand every check (public and hidden) that wrapper,
so no check can forget it.
"""

from __future__ import annotations

import copy
import functools
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


#: NumPy scalar types accepted as they are (their arithmetic is NumPy's own).
_NUMPY_SCALARS = {np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                  np.float16, np.float32, np.float64}
_PLAIN_SCALARS = {bool, int, float, str, complex, type(None)}


def _refuse(value: Any, what: str, expected: str) -> None:
    raise AssertionError(f"{what} returned a {type(value).__module__}.{type(value).__qualname__}; expected {expected}. "
                         "Return plain Python numbers, strings, lists, tuples, dicts, torch tensors or NumPy arrays")


def _plain_tensor(value: torch.Tensor, what: str) -> torch.Tensor:
    kind = type(value)
    if kind is torch.Tensor and not value.__dict__:
        return value
    if getattr(kind, "__torch_dispatch__", None) is not torch.Tensor.__torch_dispatch__:
        _refuse(value, what, "a plain torch.Tensor (this subclass computes through __torch_dispatch__)")
    # a fresh torch.Tensor over the same data and autograd graph: no subclass, no attributes set on it
    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor.as_subclass(value, torch.Tensor)


def plain(value: Any, what: str = "your function", *, models: bool = False,
          _seen: frozenset[int] = frozenset()) -> Any:
    """``value`` as plain data the check can trust: exact built-in types, ``torch.Tensor`` and
    ``np.ndarray``, copied out of any subclass with the base type's own methods, recursively
    through lists, tuples and dicts. With ``models``, a ``torch.nn.Module`` that is nothing else
    (the check then uses ``torch.nn.Module``'s own methods on it). Anything else is refused with a
    message naming its type.
    """
    kind = type(value)
    if kind in _PLAIN_SCALARS or kind in _NUMPY_SCALARS:
        return value
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value, what)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            _refuse(value, what, "numbers, not a NumPy array of Python objects")
        return value if kind is np.ndarray else np.array(value, subok=False, copy=True)
    if id(value) in _seen:
        raise AssertionError(f"{what} returned a container that holds itself")
    seen = _seen | {id(value)}
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):  # a namedtuple too: its fields, in order
        return tuple(plain(v, what, _seen=seen) for v in tuple.__iter__(value))
    if isinstance(value, list):
        return [plain(v, what, _seen=seen) for v in list.__iter__(value)]
    if isinstance(value, dict):  # a Counter or defaultdict too
        return {plain(k, what, _seen=seen): plain(v, what, _seen=seen) for k, v in dict.items(value)}
    if models and isinstance(value, torch.nn.Module):
        return value
    if isinstance(value, np.generic):
        _refuse(value, what, "a NumPy scalar of a built-in type")
    _refuse(value, what, "a number, a string, a list, a tuple, a dict, a torch tensor or a NumPy array")
    return None  # unreachable


def plain_returns(obj: Any, what: str = "your function", *, models: bool = False) -> Any:
    """``obj`` itself when it is a class (a check builds and calls its instances) or not
    callable; otherwise a wrapper whose every return value goes through :func:`plain`
    (``models``: the exercise builds a model, which is let through)."""
    if isinstance(obj, type) or not callable(obj) or getattr(obj, "__plain_returns__", False):
        return obj

    @functools.wraps(obj)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return plain(obj(*args, **kwargs), what, models=models)

    wrapper.__plain_returns__ = True  # type: ignore[attr-defined]
    return wrapper


def _snapshot(value: Any) -> Any:
    """A copy of an argument that a function could change in place (tensors, arrays, containers)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (list, tuple, dict) or isinstance(value, dict):
        return copy.deepcopy(value)
    return None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, torch.Tensor):
        return isinstance(after, torch.Tensor) and before.shape == after.shape and bool(
            torch.equal(before, after.detach()) or (before.isnan() & after.detach().isnan()).all())
    if isinstance(before, np.ndarray):
        return np.array_equal(before, after, equal_nan=True)
    if isinstance(before, (list, tuple)):
        return type(before) is type(after) and len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(v, after[k]) for k, v in before.items())
    return before == after


def generator(seed: int = 0) -> torch.Generator:
    """A private RNG, so that checks never disturb the notebook's global seed."""
    return torch.Generator().manual_seed(seed)


def require_callable(obj: Any, what: str) -> None:
    assert callable(obj), f"pass your {what} function itself (not its result); got {type(obj).__name__}"


def call(fn: Callable[..., Any], *args: Any, what: str, hints: Mapping[str, str] | None = None,
         models: bool = False, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` as plain values (:func:`plain`); an error whose message contains a
    known substring becomes a failed check with the hint for that mistake (``hints`` first, then
    :data:`COMMON_ERRORS`), and a tensor, array or container argument the call changed in place
    fails the check (the caller still needs it)."""
    before = [_snapshot(a) for a in args]
    try:
        result = plain(fn(*args, **kwargs), what, models=models)
    except NotImplementedError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError, KeyError, ArithmeticError) as err:
        message = str(err)
        for table in (hints or {}, COMMON_ERRORS):
            for needle, hint in table.items():
                if needle in message:
                    raise AssertionError(f"{what} raised {type(err).__name__}: {message.splitlines()[0][:120]} "
                                         f"-- hint: {hint}") from None
        raise
    changed = [k for k, (b, a) in enumerate(zip(before, args)) if b is not None and not _same(b, a)]
    if changed:
        raise AssertionError(f"{what} changed its inputs in place (argument {changed[0] + 1}, e.g. with `+=`, "
                             "`.mul_()`, `[...] =`, `.fill_diagonal_()` or `.pop()`): the caller still needs them; "
                             "compute a new tensor or list instead")
    return result


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
