"""``fit`` under ``accelerate launch`` with 2 CPU processes (gloo): local batch B per process
follows one process with batch 2B, when CLIP gathers its features; without the gather each
process only sees its own B - 1 negatives and the curve is another one.

Tolerance: the curves agree to 1e-5 (float sums in another order); they differ by more than
0.1 in loss without the gather.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "tests" / "distributed_clip.py"
ACCELERATE = Path(sys.executable).parent / "accelerate"


def _curve(*args, processes=1):
    if processes == 1:
        cmd = [sys.executable, str(SCRIPT), *args]
    else:
        cmd = [str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT), *args]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # CPU processes, gloo backend, even on a GPU machine
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def one_process():
    return _curve("--batch", "32")


def test_two_processes_with_the_gather_follow_one_process(one_process):
    two = _curve("--batch", "32", processes=2)
    assert one_process["world"] == 1 and two["world"] == 2
    assert two["loss"] == pytest.approx(one_process["loss"], abs=1e-5)


def test_without_the_gather_the_curve_differs(one_process):
    local = _curve("--batch", "32", "--no-gather", processes=2)
    gaps = [abs(a - b) for a, b in zip(local["loss"], one_process["loss"])]
    assert min(gaps) > 0.1, gaps
