"""Grade a generated class of chapter 00 submissions and time it: a mix of correct answers,
answers with one or two exercises wrong, and adversarial tricks (see tests/tools/test_classroom.py).

    .venv/bin/python benchmarks/grade_class.py [--students 30] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmcourse._tools.classroom import grade_class  # noqa: E402
from tests.tools.test_classroom import ARGMIN, CASES, CRASH, SOLUTION, with_cells  # noqa: E402

WRONG = [with_cells(SOLUTION, replace=ARGMIN), with_cells(SOLUTION, replace=CRASH),
         with_cells(SOLUTION, replace={**ARGMIN, **CRASH})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    tricks = [nb for name, (nb, *_) in CASES.items() if name not in ("an endless cell", "an endless answer")]
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "submissions", Path(tmp) / "grades" / "gradebook.csv"
        folder.mkdir()
        for i in range(args.students):
            kind = i % 3
            nb = SOLUTION if kind == 0 else WRONG[i % len(WRONG)] if kind == 1 else tricks[i % len(tricks)]
            (folder / f"student{i:02d}.ipynb").write_text(json.dumps(nb).replace("GRADEBOOK", '"/dev/null"'))
        start = time.perf_counter()
        grades = grade_class(folder, out, root=ROOT, jobs=args.jobs)
        wall = time.perf_counter() - start
    scores = [g.passed for g in grades]
    print(f"{len(grades)} submissions graded in {wall:.1f} s ({wall / len(grades):.1f} s each, "
          f"{args.jobs or 'all'} jobs); scores {sorted(scores)}; flagged {sum(bool(g.flags) for g in grades)}")


if __name__ == "__main__":
    main()
