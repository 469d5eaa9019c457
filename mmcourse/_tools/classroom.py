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

import ast
import contextlib
import csv
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .judge import TOKEN_PREFIX

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']\s*,\s*(.+?)\)\s*$""", re.M)
STUB = "raise NotImplementedError"
MEMORY_LIMIT_GB = 6.0


class ClassroomError(ValueError):
    """The batch cannot run: the message says what to fix."""


# -- the course's exercise notebooks --------------------------------------------------------
@dataclass
class Exercises:
    """One chapter's pristine exercise notebook, parsed."""

    chapter: str
    path: Path
    cells: list[dict[str, Any]]  # code cells: {"cell", "source", "kind": setup|answer|check, "name", "expr", "defines"}

    @property
    def checks(self) -> list[str]:
        return [c["name"] for c in self.cells if c["kind"] == "check"]


def _code_cells(nb: dict[str, Any]) -> list[tuple[int, str]]:
    out = []
    for i, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append((i, "".join(src) if isinstance(src, list) else src))
    return out


def _defines(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def load_exercises(root: Path) -> dict[str, Exercises]:
    """Every ``exercises/NN_*.ipynb`` under ``root``, keyed by chapter number ("00", ...)."""
    out = {}
    for path in sorted((Path(root) / "exercises").glob("[0-9][0-9]_*.ipynb")):
        cells = []
        for i, src in _code_cells(json.loads(path.read_text(encoding="utf-8"))):
            match = CHECK_CALL.search(src)
            if match:
                cells.append({"cell": i, "source": src, "kind": "check", "name": match.group(1),
                              "expr": match.group(2).strip()})
            elif STUB in src:
                cells.append({"cell": i, "source": src, "kind": "answer", "defines": sorted(_defines(src))})
            else:  # the Colab install cell is the course's too, but never needed here
                cells.append({"cell": i, "source": src, "kind": "skip" if "google.colab" in src else "setup"})
        out[path.name[:2]] = Exercises(path.name[:2], path, cells)
    return out


def recognise(nb: dict[str, Any], exercises: dict[str, Exercises]) -> str | None:
    """The chapter of a submission: its metadata; else the exercise notebook whose checks it
    calls, or whose answer functions it defines, most (at least one); else its title
    ("Chapter NN"); else None."""
    chapter = str(nb.get("metadata", {}).get("mmcourse", {}).get("chapter", ""))
    if chapter in exercises:
        return chapter
    cells = _code_cells(nb)
    called = {m.group(1) for _, src in cells for m in CHECK_CALL.finditer(src)}
    defined = set().union(*(_defines(src) for _, src in cells)) if cells else set()
    for found, wanted in ((called, lambda e: set(e.checks)),
                          (defined, lambda e: {f for c in e.cells for f in c.get("defines", [])})):
        scored = sorted(((len(found & wanted(e)), ch) for ch, e in exercises.items()), reverse=True)
        if scored and scored[0][0] > 0:
            return scored[0][1]
    for cell in nb.get("cells", [])[:3]:
        src = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
        title = re.search(r"Chapter (\d\d)", src)
        if cell.get("cell_type") == "markdown" and title and title.group(1) in exercises:
            return title.group(1)
    return None


# -- one submission -------------------------------------------------------------------------
def plan(submission: dict[str, Any], exercises: Exercises) -> list[dict[str, Any]]:
    """The judge's steps: the course's setup cells, the student's own code cells (everything
    that is not a copy of a course cell and not a check call), the course's check calls."""
    course = {c["source"].strip() for c in exercises.cells if c["kind"] != "answer"}
    student = [(i, src) for i, src in _code_cells(submission)
               if src.strip() and src.strip() not in course and not CHECK_CALL.search(src)]
    steps: list[dict[str, Any]] = [{"kind": "instructor", "cell": c["cell"], "source": c["source"]}
                                   for c in exercises.cells if c["kind"] == "setup"]
    steps += [{"kind": "student", "cell": i, "source": src} for i, src in student]
    steps += [{"kind": "check", "cell": c["cell"], "name": c["name"], "expr": c["expr"]}
              for c in exercises.cells if c["kind"] == "check"]
    return steps


@dataclass
class Grade:
    """The grade of one submission."""

    student: str
    path: str
    chapter: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # check -> {public, hidden, message, ...}
    flags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r["public"] == "pass" and r.get("hidden", "pass") == "pass" and r["trusted"]
                   for r in self.results.values())

    @property
    def total(self) -> int:
        return len(self.results)

    def row(self) -> dict[str, Any]:
        return {"student": self.student, "chapter": self.chapter or "?", "passed": self.passed, "total": self.total,
                "score": round(self.passed / self.total, 3) if self.total else 0.0, "wall_s": round(self.wall_s, 1),
                **{f"{name} (public)": r["public"] + ("" if r["trusted"] else " (untrusted)")
                   for name, r in self.results.items()},
                **{f"{name} (hidden)": r.get("hidden", "") for name, r in self.results.items()},
                "flags": "; ".join(self.flags), "errors": "; ".join(self.errors)}


def _run_judge(job: dict[str, Any], *, cwd: str, wall_timeout: float) -> tuple[str, str, int | None]:
    """(stdout, stderr, exit status or None when it was stopped) of one judge process, in its
    own session so that a timeout stops everything it started."""
    env = {**os.environ, "MMCOURSE_HEADLESS": "1", "MPLBACKEND": "Agg", "MMCOURSE_PROFILE": "tiny",
           "OMP_NUM_THREADS": "1"}
    env.pop("MMCOURSE_GRADE_LOG", None)
    proc = subprocess.Popen([sys.executable, "-m", "mmcourse._tools.judge"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(json.dumps(job), timeout=wall_timeout)
        return stdout, stderr, proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        return stdout, stderr, None


def grade_submission(path: Path, exercises: dict[str, Exercises], *, hidden: str | None = None,
                     timeout: float = 60, wall_timeout: float = 300, memory_gb: float = MEMORY_LIMIT_GB) -> Grade:
    """Grade one file; never raises for anything the file holds."""
    grade = Grade(student=path.stem, path=str(path))
    start = time.perf_counter()
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(nb, dict) or "cells" not in nb:
            raise ValueError("no 'cells' list")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        grade.errors.append(f"not a readable notebook ({type(err).__name__}: {str(err)[:120]})")
        return grade
    grade.chapter = recognise(nb, exercises)
    if grade.chapter is None:
        grade.errors.append("could not tell which chapter this is: it calls none of the course's checks")
        return grade
    ex = exercises[grade.chapter]
    grade.results = {name: {"public": "not run", "trusted": True, "message": ""} for name in ex.checks}
    submitted = {m.group(1) for _, src in _code_cells(nb) for m in CHECK_CALL.finditer(src)}
    if set(ex.checks) - submitted:
        grade.flags.append(f"check cells edited or deleted: {sorted(set(ex.checks) - submitted)} (graded anyway)")
    token = secrets.token_hex(16)
    job = {"token": token, "steps": plan(nb, ex), "hidden": hidden, "timeout": timeout, "memory_gb": memory_gb}
    with tempfile.TemporaryDirectory(prefix="mmcourse-judge-") as work:
        stdout, stderr, code = _run_judge(job, cwd=work, wall_timeout=wall_timeout)
    if code is None:
        grade.errors.append(f"stopped after {wall_timeout:g} s in all (an endless loop?)")
    _read_results(grade, stdout, token, code, stderr)
    grade.wall_s = time.perf_counter() - start
    return grade


def _read_results(grade: Grade, stdout: str, token: str, code: int | None, stderr: str) -> None:
    prefix, seen, done = f"{TOKEN_PREFIX}{token}:", set(), False
    for line in stdout.splitlines():
        if not line.startswith(prefix):
            continue
        rec = json.loads(line[len(prefix):])
        if rec["event"] == "done":
            done = True
        elif rec["event"] == "tamper":
            grade.flags.append(f"cell {rec['cell']} changed the course's code: {', '.join(rec['changed'][:5])}; "
                               "checks after it are untrusted")
        elif rec["event"] == "cell_error":
            grade.errors.append(f"cell {rec['cell']}: {rec['error']}")
        elif rec["event"] == "check" and rec["name"] in grade.results:
            key = (rec["name"], rec["kind"])
            if key in seen:  # a second result for the same check: something printed a fake one
                grade.flags.append(f"{rec['name']}: more than one result reported; untrusted")
                grade.results[rec["name"]]["trusted"] = False
            seen.add(key)
            r = grade.results[rec["name"]]
            r["public" if rec["kind"] == "public" else "hidden"] = rec["status"]
            r["trusted"] = r["trusted"] and rec["trusted"]
            if rec["kind"] == "public":
                r["message"] = rec["message"]
            else:
                r["hidden_message"] = rec["message"]
    if not done and code is not None:
        last = stderr.strip().splitlines()[-1][:200] if stderr.strip() else f"exit status {code}"
        grade.errors.append(f"the grader process ended early ({last}); checks it did not reach count as not run")


# -- the batch ------------------------------------------------------------------------------
def _submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def grade_class(folder: Path, out: Path, *, root: Path = Path("."), hidden: Path | None = None,
                jobs: int | None = None, timeout: float = 60, wall_timeout: float = 300,
                memory_gb: float = MEMORY_LIMIT_GB, chapter: str | None = None,
                progress: bool = True) -> list[Grade]:
    """Grade every file in ``folder``; write ``out`` (CSV), its JSON twin and ``feedback/``."""
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
        futures = [pool.submit(grade_submission, p, exercises, hidden=hidden_source, timeout=timeout,
                               wall_timeout=wall_timeout, memory_gb=memory_gb) for p in files]
        grades = [f.result() for f in tqdm(futures, desc="grading", unit="submission", disable=not progress)]
    for g in grades:
        if chapter is not None and g.chapter not in (None, chapter):
            g.flags.append(f"this is chapter {g.chapter}'s notebook; chapter {chapter} was assigned")
    write_gradebook(grades, out)
    return grades


def write_gradebook(grades: list[Grade], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [g.row() for g in grades]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    out.with_suffix(".json").write_text(json.dumps([{**g.row(), "results": g.results} for g in grades], indent=1))
    feedback = out.parent / "feedback"
    feedback.mkdir(exist_ok=True)
    for g in grades:
        (feedback / f"{g.student}.md").write_text(feedback_text(g), encoding="utf-8")


ICON = {"pass": "✅ pass", "fail": "❌ fail", "todo": "✏️ not implemented", "error": "💥 error",
        "timeout": "⏱️ timed out", "not run": "⛔ not run"}


def feedback_text(g: Grade) -> str:
    """What the student sees: the public checks with their hints, hidden checks as pass/fail."""
    lines = [f"# Feedback for {g.student}", "", f"Chapter {g.chapter or '?'}: {g.passed}/{g.total} checks passed.", ""]
    if g.results:
        lines += ["| check | result | hidden tests | hint |", "|---|---|---|---|"]
        for name, r in g.results.items():
            hint = r["message"].replace("|", "\\|").replace("\n", " ")[:300] if r["public"] != "pass" else ""
            lines.append(f"| {name} | {ICON.get(r['public'], r['public'])} | {ICON.get(r.get('hidden', ''), '—')} "
                         f"| {hint} |")
    lines += [f"* {e}" for e in g.errors] + [f"* flagged for your instructor: {f}" for f in g.flags]
    return "\n".join(lines) + "\n"


def release(chapters: list[str], out: Path, *, root: Path = Path("."),
            repo: str = "mmcourse/mmcourse", branch: str = "main") -> list[Path]:
    """Copy the chapters' exercise notebooks into ``out`` with a README of Colab links."""
    exercises = load_exercises(Path(root))
    unknown = [c for c in chapters if c not in exercises]
    if unknown:
        raise ClassroomError(f"--chapters {unknown}: no such chapter with exercises; known: {sorted(exercises)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, links = [], []
    for ch in chapters:
        src = exercises[ch].path
        nb = json.loads(src.read_text(encoding="utf-8"))
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
