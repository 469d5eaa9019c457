"""Grading both ways: solutions score 100 %, exercises 0 % with only NotImplementedError
failures; a runaway loop is stopped by the timeout and a crash is reported."""

import re
import subprocess
import sys

import pytest

from mmcourse._tools.budgets import hard_limit, speed_factor
from mmcourse._tools.grade import format_report, grade, grade_notebook
from tests.helpers import ROOT, write_notebook

SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def test_every_solutions_notebook_has_an_exercises_twin():
    assert SOLUTIONS and [p.name for p in SOLUTIONS] == [p.name for p in EXERCISES]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_score_100_percent_within_budget(path):
    report = grade_notebook(str(path))
    assert report.run.ran, report.run.error
    assert len(report.rows) >= 2, "each chapter has at least two graded exercises"
    assert report.score == 1.0, [r for r in report.rows if not r.passed]
    assert not report.other_errors, report.other_errors
    assert report.exit_code == 0
    limit = hard_limit(path, speed_factor())  # 1.5 x the budget scaled by this machine's speed factor
    assert report.run.wall_s <= limit, f"{path.name}: {report.run.wall_s:.1f} s > {limit:.0f} s"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercises_score_zero_and_fail_only_on_the_stubs(path):
    proc = subprocess.run([sys.executable, "-m", "mmcourse", "grade", str(path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    chapter = path.stem[:2]
    rows = [line for line in proc.stdout.splitlines() if re.match(r"^\s+\d+\s+\w+\.\w+\s", line)]
    assert len(rows) >= 2 and f"score: 0/{len(rows)} (0 %)" in proc.stdout
    for k, line in enumerate(rows, 1):
        assert f"not implemented  -- not implemented yet (Exercise {chapter}.{k})" in line, line
    assert "raised" not in proc.stdout, "a cell outside the checks failed: " + proc.stdout


def test_a_runaway_loop_is_stopped_and_grading_goes_on(tmp_path):
    nb = write_notebook(tmp_path / "loop.ipynb", [
        'PROFILE = "tiny"',
        "import mmcourse\n"
        "def accuracy(logits, labels):\n    while True:\n        pass",
        'mmcourse.check("metrics.accuracy", accuracy)',
        'mmcourse.check("metrics.confusion_matrix", mmcourse.metrics.confusion_matrix)',
    ])
    code, (report,) = grade([str(nb)], timeout=4, quiet=True)
    assert code == 1
    assert [(r.name, r.status) for r in report.rows] == [
        ("metrics.accuracy", "timeout"), ("metrics.confusion_matrix", "pass")]
    assert report.run.wall_s < 40


def test_a_crashing_kernel_is_reported_with_exit_2(tmp_path):
    nb = write_notebook(tmp_path / "crash.ipynb", [
        'PROFILE = "tiny"',
        "import os\nos._exit(3)",
        'import mmcourse\nmmcourse.check("metrics.accuracy", mmcourse.metrics.accuracy)',
    ])
    code, (report,) = grade([str(nb)], timeout=30, quiet=True)
    assert code == 2 and "DeadKernel" in report.run.error
    assert [r.status for r in report.rows] in ([], ["not run"])


def test_unrunnable_inputs_exit_2(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "mmcourse", "grade", str(tmp_path / "missing.ipynb"), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "missing.ipynb does not exist" in proc.stdout and "not a readable notebook" in proc.stdout


def test_a_notebook_without_checks_does_not_pass(tmp_path):
    nb = write_notebook(tmp_path / "none.ipynb", ['PROFILE = "tiny"', "x = 1"])
    code, (report,) = grade([str(nb)], quiet=True)
    assert code == 1 and report.rows == []


def test_cell_numbers_count_every_cell_from_one_as_jupyter_shows_them(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('PROFILE = "tiny"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A title"), params, nbformat.v4.new_markdown_cell("Some prose."),
                nbformat.v4.new_code_cell("x = undefined_name")]
    path = tmp_path / "numbers.ipynb"
    nbformat.write(nb, path)
    _, (report,) = grade([str(path)], quiet=True)
    assert [e["cell"] for e in report.other_errors] == [4]  # the 4th cell, markdown counted
    assert "cell 4 raised NameError" in format_report(report)
    assert "Kernel is running over TCP" not in format_report(report)


def test_grade_output_has_no_kernel_transport_warning(tmp_path):
    nb = write_notebook(tmp_path / "ok.ipynb", ['PROFILE = "tiny"', "x = 1"])
    proc = subprocess.run([sys.executable, "-m", "mmcourse", "grade", str(nb)], capture_output=True, text=True,
                          timeout=120)
    assert "without encryption" not in proc.stdout + proc.stderr, proc.stderr
