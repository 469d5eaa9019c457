"""``python -m mmcourse grade NOTEBOOK...``: run notebooks and score their checks.

Exit status: 0 when every check of every notebook passes; 1 when any check fails (or
did not run); 2 when a notebook cannot be run at all (missing, unreadable, kernel died).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .runner import NotebookRun, execute, source_cells

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")

STATUS_TEXT = {
    "pass": "\u2705 pass",
    "fail": "\u274c fail",
    "todo": "\u270f\ufe0f  not implemented",
    "error": "\U0001f4a5 error",
    "timeout": "\u23f1\ufe0f  timed out",
    "not run": "\u26d4 not run",
}


@dataclass
class Row:
    """One graded check: its name, status (a key of ``STATUS_TEXT``) and why."""

    name: str
    status: str
    detail: str = ""
    error: str = ""  # exception type behind a failure, e.g. "NotImplementedError"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class Report:
    """The grade of one notebook."""

    path: str
    run: NotebookRun
    rows: list[Row] = field(default_factory=list)
    other_errors: list[dict[str, Any]] = field(default_factory=list)  # errors outside checks

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.rows)

    @property
    def score(self) -> float:
        return self.passed / len(self.rows) if self.rows else 0.0

    @property
    def exit_code(self) -> int:
        if not self.run.ran:
            return 2
        if not self.rows or self.passed < len(self.rows) or self.other_errors:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": self.score,
            "passed": self.passed,
            "total": len(self.rows),
            "wall_s": self.run.wall_s,
            "error": self.run.error,
            "exit_code": self.exit_code,
            "rows": [r.__dict__ for r in self.rows],
            "other_errors": [{k: v for k, v in e.items() if k != "source"} for e in self.other_errors],
        }


def expected_checks(nb: Any) -> list[tuple[int, str]]:
    """(cell index, check name) for every ``check("name", ...)`` call in the notebook's code.
    """
    out = []
    for i, cell in source_cells(nb):
        if cell.cell_type == "code":
            out += [(i, name) for name in CHECK_CALL.findall(cell.source)]
    return out


def _row(name: str, cell: int, results: dict[str, dict], errors_by_cell: dict[int, list[dict]],
         earlier_timeout: dict | None) -> Row:
    if name in results:
        r = results[name]
        if r["passed"]:
            return Row(name, "pass", f"{r['seconds']:.2f} s")
        if r["error"] == "NotImplementedError":
            return Row(name, "todo", r["message"].split(":")[0], r["error"])
        if r["error"] == "AssertionError":
            return Row(name, "fail", r["message"], r["error"])
        return Row(name, "error", r["message"], r["error"])
    for e in errors_by_cell.get(cell, []):  # the check cell itself broke before check() ran
        if e["ename"] == "KeyboardInterrupt":
            return Row(name, "timeout", f"cell {cell} was stopped by the per-cell timeout", e["ename"])
        return Row(name, "not run", f"cell {cell} raised {e['ename']}: {e['evalue']}", e["ename"])
    if earlier_timeout is not None:
        return Row(name, "timeout", f"cell {earlier_timeout['cell']} was stopped by the timeout",
                   "KeyboardInterrupt")
    return Row(name, "not run", "the check never ran (did the notebook stop early?)")


def grade_notebook(path: str, *, timeout: float = 120, profile: str = "tiny") -> Report:
    """Execute one notebook and score each of its checks."""
    run = execute(path, profile=profile, timeout=timeout)
    report = Report(path=path, run=run)
    if run.notebook is None:
        return report
    results = {r["name"]: r for r in run.checks}  # the last result of each name wins
    errors_by_cell: dict[int, list[dict]] = {}
    for e in run.cell_errors:
        errors_by_cell.setdefault(e["cell"], []).append(e)
    check_cells = set()
    seen = set()
    for cell, name in expected_checks(run.notebook):
        check_cells.add(cell)
        if name in seen:
            continue
        seen.add(name)
        timeout_before = next((e for e in run.cell_errors
                               if e["ename"] == "KeyboardInterrupt" and e["cell"] < cell), None)
        report.rows.append(_row(name, cell, results, errors_by_cell, timeout_before))
    report.other_errors = [e for e in run.cell_errors if e["cell"] not in check_cells]
    return report


def format_report(report: Report) -> str:
    """The score table of one notebook, as text."""
    lines = [f"\n{report.path}  (profile {report.run.profile}, {report.run.wall_s:.1f} s)"]
    if not report.run.ran:
        lines.append(f"  could not run: {report.run.error}")
    if report.rows:
        width = max(len(r.name) for r in report.rows)
        lines.append(f"  {'#':>2}  {'check':<{width}}  result")
        for i, r in enumerate(report.rows, 1):
            detail = f"  -- {r.detail}" if r.detail and not r.passed else ""
            lines.append(f"  {i:>2}  {r.name:<{width}}  {STATUS_TEXT[r.status]}{detail}")
    elif report.run.ran:
        lines.append("  no check(...) calls found in this notebook")
    for e in report.other_errors:
        first = e["source"].strip().splitlines()[0] if e["source"].strip() else ""
        lines.append(f"  cell {e['cell']} raised {e['ename']}: {e['evalue']}  [{first[:60]}]")
    if report.rows:
        lines.append(f"  score: {report.passed}/{len(report.rows)} ({100 * report.score:.0f} %)")
    return "\n".join(lines)


def grade(paths: list[str], *, timeout: float = 120, profile: str = "tiny",
          quiet: bool = False) -> tuple[int, list[Report]]:
    """Grade several notebooks; print their tables; return (exit code, reports)."""
    if not paths:
        raise ValueError("paths: give at least one notebook to grade")
    reports = []
    for p in paths:
        rep = grade_notebook(p, timeout=timeout, profile=profile)
        reports.append(rep)
        if not quiet:
            print(format_report(rep), flush=True)
    code = max(r.exit_code for r in reports)
    if not quiet and len(reports) > 1:
        total = sum(len(r.rows) for r in reports)
        ok = sum(r.passed for r in reports)
        print(f"\nall notebooks: {ok}/{total} checks passed")
    return code, reports
