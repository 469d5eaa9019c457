"""``make course`` / ``python -m mmcourse course``: execute every notebook, save the
executed copies and HTML, and write ``build/summary.md`` (wall time, peak memory,
key metric and budget for each notebook).
"""

from __future__ import annotations

import json
from pathlib import Path

from .runner import NotebookRun, execute
from .runtime import budget_for


def default_notebooks(root: Path) -> list[Path]:
    """chapters/*.ipynb then solutions/*.ipynb, in chapter order.

    Used in: chapter 00
    """
    root = Path(root)
    return sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb")) + sorted(
        (root / "solutions").glob("[0-9][0-9]_*.ipynb")
    )


def _to_html(nb, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def _row(path: Path, run: NotebookRun, root: Path) -> dict:
    budget = budget_for(path)
    errors = [f"cell {e['cell']}: {e['ename']}" for e in run.cell_errors]
    status = "ok"
    if run.error:
        status = f"could not run ({run.error})"
    elif errors:
        status = "errors: " + ", ".join(errors[:3])
    elif run.wall_s > budget:
        status = "over budget"
    return {
        "notebook": str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
        "profile": run.profile,
        "wall_s": round(run.wall_s, 1),
        "budget_s": budget,
        "peak_rss_mb": round(run.peak_rss_mb),
        "metrics": run.metrics,
        "checks": f"{sum(c['passed'] for c in run.checks)}/{len(run.checks)}" if run.checks else "",
        "status": status,
    }


def write_summary(rows: list[dict], out_dir: Path) -> Path:
    """Write ``summary.md`` (a Markdown table) and ``summary.json`` into ``out_dir``.

    Used in: chapter 00
    """
    lines = [
        "# Course build summary",
        "",
        "| notebook | profile | wall s | budget s | peak RSS MB | key metric | status |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        metric = ", ".join([f"{k}={v:.4g}" for k, v in r["metrics"].items()]
                           + ([f"checks passed {r['checks']}"] if r.get("checks") else [])) or "—"
        mark = "\u2705" if r["status"] == "ok" else "\u274c"
        lines.append(
            f"| {r['notebook']} | {r['profile']} | {r['wall_s']:.1f} | {r['budget_s']:.0f} | "
            f"{r['peak_rss_mb']} | {metric} | {mark} {r['status']} |"
        )
    lines += ["", "Wall time includes kernel start-up; peak RSS is the kernel's resident memory."]
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "summary.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return md


def build(
    notebooks: list[Path] | None = None,
    *,
    root: Path = Path("."),
    out_dir: Path = Path("build"),
    profile: str = "tiny",
    timeout: float = 600,
    html: bool = True,
) -> tuple[int, list[dict]]:
    """Execute notebooks, save executed copies (and HTML), write the summary.

    Returns (exit code, rows): 1 when any notebook errs or exceeds its budget.

    Used in: chapter 00
    """
    root, out_dir = Path(root).resolve(), Path(out_dir)
    paths = [Path(p).resolve() for p in notebooks] if notebooks else default_notebooks(root)
    if not paths:
        raise ValueError(f"no notebooks found under {root}/chapters or {root}/solutions")
    rows = []
    for p in paths:
        rel = p.relative_to(root) if p.is_relative_to(root) else Path(p.name)
        executed = out_dir / "executed" / rel
        print(f"running {rel} ...", flush=True)
        run = execute(p, executed, profile=profile, timeout=timeout)
        if html and run.notebook is not None:
            target = out_dir / "html" / rel.with_suffix(".html")
            target.parent.mkdir(parents=True, exist_ok=True)
            _to_html(run.notebook, target)
        row = _row(p, run, root)
        rows.append(row)
        print(f"  {row['wall_s']:.1f} s (budget {row['budget_s']:.0f}), {row['peak_rss_mb']} MB, "
              f"{row['metrics'] or ''} -> {row['status']}", flush=True)
    md = write_summary(rows, out_dir)
    print(f"\nwrote {md}")
    print(md.read_text(encoding="utf-8"))
    return (0 if all(r["status"] == "ok" for r in rows) else 1), rows
