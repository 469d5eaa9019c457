"""The course's exercise notebooks as the graders see them: which checks each calls, and
which chapter a submitted notebook belongs to (its metadata, or else the checks it calls)."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']\s*,\s*(.+?)\)\s*$""", re.M)
STUB = "raise NotImplementedError"


class ClassroomError(ValueError):
    """The batch cannot run: the message says what to fix."""


@dataclass
class Exercises:
    """One chapter's pristine exercise notebook, parsed."""

    chapter: str
    path: Path
    cells: list[dict[str, Any]]  # code cells: {"cell", "source", "kind": setup|answer|check, "name", "expr", "defines"}

    @property
    def checks(self) -> list[str]:
        return [c["name"] for c in self.cells if c["kind"] == "check"]


def code_cells(nb: dict[str, Any]) -> list[tuple[int, str]]:
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
        for i, src in code_cells(json.loads(path.read_text(encoding="utf-8"))):
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
    cells = code_cells(nb)
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
