"""Sync (jupytext pairs and generated exercises are up to date) and notebook conventions."""

import re

import nbformat
import pytest

from mmcourse._tools.authoring import (
    generate_exercises,
    strip_solutions,
    sync_notebooks,
    used_in_tags,
)
from tests.helpers import ROOT

NOTEBOOKS = sorted(p for d in ("chapters", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))
COLAB = "https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/"


def test_jupytext_pairs_are_in_sync():
    stale = sync_notebooks(ROOT, check=True)
    assert stale == [], f"run `make sync`: {stale}"


def test_used_in_tags_name_the_chapters_that_call_each_function():
    stale = used_in_tags(ROOT)
    assert stale == [], "run `python -m mmcourse tags`:\n" + "\n".join(stale)


def test_generated_exercises_equal_the_committed_ones():
    stale = generate_exercises(ROOT, check=True).changed
    assert stale == [], f"run `make exercises`: {stale}"


def _copy_course(tmp_path):
    import shutil

    for d in ("solutions", "exercises"):
        shutil.copytree(ROOT / d, tmp_path / d)
    return tmp_path


def test_a_learners_edits_survive_make_exercises(tmp_path):
    root = _copy_course(tmp_path)
    py, nb = root / "exercises" / "00_getting_started.py", root / "exercises" / "00_getting_started.ipynb"
    (root / "solutions" / "00_getting_started.py").write_text(  # the author changes a solution...
        (root / "solutions" / "00_getting_started.py").read_text() + "\n# %%\nx = 1\n")
    mine = py.read_text().replace('raise NotImplementedError("Exercise 00.1")', "return 0.5  # my answer", 1)
    py.write_text(mine)  # ...while a learner has answered exercise 00.1 in the .py
    update = generate_exercises(root)
    assert update.kept == [py] and py.read_text() == mine, "the learner's answer was overwritten"
    assert nb not in update.changed
    update = generate_exercises(root, force=True)  # --force regenerates
    assert py in update.changed and "my answer" not in py.read_text()


def test_edits_made_in_the_notebook_survive_too(tmp_path):
    root = _copy_course(tmp_path)
    nb = root / "exercises" / "01_modalities.ipynb"
    edited = nb.read_text().replace('raise NotImplementedError(\\"Exercise 01.1\\")', "return None", 1)
    assert edited != nb.read_text()
    nb.write_text(edited)  # edited in JupyterLab or Colab, the .py untouched
    (root / "solutions" / "01_modalities.py").write_text((root / "solutions" / "01_modalities.py").read_text() + "\n")
    update = generate_exercises(root)
    assert update.kept == [root / "exercises" / "01_modalities.py"] and nb.read_text() == edited


def test_stale_but_untouched_exercises_are_regenerated(tmp_path):
    root = _copy_course(tmp_path)
    sol = root / "solutions" / "02_clip.py"
    sol.write_text(sol.read_text() + "\n# %%\ny = 2\n")
    update = generate_exercises(root)
    assert root / "exercises" / "02_clip.py" in update.changed and not update.kept
    assert "y = 2" in (root / "exercises" / "02_clip.py").read_text()
    assert "y = 2" in (root / "exercises" / "02_clip.ipynb").read_text()


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
def test_chapters_show_progress_a_widget_and_a_key_metric(path):
    text = path.read_text()
    # mmcourse.train.fit shows the bar; so do the wrappers that call it (instruct.train_stage, fit_vilt, ...)
    assert re.search(r"\b(fit|fit_\w+|train_stage)\(", text) or "tqdm" in text, "a training loop with a progress bar"
    assert "widgets.demo(" in text, "every chapter has a widget demo"
    assert "mmcourse.log_metric(" in text, "the key metric goes to build/summary.md"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.py")), ids=lambda p: p.name)
def test_every_assert_states_one_claim_with_a_message(path):
    import ast

    bad = [f"line {n.lineno}: " + ("no message" if n.msg is None else "several claims joined by `and`")
           for n in ast.walk(ast.parse(path.read_text()))
           if isinstance(n, ast.Assert) and (n.msg is None or (isinstance(n.test, ast.BoolOp)
                                                              and isinstance(n.test.op, ast.And)))]
    assert not bad, f"{path.name}: one claim per assert, with a message naming claim and measurement: {bad}"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.py")), ids=lambda p: p.name)
def test_code_cells_are_short(path):
    cells = re.split(r"^# %%.*$", path.read_text(), flags=re.M)
    lengths = [len([ln for ln in c.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]) for c in cells]
    long = [(i, n) for i, n in enumerate(lengths) if n > 20]
    assert not long, f"{path.name}: split code cells over 20 lines with prose between the steps: {long}"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.py")), ids=lambda p: p.name)
def test_each_exercise_is_followed_by_a_check(path):
    cells = path.read_text().split("# %%")
    for i, cell in enumerate(cells):
        if "# BEGIN SOLUTION" in cell:
            following = "".join(cells[i:i + 2])
            assert "mmcourse.check(" in following, f"no check after the exercise in cell {i}"
