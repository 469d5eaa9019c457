"""Same seed, same steps, same numbers: two runs agree exactly, and so does a run pinned to
one core (about half the speed): ``mmcourse.setup`` uses the same number of torch threads on
every machine, because the thread count changes the order in which torch adds partial sums.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "tests" / "reproducible_run.py"


def _run(prefix=(), env=None):
    out = subprocess.run([*prefix, sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600,
                         cwd=ROOT, check=True, env={**os.environ, **(env or {})}).stdout
    return json.loads(out.strip().splitlines()[-1])


pytestmark = pytest.mark.heavy  # whole runs in subprocesses: ~35 s, left out of make check


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
    assert pinned["threads"] == first["threads"] == 2, (pinned, first)
    assert pinned == first, f"pinned to one core: {pinned}; on all cores: {first}"


def test_the_thread_count_is_what_changes_the_numbers(first):
    """The reason for the fixed count: one thread sums in another order than two."""
    one_thread = _run(env={"MMCOURSE_THREADS": "1"})
    assert one_thread["threads"] == 1
    assert one_thread != first, "one thread and two threads gave identical numbers: the premise is gone"
