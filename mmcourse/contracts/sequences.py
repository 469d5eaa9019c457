"""The specs of text and of lists: one string, a list of strings, a list of anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .specs import Spec, _kind


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
