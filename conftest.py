"""Repository-wide pytest hooks: notebook budgets under nbval.

``pytest --nbval-lax chapters`` runs each chapter cell by cell in one kernel. These hooks
time each notebook from the start of its first cell (kernel start-up included) to the
end of its last cell, fail the last cell's report when the notebook exceeds its budget
(``mmcourse.runtime.budget_for``), and print a table of the times at the end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Kernels started by nbval inherit these: tiny profile, no widget frontend, quiet hub.
os.environ.setdefault("MMCOURSE_PROFILE", "tiny")
os.environ.setdefault("MMCOURSE_HEADLESS", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

_started: dict[str, float] = {}
_times: dict[str, tuple[float, float]] = {}


def _notebook(item: pytest.Item) -> str | None:
    path = Path(str(item.fspath))
    return str(path) if path.suffix == ".ipynb" else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    nb = _notebook(item)
    if nb is not None:
        _started.setdefault(nb, time.perf_counter())
        item._mm_last_cell = nextitem is None or _notebook(nextitem) != nb
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    nb = _notebook(item)
    if nb is None or call.when != "call" or not getattr(item, "_mm_last_cell", False):
        return
    from mmcourse.runtime import budget_for

    elapsed, budget = time.perf_counter() - _started[nb], budget_for(nb)
    _times[nb] = (elapsed, budget)
    report = outcome.get_result()
    if elapsed > budget and report.passed:
        report.outcome = "failed"
        report.longrepr = (f"{Path(nb).name} took {elapsed:.1f} s, over its budget of {budget:.0f} s "
                           "(tiny profile, kernel start included)")


def pytest_terminal_summary(terminalreporter) -> None:
    if not _times:
        return
    terminalreporter.section("notebook wall times (budget)")
    for nb, (elapsed, budget) in _times.items():
        mark = "ok" if elapsed <= budget else "OVER BUDGET"
        terminalreporter.write_line(f"{os.path.relpath(nb):45s} {elapsed:6.1f} s  ({budget:.0f} s)  {mark}")
