"""One submission graded: the plan of cells a judge process runs (the course's setup and
check cells around the student's code), the judge run with its limits, and the :class:`Grade`
read back from what it printed."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exercise_index import CHECK_CALL, Exercises, code_cells, recognise
from .judge import TOKEN_PREFIX

MEMORY_LIMIT_GB = 6.0


def plan(submission: dict[str, Any], exercises: Exercises) -> list[dict[str, Any]]:
    """The judge's steps: the course's setup cells, the student's own code cells (everything
    that is not a copy of a course cell and not a check call), the course's check calls."""
    course = {c["source"].strip() for c in exercises.cells if c["kind"] != "answer"}
    student = [(i, src) for i, src in code_cells(submission)
               if src.strip() and src.strip() not in course and not CHECK_CALL.search(src)]
    steps: list[dict[str, Any]] = [{"kind": "instructor", "cell": c["cell"], "source": c["source"]}
                                   for c in exercises.cells if c["kind"] == "setup"]
    steps += [{"kind": "student", "cell": i, "source": src} for i, src in student]
    steps += [{"kind": "check", "cell": c["cell"], "name": c["name"], "expr": c["expr"]}
              for c in exercises.cells if c["kind"] == "check"]
    return steps


@dataclass
class Grade:
    """The grade of one submission.

    A check *counts* (``passed``) when its public check and every hidden check the instructor
    gave it pass, and nothing marked it untrusted; ``public_passed`` and ``hidden_passed`` /
    ``hidden_total`` count the public and the hidden checks on their own.
    """

    student: str
    path: str
    chapter: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # check -> {public, hidden, message, ...}
    flags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @staticmethod
    def counts(r: dict[str, Any]) -> bool:
        return r["public"] == "pass" and all(h == "pass" for h in r.get("hidden_results", [])) and r["trusted"]

    @property
    def passed(self) -> int:
        return sum(self.counts(r) for r in self.results.values())

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def public_passed(self) -> int:
        return sum(r["public"] == "pass" and r["trusted"] for r in self.results.values())

    @property
    def hidden_passed(self) -> int:
        return sum(h == "pass" and r["trusted"] for r in self.results.values() for h in r.get("hidden_results", []))

    @property
    def hidden_total(self) -> int:
        return sum(len(r.get("hidden_results", [])) for r in self.results.values())

    def row(self) -> dict[str, Any]:
        return {"student": self.student, "chapter": self.chapter or "?", "passed": self.passed, "total": self.total,
                "score": round(self.passed / self.total, 3) if self.total else 0.0,
                "public passed": self.public_passed, "hidden passed": self.hidden_passed,
                "hidden total": self.hidden_total, "wall_s": round(self.wall_s, 1),
                **{f"{name} (public)": r["public"] + ("" if r["trusted"] else " (untrusted)")
                   for name, r in self.results.items()},
                **{f"{name} (hidden)": " ".join(r.get("hidden_results", [])) for name, r in self.results.items()},
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
    submitted = {m.group(1) for _, src in code_cells(nb) for m in CHECK_CALL.finditer(src)}
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
            key = (rec["name"], rec["kind"], rec.get("index", 0))
            if key in seen:  # a second result for the same check: something printed a fake one
                grade.flags.append(f"{rec['name']}: more than one result reported; untrusted")
                grade.results[rec["name"]]["trusted"] = False
            seen.add(key)
            r = grade.results[rec["name"]]
            r["trusted"] = r["trusted"] and rec["trusted"]
            if rec["kind"] == "public":
                r["public"], r["message"] = rec["status"], rec["message"]
            else:  # one entry per hidden check, in the order the instructor listed them
                r.setdefault("hidden_results", []).append(rec["status"])
                r.setdefault("hidden_messages", []).append(rec["message"])
                r["hidden"] = next((h for h in r["hidden_results"] if h != "pass"), "pass")
    if not done and code is not None:
        last = stderr.strip().splitlines()[-1][:200] if stderr.strip() else f"exit status {code}"
        grade.errors.append(f"the grader process ended early ({last}); checks it did not reach count as not run")
