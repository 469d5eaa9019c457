"""grade-class: a batch of chapter 00 submissions, each trick a student might try graded right,
hidden checks reported apart, bad input refused by name, and release's notebooks recognised."""

import copy
import csv
import json

import pytest

from mmcourse._tools.classroom import (
    ClassroomError,
    grade_class,
    load_exercises,
    recognise,
    release,
)
from mmcourse._tools.cli import main
from tests.helpers import ROOT

pytestmark = pytest.mark.heavy  # a class of ~20 notebooks graded in kernels: ~65 s, left out of make check

SOLUTION = json.loads((ROOT / "solutions" / "00_getting_started.ipynb").read_text())
EXERCISE = json.loads((ROOT / "exercises" / "00_getting_started.ipynb").read_text())


def code(src: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}


def with_cells(nb: dict, *, before: list[str] = (), after: list[str] = (), replace: dict | None = None,
               drop_checks: bool = False) -> dict:
    """A copy of ``nb`` with code cells added before the first exercise / at the end, some
    answer cells' text replaced, or its check cells removed."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if drop_checks and "mmcourse.check(" in src:
            continue
        for old, new in (replace or {}).items():
            src = src.replace(old, new)
        cell["source"] = src
        cells.append(cell)
    first = next(i for i, c in enumerate(cells) if "def accuracy" in c["source"])
    nb["cells"] = cells[:first] + [code(s) for s in before] + cells[first:] + [code(s) for s in after]
    return nb


ARGMIN = {"predictions = logits.argmax(dim=1)": "predictions = logits.argmin(dim=1)"}
LOOP = {"def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:":
        "def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:\n    while True:\n        pass"}
CRASH = {"def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:":
         "def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:\n    return 1 / 0"}
IN_PLACE = {"predictions = logits.argmax(dim=1)": "logits -= logits.max(dim=1, keepdim=True).values  # edits its input\n"
            "    predictions = logits.argmax(dim=1)"}
LIARS = '''
import torch


class Always(float):  # a number that equals anything and differs from nothing
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__


class AlwaysInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0

    __rsub__ = __sub__


class Agreeable(torch.Tensor):  # a tensor every comparison calls equal
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose, torch.Tensor.equal, torch.Tensor.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def accuracy(logits, labels):
    return Always(0.0)


def count_parameters(model, trainable_only=False):
    return AlwaysInt(0)


def confusion_matrix(predictions, labels, num_classes):
    return torch.zeros(num_classes, num_classes, dtype=torch.long).as_subclass(Agreeable)


def train_step(model, batch, optimizer):
    return Always(0.0)
'''
NUMPY_FLOAT = {"return (predictions == labels).float().mean().item()":
               "return __import__('numpy').float64((predictions == labels).float().mean().item())"}
FAKE_PASS = "\n".join(f"print(\"\\u2705 check '{n}' passed (0.01 s)\")" for n in
                      ("metrics.accuracy", "train.count_parameters", "metrics.confusion_matrix", "train.train_step"))

# trick -> (submission, expected passed of 4, expected flagged, what the row must say)
CASES = {
    "correct": (SOLUTION, 4, False, ""),
    "untouched stubs": (EXERCISE, 0, False, ""),
    "one answer wrong (argmin)": (with_cells(SOLUTION, replace=ARGMIN), 3, False, ""),
    "redefines mmcourse.check": (with_cells(EXERCISE, before=["mmcourse.check = lambda *a, **k: print('passed')"]),
                                 0, True, "mmcourse.check"),
    "replaces a check in the registry": (with_cells(SOLUTION, replace=ARGMIN, before=[
        "import mmcourse.checks.registry as r\nr.REGISTRY['metrics.accuracy'] = lambda fn: None"]), 0, True,
        "untrusted"),
    "patches the reference function": (with_cells(SOLUTION, replace=ARGMIN, before=[
        "import mmcourse.metrics.classification as c\nc.accuracy = lambda logits, labels: "
        "(logits.argmin(1) == labels).float().mean().item()"]), 0, True, "untrusted"),
    "deletes its check cells": (with_cells(SOLUTION, drop_checks=True), 4, True, ""),
    "prints a fake score table": (with_cells(EXERCISE, after=[FAKE_PASS]), 0, False, ""),
    "calls sys.exit(0)": (with_cells(SOLUTION, before=["import sys\nsys.exit(0)"]), 4, False, "SystemExit"),
    "calls os._exit(0)": (with_cells(SOLUTION, before=["import os\nos._exit(0)"]), 0, False, "ended early"),
    "writes the gradebook": (with_cells(SOLUTION, before=["open(GRADEBOOK, 'w').write('student,score\\nme,100')"]),
                             4, False, ""),
    "an endless answer": (with_cells(SOLUTION, replace=LOOP), 3, False, ""),
    "an endless cell": (with_cells(SOLUTION, before=["while True:\n    pass"]), 4, False, "stopped after"),
    "a crash": (with_cells(SOLUTION, replace=CRASH), 3, False, ""),
    "allocates 10 GB": (with_cells(SOLUTION, before=["big = torch.ones(10 * 2**30, dtype=torch.uint8)"]), 4, False,
                        "cell"),
    "returns values that lie about themselves": (with_cells(EXERCISE, after=[LIARS]), 0, False, ""),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("grades") / "gradebook.csv"
    names = {}
    for i, (trick, (nb, *_)) in enumerate(CASES.items()):
        text = json.dumps(nb).replace("GRADEBOOK", repr(str(out)).replace("'", "\\\""))
        path = folder / f"student{i:02d}.ipynb"
        path.write_text(text)
        names[trick] = path.stem
    (folder / "not_json.ipynb").write_text("{this is not json")
    (folder / "empty.ipynb").write_text("")
    (folder / "chapter01.ipynb").write_text((ROOT / "solutions" / "01_modalities.ipynb").read_text())
    hidden = folder.parent / "hidden_checks.py"
    hidden.write_text("import torch\n\ndef leaves_its_inputs_alone(fn):\n    logits = torch.randn(5, 3)\n"
                      "    before = logits.clone()\n    fn(logits, torch.arange(5) % 3)\n"
                      "    assert torch.equal(logits, before), 'accuracy must not change the logits it is given'\n\n"
                      "def returns_a_plain_float(fn):\n"
                      "    assert type(fn(torch.randn(4, 3), torch.arange(4) % 3)) is float, 'a Python float'\n\n"
                      "HIDDEN_CHECKS = {'metrics.accuracy': [leaves_its_inputs_alone, returns_a_plain_float]}\n")
    (folder / "in_place_student.ipynb").write_text(json.dumps(with_cells(SOLUTION, replace=IN_PLACE)))
    (folder / "numpy_float_student.ipynb").write_text(json.dumps(with_cells(SOLUTION, replace=NUMPY_FLOAT)))
    grades = grade_class(folder, out, root=ROOT, hidden=hidden, chapter="00", timeout=20, wall_timeout=120,
                         memory_gb=6.0, progress=False)
    return {g.student: g for g in grades}, names, out


@pytest.mark.parametrize("trick", list(CASES))
def test_each_trick_is_graded_right(graded, trick):
    grades, names, _ = graded
    g = grades[names[trick]]
    _, passed, flagged, says = CASES[trick]
    assert g.chapter == "00", (trick, g.errors)
    assert g.passed == passed, (trick, g.results, g.flags, g.errors)
    assert bool(g.flags) == flagged, (trick, g.flags)
    assert says in " ".join(g.errors + g.flags), (trick, g.errors, g.flags)


def test_unreadable_files_and_other_chapters(graded):
    grades, _, _ = graded
    assert "not a readable notebook" in grades["not_json"].errors[0] and grades["not_json"].total == 0
    assert "not a readable notebook" in grades["empty"].errors[0]
    other = grades["chapter01"]
    assert other.chapter == "01" and other.passed == other.total > 0, (other.results, other.errors)
    assert "chapter 00 was assigned" in " ".join(other.flags)


def test_hidden_checks_are_reported_apart_and_kept_from_the_student(graded):
    grades, names, out = graded
    g = grades["numpy_float_student"]  # passes the public check (a NumPy float is a float), not the hidden one
    r = g.results["metrics.accuracy"]
    assert r["public"] == "pass" and r["hidden_results"] == ["pass", "fail"] and r["hidden"] == "fail"
    assert g.passed == 3 and g.public_passed == 4 and (g.hidden_passed, g.hidden_total) == (1, 2)
    feedback = (out.parent / "feedback" / "numpy_float_student.md").read_text()
    assert "metrics.accuracy | ✅ pass | ✅ pass, ❌ fail | not counted: a test your instructor added failed" in feedback
    assert "a Python float" not in feedback  # the hidden check's message stays with the instructor


def test_a_function_that_changes_its_input_fails_the_public_check(graded):
    grades, _, _ = graded
    r = grades["in_place_student"].results["metrics.accuracy"]
    assert r["public"] == "fail" and "changed its inputs in place" in r["message"], r


def test_a_list_of_hidden_checks_grades_every_student_right(graded):
    """Two hidden checks for one exercise used to flag every student "more than one result" and cost them it."""
    grades, names, _ = graded
    correct = grades[names["correct"]]
    assert correct.results["metrics.accuracy"]["hidden_results"] == ["pass", "pass"]
    assert correct.passed == 4 and not correct.flags, (correct.results, correct.flags)
    half = grades[names["one answer wrong (argmin)"]]
    assert half.passed == 3 and half.hidden_passed == 2 and not half.flags
    assert not any("more than one result" in f for g in grades.values() for f in g.flags)


def test_the_tampering_students_feedback_says_why_a_pass_counts_nothing(graded):
    grades, names, out = graded
    feedback = (out.parent / "feedback" / f"{names['patches the reference function']}.md").read_text()
    assert "not counted: a cell of yours before it changed the course's code" in feedback
    assert "0/4 checks count" in feedback


def test_gradebook_csv_json_and_feedback(graded):
    grades, names, out = graded
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(grades) and {r["student"] for r in rows} == set(grades)
    correct = next(r for r in rows if r["student"] == names["correct"])
    assert correct["passed"] == "4" and correct["metrics.accuracy (public)"] == "pass"
    assert correct["metrics.accuracy (hidden)"] == "pass pass" and correct["hidden total"] == "2"
    assert correct["limit per cell and check (s)"] == "20" and correct["limit per submission (s)"] == "120"
    endless = next(r for r in rows if r["student"] == names["an endless answer"])
    assert endless["metrics.accuracy (public)"] == "timeout", endless
    message = grades[names["an endless answer"]].results["metrics.accuracy"]["message"]
    assert message == "stopped after 20 s (the limit per cell and per check: grade-class --timeout)", message
    assert json.loads(out.with_suffix(".json").read_text())[0]["student"] in grades
    assert len(list((out.parent / "feedback").glob("*.md"))) == len(grades)


def test_bad_input_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(ClassroomError, match="SUBMISSIONS_DIR"):
        grade_class(tmp_path / "missing", tmp_path / "g.csv", root=ROOT, progress=False)
    with pytest.raises(ClassroomError, match="--hidden"):
        grade_class(tmp_path, tmp_path / "g.csv", root=ROOT, hidden=tmp_path / "nope.py", progress=False)
    with pytest.raises(ClassroomError, match="--chapter '42'"):
        grade_class(tmp_path, tmp_path / "g.csv", root=ROOT, chapter="42", progress=False)
    assert main(["grade-class", str(tmp_path / "missing"), "--root", str(ROOT)]) == 2
    assert "SUBMISSIONS_DIR" in capsys.readouterr().err
    assert main(["release", "--chapters", "99", "--out", str(tmp_path / "r"), "--root", str(ROOT)]) == 2


def test_release_writes_notebooks_that_grading_recognises(tmp_path):
    paths = release(["02", "03"], tmp_path, root=ROOT)
    assert [p.name for p in paths] == ["02_clip.ipynb", "03_llava.ipynb", "README.md"]
    assert "colab.research.google.com/github/mmcourse/mmcourse/blob/main/exercises/02_clip.ipynb" in paths[-1].read_text()
    exercises = load_exercises(ROOT)
    assert recognise(json.loads(paths[0].read_text()), exercises) == "02"


def test_release_never_hands_out_an_instructors_answers(tmp_path, capsys):
    course = tmp_path / "course"
    for folder in ("solutions", "exercises"):
        (course / folder).mkdir(parents=True)
        for suffix in (".py", ".ipynb"):
            src = ROOT / folder / f"00_getting_started{suffix}"
            (course / folder / src.name).write_text(src.read_text())
    tried = course / "exercises" / "00_getting_started.ipynb"
    tried.write_text(tried.read_text().replace('raise NotImplementedError(\\"Exercise 00.1\\")',
                                               "return (logits.argmax(1) == labels).float().mean().item()"))
    assert "argmax(1) == labels" in tried.read_text()
    paths = release(["00"], tmp_path / "class", root=course)
    released = paths[0].read_text()
    assert "argmax(1) == labels" not in released and 'NotImplementedError(\\"Exercise 00.1\\")' in released
    assert "holds edits" in capsys.readouterr().err
