"""``make test-full`` / ``python -m mmcourse test-full``: every chapter in the full profile,
on the CPU, against the stand-in hub.

1. Write the stand-in hub (tiny random checkpoints and working processors under the real
   repo ids, as a Hugging Face cache: :mod:`mmcourse.hub.standin`).
2. Slice each chapter (:func:`full_profile_slice`): keep every cell that takes the
   full-profile path, and the cells that define what those cells read, transitively; the
   others (the tiny profile's training and its claims, which ``make course`` runs in the
   same ``make test``) become a one-line comment. ``--whole`` runs every cell instead.
3. Execute the slice with ``MMCOURSE_PROFILE=full``, ``HF_HUB_OFFLINE=1`` and
   ``HF_HUB_CACHE`` pointing at the stand-in hub, so every ``if cfg.is_full:`` branch,
   ``hub.load`` and ``from_pretrained`` runs; ``cfg.standin`` lets a chapter skip only the
   claims that random weights cannot meet.
4. Count the full-profile cells each chapter ran, write ``build/full/summary.md``, and fail
   on any cell error, and on any library warning that signals API drift: transformers
   *ignores* a misspelt or renamed processor argument with only a warning, so a call can
   run and still be wrong.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
from pathlib import Path
from typing import Any

import nbformat

from ..hub import standin
from .runner import NotebookRun, execute, source_cells

#: a code cell that takes the full-profile path: a branch on the profile, or a real load
FULL_PROFILE_CELL = re.compile(r"cfg\.is_full|cfg\.standin|hub\.load\(|from_pretrained\(")
#: library warnings that mean a call no longer does what the code says
API_DRIFT = re.compile(r"will be ignored|deprecated|will be removed|could not load|not a valid argument", re.I)
#: warnings the library raises about its *own* calls, whatever the caller does: transformers 5.24's
#: WhisperForConditionalGeneration.generate passes suppress_tokens/begin_suppress_tokens alongside
#: its generation_config to GenerationMixin.generate (models/whisper/generation_whisper.py, the
#: "PR #48108" workaround), which then warns on every Whisper transcription; diffusers 0.42's
#: ConfigMixin.load_config always passes local_dir_use_symlinks to huggingface_hub's
#: hf_hub_download (configuration_utils.py), which warns that the argument is ignored; transformers
#: 5.24's JanusForConditionalGeneration.generate in text mode passes guidance_scale=None beside its
#: generation_config (models/janus/modeling_janus.py, "prevent running UnbatchedCFG processor").
LIBRARY_OWN = re.compile(r"Passing `generation_config` together with generation-related "
                         r"arguments=\(\{'(begin_)?suppress_tokens', '(begin_)?suppress_tokens'\}\)"
                         r"|Passing `generation_config` together with generation-related arguments=\(\{'guidance_scale'\}\)"
                         r"|The `local_dir_use_symlinks` argument is deprecated and ignored in `hf_hub_download`")


#: the tag a cell left out of the slice carries in the executed copy
SKIPPED_TAG = "test-full-skipped"
SKIPPED_SOURCE = "# test-full: not read by any full-profile cell; `make course` runs this cell"


def chapters(root: Path) -> list[Path]:
    return sorted((Path(root) / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _bindings_and_reads(source: str) -> tuple[set[str], set[str]] | None:
    """(names a cell binds, names it reads that it has not bound on an earlier line), or None
    when the cell is not plain Python. Function arguments and comprehension targets are local."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    local: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            local |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}
        elif isinstance(node, ast.comprehension):
            local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    first_bound: dict[str, int] = {}
    reads: list[tuple[int, str]] = []

    def bind(name: str, line: int) -> None:
        first_bound[name] = min(line, first_bound.get(name, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                reads.append((node.lineno, node.id))
            else:
                bind(node.id, node.lineno)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            reads.append((node.lineno, node.target.id))  # x += 1 reads the x an earlier cell bound
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bind(node.name, node.lineno)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bind(alias.asname or alias.name.split(".")[0], node.lineno)
    outside = {name for line, name in reads if line <= first_bound.get(name, line)}
    return set(first_bound), outside - local - set(dir(builtins))


def full_profile_slice(nb: Any) -> tuple[Any, int, int]:
    """A copy of ``nb`` that runs only the full-profile cells (:data:`FULL_PROFILE_CELL`), the
    parameters cell, and, transitively, the last earlier cell binding each name they read.

    The slice follows names, not objects: a cell that changes an object in place without
    rebinding it (``fit(model, ...)``) is left out unless it also binds a name that is read.
    Returns (the sliced copy, code cells kept, code cells in all).
    """
    nb = copy.deepcopy(nb)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    names = {i: _bindings_and_reads(nb.cells[i].source) for i in code}
    keep = {i for i in code if FULL_PROFILE_CELL.search(nb.cells[i].source) or names[i] is None
            or "parameters" in nb.cells[i].get("metadata", {}).get("tags", [])}
    todo = sorted(keep)
    while todo:
        i = todo.pop()
        for name in (names[i] or (set(), set()))[1]:
            binders = [j for j in code if j < i and names[j] is not None and name in names[j][0]]
            if binders and binders[-1] not in keep:
                keep.add(binders[-1])
                todo.append(binders[-1])
    for i in set(code) - keep:
        cell = nb.cells[i]
        cell.source, cell.outputs = SKIPPED_SOURCE, []
        cell.metadata.setdefault("tags", []).append(SKIPPED_TAG)
    return nb, len(keep), len(code)


def full_profile_cells(nb: Any) -> tuple[int, int]:
    """(cells that take the full-profile path, how many of them ran without an error)."""
    total = ran = 0
    for _, cell in source_cells(nb):
        if cell.cell_type != "code" or not FULL_PROFILE_CELL.search(cell.source):
            continue
        total += 1
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        ran += cell.get("execution_count") is not None and not failed
    return total, ran


def drift_warnings(nb: Any) -> list[str]:
    """"cell N: <warning>" for every stderr line of an executed notebook matching API_DRIFT."""
    found = []
    for number, cell in source_cells(nb):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found += [f"cell {number}: {line.strip()[:160]}" for line in out["text"].splitlines()
                          if API_DRIFT.search(line) and not LIBRARY_OWN.search(line)]
    return found


def _row(path: Path, run: NotebookRun, cells: tuple[int, int]) -> dict[str, Any]:
    total, ran = full_profile_cells(run.notebook) if run.notebook is not None else (0, 0)
    errors = [f"cell {e['cell']}: {e['ename']}: {e['evalue'][:160]}" for e in run.cell_errors]
    errors += drift_warnings(run.notebook) if run.notebook is not None else []
    status = run.error or ("; ".join(errors) if errors else "ok")
    return {"notebook": path.name, "wall_s": round(run.wall_s, 1), "cells_run": f"{cells[0]} of {cells[1]}",
            "full_cells": total, "full_cells_ran": ran, "status": status}


def write_summary(rows: list[dict[str, Any]], held: dict[str, str], out_dir: Path) -> Path:
    lines = ["# Full profile against the stand-in hub", "",
             "Every chapter executed with `MMCOURSE_PROFILE=full` on the CPU (checkpoints in bfloat16), offline, "
             "against tiny random checkpoints saved under the real repo ids: its full-profile cells and the cells "
             "they read from (code cells run; `--whole` runs them all).", "",
             "| notebook | wall s | code cells run | full-profile cells | ran | status |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['notebook']} | {r['wall_s']:.1f} | {r['cells_run']} | {r['full_cells']} | "
              f"{r['full_cells_ran']} | {r['status']} |" for r in rows]
    lines += ["", "## The stand-in hub", "", "| repo id | stand-in |", "|---|---|"]
    lines += [f"| {repo} | {what} |" for repo, what in held.items()]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(
    notebooks: list[Path] | None = None,
    *,
    root: Path = Path("."),
    out_dir: Path = Path("build/full"),
    hub_dir: Path | None = None,
    timeout: float = 600,
    parameters: dict[str, Any] | None = None,
    hub_names: list[str] | None = None,
    whole: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """Write the stand-in hub (every registry entry, or ``hub_names``), run ``notebooks``
    (default: every chapter) against it: each one's :func:`full_profile_slice`, or every cell
    with ``whole``.

    Returns:
        (exit code: 1 when any cell errs or a notebook cannot run, rows of the summary)
    """
    root, out_dir = Path(root).resolve(), Path(out_dir)
    hub_dir = Path(hub_dir) if hub_dir is not None else out_dir / "standin-hub"
    paths = [Path(p).resolve() for p in notebooks] if notebooks else chapters(root)
    if not paths:
        raise ValueError(f"no chapters found under {root}/chapters")
    print(f"writing the stand-in hub into {hub_dir} ...", flush=True)
    held = standin.write(hub_dir, hub_names)
    rows = []
    for path in paths:
        print(f"running {path.name} in the full profile against the stand-in hub ...", flush=True)
        source, cells = path, (0, 0)
        try:
            nb = nbformat.read(path, as_version=4)
            sliced, kept, total = full_profile_slice(nb)
            cells = (total, total) if whole else (kept, total)
            if not whole:
                source = out_dir / "sliced" / path.name
                source.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(sliced, source)
        except Exception:  # unreadable: execute() reports why
            pass
        result = execute(source, out_dir / "executed" / path.name, profile="full", timeout=timeout,
                         parameters=parameters, env=standin.environment(hub_dir), cwd=path.parent)
        rows.append(_row(path, result, cells))
        r = rows[-1]
        print(f"  {r['wall_s']:.1f} s, {r['cells_run']} code cells, full-profile cells "
              f"{r['full_cells_ran']}/{r['full_cells']} ran -> {r['status']}", flush=True)
    summary = write_summary(rows, held, out_dir)
    print(f"\nwrote {summary}\n" + summary.read_text(encoding="utf-8"))
    failed = [r for r in rows if r["status"] != "ok" or r["full_cells_ran"] < r["full_cells"]]
    return (1 if failed else 0), rows
