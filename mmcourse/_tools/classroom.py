"""Instructors' tools: grade a class's submissions in one command, and release notebooks.

``python -m mmcourse grade-class SUBMISSIONS_DIR --out gradebook.csv [--hidden FILE]``

1. Each file in the folder is one student's submission (any name; the student is the file
   name without its extension). Its chapter comes from the notebook's metadata
   (``metadata.mmcourse.chapter``) or else from the checks it calls, matched against the
   course's exercise notebooks (``exercises/NN_*.ipynb``).
2. A *judge* process (:mod:`mmcourse._tools.judge`) grades each submission: the course's own
   setup and check cells from the pristine exercise notebook, the student's code cells in
   between. Editing or deleting check cells, redefining ``mmcourse.check`` or printing a fake
   score therefore changes nothing; patching the course's code from a student cell is detected
   and flagged. The judge runs with a memory limit, a time limit per cell and check, and a
   wall-clock limit for the whole submission, in a temporary working folder.
3. Up to ``--jobs`` submissions (default: the number of cores) are graded at once. The
   gradebook (CSV and JSON) holds per student: chapter, each check's public and hidden result,
   the total, runtime, errors and flags; ``feedback/STUDENT.md`` holds the table the student
   sees (hidden checks as pass/fail only, their messages stay with the instructor).

Exit status: 0 when the batch ran, whatever the students scored; 2 when it could not run
(a missing folder, an unreadable hidden-check file, an unknown chapter).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .exercise_index import CHECK_CALL, STUB, ClassroomError, Exercises, load_exercises, recognise
from .submission import MEMORY_LIMIT_GB, Grade, grade_submission, plan

__all__ = ["CHECK_CALL", "MEMORY_LIMIT_GB", "STUB", "ClassroomError", "Exercises", "Grade", "feedback_text",
           "grade_class", "grade_submission", "load_exercises", "plan", "recognise", "release", "write_gradebook"]


# -- the batch ------------------------------------------------------------------------------
def _submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def grade_class(folder: Path, out: Path, *, root: Path = Path("."), hidden: Path | None = None,
                jobs: int | None = None, timeout: float = 60, wall_timeout: float = 300,
                memory_gb: float = MEMORY_LIMIT_GB, chapter: str | None = None,
                progress: bool = True, on_graded: Callable[[Grade], None] | None = None) -> list[Grade]:
    """Grade every file in ``folder``; write ``out`` (CSV), its JSON twin and ``feedback/``.

    ``timeout`` limits each student cell and each check, ``wall_timeout`` a whole submission;
    both go into the gradebook. ``on_graded(grade)`` is called as each submission finishes.
    """
    from tqdm.auto import tqdm

    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise ClassroomError(f"SUBMISSIONS_DIR {folder} is not a folder of submitted notebooks")
    exercises = load_exercises(Path(root))
    if not exercises:
        raise ClassroomError(f"no exercises/NN_*.ipynb under {Path(root).resolve()}: run from the course's folder "
                             "or pass --root")
    if chapter is not None and chapter not in exercises:
        raise ClassroomError(f"--chapter {chapter!r} is not a chapter with exercises; known: {sorted(exercises)}")
    hidden_source = None
    if hidden is not None:
        try:
            hidden_source = Path(hidden).read_text(encoding="utf-8")
            compile(hidden_source, str(hidden), "exec")
        except (OSError, UnicodeDecodeError, SyntaxError) as err:
            raise ClassroomError(f"--hidden {hidden}: cannot read the hidden checks ({type(err).__name__}: {err})") from err
    files = _submissions(folder)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = {pool.submit(grade_submission, p, exercises, hidden=hidden_source, timeout=timeout,
                               wall_timeout=wall_timeout, memory_gb=memory_gb): p for p in files}
        done: dict[Path, Grade] = {}
        # as each finishes: one student's endless loop holds up no one else's line
        for future in tqdm(as_completed(futures), total=len(futures), desc="grading", unit="submission",
                           disable=not progress):
            done[futures[future]] = future.result()
            if on_graded is not None:
                on_graded(done[futures[future]])
        grades = [done[p] for p in files]
    for g in grades:
        if chapter is not None and g.chapter not in (None, chapter):
            g.flags.append(f"this is chapter {g.chapter}'s notebook; chapter {chapter} was assigned")
    write_gradebook(grades, out, limits={"limit per cell and check (s)": timeout, "limit per submission (s)": wall_timeout})
    return grades


def write_gradebook(grades: list[Grade], out: Path, limits: dict[str, float] | None = None) -> None:
    """``out`` (CSV) and its JSON twin, a row per submission: ``passed`` of ``total`` checks count
    (public and every hidden test pass, trusted), ``public passed``, ``hidden passed`` of ``hidden
    total``, each check's results, the time limits, flags and errors; and ``feedback/STUDENT.md``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**g.row(), **(limits or {})} for g in grades]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    out.with_suffix(".json").write_text(json.dumps([{**row, "results": g.results} for row, g in zip(rows, grades)],
                                                   indent=1))
    feedback = out.parent / "feedback"
    feedback.mkdir(exist_ok=True)
    for g in grades:
        (feedback / f"{g.student}.md").write_text(feedback_text(g), encoding="utf-8")


ICON = {"pass": "✅ pass", "fail": "❌ fail", "todo": "✏️ not implemented", "error": "💥 error",
        "timeout": "⏱️ timed out", "not run": "⛔ not run"}


def _why_not_counted(r: dict[str, Any]) -> str:
    """Why a check whose public test passed still counts 0 (empty when it counts)."""
    if r["public"] != "pass" or Grade.counts(r):
        return ""
    if not r["trusted"]:
        return ("not counted: a cell of yours before it changed the course's code (or printed a second result), "
                "so this result cannot be trusted")
    return "not counted: a test your instructor added failed"


def feedback_text(g: Grade) -> str:
    """What the student sees: the public checks with their hints, hidden checks as pass/fail,
    and why a check that passed does not count when it does not."""
    lines = [f"# Feedback for {g.student}", "", f"Chapter {g.chapter or '?'}: {g.passed}/{g.total} checks count "
             "(a check counts when its test and your instructor's tests of it pass).", ""]
    if g.results:
        lines += ["| check | result | hidden tests | hint |", "|---|---|---|---|"]
        for name, r in g.results.items():
            hint = r["message"] if r["public"] != "pass" else _why_not_counted(r)
            hint = hint.replace("|", "\\|").replace("\n", " ")[:300]
            hidden = ", ".join(ICON.get(h, h) for h in r.get("hidden_results", [])) or "—"
            lines.append(f"| {name} | {ICON.get(r['public'], r['public'])} | {hidden} | {hint} |")
    lines += [f"* {e}" for e in g.errors] + [f"* flagged for your instructor: {f}" for f in g.flags]
    return "\n".join(lines) + "\n"


def release(chapters: list[str], out: Path, *, root: Path = Path("."),
            repo: str = "mmcourse/mmcourse", branch: str = "main") -> list[Path]:
    """Write the chapters' exercise notebooks into ``out`` with a README of Colab links.

    The notebooks are generated afresh from ``solutions/`` (each solution replaced by its
    ``raise NotImplementedError``), never copied from ``exercises/``: an instructor who tried
    the exercises in this checkout would otherwise hand the class their own answers. Edited
    copies in ``exercises/`` are named on stderr and left out.
    """
    from .authoring import exercise_source, notebook_json

    root = Path(root)
    exercises = load_exercises(root)
    unknown = [c for c in chapters if c not in exercises]
    if unknown:
        raise ClassroomError(f"--chapters {unknown}: no such chapter with exercises; known: {sorted(exercises)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, links = [], []
    for ch in chapters:
        src = exercises[ch].path
        solution = root / "solutions" / src.with_suffix(".py").name
        if not solution.exists():
            raise ClassroomError(f"no {solution} to generate chapter {ch}'s exercises from (release needs the "
                                 "course's solutions/ folder)")
        pristine = notebook_json(src.with_suffix(".py"), exercise_source(solution))
        if src.read_text(encoding="utf-8") != pristine:
            print(f"release: {src} holds edits (your answers?); released the pristine notebook generated from "
                  f"{solution} instead", file=sys.stderr)
        nb = json.loads(pristine)
        nb.setdefault("metadata", {}).setdefault("mmcourse", {})["chapter"] = ch  # so grading recognises it
        target = out / src.name
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
        links.append(f"| {ch} | `{src.name}` | [open in Colab](https://colab.research.google.com/github/{repo}/blob/"
                     f"{branch}/exercises/{src.name}) |")
    readme = ["# Exercises for this class", "", "| chapter | notebook | Colab |", "|---|---|---|", *links, "",
              "Work in the notebook, run each check cell, then hand in the .ipynb file (File > Download on Colab).",
              "Do not rename the check cells: your instructor grades your code with the course's own checks."]
    (out / "README.md").write_text("\n".join(readme) + "\n", encoding="utf-8")
    return [*written, out / "README.md"]
