"""What every public function accepts, checked before it runs.

A learner who passes a NumPy array, a PIL image, uint8 pixels, one string where a list
is expected, or int16 audio gets a ``TypeError``/``ValueError`` that names the argument,
says what was expected and how to fix it -- not a stack trace from deep inside torch.

Each public function declares its arguments with :func:`contract`::

    @contract(images=Images(channels=3), k=Int(min=1))
    def search(images, k): ...

The declaration is checked on every call (the arguments a caller passed; defaults are
trusted) and recorded in :data:`CONTRACTS`, where ``tests/test_contracts.py`` reads it: a
public function without a contract fails that test, and a property-based sweep feeds
every declared argument the bad values its :class:`Spec` lists.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch

F = TypeVar("F", bound=Callable[..., Any])

#: ``"module.qualname"`` -> the :class:`Contract` of every decorated function.
CONTRACTS: dict[str, Contract] = {}


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
class Strings(Spec):
    """A list (or tuple) of strings, empty strings allowed (a model's answers can be empty);
    at least ``min_len`` of them."""

    min_len: int = 1

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"a list of at least {self.min_len} string{'s' if self.min_len > 1 else ''}"

    def check(self, value: Any, name: str) -> list[str]:
        if isinstance(value, str):
            self.fail(name, value, f"one string is not a list: wrap it, e.g. [{value[:20]!r}]", TypeError)
        if not isinstance(value, Sequence) or isinstance(value, (bytes, torch.Tensor, np.ndarray)):
            self.fail(name, value, error=TypeError)
        if len(value) < self.min_len:
            self.fail(name, value)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise TypeError(f"{name}[{i}] must be a string; got {_kind(item)}")
        return list(value)

    def example(self) -> list[str]:
        return ["red", "blue", "two"][: max(self.min_len, 2)] + ["red"] * max(0, self.min_len - 3)

    def bad(self) -> list[tuple[str, Any]]:
        return [("bare string", "red"), ("too short", ["red"] * (self.min_len - 1)), ("non-string item", ["a", 3]),
                ("None", None)]


@dataclass(frozen=True)
class ListOf(Spec):
    """A non-empty list (or tuple) whose items ``item`` accepts."""

    item: Spec
    what: str = "items"

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"a non-empty list of {self.what}"

    def check(self, value: Any, name: str) -> list[Any]:
        if isinstance(value, (str, bytes, torch.Tensor, np.ndarray)) or not isinstance(value, Sequence):
            self.fail(name, value, error=TypeError)
        if len(value) == 0:
            self.fail(name, value)
        return [self.item.check(v, f"{name}[{i}]") for i, v in enumerate(value)]

    def example(self) -> list[Any]:
        return [self.item.example()]

    def bad(self) -> list[tuple[str, Any]]:
        return [("empty list", []), ("not a list", 3)] + [(f"item {label}", [v]) for label, v in self.item.bad()[:2]]


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
class Text(Spec):
    """A non-empty string (whitespace alone does not count)."""

    expected = "a non-empty string"

    def check(self, value: Any, name: str) -> str:
        if not isinstance(value, str):
            hint = "pass one string, e.g. the first item: texts[0]" if isinstance(value, (list, tuple)) else ""
            self.fail(name, value, hint, TypeError)
        if not value.strip():
            self.fail(name, value)
        return value

    def example(self) -> str:
        return "a red circle"

    def bad(self) -> list[tuple[str, Any]]:
        return [("empty", ""), ("blank", "   "), ("list", ["a red circle"]), ("None", None)]


@dataclass(frozen=True)
class Texts(Spec):
    """A non-empty list (or tuple) of non-empty strings -- never one bare string."""

    expected = "a non-empty list of non-empty strings"

    def check(self, value: Any, name: str) -> list[str]:
        if isinstance(value, str):
            self.fail(name, value, f"one string is not a list: wrap it, e.g. [{value[:20]!r}]", TypeError)
        if not isinstance(value, Sequence) or isinstance(value, (bytes, torch.Tensor, np.ndarray)):
            self.fail(name, value, error=TypeError)
        if len(value) == 0:
            self.fail(name, value)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise TypeError(f"{name}[{i}] must be a string; got {_kind(item)}")
            if not item.strip():
                raise ValueError(f"{name}[{i}] is empty: every entry must hold some text")
        return list(value)

    def example(self) -> list[str]:
        return ["a red circle", "a blue square"]

    def bad(self) -> list[tuple[str, Any]]:
        return [("bare string", "red circle"), ("empty list", []), ("non-string item", ["a", 3]),
                ("blank item", ["a", " "]), ("None", None)]


@dataclass(frozen=True)
class Images(Spec):
    """A float image batch (B, C, H, W) with values in [0, 1] (``range01``), finite.

    ``channels``/``size`` pin C and H = W when given. Common mistakes get a hint: uint8
    pixels, a NumPy array or a PIL image, one image without the batch dimension.
    """

    channels: int | tuple[int, ...] = (1, 3)
    size: int | None = None
    range01: bool = True
    finite: bool = True  # False inside forward passes: the check would sync a GPU every step

    @property
    def expected(self) -> str:  # type: ignore[override]
        c = self.channels if isinstance(self.channels, int) else " or ".join(map(str, self.channels))
        hw = f"{self.size}, {self.size}" if self.size else "height, width"
        return f"a float tensor of shape (batch, {c}, {hw})" + (" with values in [0, 1]" if self.range01 else "")

    def check(self, value: Any, name: str) -> torch.Tensor:
        if _is_pil(value):
            self.fail(name, value, "convert it: torch.from_numpy(np.asarray(img.convert('RGB')) / 255.0)"
                                   ".float().permute(2, 0, 1)[None]", TypeError)
        if isinstance(value, np.ndarray):
            self.fail(name, value, "convert it: torch.from_numpy(array).float().permute(2, 0, 1)[None] for "
                                   "one (H, W, 3) image; divide by 255 if it holds 0-255 values", TypeError)
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        if value.dtype == torch.uint8:
            self.fail(name, value, f"uint8 pixels run 0-255: divide by 255 first, {name}.float() / 255",
                      TypeError)
        if not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        channels = (self.channels,) if isinstance(self.channels, int) else self.channels
        if value.dim() == 3 and value.shape[0] in channels:
            self.fail(name, value, f"one image: add the batch dimension, {name}[None]")
        if value.dim() == 4 and value.shape[1] not in channels and value.shape[-1] in channels:
            self.fail(name, value, f"channels come last: use {name}.permute(0, 3, 1, 2)")
        if value.dim() != 4 or value.shape[1] not in channels:
            self.fail(name, value)
        if value.shape[0] == 0:
            self.fail(name, value, "the batch is empty")
        if self.size is not None and tuple(value.shape[-2:]) != (self.size, self.size):
            self.fail(name, value, f"resize to {self.size}x{self.size}")
        if self.finite and not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        if self.range01 and (float(value.min()) < -1e-3 or float(value.max()) > 1 + 1e-3):
            hint = f"divide by 255: {name} / 255" if float(value.max()) > 2 else "clamp or rescale to [0, 1]"
            self.fail(name, value, f"values span [{float(value.min()):.3g}, {float(value.max()):.3g}]; {hint}")
        return value

    def example(self) -> torch.Tensor:
        c = self.channels if isinstance(self.channels, int) else self.channels[-1]
        s = self.size or 32
        return torch.rand(2, c, s, s, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        out = [("uint8", (good * 255).to(torch.uint8)), ("numpy", good[0].permute(1, 2, 0).numpy()),
               ("one image", good[0]), ("channels last", good.permute(0, 2, 3, 1)), ("int64", good.long()),
               ("rank 2", good[0, 0]), ("list", [good[0]]), ("empty batch", good[:0])]
        if self.finite:
            out.append(("nan", good.clone().fill_(float("nan"))))
        if self.range01:
            out.append(("0-255 floats", good * 255))
        return out


@dataclass(frozen=True)
class Waveform(Spec):
    """A mono float waveform: a 1-D float tensor or array of finite samples in about [-1, 1]."""

    expected = "a 1-D float waveform (torch tensor or NumPy array) with samples in [-1, 1]"

    def check(self, value: Any, name: str) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            if value.dtype == np.int16:
                self.fail(name, value, f"int16 PCM: divide by 32768 first, {name}.astype(np.float32) / 32768",
                          TypeError)
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        if value.dtype == torch.int16:
            self.fail(name, value, f"int16 PCM: divide by 32768 first, {name}.float() / 32768", TypeError)
        if not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if value.dim() == 2 and min(value.shape) <= 8:
            self.fail(name, value, f"looks like {min(value.shape)} channels: average them to mono, "
                                   f"{name}.mean({int(value.shape[1] < value.shape[0])})")
        if value.dim() != 1:
            self.fail(name, value)
        if value.numel() == 0:
            self.fail(name, value, "it is empty")
        if not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        return value.float()

    def example(self) -> torch.Tensor:
        return torch.sin(torch.arange(4000) * 0.1) * 0.5

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        return [("int16 tensor", (good * 32767).to(torch.int16)),
                ("int16 array", (good * 32767).to(torch.int16).numpy()), ("stereo", torch.stack([good, good])),
                ("empty", good[:0]), ("nan", good.clone().fill_(float("nan"))), ("list", good.tolist()[:10]),
                ("int64", good.long())]


@dataclass(frozen=True)
class Vectors(Spec):
    """A finite float matrix (N, dim) as a torch tensor or NumPy array."""

    dim_from: str | None = None  # documentation only: which attribute gives the width

    expected = "a finite (n, dim) float matrix (torch tensor or NumPy array)"

    def check(self, value: Any, name: str) -> Any:
        if isinstance(value, np.ndarray):
            arr = value
        elif isinstance(value, torch.Tensor):
            if not value.is_floating_point():
                self.fail(name, value, f"convert it with {name}.float()", TypeError)
            arr = value.detach().float().cpu().numpy()
        else:
            self.fail(name, value, error=TypeError)
        if arr.ndim != 2 or arr.shape[0] == 0:
            hint = f"one vector: add the batch dimension, {name}[None]" if arr.ndim == 1 else ""
            self.fail(name, value, hint)
        if not np.issubdtype(arr.dtype, np.floating):
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if not np.isfinite(arr).all():
            self.fail(name, value, "it holds NaN or inf: every later search would be wrong")
        return value

    def example(self) -> torch.Tensor:
        return torch.randn(8, 4, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        return [("nan", good.clone().fill_(float("nan"))), ("inf", good.clone().fill_(float("inf"))),
                ("1-D", good[0]), ("empty", good[:0]), ("int", good.long()), ("list", good.tolist())]


@dataclass(frozen=True)
class Tensor(Spec):
    """A torch tensor of a given rank and kind ("float", "int", "bool" or "any"), finite if float."""

    rank: int | tuple[int, ...] | None = None
    kind: str = "any"
    what: str = ""  # e.g. "(batch, classes) logits"
    finite: bool = True  # False inside forward passes: scanning the values would sync a GPU every step

    @property
    def expected(self) -> str:  # type: ignore[override]
        ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
        r = "" if ranks is None else " or ".join(f"{k}-D" for k in ranks) + " "
        k = "" if self.kind == "any" else f"{self.kind} "
        return f"a {r}{k}tensor" + (f" {self.what}" if self.what else "")

    def check(self, value: Any, name: str) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            self.fail(name, value, f"convert it with torch.from_numpy({name})", TypeError)
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
        if ranks is not None and value.dim() not in ranks:
            self.fail(name, value)
        if self.kind == "float" and not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if self.kind == "int" and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
            self.fail(name, value, f"class ids are integers: {name}.long()", TypeError)
        if self.kind == "bool" and value.dtype != torch.bool:
            self.fail(name, value, f"convert it with {name}.bool()", TypeError)
        if self.finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        return value

    def example(self) -> torch.Tensor:
        ranks = (self.rank,) if isinstance(self.rank, int) else (self.rank or (1,))
        shape = (4,) * ranks[0]
        if self.kind == "int":
            return torch.zeros(shape, dtype=torch.long)
        if self.kind == "bool":
            return torch.ones(shape, dtype=torch.bool)
        return torch.rand(shape, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        out: list[tuple[str, Any]] = [("numpy", good.numpy()), ("list", good.tolist())]
        if self.rank is not None:
            ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
            out.append(("wrong rank", good.reshape(*good.shape, *([1] * (max(ranks) + 1 - good.dim())))))
        if self.kind == "float":
            out += [("int", good.long())] + ([("nan", good.clone().fill_(float("nan")))] if self.finite else [])
        if self.kind == "int":
            out.append(("float", good.float() + 0.5))
        return out


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


@dataclass(frozen=True)
class Contract:
    """The declared arguments of one function, and checks that relate several of them."""

    function: str
    specs: Mapping[str, Spec]
    relations: tuple[Callable[[Mapping[str, Any]], str | None], ...] = ()


def same_length(*names: str) -> Callable[[Mapping[str, Any]], str | None]:
    """A relation for :func:`contract`: the named arguments (those passed) have equal lengths."""

    def relation(args: Mapping[str, Any]) -> str | None:
        given = {n: len(args[n]) for n in names if n in args and args[n] is not None and hasattr(args[n], "__len__")}
        if len(set(given.values())) > 1:
            listed = ", ".join(f"{n} has {k}" for n, k in given.items())
            return f"{' and '.join(given)} must have the same length; {listed}"
        return None

    relation.__name__ = f"same_length({', '.join(names)})"
    return relation


def contract(*relations: Callable[[Mapping[str, Any]], str | None], **specs: Spec) -> Callable[[F], F]:
    """Declare (and check on every call) what each named argument accepts.

    ``relations`` are checks over several arguments (e.g. :func:`same_length`); each
    returns an error message or None. Raises at decoration time when a name is not a
    parameter of the function.
    """

    def deco(fn: F) -> F:
        sig = inspect.signature(fn)
        unknown = sorted(set(specs) - set(sig.parameters))
        if unknown:
            raise TypeError(f"contract for {fn.__qualname__} names unknown parameters {unknown}")
        key = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            given = bound.arguments
            for name, spec in specs.items():
                if name in given:
                    given[name] = spec.check(given[name], name)
            for relation in relations:
                problem = relation(given)
                if problem:
                    raise ValueError(problem)
            return fn(*bound.args, **bound.kwargs)

        wrapper.__contract__ = CONTRACTS[key] = Contract(key, dict(specs), tuple(relations))  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def check_images(images: Any, name: str = "images", *, channels: int | tuple[int, ...] = (1, 3),
                 size: int | None = None) -> tuple[int, int, int, int]:
    """Validate the shape and dtype of an image batch inside a model (see :class:`Images`;
    values are not scanned, so no GPU sync) and return its shape (B, C, H, W).
    """
    value = Images(channels=channels, size=size, range01=False, finite=False).check(images, name)
    B, C, H, W = value.shape
    return B, C, H, W


def check_names(names: Iterable[str], known: Iterable[str], name: str) -> list[str]:
    """Every entry of ``names`` must be one of ``known``; returns the list."""
    names, known = Texts().check(names, name), list(known)
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"{name}: unknown name(s) {bad}; known: {known}")
    return names
