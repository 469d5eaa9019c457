"""Sync (jupytext pairs and generated exercises are up to date) and notebook conventions."""

import re

import nbformat
import pytest

from conftest import ROOT
from mmcourse.authoring import generate_exercises, strip_solutions, sync_notebooks

NOTEBOOKS = sorted(p for d in ("chapters", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))
COLAB = "https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/"


def test_jupytext_pairs_are_in_sync():
    stale = sync_notebooks(ROOT, check=True)
    assert stale == [], f"run `make sync`: {stale}"


def test_generated_exercises_equal_the_committed_ones():
    stale = generate_exercises(ROOT, check=True)
    assert stale == [], f"run `make exercises`: {stale}"


def test_strip_solutions_keeps_indentation_and_numbers_exercises():
    src = ("def f(x):\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\n\n"
           "# BEGIN SOLUTION\nz = 3\n# END SOLUTION\n"
           "[badge](https://colab.research.google.com/github/o/r/blob/main/solutions/00_a.ipynb)\n")
    out = strip_solutions(src, "07")
    assert out == ('def f(x):\n    raise NotImplementedError("Exercise 07.1")\n\n'
                   'raise NotImplementedError("Exercise 07.2")\n'
                   "[badge](https://colab.research.google.com/github/o/r/blob/main/exercises/00_a.ipynb)\n")


@pytest.mark.parametrize("src, match", [
    ("# BEGIN SOLUTION\nx\n", "never closed"),
    ("x\n# END SOLUTION\n", "without a BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n", "inside the block"),
    ("x = 1\n", "no '# BEGIN SOLUTION'"),
])
def test_strip_solutions_rejects_malformed_markers(src, match):
    with pytest.raises(ValueError, match=match):
        strip_solutions(src, "00")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # no outputs are committed
    assert all(not c.outputs and c.execution_count is None for c in code)
    # title + goals + a Colab badge that points at this very notebook
    rel = f"{path.parent.name}/{path.name}"
    title = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# "))
    assert f"({COLAB}{rel})" in title.source, f"{rel}: missing or wrong Colab badge"
    # the Colab bootstrap, then the parameters cell, then setup
    assert "import google.colab" in code[0].source and "git+https://github.com/mmcourse/mmcourse" in code[0].source
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^PROFILE = "auto"$', params[0].source, re.M)
    assert re.search(r"^SEED = \d+$", params[0].source, re.M)
    assert any("mmcourse.setup(PROFILE, seed=SEED)" in c.source for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.py")), ids=lambda p: p.name)
def test_chapters_assert_results_show_progress_and_a_widget(path):
    text = path.read_text()
    assert text.count("\nassert ") + text.count("    assert ") >= 3, "claims must be asserted"
    # mmcourse.train.fit shows the bar; so do the wrappers that call it (instruct.train_stage, fit_vilt, ...)
    assert re.search(r"\b(fit|fit_\w+|train_stage)\(", text) or "tqdm" in text, "a training loop with a progress bar"
    assert "widgets.demo(" in text, "every chapter has a widget demo"
    assert "mmcourse.log_metric(" in text, "the key metric goes to build/summary.md"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.py")), ids=lambda p: p.name)
def test_each_exercise_is_followed_by_a_check(path):
    cells = path.read_text().split("# %%")
    for i, cell in enumerate(cells):
        if "# BEGIN SOLUTION" in cell:
            following = "".join(cells[i:i + 2])
            assert "mmcourse.check(" in following, f"no check after the exercise in cell {i}"
