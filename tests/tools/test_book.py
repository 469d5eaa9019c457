"""``make book`` without a browser: what it says before ``make course``, how a failed notebook
is marked on its page, what it strips (the badge image and saved widget state, both fetched
from other hosts), and that every reference is cited where the references page says."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from mmcourse._tools import book

ROOT = Path(__file__).resolve().parents[2]
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db40000000049454e44ae426082")).decode()


def test_book_before_course_says_what_to_run(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mmcourse", "book", "--root", str(ROOT), "--build", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, f"`book` with no executed notebooks should exit 2; it exited {proc.returncode}"
    assert "run `make course` first" in proc.stderr, f"the message should say to run make course: {proc.stderr}"


def _fake_course(tmp_path: Path, status: str) -> tuple[Path, Path]:
    """A course of one chapter and its exercises, 'executed' with one figure; summary says ``status``."""
    root, build = tmp_path / "course", tmp_path / "build"
    (root / "chapters").mkdir(parents=True)
    (root / "exercises").mkdir()
    shutil.copytree(ROOT / "book", root / "book")
    python = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
              "language_info": {"name": "python"}}
    nb = nbformat.v4.new_notebook(metadata=dict(python))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# Chapter 99 — A test\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/99_test.ipynb)\n\nText."),
        nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output("display_data", {"image/png": PNG})])]
    nbformat.write(nb, root / "chapters" / "99_test.ipynb")
    ex = nbformat.v4.new_notebook(metadata=dict(python))
    ex.cells = [nbformat.v4.new_markdown_cell("**This is your notebook.**"),
                nbformat.v4.new_markdown_cell("# Chapter 99 — Exercises"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(ex, root / "exercises" / "99_test.ipynb")
    (build / "executed" / "chapters").mkdir(parents=True)
    nbformat.write(nb, build / "executed" / "chapters" / "99_test.ipynb")
    row = {"notebook": "chapters/99_test.ipynb", "status": status, "wall_s": 1.0, "metrics": {"acc": 0.5}}
    (build / "summary.json").write_text(json.dumps({"calibration": {"factor": 1.0}, "notebooks": [row]}))
    (build / "evaluation").mkdir()
    (build / "evaluation" / "report.md").write_text("| model | metric |\n|---|---|\n| m | 1 |\n")
    return root, build


def test_assembled_pages_drop_the_badge_and_widget_state_and_lead_with_the_title(tmp_path):
    root, build = _fake_course(tmp_path, "ok")
    src, pages = book.assemble(root, build)
    chapter = nbformat.read(src / "chapters" / "99_test.ipynb", as_version=4)
    assert "widgets" not in chapter.metadata, "saved widget state should be dropped (it loads a CDN script)"
    assert "colab-badge.svg" not in chapter.cells[0].source, "the Colab badge (an image from Colab) should be dropped"
    exercises = nbformat.read(src / "exercises" / "99_test.ipynb", as_version=4)
    assert exercises.cells[0].source.startswith("# Chapter 99"), "the exercises page should lead with its title"
    by_page = {p["page"]: p for p in pages}
    assert by_page["chapters/99_test.html"]["figures"] == 1, f"one figure expected: {by_page['chapters/99_test.html']}"


def test_a_notebook_that_failed_in_course_is_marked_failed_on_its_page(tmp_path):
    root, build = _fake_course(tmp_path, "errors: cell 1 (`plot()`): NameError")
    out = book.build(root, build)
    html = (out / "chapters" / "99_test.html").read_text(encoding="utf-8")
    assert "This notebook failed in" in html, "the failed chapter's page should carry the failure banner"
    assert "NameError" in html, "the banner should say how the notebook failed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == ["chapters/99_test.ipynb"], f"the manifest should list the failure: {manifest['failed']}"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "failed" in index, "the index's run table should mark the chapter failed"


def _surname(source: str) -> str:
    first = re.split(r"[ ,&]", source.strip())[0]
    return {"van": "Oord"}.get(first, first)


def _cites(text: str, surname: str, year: str) -> bool:
    """The chapter names ``surname``, with ``year`` next to it where it dates the citation at all."""
    dated = [re.search(r"\b(19|20)\d\d\b", text[m.end():m.end() + 80]) for m in re.finditer(surname, text)]
    if not dated:
        return False
    return any(d and d.group(0) == year for d in dated) or not any(dated)


def test_every_reference_is_cited_by_the_chapters_it_lists():
    rows = [ln for ln in (ROOT / "book" / "references.md").read_text(encoding="utf-8").splitlines()
            if ln.startswith("| ") and not ln.startswith("| source")]
    assert len(rows) >= 40, f"the references page should list the chapters' sources; it lists {len(rows)}"
    for row in rows:
        source, chapters = [c.strip() for c in row.strip("|").rsplit("|", 1)]
        year = re.search(r"\b(19|20)\d\d\b", source).group(0)
        for chapter in chapters.split(", "):
            text = next((ROOT / "chapters").glob(f"{chapter}_*.py")).read_text(encoding="utf-8")
            assert _cites(text, _surname(source), year), f"chapter {chapter} should cite {source[:70]}"
