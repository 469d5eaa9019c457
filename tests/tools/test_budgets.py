"""Budgets measure the code, not the machine: a calibration workload sets a speed factor,
budgets scale by it, and the nbval hook fails a notebook only past 1.5x its scaled target."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from mmcourse._tools import budgets
from tests.helpers import ROOT, write_notebook


def test_budget_targets_by_folder_and_notebook():
    assert budgets.budget_for("chapters/01_modalities.ipynb") == 75
    assert budgets.budget_for("solutions/01_modalities.ipynb") == 60
    assert budgets.budget_for("/x/chapters/00_getting_started.ipynb") == 45
    assert budgets.hard_limit("chapters/01_modalities.ipynb", 2.0) == pytest.approx(1.5 * 75 * 2.0)


def test_speed_factor_scales_with_the_calibration_time_and_is_clamped():
    ref = budgets.REFERENCE_SECONDS
    assert budgets.factor_from_seconds(ref) == pytest.approx(1.0)
    assert budgets.factor_from_seconds(2 * ref) == pytest.approx(2.0)
    assert budgets.factor_from_seconds(100 * ref) == budgets.FACTOR_RANGE[1]


def _nbval(tmp_path, env):
    (tmp_path / "chapters").mkdir()
    conftest = (ROOT / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(
        conftest + '\nimport mmcourse._tools.budgets as _b\n_b.NOTEBOOK_BUDGETS["chapters/98_fast"] = 30.0\n'
        '_b.NOTEBOOK_BUDGETS["chapters/99_slow"] = 1.0\n')
    write_notebook(tmp_path / "chapters" / "98_fast.ipynb", ["x = 1"], parameters=False)
    write_notebook(tmp_path / "chapters" / "99_slow.ipynb", ["import time", "time.sleep(1.8)", "y = 2"],
                   parameters=False)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
                           "chapters", "-q", "--rootdir", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)


def test_a_notebook_past_its_scaled_budget_fails_under_nbval(tmp_path):
    proc = _nbval(tmp_path, {**os.environ, budgets.FACTOR_ENV: "1.0"})
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "1 failed, 3 passed" in out, out
    assert "99_slow.ipynb took" in out and "past 1.5 x its target of 1 s" in out
    assert "OVER BUDGET" in out and "98_fast.ipynb" in out and "speed factor 1.00" in out


def test_a_slower_machine_scales_the_budget_instead_of_failing(tmp_path):
    # the same 1.8 s notebook on a machine measured 2x slower: target 2 s, limit 3 s -> passes
    proc = _nbval(tmp_path, {**os.environ, budgets.FACTOR_ENV: "2.0"})
    assert proc.returncode == 0, proc.stdout
    assert "4 passed" in proc.stdout and "speed factor 2.00" in proc.stdout


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset is not installed")
def test_pinned_to_one_core_the_calibration_measures_a_slower_machine():
    def factor(prefix):
        out = subprocess.run([*prefix, sys.executable, "-m", "mmcourse._tools.budgets", "--json"],
                             capture_output=True, text=True, timeout=300, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    two, one = factor([]), factor(["taskset", "-c", "0"])
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("this machine gives the tests a single core")
    assert one["seconds"] > 1.3 * two["seconds"], (one, two)
