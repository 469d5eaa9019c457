"""Wall-time budgets that measure the code, not the machine.

Budgets (DESIGN.md §4) hold on the reference machine: 2 CPU cores, tiny profile, kernel
start included. Machines of the same spec differ by up to 2x, so each run first times a
fixed **calibration workload** (a few seconds of the torch work the chapters do: CNN
training steps and transformer training steps, fixed seed) and divides by the time it took
on the reference machine. That **speed factor** scales every budget:

* ``make course`` marks a notebook over ``budget x factor`` without failing it;
* ``make test`` fails a notebook only past ``1.5 x budget x factor``.

``python -m mmcourse._tools.budgets`` prints the calibration time and factor.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

#: Wall-time targets in seconds by folder, tiny profile, reference machine.
BUDGETS = {"chapters": 75.0, "solutions": 60.0, "exercises": 60.0}
#: Tighter targets for single notebooks.
NOTEBOOK_BUDGETS = {"chapters/00_getting_started": 45.0}
#: How far past its scaled budget a notebook may run before ``make test`` fails it.
TOLERANCE = 1.5
#: Seconds the calibration workload took on the reference machine (2 cores, torch 2.13 CPU).
REFERENCE_SECONDS = 2.30
#: The factor is clamped to this range: outside it the machine is not comparable at all.
FACTOR_RANGE = (0.5, 4.0)
FACTOR_ENV = "MMCOURSE_SPEED_FACTOR"  # set it to skip the calibration (e.g. in a test)


def budget_for(path: str | os.PathLike) -> float:
    """The wall-time target (seconds, reference machine) of a notebook, by folder and name."""
    p = Path(path)
    key = f"{p.parent.name}/{p.stem}"
    return NOTEBOOK_BUDGETS.get(key, BUDGETS.get(p.parent.name, BUDGETS["chapters"]))


def calibration_workload(repeats: int = 2) -> float:
    """Seconds for the fixed workload (best of ``repeats``): 50 training steps of the
    chapter-00 CNN on 128 images of 32x32, and 50 of a 2-block transformer on 64
    sequences of 32 tokens, both with AdamW. Runs in this process."""
    import torch

    from ..models import CNNConfig, SmallCNN
    from ..models.layers import Encoder
    from ..runtime import default_threads

    threads = torch.get_num_threads()
    torch.set_num_threads(default_threads())  # the notebooks' thread count, so the ratio is fair
    torch.manual_seed(0)
    cnn, encoder = SmallCNN(CNNConfig(num_classes=30)), Encoder(64, 4, 2)
    images, labels = torch.rand(128, 3, 32, 32), torch.randint(0, 30, (128,))
    tokens = torch.randn(64, 32, 64)
    opts = [torch.optim.AdamW(m.parameters(), 1e-3) for m in (cnn, encoder)]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(50):
            for opt, loss_of in [(opts[0], lambda: torch.nn.functional.cross_entropy(cnn(images), labels)),
                                 (opts[1], lambda: encoder(tokens).pow(2).mean())]:
                opt.zero_grad()
                loss_of().backward()
                opt.step()
        best = min(best, time.perf_counter() - start)
    torch.set_num_threads(threads)
    return best


@functools.lru_cache(maxsize=1)
def speed_factor() -> float:
    """This machine's slowness against the reference: calibration seconds / reference
    seconds, measured once per process in a fresh interpreter (so the measuring process's
    own state does not count), clamped to :data:`FACTOR_RANGE`. ``$MMCOURSE_SPEED_FACTOR``
    overrides it."""
    if os.environ.get(FACTOR_ENV):
        return float(os.environ[FACTOR_ENV])
    out = subprocess.run([sys.executable, "-m", "mmcourse._tools.budgets", "--json"], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["factor"]


def calibrate() -> dict[str, float]:
    """Time the calibration workload in this process: ``{"seconds": ..., "factor": ...}``
    (``$MMCOURSE_SPEED_FACTOR`` skips the timing and sets the factor)."""
    if os.environ.get(FACTOR_ENV):
        factor = float(os.environ[FACTOR_ENV])
        return {"seconds": round(factor * REFERENCE_SECONDS, 3), "factor": factor}
    seconds = calibration_workload()
    return {"seconds": round(seconds, 3), "factor": round(factor_from_seconds(seconds), 3)}


def factor_from_seconds(seconds: float) -> float:
    lo, hi = FACTOR_RANGE
    return min(hi, max(lo, seconds / REFERENCE_SECONDS))


def scaled_budget(path: str | os.PathLike, factor: float) -> float:
    """The notebook's target on this machine: budget x speed factor."""
    return budget_for(path) * factor


def hard_limit(path: str | os.PathLike, factor: float) -> float:
    """Past this, ``make test`` fails the notebook: 1.5 x the scaled budget."""
    return TOLERANCE * scaled_budget(path, factor)


def main() -> int:
    seconds = calibration_workload()
    factor = factor_from_seconds(seconds)
    if "--json" in sys.argv:
        print(json.dumps({"seconds": round(seconds, 3), "factor": round(factor, 3)}))
    else:
        print(f"calibration workload: {seconds:.2f} s (reference {REFERENCE_SECONDS:.2f} s) -> speed factor "
              f"{factor:.2f}; budgets here: chapters {BUDGETS['chapters'] * factor:.0f} s, "
              f"solutions {BUDGETS['solutions'] * factor:.0f} s (fail past x{TOLERANCE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
