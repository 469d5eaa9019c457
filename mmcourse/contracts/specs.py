"""The specs of single values: numbers, flags, choices, objects, functions, and the base class."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a NumPy {value.dtype} array of shape {value.shape}"
    if _is_pil(value):
        return f"a PIL image ({value.mode}, {value.size[0]}x{value.size[1]})"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "convert") and hasattr(value, "size")


class Spec:
    """What one argument accepts. Subclasses implement :meth:`check`, :meth:`example`
    (a valid value) and :meth:`bad` (labelled invalid values for the sweep)."""

    expected = "a valid value"

    def check(self, value: Any, name: str) -> Any:
        raise NotImplementedError

    def example(self) -> Any:
        raise NotImplementedError

    def bad(self) -> list[tuple[str, Any]]:
        return []

    def fail(self, name: str, value: Any, hint: str = "", error: type[Exception] = ValueError) -> None:
        raise error(f"{name} must be {self.expected}; got {_kind(value)}" + (f" ({hint})" if hint else ""))


@dataclass(frozen=True)
class Int(Spec):
    """An int (never a bool or a float) in ``[min, max]``."""

    min: int | None = None
    max: int | None = None

    @property
    def expected(self) -> str:  # type: ignore[override]
        if self.min == 1 and self.max is None:
            return "a positive int"
        if self.min == 0 and self.max is None:
            return "a non-negative int"
        lo = "" if self.min is None else f" >= {self.min}"
        hi = "" if self.max is None else f" <= {self.max}"
        return f"an int{lo}{' and' if lo and hi else ''}{hi}"

    def check(self, value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            self.fail(name, value, "a count is a whole number" if isinstance(value, float) else "", TypeError)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            self.fail(name, value)
        return int(value)

    def example(self) -> int:
        lo = 1 if self.min is None else max(self.min, 1)
        return lo if self.max is None or lo <= self.max else self.max

    def bad(self) -> list[tuple[str, Any]]:
        out = [("bool", True), ("float", 2.5), ("string", "3"), ("None", None)]
        if self.min is not None:
            out.append(("below min", self.min - 1))
        if self.max is not None:
            out.append(("above max", self.max + 1))
        return out


@dataclass(frozen=True)
class IntRange(Spec):
    """An int in ``[min, max]``, or an inclusive range ``(lo, hi)`` with min <= lo <= hi <= max."""

    min: int
    max: int

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"an int in {self.min}..{self.max} or a range (lo, hi) within it"

    def check(self, value: Any, name: str) -> Any:
        pair = value if isinstance(value, tuple) else (value, value)
        if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair):
            self.fail(name, value, error=TypeError)
        if not self.min <= pair[0] <= pair[1] <= self.max:
            self.fail(name, value)
        return value

    def example(self) -> int:
        return self.min

    def bad(self) -> list[tuple[str, Any]]:
        return [("below", self.min - 1), ("above", self.max + 1), ("reversed", (self.max, self.min)),
                ("float", 1.5), ("string", "2")]


@dataclass(frozen=True)
class Float(Spec):
    """A finite real number in ``[min, max]`` (``open_min``: strictly above ``min``)."""

    min: float | None = None
    max: float | None = None
    open_min: bool = False
    open_max: bool = False

    @property
    def expected(self) -> str:  # type: ignore[override]
        lo = "" if self.min is None else f" {'>' if self.open_min else '>='} {self.min:g}"
        hi = "" if self.max is None else f" {'<' if self.open_max else '<='} {self.max:g}"
        return f"a finite number{lo}{' and' if lo and hi else ''}{hi}"

    def check(self, value: Any, name: str) -> float:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            self.fail(name, value, error=TypeError)
        value = float(value)
        if not math.isfinite(value):
            self.fail(name, value)
        if self.min is not None and (value < self.min or (self.open_min and value == self.min)):
            self.fail(name, value)
        if self.max is not None and (value > self.max or (self.open_max and value == self.max)):
            self.fail(name, value)
        return value

    def example(self) -> float:
        lo = -1.0 if self.min is None else self.min
        hi = lo + 2.0 if self.max is None else self.max
        return (lo + hi) / 2 if (self.open_min or self.open_max or self.min is None) else lo

    def bad(self) -> list[tuple[str, Any]]:
        out = [("nan", float("nan")), ("inf", float("inf")), ("string", "0.5"), ("bool", True)]
        if self.min is not None:
            out.append(("below min", self.min - 1.0) if not self.open_min else ("at open min", self.min))
        if self.max is not None:
            out.append(("above max", self.max + 1.0) if not self.open_max else ("at open max", self.max))
        return out


@dataclass(frozen=True)
class Bool(Spec):
    """True or False (not 0/1, not a string)."""

    expected = "True or False"

    def check(self, value: Any, name: str) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            self.fail(name, value, error=TypeError)
        return bool(value)

    def example(self) -> bool:
        return True

    def bad(self) -> list[tuple[str, Any]]:
        return [("int", 1), ("string", "yes"), ("None", None)]


@dataclass(frozen=True)
class Maybe(Spec):
    """``None``, or what ``spec`` accepts."""

    spec: Spec

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.spec.expected}, or None"

    def check(self, value: Any, name: str) -> Any:
        return None if value is None else self.spec.check(value, name)

    def example(self) -> Any:
        return self.spec.example()

    def bad(self) -> list[tuple[str, Any]]:
        return [(label, v) for label, v in self.spec.bad() if v is not None]


@dataclass(frozen=True)
class Choice(Spec):
    """One of ``options`` (strings; or a function returning them, for registries that fill up
    after the module is imported); ``aliases`` map other spellings onto them."""

    options: tuple[str, ...] | Callable[[], Iterable[str]]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def known(self) -> tuple[str, ...]:
        return tuple(self.options() if callable(self.options) else self.options)

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"one of {list(self.known())}"

    def check(self, value: Any, name: str) -> str:
        if not isinstance(value, str):
            self.fail(name, value, error=TypeError)
        value = self.aliases.get(value, value)
        if value not in self.known():
            close = [o for o in self.known() if o.lower() == value.strip().lower()]
            self.fail(name, value, f"did you mean {close[0]!r}?" if close else "")
        return value

    def example(self) -> str:
        return self.known()[0]

    def bad(self) -> list[tuple[str, Any]]:
        return [("unknown name", "no-such-option"), ("not a string", 3), ("empty", "")]


@dataclass(frozen=True)
class Instance(Spec):
    """An instance of one of ``types`` (e.g. ``torch.nn.Module``); ``hint`` says how to get one."""

    types: type | tuple[type, ...]
    hint: str = ""
    optional: bool = False

    @property
    def expected(self) -> str:  # type: ignore[override]
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        names = " or ".join(f"{t.__module__.split('.')[0]}.{t.__qualname__}" if t.__module__ != "builtins"
                            else t.__name__ for t in types)
        return f"a {names}" + (" or None" if self.optional else "")

    def check(self, value: Any, name: str) -> Any:
        if value is None and self.optional:
            return value
        if not isinstance(value, self.types):
            self.fail(name, value, self.hint, TypeError)
        return value

    def example(self) -> Any:
        return None  # no generic instance: tests build one per type

    def bad(self) -> list[tuple[str, Any]]:
        out = [(label, v) for label, v in [("a string", "model"), ("a number", 3), ("a list", [1])]
               if not isinstance(v, self.types)]
        return out + ([] if self.optional else [("None", None)])


@dataclass(frozen=True)
class Duck(Spec):
    """Any object with the named attributes (e.g. a transformers processor or tokenizer)."""

    attrs: tuple[str, ...]
    what: str

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.what} (an object with {', '.join(self.attrs)})"

    def check(self, value: Any, name: str) -> Any:
        if any(not hasattr(value, a) for a in self.attrs):
            self.fail(name, value, error=TypeError)
        return value

    def example(self) -> Any:
        return type("Example", (), {a: staticmethod(lambda *args, **kwargs: None) for a in self.attrs})()

    def bad(self) -> list[tuple[str, Any]]:
        return [("a string", "processor"), ("None", None)]


@dataclass(frozen=True)
class Function(Spec):
    """A callable (a function, not its result)."""

    expected = "a callable (pass the function itself, not its result)"

    def check(self, value: Any, name: str) -> Any:
        if not callable(value):
            self.fail(name, value, error=TypeError)
        return value

    def example(self) -> Any:
        return lambda *a, **k: None

    def bad(self) -> list[tuple[str, Any]]:
        return [("a number", 3), ("a string", "f")]
