"""Repository-wide pytest hooks: notebook budgets under nbval.

``pytest --nbval-lax chapters`` runs each chapter cell by cell in one kernel. These hooks
time each notebook from the start of its first cell (kernel start-up included) to the
end of its last cell and fail the last cell's report when the notebook runs past
1.5 x its budget scaled by this machine's speed factor (``mmcourse._tools.budgets``: a
calibration workload timed once per session). The terminal summary lists the times,
the targets and the factor.
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
_times: dict[str, tuple[float, float, float]] = {}  # notebook -> (seconds, target, hard limit)


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
    from mmcourse._tools.budgets import hard_limit, scaled_budget, speed_factor

    elapsed = time.perf_counter() - _started[nb]
    factor = speed_factor()  # timed once per session, after the first notebook (not during it)
    target, limit = scaled_budget(nb, factor), hard_limit(nb, factor)
    _times[nb] = (elapsed, target, limit)
    report = outcome.get_result()
    if elapsed > limit and report.passed:
        report.outcome = "failed"
        report.longrepr = (f"{Path(nb).name} took {elapsed:.1f} s, past 1.5 x its target of {target:.0f} s "
                           f"(budget scaled by this machine's speed factor {factor:.2f}; tiny profile, "
                           "kernel start included)")


def pytest_terminal_summary(terminalreporter) -> None:
    if not _times:
        return
    from mmcourse._tools.budgets import speed_factor

    terminalreporter.section(f"notebook wall times (speed factor {speed_factor():.2f})")
    for nb, (elapsed, target, limit) in _times.items():
        mark = "ok" if elapsed <= target else "over target" if elapsed <= limit else "OVER BUDGET"
        terminalreporter.write_line(f"{os.path.relpath(nb):45s} {elapsed:6.1f} s  (target {target:.0f} s, "
                                    f"limit {limit:.0f} s)  {mark}")
