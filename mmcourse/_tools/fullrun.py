"""``make test-full`` / ``python -m mmcourse test-full``: every chapter in the full profile,
on the CPU, against the stand-in hub.

1. Write the stand-in hub (tiny random checkpoints and working processors under the real
   repo ids, as a Hugging Face cache: :mod:`mmcourse.hub.standin`).
2. Execute each chapter with ``MMCOURSE_PROFILE=full``, ``HF_HUB_OFFLINE=1`` and
   ``HF_HUB_CACHE`` pointing at it, so every ``if cfg.is_full:`` branch, ``hub.load`` and
   ``from_pretrained`` runs; ``cfg.standin`` lets a chapter skip only the claims that
   random weights cannot meet.
3. Count the full-profile cells each chapter ran, write ``build/full/summary.md``, and fail
   on any cell error, and on any library warning that signals API drift: transformers
   *ignores* a misspelt or renamed processor argument with only a warning, so a call can
   run and still be wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def chapters(root: Path) -> list[Path]:
    return sorted((Path(root) / "chapters").glob("[0-9][0-9]_*.ipynb"))


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


def _row(path: Path, run: NotebookRun) -> dict[str, Any]:
    total, ran = full_profile_cells(run.notebook) if run.notebook is not None else (0, 0)
    errors = [f"cell {e['cell']}: {e['ename']}: {e['evalue'][:160]}" for e in run.cell_errors]
    errors += drift_warnings(run.notebook) if run.notebook is not None else []
    status = run.error or ("; ".join(errors) if errors else "ok")
    return {"notebook": path.name, "wall_s": round(run.wall_s, 1), "full_cells": total,
            "full_cells_ran": ran, "status": status}


def write_summary(rows: list[dict[str, Any]], held: dict[str, str], out_dir: Path) -> Path:
    lines = ["# Full profile against the stand-in hub", "",
             "Every chapter executed with `MMCOURSE_PROFILE=full` on the CPU (checkpoints in bfloat16), offline, "
             "against tiny random checkpoints saved under the real repo ids.", "",
             "| notebook | wall s | full-profile cells | ran | status |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['notebook']} | {r['wall_s']:.1f} | {r['full_cells']} | {r['full_cells_ran']} | "
              f"{r['status']} |" for r in rows]
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
) -> tuple[int, list[dict[str, Any]]]:
    """Write the stand-in hub (every registry entry, or ``hub_names``), run ``notebooks``
    (default: every chapter) against it.

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
        result = execute(path, out_dir / "executed" / path.name, profile="full", timeout=timeout,
                         parameters=parameters, env=standin.environment(hub_dir))
        rows.append(_row(path, result))
        r = rows[-1]
        print(f"  {r['wall_s']:.1f} s, full-profile cells {r['full_cells_ran']}/{r['full_cells']} ran "
              f"-> {r['status']}", flush=True)
    summary = write_summary(rows, held, out_dir)
    print(f"\nwrote {summary}\n" + summary.read_text(encoding="utf-8"))
    failed = [r for r in rows if r["status"] != "ok" or r["full_cells_ran"] < r["full_cells"]]
    return (1 if failed else 0), rows
