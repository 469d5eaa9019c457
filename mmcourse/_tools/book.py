"""``make book`` / ``python -m mmcourse book``: the course as a static website.

The book is rendered from what ``make course`` executed, so every figure, table and number
on it is the one this machine's run produced:

1. Read ``build/summary.json`` and the executed notebooks under ``build/executed/`` (no
   summary: stop and say to run ``make course`` first).
2. Assemble the pages under ``build/book-src/``: each executed chapter and solutions
   notebook (a notebook that failed in ``make course`` gets a banner saying so at the top of
   its page), each exercises notebook as shipped, the evaluation report (``python -m mmcourse
   evaluate``), the zoo and hub tables, the references, and an index with the run's summary.
3. Run Sphinx with myst-nb and the book theme (``book/conf.py``) into ``build/book/`` and
   write ``build/book/manifest.json``: every page, its title, its status and the number of
   figures it must show (what ``make test-browser`` checks in a real browser).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: the book's sections, in reading order: (folder, caption)
SECTIONS = [("chapters", "Chapters"), ("exercises", "Exercises"), ("solutions", "Solutions")]
#: the pages written from the package's own reports (name -> title)
REFERENCE_PAGES = {"evaluation": "The evaluation report", "zoo-and-hub": "The zoo and the hub",
                   "references": "References"}
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*")
_FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")


class BookError(RuntimeError):
    """The book cannot be built (what is missing and what to run)."""


def _summary(build_dir: Path) -> dict[str, dict[str, Any]]:
    path = build_dir / "summary.json"
    if not path.is_file() or not (build_dir / "executed" / "chapters").is_dir():
        raise BookError(f"no executed notebooks under {build_dir}/executed (and no {path}): run `make course` "
                        "first. The book shows the outputs of that run; `make book` does not execute anything.")
    rows = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
    return {r["notebook"]: r for r in rows}


def _figures(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if any(m in o.get("data", {}) for m in _FIGURE_MIMES))


def _banner(status: str) -> str:
    return ("```{error}\n"
            f"**This notebook failed in `make course`**: {status}.\n\n"
            "What follows is the output of that failed run (cells after the failure may be missing or wrong); "
            "fix the notebook and rerun `make course` and `make book`.\n```\n")


def _prepare(nb, rel: str, status: str, section: str):
    """The page's notebook: no Colab badge (the theme's launch button replaces it, and the
    badge is an image from another host), no saved widget state (it would load the widget
    manager from a CDN; the static fallback figures are in the outputs), a banner if failed."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _BADGE.sub("", cell.source)
    if section == "solutions":  # the solutions notebook's title says "Exercises"
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.source.startswith("# "):
                first, _, rest = cell.source.partition("\n")
                cell.source = first.replace("Exercises", "Solutions", 1) + "\n" + rest
                break
    if section == "exercises":  # put the title first so it names the page
        heading = next((c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), None)
        if heading is not None and nb.cells.index(heading) > 0:
            nb.cells.remove(heading)
            nb.cells.insert(0, heading)
    if status != "ok":
        import nbformat

        nb.cells.insert(1, nbformat.v4.new_markdown_cell(_banner(status)))
    return nb


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.partition("\n")[0][2:].strip()
    return fallback


def _notebook_pages(root: Path, build_dir: Path, src: Path, rows: dict[str, dict]) -> list[dict[str, Any]]:
    import nbformat

    pages = []
    for section, _ in SECTIONS:
        for source in sorted((root / section).glob("[0-9][0-9]_*.ipynb")):
            rel = f"{section}/{source.name}"
            executed = build_dir / "executed" / rel
            if section == "exercises":  # the learner's starting point: stubs, never executed
                nb, status = nbformat.read(source, as_version=4), "ok"
            elif rel in rows and executed.is_file():
                nb, status = nbformat.read(executed, as_version=4), rows[rel]["status"]
                status = "ok" if status == "over its target" else status
            else:
                nb = nbformat.read(source, as_version=4)
                status = rows.get(rel, {}).get("status") or "not executed (run `make course`)"
            nb = _prepare(nb, rel, status, section)
            target = src / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
            pages.append({"page": f"{section}/{source.stem}.html", "section": section, "notebook": rel,
                          "title": _title(nb, source.stem), "status": status, "figures": _figures(nb),
                          "wall_s": rows.get(rel, {}).get("wall_s"), "metrics": rows.get(rel, {}).get("metrics", {})})
    return pages


def _md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """``columns`` of ``rows`` as Markdown, through the chapters' own table helper."""
    from ..viz import table

    return table([{c: r.get(c, "") for c in columns} for r in rows], display=False)


def _evaluation_page(root: Path, build_dir: Path) -> str:
    """The report of ``python -m mmcourse evaluate``: reused when newer than the zoo's weights."""
    report_md = build_dir / "evaluation" / "report.md"
    weights = [p.stat().st_mtime for p in (root / "mmcourse" / "zoo").rglob("*.safetensors")]
    if not report_md.is_file() or (weights and report_md.stat().st_mtime < max(weights)):
        from ..evaluation import evaluate, save_report

        print("scoring every zoo model for the evaluation page (python -m mmcourse evaluate) ...", flush=True)
        save_report(evaluate(), build_dir / "evaluation")
    return ("# The evaluation report\n\n"
            "Every model of the zoo scored on held-out data by `python -m mmcourse evaluate` "
            "(`mmcourse/evaluation.py`, each model scored by its zoo entry's scorer); each number comes with a 95 % bootstrap interval over the examples, "
            "and the paired comparisons resample the same examples for both models. Chapter 07 explains "
            "every metric and checks it against its reference implementation.\n\n"
            + report_md.read_text(encoding="utf-8"))


def _zoo_hub_page() -> str:
    from .. import hub, zoo

    zoo_rows = zoo.table(display=False)
    hub_rows = hub.table(display=False)
    return ("# The zoo and the hub\n\n"
            "## The zoo: tiny models trained by the course\n\n"
            "Each entry ships inside the package with the recipe that trained it and the metrics it "
            "reached (`python -m mmcourse zoo list`; `zoo verify` retrains and compares).\n\n"
            + _md_table(zoo_rows, ["name", "chapter", "metrics", "description"])
            + "\n\n## The hub: real checkpoints of the full profile\n\n"
            "What `mmcourse.hub.load(name, cfg)` loads on a GPU (`python -m mmcourse hub`); in the tiny "
            "profile it builds the same library class from a tiny config.\n\n"
            + _md_table(hub_rows, list(hub_rows[0])) + "\n")


def _index_page(root: Path, pages: list[dict[str, Any]], calibration: dict[str, Any]) -> str:
    chapters = [p for p in pages if p["section"] == "chapters"]
    lines = [
        "# mmcourse — multimodal AI, built and measured", "",
        "An interactive textbook on multimodal AI. Every system it teaches runs, learns in front of you, "
        "and is checked against the real library (transformers, diffusers, peft, FAISS, …). Each chapter "
        "below is the notebook as `make course` executed it on a CPU in the tiny profile, with the "
        "figures and numbers of that run; the launch button at the top of a page opens it in Colab.", "",
        "```bash", "git clone https://github.com/mmcourse/mmcourse && cd mmcourse",
        "make lab      # sets up .venv on first use, then opens the chapters in JupyterLab",
        "make course   # executes every chapter; then `make book` renders this site", "```", "",
        f"## This build ({len(chapters)} chapters, speed factor {calibration.get('factor', 1.0):.2f})", "",
        "| chapter | wall time (s) | key metric | status |", "|---|---:|---|---|",
    ]
    for p in chapters:
        metric = ", ".join(f"{k} = {v:.4g}" for k, v in p["metrics"].items()) or "—"
        wall = f"{p['wall_s']:.1f}" if p["wall_s"] is not None else "—"
        status = "ok" if p["status"] == "ok" else f"**failed**: {p['status']}"
        lines.append(f"| [{p['title']}]({p['notebook']}) | {wall} | {metric} | {status} |")
    lines += ["", "Exercises come with checks that say what is wrong; grade a notebook with "
              "`python -m mmcourse grade exercises/NN_name.ipynb`. The solutions show one way to pass them.", ""]
    for section, caption in SECTIONS:
        lines += ["```{toctree}", ":hidden:", f":caption: {caption}", ""]
        lines += [p["notebook"].removesuffix(".ipynb") for p in pages if p["section"] == section]
        lines += ["```", ""]
    lines += ["```{toctree}", ":hidden:", ":caption: Reference", "", *REFERENCE_PAGES, "```", ""]
    return "\n".join(lines)


def assemble(root: Path, build_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Write every page's source under ``build_dir/book-src``; return it and the pages."""
    rows = _summary(build_dir)
    calibration = json.loads((build_dir / "summary.json").read_text(encoding="utf-8")).get("calibration", {})
    src = build_dir / "book-src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "_static").mkdir(parents=True)
    shutil.copy(root / "book" / "conf.py", src / "conf.py")
    for extra in (root / "book" / "_static").glob("*"):
        shutil.copy(extra, src / "_static" / extra.name)
    pages = _notebook_pages(root, build_dir, src, rows)
    (src / "evaluation.md").write_text(_evaluation_page(root, build_dir), encoding="utf-8")
    (src / "zoo-and-hub.md").write_text(_zoo_hub_page(), encoding="utf-8")
    shutil.copy(root / "book" / "references.md", src / "references.md")
    (src / "index.md").write_text(_index_page(root, pages, calibration), encoding="utf-8")
    pages += [{"page": f"{name}.html", "section": "reference", "notebook": None, "title": title,
               "status": "ok", "figures": 0} for name, title in REFERENCE_PAGES.items()]
    pages.insert(0, {"page": "index.html", "section": "index", "notebook": None,
                     "title": "mmcourse", "status": "ok", "figures": 0})
    return src, pages


def build(root: Path = Path("."), build_dir: Path = Path("build"), out: Path | None = None) -> Path:
    """Assemble the pages and run Sphinx; returns the site's folder (``build/book``)."""
    root, build_dir = Path(root).resolve(), Path(build_dir).resolve()
    out = Path(out).resolve() if out else build_dir / "book"
    start = time.perf_counter()
    src, pages = assemble(root, build_dir)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-n", "-W", "--keep-going", str(src), str(out)]
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BookError(f"Sphinx failed (exit {proc.returncode}):\n{proc.stderr.strip() or proc.stdout.strip()}")
    (out / ".nojekyll").touch()  # GitHub Pages: serve _static/ as is
    failed = [p["notebook"] for p in pages if p["status"] != "ok"]
    manifest = {"pages": pages, "failed": failed, "seconds": round(time.perf_counter() - start, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m mmcourse book``: exit 2 with what to run when ``make course`` has not run."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mmcourse book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".")
    parser.add_argument("--build", default="build", help="where `make course` wrote summary.json and executed/")
    parser.add_argument("--out", default=None, help="the site's folder (default: BUILD/book)")
    args = parser.parse_args(argv)
    try:
        out = build(Path(args.root), Path(args.build), Path(args.out) if args.out else None)
    except BookError as err:
        print(f"make book: {err}", file=sys.stderr)
        return 2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    print(f"wrote {out}/index.html: {len(manifest['pages'])} pages, "
          f"{sum(p['figures'] for p in manifest['pages'])} figures, in {manifest['seconds']:.1f} s")
    for nb in manifest["failed"]:
        print(f"warning: {nb} failed in `make course`; its page says so", file=sys.stderr)
    return 0
