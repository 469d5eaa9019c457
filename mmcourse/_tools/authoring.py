"""Tools for course authors: pair notebooks and generate exercises from solutions.

* The jupytext percent ``.py`` file is the source; its ``.ipynb`` twin is derived
  (no outputs, deterministic cell ids), so a re-run changes nothing unless the source did.
* ``exercises/NN_name.py`` is generated from ``solutions/NN_name.py`` by replacing each
  ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block with
  ``raise NotImplementedError("Exercise NN.k")`` at the block's indentation.

``python -m mmcourse sync`` / ``exercises`` write; ``--check`` only reports stale files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOK_DIRS = ("chapters", "solutions", "exercises")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")


def strip_solutions(text: str, chapter: str) -> str:
    """Replace every solution block in a jupytext source with a NotImplementedError stub.

    Args:
        text: the solutions ``.py`` source.
        chapter: the chapter number used in the stub message, e.g. ``"00"``.
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


FINGERPRINT = re.compile(r"fingerprint ([0-9a-f]{12})")


def _fingerprint(text: str) -> str:
    return hashlib.sha256(FINGERPRINT.sub("fingerprint ", text).encode()).hexdigest()[:12]


def exercise_source(solution_path: Path) -> str:
    """The generated exercises text for one solutions ``.py`` file, with a header that
    tells the learner what to do and a fingerprint of the generated text (so that
    :func:`generate_exercises` can tell a learner's edits from a stale copy).
    """
    chapter = solution_path.stem.split("_")[0]
    header = (
        "# %% [markdown]\n"
        "# **This is your notebook.** Replace each `raise NotImplementedError(...)` with your code,\n"
        "# then run the check cell below it. Grade the whole notebook with\n"
        f"# `python -m mmcourse grade exercises/{solution_path.with_suffix('.ipynb').name}`.\n"
        "#\n"
        f"# <!-- generated from solutions/{solution_path.name} by `make exercises`, which never overwrites\n"
        "# a notebook you have edited; fingerprint 000000000000 -->\n\n"
    )
    text = strip_solutions(solution_path.read_text(encoding="utf-8"), chapter)
    # put the notice right after the jupytext YAML header
    if text.startswith("# ---\n"):
        end = text.index("# ---\n", 6) + len("# ---\n")
        text = text[:end] + "\n" + header + text[end:].lstrip("\n")
    else:
        text = header + text
    return FINGERPRINT.sub(f"fingerprint {_fingerprint(text)}", text, count=1)


def is_pristine(text: str) -> bool:
    """Whether an exercises source is exactly as generated (its fingerprint matches)."""
    m = FINGERPRINT.search(text)
    return m is not None and m.group(1) == _fingerprint(text)


def notebook_json(py_path: Path, text: str | None = None) -> str:
    """The ``.ipynb`` JSON (no outputs, deterministic ids) for a jupytext percent source
    (read from ``py_path``, or given as ``text``).
    """
    import jupytext
    import nbformat

    source = text if text is not None else py_path.read_text(encoding="utf-8")
    nb = jupytext.reads(source, fmt="py:percent")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{py_path.stem[:40]}-{i:03d}".replace("_", "-")  # deterministic ids
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


def holds_edits(py: Path, nb: Path) -> bool:
    """Whether an exercise pair holds a learner's work: the ``.py`` is no longer as generated,
    or the ``.ipynb`` differs from its ``.py`` (edited in Jupyter or Colab, or run with outputs)."""
    if py.exists() and not is_pristine(py.read_text(encoding="utf-8")):
        return True
    if nb.exists():
        expected = notebook_json(py) if py.exists() else None
        return nb.read_text(encoding="utf-8") != expected
    return False


@dataclass
class ExerciseUpdate:
    """What :func:`generate_exercises` did: files written (or stale), and files kept because
    they hold a learner's edits."""

    changed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def generate_exercises(root: Path, *, check: bool = False, force: bool = False) -> ExerciseUpdate:
    """Write ``exercises/*.py`` and their ``.ipynb`` from ``solutions/*.py``.

    A pair that holds a learner's edits (see :func:`holds_edits`) is kept unless ``force``.
    With ``check=True`` nothing is written and every difference counts as stale (the
    repository must hold the generated files exactly). Stray exercise files are stale.
    """
    root = Path(root)
    update = ExerciseUpdate()
    sol_dir, ex_dir = root / "solutions", root / "exercises"
    ex_dir.mkdir(exist_ok=True)
    wanted = set()
    for sol in sorted(sol_dir.glob("[0-9][0-9]_*.py")):
        py, nb = ex_dir / sol.name, ex_dir / sol.with_suffix(".ipynb").name
        wanted.add(py.name)
        text = exercise_source(sol)
        notebook = notebook_json(py, text)
        current = [p.read_text(encoding="utf-8") if p.exists() else None for p in (py, nb)]
        if current == [text, notebook]:
            continue
        if check:
            update.changed.append(py)
        elif not force and holds_edits(py, nb):
            update.kept.append(py)
        else:
            py.write_text(text, encoding="utf-8")
            nb.write_text(notebook, encoding="utf-8")
            update.changed += [py, nb]
    for stray in sorted(ex_dir.glob("*.py")):
        if stray.name not in wanted:
            update.changed.append(stray)
            if not check:
                stray.unlink()
                stray.with_suffix(".ipynb").unlink(missing_ok=True)
    return update


def sync_notebooks(root: Path, *, check: bool = False) -> list[Path]:
    """Write each ``.ipynb`` from its ``.py`` in chapters/ and solutions/; return the
    notebooks that changed (or would). An ``.ipynb`` without a ``.py`` is stale. With
    ``check`` exercises/ is checked too; it is never written here (``make exercises``
    writes both files of a pair, and keeps a learner's edits).
    """
    root = Path(root)
    changed = []
    for d in NOTEBOOK_DIRS:
        folder = root / d
        if not folder.is_dir() or (d == "exercises" and not check):
            continue
        for py in sorted(folder.glob("*.py")):
            if _write_if_changed(py.with_suffix(".ipynb"), notebook_json(py), check):
                changed.append(py.with_suffix(".ipynb"))
        for nb in sorted(folder.glob("*.ipynb")):
            if not nb.with_suffix(".py").exists():
                changed.append(nb)
    return changed


# -- "Used in: chapter NN" tags, generated from what the notebooks really call -------------
USED_IN = re.compile(r"^(?P<indent>[ \t]*)Used in: chapters? [0-9, ]+[ \t]*\n", re.M)


def _resolve(node: object, names: dict[str, object]) -> object:
    """The object a name or an attribute chain (``zoo.load``) refers to, or None."""
    import ast

    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _imported_names(tree: object) -> dict[str, object]:
    """What a notebook imports from mmcourse: local name -> module or object."""
    import ast
    import importlib

    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mmcourse"):
                    top = a.asname or a.name.split(".")[0]
                    names[top] = importlib.import_module(a.name if a.asname else top)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mmcourse"):
            module = importlib.import_module(node.module)
            for a in node.names:
                obj = getattr(module, a.name, None)
                names[a.asname or a.name] = obj if obj is not None else importlib.import_module(
                    f"{node.module}.{a.name}")
    return names


def chapter_references(root: Path) -> dict[str, set[str]]:
    """``"module.qualname"`` -> the chapters whose chapter or solutions notebook refers to it:
    names imported from mmcourse and attribute chains on them (``zoo.load``,
    ``mmcourse.data.make_shapes``, ``VLM.generate``), resolved by importing the package."""
    import ast

    refs: dict[str, set[str]] = {}
    for path in sorted(p for d in ("chapters", "solutions") for p in (Path(root) / d).glob("[0-9][0-9]_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _imported_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Name, ast.Attribute)):
                obj = _resolve(node, names)
                module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
                if module and qualname and module.startswith("mmcourse") and not isinstance(obj, type(re)):
                    refs.setdefault(f"{module}.{qualname}", set()).add(path.name[:2])
    return refs


def _tag(chapters: set[str], indent: str) -> str:
    listed = sorted(chapters)
    return f"{indent}Used in: chapter{'s' if len(listed) > 1 else ''} {', '.join(listed)}\n"


def _tag_edits(text: str, module: str, refs: dict[str, set[str]]) -> list[tuple[int, int, str, str]]:
    """(start, end, replacement, object name) for every tag of ``text`` that should change."""
    import ast

    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str, str]] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            name = f"{prefix}{node.name}"
            chapters = refs.get(f"{module}.{name}", set())
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
                start, end = offsets[doc.lineno - 1], offsets[doc.end_lineno]
                indent, source = " " * (node.col_offset + 4), text[start:end]
                m = USED_IN.search(text, start, end)
                if m:
                    edits.append((m.start(), m.end(), _tag(chapters, m["indent"]) if chapters else "", name))
                elif chapters and not node.name.startswith("_"):
                    if source.rstrip().endswith('"""') and source.count("\n") > 1:  # closing quotes alone
                        at = text.rindex("\n", 0, start + source.rstrip().rindex('"""')) + 1
                        edits.append((at, at, "\n" + _tag(chapters, indent), name))
                    else:  # a one-line docstring becomes a paragraph and the tag
                        at = start + source.rindex('"""')
                        edits.append((at, at, "\n\n" + _tag(chapters, indent) + indent, name))
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{name}.")

    visit(ast.parse(text).body, "")
    return [e for e in edits if e[0] == e[1] or text[e[0]:e[1]] != e[2]]


def used_in_tags(root: Path, *, write: bool = False) -> list[str]:
    """Make every ``Used in: chapter NN`` docstring tag in mmcourse/ name exactly the chapters
    that refer to the object (:func:`chapter_references`): add missing tags, delete those of
    objects no chapter calls directly. Returns one line per tag that is (or was) wrong."""
    refs, problems = chapter_references(root), []
    for path in sorted((Path(root) / "mmcourse").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        new = text
        for start, end, replacement, name in sorted(_tag_edits(text, module, refs), reverse=True):
            problems.append(f"{path.relative_to(root)}: {name}: {text[start:end].strip() or '(no tag)'!r} -> "
                            f"{replacement.strip() or 'no tag (no chapter calls it directly)'}")
            if not replacement and new[:start].endswith("\n\n"):
                start -= 1  # drop the blank line before a deleted tag
            new = new[:start] + replacement + new[end:]
        if write and new != text:
            path.write_text(re.sub(r'(\n[ \t]*"""[^\n"]+)\n[ \t]*"""', r'\1"""', new), encoding="utf-8")
    return problems
