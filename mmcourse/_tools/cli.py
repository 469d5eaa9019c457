"""The course's command line: python -m mmcourse COMMAND (python -m mmcourse COMMAND --help).

Learners:      grade (score an exercises notebook), zoo (the tiny trained models),
               hub (the real checkpoints of the full profile), evaluate (score every zoo model)
Instructors:   release (a class's notebooks), grade-class (a folder of submissions)
Maintainers:   course (run every notebook), book (the website), exercises, sync, tags, budgets,
               standin-hub + test-full (the full profile offline), smoke (on a GPU)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import zoocmd
from .tables import print_table


def _grade(args: argparse.Namespace) -> int:
    from .grade import grade

    code, reports = grade(args.notebooks, timeout=args.timeout, profile=args.profile)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    return code


def _grade_line(g: Any) -> str:
    flag = "  [flagged]" if g.flags else ""
    hidden = f" (hidden tests {g.hidden_passed}/{g.hidden_total})" if g.hidden_total else ""
    return (f"{g.student:24s} chapter {g.chapter or '?':3s} {g.passed}/{g.total}{hidden}{flag}"
            + (f"  ({g.errors[0][:70]})" if g.errors else ""))


def _grade_class(args: argparse.Namespace) -> int:
    from .classroom import ClassroomError, grade_class

    start = time.perf_counter()
    try:
        grades = grade_class(Path(args.submissions), Path(args.out), root=Path(args.root),
                             hidden=Path(args.hidden) if args.hidden else None, jobs=args.jobs, timeout=args.timeout,
                             wall_timeout=args.wall_timeout, memory_gb=args.memory_gb, chapter=args.chapter,
                             progress=False, on_graded=lambda g: print(_grade_line(g), flush=True))
    except ClassroomError as err:
        print(f"grade-class: {err}", file=sys.stderr)
        return 2
    print(f"\ngraded {len(grades)} submissions in {time.perf_counter() - start:.0f} s; wrote {args.out}, "
          f"{Path(args.out).with_suffix('.json')} and {Path(args.out).parent / 'feedback'}/ (a check counts when its "
          "public test and each of your hidden tests pass)")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .classroom import ClassroomError, release

    try:
        paths = release(args.chapters, Path(args.out), root=Path(args.root))
    except ClassroomError as err:
        print(f"release: {err}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _course(args: argparse.Namespace) -> int:
    from .course import build

    code, _ = build([Path(p) for p in args.notebooks] or None, root=Path(args.root), out_dir=Path(args.out),
                    profile=args.profile, timeout=args.timeout, html=not args.no_html,
                    parameters=json.loads(args.parameters) if args.parameters else None,
                    strict_budgets=args.strict_budgets)
    return code


def _book(args: argparse.Namespace) -> int:
    from .book import main

    return main(["--root", args.root, "--build", args.build] + (["--out", args.out] if args.out else []))


def _exercises(args: argparse.Namespace) -> int:
    from .authoring import generate_exercises, sync_notebooks

    result = generate_exercises(Path(args.root), check=args.check, force=args.force)
    for path in result.kept:
        print(f"kept: {path} and its .ipynb hold your edits (--force overwrites them)")
    changed = result.changed
    if not args.check:
        changed += sync_notebooks(Path(args.root))
    return _report(changed, args.check, "exercises are stale; run `make exercises`")


def _sync(args: argparse.Namespace) -> int:
    from .authoring import sync_notebooks

    return _report(sync_notebooks(Path(args.root), check=args.check), args.check,
                   "notebooks are out of sync with their .py sources; run `make sync`")


def _tags(args: argparse.Namespace) -> int:
    from .authoring import used_in_tags

    problems = used_in_tags(Path(args.root), write=not args.check)
    for line in problems:
        print(("stale: " if args.check else "fixed: ") + line)
    if args.check and problems:
        print("'Used in' tags are stale; run `python -m mmcourse tags`", file=sys.stderr)
        return 1
    if not problems:
        print("up to date")
    return 0


def _report(changed: list[Path], check: bool, problem: str) -> int:
    for p in changed:
        print(("stale: " if check else "wrote: ") + str(p))
    if check and changed:
        print(problem, file=sys.stderr)
        return 1
    if not changed:
        print("up to date")
    return 0


def _hub(args: argparse.Namespace) -> int:
    from .. import hub

    rows = hub.table(args.chapter, display=False)
    print_table(rows, list(rows[0]))
    return 0


def _standin_hub(args: argparse.Namespace) -> int:
    from ..hub import standin

    held = standin.write(args.directory, args.names or None)
    print_table([{"repo id": k, "stand-in": v} for k, v in held.items()], ["repo id", "stand-in"], 80)
    env = " ".join(f"{k}={v}" for k, v in standin.environment(args.directory).items())
    print(f"\nrun the full profile against it:\n  {env} jupyter lab")
    return 0


def _test_full(args: argparse.Namespace) -> int:
    from .fullrun import run

    params = json.loads(args.parameters) if args.parameters else None
    code, _ = run([Path(n) for n in args.notebooks] or None, root=Path(args.root), out_dir=Path(args.out),
                  timeout=args.timeout, parameters=params, whole=args.whole)
    return code


def _smoke(args: argparse.Namespace) -> int:
    from .smoke import main

    return main(args.names or None, record_results=args.record, allow_cpu=args.cpu)


def _evaluate(args: argparse.Namespace) -> int:
    from ..evaluation import MODELS, evaluate, report_table, save_report

    unknown = [n for n in args.names if n not in MODELS]
    if unknown:
        print(f"unknown model name(s) {unknown}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    report = evaluate(args.names or None, resamples=args.resamples, seed=args.seed)
    json_path, md_path = save_report(report, args.out)
    print(report_table(report))
    print(f"\nwrote {json_path} and {md_path}")
    return 0


def _budgets(args: argparse.Namespace) -> int:
    from .budgets import main

    return main()


def _learner_commands(sub: Any) -> None:
    """grade, zoo, hub, evaluate."""
    g = sub.add_parser("grade", help="run exercise notebooks in a fresh kernel and score their checks")
    g.add_argument("notebooks", nargs="+", help=".ipynb files to grade")
    g.add_argument("--timeout", type=float, default=120, help="per-cell limit in seconds (default 120)")
    g.add_argument("--profile", default="tiny", choices=["tiny", "full", "auto"])
    g.add_argument("--json", help="also write the scores to this JSON file")
    g.set_defaults(func=_grade)

    zoocmd.add_parser(sub)

    h = sub.add_parser("hub", help="the registry of real checkpoints used by the full profile")
    h.add_argument("--chapter", help="only this chapter's models, e.g. 03")
    h.set_defaults(func=_hub)

    e = sub.add_parser("evaluate", help="score zoo models on their test sets, each number with a bootstrap "
                                        "95%% interval; write report.json and report.md")
    e.add_argument("names", nargs="*", help="zoo model names (default: every model with an evaluator)")
    e.add_argument("--out", default="build/evaluation")
    e.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=_evaluate)


def _instructor_commands(sub: Any) -> None:
    """grade-class, release."""
    gc = sub.add_parser("grade-class", help="instructors: grade every submission in a folder (in parallel, "
                                            "tamper-resistant) into a gradebook and feedback files")
    gc.add_argument("submissions", help="a folder with one submitted .ipynb per student (any file names)")
    gc.add_argument("--out", default="gradebook.csv", help="the gradebook CSV (a .json twin and feedback/ go beside it)")
    gc.add_argument("--hidden", help="a Python file of instructor-only checks: HIDDEN_CHECKS = {name: fn or [fns]}; "
                                     "a check counts only when its public test and each of these pass")
    gc.add_argument("--chapter", help="the assigned chapter (e.g. 02): other chapters' notebooks are flagged")
    gc.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: the cores)")
    gc.add_argument("--timeout", type=float, default=60,
                    help="the limit, in seconds, on each student cell and each check (default 60; a cell or check "
                         "past it is stopped and reported, the rest of the submission goes on)")
    gc.add_argument("--wall-timeout", type=float, default=300,
                    help="the limit, in seconds, on a whole submission (default 300); the class's other "
                         "submissions are graded meanwhile and printed as each finishes")
    gc.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit per submission")
    gc.add_argument("--root", default=".", help="the course's folder (where exercises/ is)")
    gc.set_defaults(func=_grade_class)

    rl = sub.add_parser("release", help="instructors: write a class's exercise notebooks with Colab links")
    rl.add_argument("--chapters", nargs="+", required=True, help="chapter numbers, e.g. 02 03")
    rl.add_argument("--out", required=True, help="the folder to write")
    rl.add_argument("--root", default=".", help="the course's folder (where exercises/ is)")
    rl.set_defaults(func=_release)


def _maintainer_commands(sub: Any) -> None:
    """course, book, exercises, sync, tags, standin-hub, test-full, smoke, budgets."""
    c = sub.add_parser("course", help="execute notebooks; write build/summary.md, executed copies, HTML")
    c.add_argument("notebooks", nargs="*", help="default: chapters/*.ipynb and solutions/*.ipynb")
    c.add_argument("--root", default=".")
    c.add_argument("--out", default="build")
    c.add_argument("--profile", default="tiny", choices=["tiny", "full", "auto"])
    c.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    c.add_argument("--parameters", help='papermill parameters as JSON, e.g. \'{"VIT_STEPS": 100}\'')
    c.add_argument("--no-html", action="store_true")
    c.add_argument("--strict-budgets", action="store_true",
                   help="fail a notebook past 1.5x its scaled budget (what `make test` does)")
    c.set_defaults(func=_course)

    b = sub.add_parser("book", help="render the executed notebooks of `course` as a website (build/book)")
    b.add_argument("--root", default=".")
    b.add_argument("--build", default="build", help="where `course` wrote summary.json and executed/")
    b.add_argument("--out", default=None, help="the site's folder (default: BUILD/book)")
    b.set_defaults(func=_book)

    for name, fn, text in [("exercises", _exercises, "generate exercises/ from solutions/ (never overwrites "
                                                      "your edits unless --force)"),
                           ("sync", _sync, "write each .ipynb from its jupytext .py"),
                           ("tags", _tags, "rewrite the 'Used in: chapter NN' docstring tags from what the "
                                           "chapters call")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("--root", default=".")
        p.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
        if name == "exercises":
            p.add_argument("--force", action="store_true", help="overwrite exercise files that hold edits")
        p.set_defaults(func=fn, force=False)

    s = sub.add_parser("standin-hub", help="write tiny random checkpoints under the real repo ids "
                                           "(a Hugging Face cache folder) for offline full-profile runs")
    s.add_argument("directory", help="the folder to write (emptied first if it is a stand-in hub)")
    s.add_argument("names", nargs="*", help="registry names (default: all)")
    s.set_defaults(func=_standin_hub)

    f = sub.add_parser("test-full", help="run every chapter's full-profile cells (and the cells they "
                                         "read from) on the CPU against the stand-in hub; fail on any cell error")
    f.add_argument("notebooks", nargs="*", help="default: chapters/*.ipynb")
    f.add_argument("--root", default=".")
    f.add_argument("--out", default="build/full")
    f.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    f.add_argument("--parameters", help="papermill parameters as JSON")
    f.add_argument("--whole", action="store_true",
                   help="run every cell, not only the full-profile cells and the cells they read from")
    f.set_defaults(func=_test_full)

    m = sub.add_parser("smoke", help="on a CUDA machine: load every registry model, run one call each, "
                                     "print load s, peak VRAM, throughput and T4 fit")
    m.add_argument("names", nargs="*", help="registry names (default: all that load through a library class)")
    m.add_argument("--record", action="store_true", help="write the measurements into mmcourse/hub/measured.json")
    m.add_argument("--cpu", action="store_true", help="allow a run without CUDA (a dry run, e.g. against "
                                                      "the stand-in hub)")
    m.set_defaults(func=_smoke)

    b = sub.add_parser("budgets", help="time the calibration workload: this machine's speed factor")
    b.set_defaults(func=_budgets)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mmcourse`` and the ``mmcourse`` script."""
    parser = argparse.ArgumentParser(prog="python -m mmcourse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _learner_commands(sub)
    _instructor_commands(sub)
    _maintainer_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)
