"""Same seed, same steps, same numbers: two runs agree exactly, and a run pinned to one core
(about half the speed) agrees with a run on two cores within float noise.

Tolerance between one and two cores: the thread count changes the order in which torch sums
partial results, so losses may differ in the last digits (we allow 1e-3 relative) and an
accuracy by a few test images (we allow 1 %).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "tests" / "reproducible_run.py"


def _run(prefix=()):
    out = subprocess.run([*prefix, sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600,
                         cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first():
    return _run()


def test_two_runs_give_identical_numbers(first):
    second = _run()
    assert first == second


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset is not installed")
def test_pinned_to_one_core_gives_the_same_numbers(first):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("this machine gives the tests a single core: nothing to compare")
    pinned = _run(["taskset", "-c", "0"])
    assert pinned["threads"] == 1 and first["threads"] >= 2
    for key in ("cnn_final_loss", "clip_final_loss"):
        assert pinned[key] == pytest.approx(first[key], rel=1e-3), (key, pinned, first)
    for key in ("cnn_accuracy", "clip_zero_shot"):
        assert abs(pinned[key] - first[key]) <= 0.01, (key, pinned, first)
