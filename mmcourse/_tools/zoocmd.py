"""``python -m mmcourse zoo ACTION [NAMES]``: the tiny trained models, for learners and maintainers.

* ``list`` -- name, chapter, stored metrics, description;
* ``probe`` -- replay each recipe, shrunk, at the commit that trained its weights and at the
  working tree, and compare bit for bit (:mod:`mmcourse.zoo.replay`); record the entries that
  behave the same as current (seconds), name the first differing step of the others;
* ``reproduce`` -- re-score the shipped weights and compare with the stored metrics;
* ``verify`` -- retrain from scratch and check the stored metrics reproduce (what clears a probe
  that differs; ``make verify-zoo NAME=...``);
* ``train`` -- retrain (``--save`` writes the weights, probe and meta into the package);
* ``write-probe`` -- store the probe of the shipped weights (fixed inputs, their outputs).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

ACTIONS = ("list", "probe", "reproduce", "verify", "train", "write-probe")


def add_parser(sub: Any) -> None:
    z = sub.add_parser("zoo", help="list, probe, re-score, retrain or verify the tiny trained models")
    z.add_argument("action", nargs="?", default="list", choices=ACTIONS,
                   help="list (default); probe: replay recipes at the commit that trained them and now; "
                        "reproduce: re-score shipped weights; verify: retrain and check the stored metrics; "
                        "train: retrain; write-probe: store the probe of the shipped weights")
    z.add_argument("names", nargs="*", help="entries (default: all)")
    z.add_argument("--changed", action="store_true",
                   help="probe: only the entries whose trigger (what their recipe reads) changed")
    z.add_argument("--save", action="store_true", help="train: write the retrained checkpoint into the package")
    z.set_defaults(func=run)


def _commit_if_clean() -> str | None:
    """HEAD when the working tree's code is committed (what ``trained_at`` may then name)."""
    from ..zoo.replay import ReplayUnavailable, head, tree_is_clean

    try:
        return head() if tree_is_clean() else None
    except ReplayUnavailable:
        return None


def _probe(names: list[str]) -> int:
    from ..zoo import meta, record_current
    from ..zoo.replay import ReplayUnavailable, probe

    commits = {n: meta(n).get("trained_at", "") for n in names}
    missing = [n for n, c in commits.items() if len(c) != 40]
    if missing:
        print(f"no trained_at commit recorded for {missing}: `make verify-zoo NAME=...` retrains them", file=sys.stderr)
        return 2
    try:
        verdicts = probe(names, commits=commits)
    except ReplayUnavailable as err:
        print(f"zoo probe: {err}", file=sys.stderr)
        return 2
    commit = _commit_if_clean()
    for v in (v for v in verdicts if v.equal):
        record_current(v.name, commit)
    differ = [v.name for v in verdicts if not v.equal]
    print(f"\n{len(verdicts) - len(differ)} of {len(verdicts)} behave as when trained; recorded "
          + (f"trained_at = {commit[:10]}" if commit else "their triggers (commit, then probe again to move "
                                                          "trained_at to the new commit)"))
    if differ:
        print(f"changed behaviour: {differ}; retrain and check their metrics with "
              f"`make verify-zoo NAME=\"{' '.join(differ)}\"`", file=sys.stderr)
    return 1 if differ else 0


def _reproduce(names: list[str]) -> int:
    from ..zoo import reproduce

    failed = []
    for name in names:
        start = time.perf_counter()
        metrics, missed = reproduce(name)
        print(f"{name}: {len(metrics)} stored metrics re-scored in {time.perf_counter() - start:.1f} s"
              + "".join(f"\n  MISSED {line}" for line in missed))
        failed += [name] if missed else []
    return 1 if failed else 0


def _train(names: list[str], *, verify: bool, save: bool) -> int:
    from .. import zoo
    from ..runtime import setup

    cfg, failed = setup("tiny", seed=0), []
    for name in names:
        start = time.perf_counter()
        model, metrics = zoo.train(name, cfg=cfg)
        seconds = time.perf_counter() - start
        print(f"{name}: {metrics} in {seconds:.1f} s")
        missed = zoo.within_tolerance(name, metrics) if verify else []
        for line in missed:
            print(f"  MISSED {line}")
        if missed:
            failed.append(name)
            continue
        if save:
            print(f"  saved to {zoo.save(name, model, metrics, seconds)}")
        elif verify:
            zoo.record_current(name, _commit_if_clean())
            print("  reproduces its stored metrics within tolerance; recorded as current")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from .. import zoo

    unknown = [n for n in args.names if n not in zoo.ENTRIES]
    if unknown:
        print(f"unknown zoo entr{'y' if len(unknown) == 1 else 'ies'} {unknown}; known: {sorted(zoo.ENTRIES)}",
              file=sys.stderr)
        return 2
    names = args.names or sorted(zoo.ENTRIES)
    if args.action == "list":
        from .tables import print_table

        print_table([r for r in zoo.table(display=False) if r["name"] in names],
                     ["name", "chapter", "metrics", "description"])
        return 0
    if args.action == "probe":
        names = [n for n in names if zoo.needs_replay(n)] if args.changed else names
        if not names:
            print("every entry's trigger is unchanged: nothing to replay")
            return 0
        return _probe(names)
    if args.action == "reproduce":
        return _reproduce(names)
    if args.action == "write-probe":
        from ..zoo import probe

        for name in names:
            print(f"wrote {probe.write(name, zoo.load(name))}")
        return 0
    return _train(names, verify=args.action == "verify", save=args.save)
