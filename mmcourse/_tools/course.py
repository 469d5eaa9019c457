"""``make course`` / ``python -m mmcourse course``: execute every notebook, save the
executed copies and HTML, and write ``build/summary.md`` (wall time, peak memory,
key metric and budget for each notebook, and the machine's speed factor).

A notebook over its target (budget x speed factor) is marked, not failed: ``make test``
is what fails real overruns (past 1.5x).
"""

from __future__ import annotations

import json
from pathlib import Path

from .budgets import REFERENCE_SECONDS, TOLERANCE, budget_for, calibrate
from .runner import NotebookRun, execute


def default_notebooks(root: Path) -> list[Path]:
    """chapters/*.ipynb then solutions/*.ipynb, in chapter order."""
    root = Path(root)
    return sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb")) + sorted(
        (root / "solutions").glob("[0-9][0-9]_*.ipynb")
    )


def _to_html(nb, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def _first_line(source: str, width: int = 40) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
    return f"`{line[:width]}{'...' if len(line) > width else ''}`"


def _row(path: Path, run: NotebookRun, root: Path, factor: float = 1.0, strict: bool = False) -> dict:
    budget = budget_for(path) * factor
    errors = [f"cell {e['cell']} ({_first_line(e['source'])}): {e['ename']}" for e in run.cell_errors]
    status = "ok"
    if run.error:
        status = f"could not run ({run.error})"
    elif errors:
        status = "errors: " + ", ".join(errors[:3])
    elif strict and run.wall_s > TOLERANCE * budget:
        status = f"over budget: past {TOLERANCE}x its target of {budget:.0f} s"
    elif run.wall_s > budget:
        status = "over its target"
    return {
        "notebook": str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
        "profile": run.profile,
        "wall_s": round(run.wall_s, 1),
        "budget_s": round(budget, 1),
        "peak_rss_mb": round(run.peak_rss_mb),
        "metrics": run.metrics,
        "checks": f"{sum(c['passed'] for c in run.checks)}/{len(run.checks)}" if run.checks else "",
        "status": status,
    }


def write_summary(rows: list[dict], out_dir: Path, calibration: dict | None = None) -> Path:
    """Write ``summary.md`` (a Markdown table) and ``summary.json`` into ``out_dir``."""
    cal = calibration or {"seconds": REFERENCE_SECONDS, "factor": 1.0}
    lines = [
        "# Course build summary",
        "",
        f"Speed factor {cal['factor']:.2f}: the calibration workload took {cal['seconds']:.2f} s here, "
        f"{REFERENCE_SECONDS:.2f} s on the reference machine; targets below are scaled by it "
        "(`make test` fails past 1.5x).",
        "",
        "| notebook | profile | wall s | target s | peak RSS MB | key metric | status |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        metric = ", ".join([f"{k}={v:.4g}" for k, v in r["metrics"].items()]
                           + ([f"checks passed {r['checks']}"] if r.get("checks") else [])) or "—"
        mark = {"ok": "\u2705", "over its target": "\u26a0\ufe0f"}.get(r["status"], "\u274c")
        lines.append(
            f"| {r['notebook']} | {r['profile']} | {r['wall_s']:.1f} | {r['budget_s']:.0f} | "
            f"{r['peak_rss_mb']} | {metric} | {mark} {r['status']} |"
        )
    lines += ["", "Wall time includes kernel start-up; peak RSS is the kernel's resident memory."]
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "summary.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps({"calibration": cal, "notebooks": rows}, indent=2) + "\n",
                                          encoding="utf-8")
    return md


def _merged(rows: list[dict], previous: Path) -> list[dict]:
    """This run's rows, plus the rows of ``previous`` (a summary.json) for notebooks it did not run,
    in the course's order."""
    if not previous.is_file():
        return rows
    ran = {r["notebook"] for r in rows}
    kept = [r for r in json.loads(previous.read_text(encoding="utf-8"))["notebooks"] if r["notebook"] not in ran]
    return sorted(kept + rows, key=lambda r: (not r["notebook"].startswith("chapters/"), r["notebook"]))


def build(
    notebooks: list[Path] | None = None,
    *,
    root: Path = Path("."),
    out_dir: Path = Path("build"),
    profile: str = "tiny",
    timeout: float = 600,
    html: bool = True,
    parameters: dict | None = None,
    strict_budgets: bool = False,
) -> tuple[int, list[dict]]:
    """Time the calibration workload, execute notebooks, save executed copies (and HTML),
    write the summary. Returns (exit code, rows): 1 when any notebook errs or cannot run;
    a notebook over its target is marked in the summary but does not fail the build,
    unless ``strict_budgets`` and it ran past 1.5x that target (``make test``).
    """
    root, out_dir = Path(root).resolve(), Path(out_dir)
    paths = [Path(p).resolve() for p in notebooks] if notebooks else default_notebooks(root)
    if not paths:
        raise ValueError(f"no notebooks found under {root}/chapters or {root}/solutions")
    calibration = calibrate()
    print(f"speed factor {calibration['factor']:.2f} (calibration {calibration['seconds']:.2f} s, reference "
          f"{REFERENCE_SECONDS:.2f} s)", flush=True)
    rows = []
    for p in paths:
        rel = p.relative_to(root) if p.is_relative_to(root) else Path(p.name)
        executed = out_dir / "executed" / rel
        print(f"running {rel} ...", flush=True)
        run = execute(p, executed, profile=profile, timeout=timeout, parameters=parameters)
        if html and run.notebook is not None:
            target = out_dir / "html" / rel.with_suffix(".html")
            target.parent.mkdir(parents=True, exist_ok=True)
            _to_html(run.notebook, target)
        row = _row(p, run, root, calibration["factor"], strict_budgets)
        rows.append(row)
        print(f"  {row['wall_s']:.1f} s (target {row['budget_s']:.0f}), {row['peak_rss_mb']} MB, "
              f"{row['metrics'] or ''} -> {row['status']}", flush=True)
    if notebooks:  # a partial run: keep the other notebooks' rows of the last run (their executed copies stay)
        rows = _merged(rows, out_dir / "summary.json")
    md = write_summary(rows, out_dir, calibration)
    print(f"\nwrote {md}")
    print(md.read_text(encoding="utf-8"))
    return (0 if all(r["status"] in ("ok", "over its target") for r in rows) else 1), rows
