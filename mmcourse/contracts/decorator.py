"""The :func:`contract` decorator: declare what each argument accepts, check it on every call."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .sequences import Texts
from .specs import Spec

F = TypeVar("F", bound=Callable[..., Any])

#: ``"module.qualname"`` -> the :class:`Contract` of every decorated function.
CONTRACTS: dict[str, Contract] = {}


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


def check_names(names: Iterable[str], known: Iterable[str], name: str) -> list[str]:
    """Every entry of ``names`` must be one of ``known``; returns the list."""
    names, known = Texts().check(names, name), list(known)
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"{name}: unknown name(s) {bad}; known: {known}")
    return names
