"""The judge: grades one submission's answers in a fresh process, outside the student's notebook.

``python -m mmcourse._tools.judge`` reads a JSON plan on stdin (written by
:mod:`mmcourse._tools.classroom`) and prints one JSON line per result, each prefixed by a
one-time token the parent chose, so that text the student's code prints cannot pass for a
result. The plan holds the *pristine* exercise notebook's code cells (the course's own setup,
and the check calls) and the student's answer cells; so an edited or deleted check cell, a
printed score table or a redefined ``mmcourse.check`` in another cell changes nothing.

What the student's code could still do inside this process, the judge detects: before any
student code runs it takes a snapshot of every attribute of the course's modules, the check
registry and the libraries the checks use (torch, NumPy, builtins); after each student cell it
compares. A changed object (a monkey-patched reference, a replaced check, a patched
``torch.allclose``) marks every check that runs after it *untrusted*: graded, shown, and flagged
for the instructor. Checks are called through references taken before student code ran.
"""

from __future__ import annotations

import builtins
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

TOKEN_PREFIX = "@@judge:"


class ExerciseTimeout(BaseException):  # BaseException: a bare `except Exception` in student code cannot swallow it
    pass


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(0.0, seconds))


def _on_alarm(signum: int, frame: Any) -> None:
    raise ExerciseTimeout()


def _watched_modules() -> dict[str, Any]:
    import numpy
    import torch

    from ..checks import registry  # noqa: F401  (imported, so the package is in sys.modules)

    mods = {name: mod for name, mod in sys.modules.items()
            if (name == "mmcourse" or name.startswith("mmcourse.")) and mod is not None}
    mods.update({"torch": torch, "torch.nn.functional": torch.nn.functional, "numpy": numpy,
                 "numpy.linalg": numpy.linalg, "builtins": builtins,
                 # a patched tensor method (torch.Tensor.tolist = ...) would change what every check reads
                 "torch.Tensor": torch.Tensor, "torch._C.TensorBase": torch._C.TensorBase,
                 "torch.nn.Module": torch.nn.Module})
    return mods


def snapshot(modules: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(module, attribute) -> id of every function, class and module the watched modules hold,
    and of every registered check."""
    from ..checks import registry

    out = {(m, a): id(v) for m, mod in modules.items() for a, v in list(vars(mod).items())
           if callable(v) or isinstance(v, type(sys))}  # code, not data: setup() may legitimately reset state
    out.update({("checks.REGISTRY", k): id(v) for k, v in registry.REGISTRY.items()})
    return out


def changed(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> list[str]:
    """Attributes that were replaced or removed (new attributes are harmless additions, except
    in the check registry)."""
    out = [f"{m}.{a}" for (m, a), i in before.items() if after.get((m, a)) != i]
    out += [f"checks.REGISTRY[{a!r}] added" for (m, a) in after.keys() - before.keys() if m == "checks.REGISTRY"]
    return sorted(out)


def _emit(token: str, record: dict[str, Any], out: Any) -> None:
    out.write(f"{TOKEN_PREFIX}{token}:{json.dumps(record)}\n")
    out.flush()


def _run_check(fn: Callable[[Any], None], obj: Any, seconds: float) -> tuple[str, str]:
    """(status, message) of one check function on the student's object, under a time limit."""
    _alarm(seconds)
    try:
        fn(obj)
        return "pass", "passed"
    except ExerciseTimeout:
        return "timeout", f"stopped after {seconds:g} s (the limit per cell and per check: grade-class --timeout)"
    except NotImplementedError as err:
        return "todo", f"not implemented ({err or 'NotImplementedError'})"
    except AssertionError as err:
        return "fail", str(err) or "an assertion failed"
    except BaseException as err:  # noqa: BLE001  (SystemExit, MemoryError, anything the student's code raised)
        return "error", f"your code raised {type(err).__name__}: {str(err)[:300]}"
    finally:
        _alarm(0)


def main() -> int:
    plan = json.loads(sys.stdin.read())
    token, out = plan["token"], sys.__stdout__
    signal.signal(signal.SIGALRM, _on_alarm)
    if plan.get("memory_gb"):  # an address-space limit: a huge allocation fails instead of swapping the machine
        import resource

        limit = int(plan["memory_gb"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import torch
    import torch._dynamo  # noqa: F401  (importing it re-wraps torch.manual_seed: do it before the snapshot)

    from ..checks import registry
    from ..checks._util import plain_returns

    torch.manual_seed(0)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    hidden: dict[str, Any] = {}
    if plan.get("hidden"):  # the instructor's extra checks, loaded before any student code
        exec(compile(plan["hidden"], "<hidden checks>", "exec"), hidden)
    hidden_checks = hidden.get("HIDDEN_CHECKS", {})
    public = dict(registry.REGISTRY)  # references taken before student code runs
    modules = _watched_modules()
    before = snapshot(modules)
    tampered: list[str] = []
    for step in plan["steps"]:
        kind = step["kind"]
        if kind == "instructor":  # the course's own cells (imports, setup): trusted code
            try:
                exec(compile(step["source"], f"<course cell {step['cell']}>", "exec"), namespace)
            except Exception as err:  # noqa: BLE001  (reported; the student's cells still run)
                _emit(token, {"event": "cell_error", "cell": step["cell"], "error": f"course cell: {err!r}"[:300]}, out)
            modules = _watched_modules()  # setup may import more of the course
            before = snapshot(modules)
        elif kind == "student":
            _alarm(plan["timeout"])
            start = time.perf_counter()
            try:
                exec(compile(step["source"], f"<your cell {step['cell']}>", "exec"), namespace)
                error = ""
            except ExerciseTimeout:
                error = f"stopped after {plan['timeout']:g} s (the limit per cell and per check: grade-class --timeout)"
            except BaseException as err:  # noqa: BLE001
                error = f"{type(err).__name__}: {str(err)[:300]}"
                traceback.clear_frames(err.__traceback__)
            finally:
                _alarm(0)
            diff = changed(before, snapshot(modules))
            if diff and not tampered:
                tampered = diff
                _emit(token, {"event": "tamper", "cell": step["cell"], "changed": diff[:20]}, out)
            if error:
                _emit(token, {"event": "cell_error", "cell": step["cell"], "error": error,
                              "seconds": round(time.perf_counter() - start, 3)}, out)
        else:  # a check call taken from the pristine notebook
            name, expr = step["name"], step["expr"]
            try:
                obj = eval(compile(expr, f"<check {name}>", "eval"), namespace)
            except BaseException as err:  # noqa: BLE001  (the answer is missing or misnamed)
                _emit(token, {"event": "check", "name": name, "kind": "public", "status": "not run",
                              "message": f"`{expr}` is not defined ({type(err).__name__})",
                              "trusted": not tampered}, out)
                continue
            # public and hidden checks alike see only plain values it returns
            obj = plain_returns(obj, models=name in registry.MODEL_CHECKS)
            checks = [("public", 0, public[name])]
            checks += [("hidden", k, fn) for k, fn in enumerate(_as_list(hidden_checks.get(name)))]
            for kind_, index, fn in checks:
                start = time.perf_counter()
                status, message = _run_check(fn, obj, plan["timeout"])
                diff = changed(before, snapshot(modules))
                if diff and not tampered:
                    tampered = diff
                    _emit(token, {"event": "tamper", "cell": step["cell"], "changed": diff[:20]}, out)
                _emit(token, {"event": "check", "name": name, "kind": kind_, "index": index, "status": status,
                              "message": message, "seconds": round(time.perf_counter() - start, 3),
                              "trusted": not tampered}, out)
    _emit(token, {"event": "done"}, out)
    return 0


def _as_list(value: Any) -> list[Callable[[Any], None]]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


if __name__ == "__main__":
    raise SystemExit(main())
