"""The check registry: register, run, and the learner-facing ``check``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..contracts import Text, contract
from ._util import plain_returns

GRADE_LOG_ENV = "MMCOURSE_GRADE_LOG"

CheckFn = Callable[[Any], None]
REGISTRY: dict[str, CheckFn] = {}
RESULTS: list[CheckResult] = []
#: Checks whose exercise returns a built model (let through :func:`~mmcourse.checks._util.plain`).
MODEL_CHECKS: set[str] = set()


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    passed: bool
    error: str  # "" when passed; else the exception type, e.g. "NotImplementedError"
    message: str
    seconds: float


class CheckFailed(AssertionError):
    """Raised by :func:`check` when the learner's object fails its check."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(f"check {result.name!r} failed: {result.message}")
        self.result = result

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"\u274c check {self.result.name!r} failed: {self.result.message}"]


def register(name: str, *, returns_model: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Decorator adding a check function to the registry under ``name`` (``returns_model``: the
    learner's function builds and returns a ``torch.nn.Module``)."""

    def deco(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} is registered twice")
        REGISTRY[name] = fn
        if returns_model:
            MODEL_CHECKS.add(name)
        return fn

    return deco


def available() -> list[str]:
    """Names of all registered checks."""
    return sorted(REGISTRY)


@contract(name=Text())
def run(name: str, obj: Any) -> CheckResult:
    """Run one check without printing or raising; returns the :class:`CheckResult`.

    Used in: chapter 00
    """
    if name not in REGISTRY:
        raise ValueError(f"name={name!r} is not a check; known checks: {available()}")
    start = time.perf_counter()
    try:
        with torch.random.fork_rng():  # checks must not move the notebook's random state
            # the check sees only plain values the learner's code returns
            REGISTRY[name](plain_returns(obj, models=name in MODEL_CHECKS))
    except NotImplementedError as err:
        return CheckResult(name, False, "NotImplementedError",
                           f"not implemented yet ({err or 'NotImplementedError'}): "
                           "replace the `raise NotImplementedError` line with your code",
                           time.perf_counter() - start)
    except AssertionError as err:
        return CheckResult(name, False, "AssertionError", str(err) or "an assertion failed",
                           time.perf_counter() - start)
    except Exception as err:  # the learner's code crashed: report it, don't hide it
        return CheckResult(name, False, type(err).__name__, f"your code raised {type(err).__name__}: {err}",
                           time.perf_counter() - start)
    return CheckResult(name, True, "", "passed", time.perf_counter() - start)


@contract(name=Text())
def check(name: str, obj: Any) -> CheckResult:
    """Check the learner's ``obj`` against the reference for ``name``; print and record.

    Raises:
        CheckFailed: when the check fails (shown as one line in Jupyter).

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    result = run(name, obj)
    RESULTS.append(result)
    path = os.environ.get(GRADE_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(result)) + "\n")
    if result.passed:
        print(f"\u2705 check {name!r} passed ({result.seconds:.2f} s)")
        return result
    raise CheckFailed(result)
