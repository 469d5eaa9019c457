"""`make course`: executed copies, HTML and build/summary.md with time, memory, metric."""

import json

from mmcourse._tools import course
from tests.helpers import write_notebook


def test_build_writes_summary_executed_notebooks_and_html(tmp_path, monkeypatch):
    monkeypatch.setenv("MMCOURSE_SPEED_FACTOR", "1.5")
    root = tmp_path / "repo"
    (root / "chapters").mkdir(parents=True)
    write_notebook(root / "chapters" / "00_demo.ipynb", [
        'PROFILE = "tiny"',
        "import mmcourse\ncfg = mmcourse.setup(PROFILE)\nmmcourse.log_metric('accuracy', 0.875)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2]);",
    ])
    write_notebook(root / "chapters" / "01_broken.ipynb", ['PROFILE = "tiny"', "1 / 0"])
    code, rows = course.build(root=root, out_dir=root / "build")
    assert code == 1  # the broken notebook fails the build
    ok, broken = rows
    assert ok["status"] == "ok" and ok["metrics"] == {"accuracy": 0.875} and ok["profile"] == "tiny"
    assert 0 < ok["wall_s"] < ok["budget_s"] == 75 * 1.5 and ok["peak_rss_mb"] > 50
    assert broken["status"] == "errors: cell 2 (`1 / 0`): ZeroDivisionError"  # numbered from 1, as Jupyter lists them
    summary = (root / "build" / "summary.md").read_text()
    assert "| chapters/00_demo.ipynb | tiny |" in summary and "accuracy=0.875" in summary
    assert "Speed factor 1.50" in summary
    saved = json.loads((root / "build" / "summary.json").read_text())
    assert saved["calibration"]["factor"] == 1.5 and saved["notebooks"][0]["notebook"] == "chapters/00_demo.ipynb"
    assert (root / "build" / "executed" / "chapters" / "00_demo.ipynb").exists()
    html = (root / "build" / "html" / "chapters" / "00_demo.html").read_text()
    assert "<html" in html and "image/png" in html


def test_over_its_target_is_marked_not_failed():
    class Run:
        profile, wall_s, peak_rss_mb, metrics, cell_errors, error, checks = "tiny", 61.0, 100.0, {}, [], "", []

    from pathlib import Path

    row = course._row(Path("/r/solutions/00_x.ipynb"), Run(), Path("/r"), factor=1.0)
    assert row["status"] == "over its target" and row["budget_s"] == 60
    assert course._row(Path("/r/solutions/00_x.ipynb"), Run(), Path("/r"), factor=1.1)["status"] == "ok"
