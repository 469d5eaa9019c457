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


def test_strict_budgets_fail_past_one_and_a_half_times_the_target():
    class Run:
        profile, wall_s, peak_rss_mb, metrics, cell_errors, error, checks = "tiny", 91.0, 100.0, {}, [], "", []

    from pathlib import Path

    nb, root = Path("/r/solutions/00_x.ipynb"), Path("/r")
    assert course._row(nb, Run(), root, factor=1.0)["status"] == "over its target", "without strict: marked only"
    strict = course._row(nb, Run(), root, factor=1.0, strict=True)["status"]
    assert strict.startswith("over budget"), f"91 s > 1.5 x 60 s should fail under strict budgets: {strict}"
    assert course._row(nb, Run(), root, factor=1.1, strict=True)["status"] == "over its target", "99 s limit at 1.1"


def test_a_partial_run_keeps_the_other_notebooks_rows(tmp_path):
    previous = tmp_path / "summary.json"
    old = [{"notebook": "chapters/00_a.ipynb", "status": "ok"}, {"notebook": "chapters/01_b.ipynb", "status": "ok"},
           {"notebook": "solutions/00_a.ipynb", "status": "ok"}]
    previous.write_text(json.dumps({"notebooks": old}))
    rows = course._merged([{"notebook": "chapters/01_b.ipynb", "status": "errors: x"}], previous)
    assert [r["notebook"] for r in rows] == [r["notebook"] for r in old], f"course order kept: {rows}"
    assert rows[1]["status"] == "errors: x", "the notebook that ran replaces its old row"
