"""The nbval budget hook (root conftest.py) really fails a notebook that runs too long."""

import subprocess
import sys

from conftest import ROOT, write_notebook


def test_a_notebook_over_its_budget_fails_under_nbval(tmp_path):
    (tmp_path / "chapters").mkdir()
    conftest = (ROOT / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(
        conftest + '\nimport mmcourse.runtime as _r\n_r.NOTEBOOK_BUDGETS["chapters/98_fast"] = 30.0\n'
        '_r.NOTEBOOK_BUDGETS["chapters/99_slow"] = 1.0\n')
    write_notebook(tmp_path / "chapters" / "98_fast.ipynb", ["x = 1"], parameters=False)
    write_notebook(tmp_path / "chapters" / "99_slow.ipynb", ["import time", "time.sleep(1.5)", "y = 2"],
                   parameters=False)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
                           "chapters", "-q", "--rootdir", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "1 failed, 3 passed" in out, out
    assert "99_slow.ipynb took" in out and "over its budget of 1 s" in out
    assert "OVER BUDGET" in out and "98_fast.ipynb" in out
