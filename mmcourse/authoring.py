"""Tools for course authors: pair notebooks and generate exercises from solutions.

* The jupytext percent ``.py`` file is the source; its ``.ipynb`` twin is derived
  (no outputs, deterministic cell ids), so a re-run changes nothing unless the source did.
* ``exercises/NN_name.py`` is generated from ``solutions/NN_name.py`` by replacing each
  ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block with
  ``raise NotImplementedError("Exercise NN.k")`` at the block's indentation.

``python -m mmcourse sync`` / ``exercises`` write; ``--check`` only reports stale files.
"""

from __future__ import annotations

import re
from pathlib import Path

NOTEBOOK_DIRS = ("chapters", "solutions", "exercises")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")


def strip_solutions(text: str, chapter: str) -> str:
    """Replace every solution block in a jupytext source with a NotImplementedError stub.

    Args:
        text: the solutions ``.py`` source.
        chapter: the chapter number used in the stub message, e.g. ``"00"``.

    Used in: chapter 00
    """
    out: list[str] = []
    k, inside, start_line = 0, False, 0
    for lineno, line in enumerate(text.splitlines(keepends=True), 1):
        m = BEGIN.match(line.rstrip("\n"))
        if m:
            if inside:
                raise ValueError(f"line {lineno}: BEGIN SOLUTION inside the block opened on line {start_line}")
            inside, start_line, k = True, lineno, k + 1
            out.append(f'{m["indent"]}raise NotImplementedError("Exercise {chapter}.{k}")\n')
            continue
        if END.match(line.rstrip("\n")):
            if not inside:
                raise ValueError(f"line {lineno}: END SOLUTION without a BEGIN SOLUTION")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ValueError(f"line {start_line}: BEGIN SOLUTION is never closed by END SOLUTION")
    if k == 0:
        raise ValueError("no '# BEGIN SOLUTION' block found: a solutions notebook needs exercises")
    result = "".join(out)
    # links that point at the solutions notebook (Colab badge) point at the exercise instead
    return result.replace("/solutions/", "/exercises/").replace("solutions notebook", "exercises notebook")


def exercise_source(solution_path: Path) -> str:
    """The generated exercises text for one solutions ``.py`` file.

    Used in: chapter 00
    """
    chapter = solution_path.stem.split("_")[0]
    header = (
        "# %% [markdown]\n"
        f"# *Generated from `solutions/{solution_path.name}` by `make exercises`: "
        "edit that file, not this one.*\n\n"
    )
    text = strip_solutions(solution_path.read_text(encoding="utf-8"), chapter)
    # put the notice right after the jupytext YAML header
    if text.startswith("# ---\n"):
        end = text.index("# ---\n", 6) + len("# ---\n")
        return text[:end] + "\n" + header + text[end:].lstrip("\n")
    return header + text


def notebook_json(py_path: Path) -> str:
    """The ``.ipynb`` JSON (no outputs, deterministic ids) for a jupytext percent source.

    Used in: chapter 00
    """
    import jupytext
    import nbformat

    nb = jupytext.read(py_path, fmt="py:percent")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{py_path.stem[:40]}-{i:03d}".replace("_", "-")
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    nb.metadata["jupytext"].pop("text_representation", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nbformat.writes(nb) + "\n"


def _write_if_changed(path: Path, text: str, check: bool) -> bool:
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        return False
    if not check:
        path.write_text(text, encoding="utf-8")
    return True


def generate_exercises(root: Path, *, check: bool = False) -> list[Path]:
    """Write ``exercises/*.py`` from ``solutions/*.py``; return the files that changed
    (or, with ``check=True``, would change). Stray exercise files count as stale.

    Used in: chapter 00
    """
    root = Path(root)
    changed = []
    sol_dir, ex_dir = root / "solutions", root / "exercises"
    ex_dir.mkdir(exist_ok=True)
    wanted = set()
    for sol in sorted(sol_dir.glob("[0-9][0-9]_*.py")):
        target = ex_dir / sol.name
        wanted.add(target.name)
        if _write_if_changed(target, exercise_source(sol), check):
            changed.append(target)
    for stray in sorted(ex_dir.glob("*.py")):
        if stray.name not in wanted:
            changed.append(stray)
            if not check:
                stray.unlink()
                stray.with_suffix(".ipynb").unlink(missing_ok=True)
    return changed


def sync_notebooks(root: Path, *, check: bool = False) -> list[Path]:
    """Write each ``.ipynb`` from its ``.py`` in chapters/, solutions/, exercises/;
    return the notebooks that changed (or would). An ``.ipynb`` without a ``.py`` is stale.

    Used in: chapter 00
    """
    root = Path(root)
    changed = []
    for d in NOTEBOOK_DIRS:
        folder = root / d
        if not folder.is_dir():
            continue
        for py in sorted(folder.glob("*.py")):
            if _write_if_changed(py.with_suffix(".ipynb"), notebook_json(py), check):
                changed.append(py.with_suffix(".ipynb"))
        for nb in sorted(folder.glob("*.ipynb")):
            if not nb.with_suffix(".py").exists():
                changed.append(nb)
    return changed
