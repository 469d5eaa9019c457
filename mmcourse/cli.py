"""Command line: ``python -m mmcourse {grade,course,exercises,sync,zoo,hub}``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _grade(args: argparse.Namespace) -> int:
    from .grade import grade

    code, reports = grade(args.notebooks, timeout=args.timeout, profile=args.profile)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    return code


def _course(args: argparse.Namespace) -> int:
    from .course import build

    code, _ = build([Path(p) for p in args.notebooks] or None, root=Path(args.root), out_dir=Path(args.out),
                    profile=args.profile, timeout=args.timeout, html=not args.no_html)
    return code


def _exercises(args: argparse.Namespace) -> int:
    from .authoring import generate_exercises, sync_notebooks

    changed = generate_exercises(Path(args.root), check=args.check)
    if not args.check:
        changed += sync_notebooks(Path(args.root))
    return _report(changed, args.check, "exercises are stale; run `make exercises`")


def _sync(args: argparse.Namespace) -> int:
    from .authoring import sync_notebooks

    return _report(sync_notebooks(Path(args.root), check=args.check), args.check,
                   "notebooks are out of sync with their .py sources; run `make sync`")


def _report(changed: list[Path], check: bool, problem: str) -> int:
    for p in changed:
        print(("stale: " if check else "wrote: ") + str(p))
    if check and changed:
        print(problem, file=sys.stderr)
        return 1
    if not changed:
        print("up to date")
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from . import zoo
    from .runtime import setup

    if args.action == "list":
        for row in zoo.list():
            print(json.dumps(row))
        return 0
    names = args.names or [r["name"] for r in zoo.list()]
    cfg = setup("tiny", seed=0)
    for name in names:
        start = time.perf_counter()
        model, metrics = zoo.train(name, cfg=cfg)
        seconds = time.perf_counter() - start
        print(f"{name}: {metrics} in {seconds:.1f} s")
        if args.save:
            print(f"saved to {zoo.save(name, model, metrics, seconds)}")
    return 0


def _hub(args: argparse.Namespace) -> int:
    from . import hub

    for row in hub.table(display=False):
        print(" | ".join(str(v) for v in row.values()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mmcourse`` and the ``mmcourse`` script.

    Used in: chapter 00
    """
    parser = argparse.ArgumentParser(prog="python -m mmcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="run notebooks and score their exercise checks")
    g.add_argument("notebooks", nargs="+", help=".ipynb files to grade")
    g.add_argument("--timeout", type=float, default=120, help="per-cell limit in seconds (default 120)")
    g.add_argument("--profile", default="tiny", choices=["tiny", "full", "auto"])
    g.add_argument("--json", help="also write the scores to this JSON file")
    g.set_defaults(func=_grade)

    c = sub.add_parser("course", help="execute notebooks, write build/summary.md, executed copies, HTML")
    c.add_argument("notebooks", nargs="*", help="default: chapters/*.ipynb and solutions/*.ipynb")
    c.add_argument("--root", default=".")
    c.add_argument("--out", default="build")
    c.add_argument("--profile", default="tiny", choices=["tiny", "full", "auto"])
    c.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    c.add_argument("--no-html", action="store_true")
    c.set_defaults(func=_course)

    for name, fn, text in [("exercises", _exercises, "generate exercises/ from solutions/ (and pair)"),
                           ("sync", _sync, "write each .ipynb from its jupytext .py")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("--root", default=".")
        p.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
        p.set_defaults(func=fn)

    z = sub.add_parser("zoo", help="list or retrain the tiny model zoo")
    z.add_argument("action", choices=["list", "train"])
    z.add_argument("names", nargs="*")
    z.add_argument("--save", action="store_true", help="write the retrained checkpoint into the package")
    z.set_defaults(func=_zoo)

    h = sub.add_parser("hub", help="print the registry of real checkpoints")
    h.set_defaults(func=_hub)

    args = parser.parse_args(argv)
    return args.func(args)
