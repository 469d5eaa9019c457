"""``python -m mmcourse zoo probe``: does an entry still train as it did when its weights were made?

Each entry's ``meta.json`` names ``trained_at``, the commit whose code trained (or last
verified) the shipped weights. :func:`probe` checks that commit out in a git worktree and
runs the entry's recipe *shrunk* (``entry.replay``: fewer steps in every stage, small test
sets, chosen so every stage boundary and periodic event such as a dead-code restart is
crossed) there and in the working tree, on this machine, with the same interpreter, and
compares the two traces bit for bit (:mod:`mmcourse.zoo._replay_driver` records them): the
loss, the training batch, the parameters, the learning rate and the RNG state after every
optimiser step, then the metrics and the returned model. The two replays run side by side,
each on one thread (so that thread timing cannot reorder a sum).

Equal traces mean the code trains and scores exactly as the code that made the weights: the
entry is current, and recording that takes seconds. A difference names the first step (or
the metrics) where the two runs part; ``make verify-zoo NAME`` then retrains the entry and
checks its stored metrics reproduce. As open_clip compares outputs at HEAD with a pinned
reference revision, but for training, and on the commit that trained each checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import ENTRIES, PACKAGE_DIR

ROOT = PACKAGE_DIR.parent
DRIVER = Path(__file__).resolve().parent / "_replay_driver.py"
#: Working-tree paths that bookkeeping rewrites; changes there do not make the tree "dirty".
BOOKKEEPING = ("mmcourse/zoo/*/meta.json",)


class ReplayUnavailable(RuntimeError):
    """The replay cannot run here: not a git checkout, or the commit is missing (a shallow clone)."""


@dataclass
class Verdict:
    """The outcome of replaying one entry at ``commit`` and at the working tree."""

    name: str
    commit: str
    equal: bool
    steps: int  # optimiser steps compared
    difference: str  # "" when equal; else where the runs part, e.g. "step 3: params differ"
    seconds: tuple[float, float]  # the replay at the commit, at the working tree (run side by side)

    def line(self) -> str:
        then, now = self.seconds
        verdict = "same behaviour" if self.equal else f"DIFFERS at {self.difference}"
        return (f"{self.name}: {verdict} ({self.steps} steps compared against {self.commit[:10]}; "
                f"replay {then:.1f} s then, {now:.1f} s now)")


# -- git --------------------------------------------------------------------------------
def git(*args: str, root: Path = ROOT) -> str:
    """Run git in ``root``; :class:`ReplayUnavailable` when git or the repository is missing."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise ReplayUnavailable("git is not installed") from e
    if done.returncode:
        raise ReplayUnavailable(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def head() -> str:
    """The commit checked out in the working tree."""
    return git("rev-parse", "HEAD")


def tree_is_clean() -> bool:
    """Whether the working tree's code equals HEAD (zoo bookkeeping files aside)."""
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                 *(f":(exclude,glob){p}" for p in BOOKKEEPING))
    return status == ""


@contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """A temporary worktree at ``commit`` (removed afterwards)."""
    try:
        git("cat-file", "-e", f"{commit}^{{commit}}")
    except ReplayUnavailable as e:
        raise ReplayUnavailable(f"commit {commit[:10]} is not in this clone (a shallow clone? `git fetch "
                                "--unshallow`)") from e
    folder = Path(tempfile.mkdtemp(prefix=f"mmcourse-replay-{commit[:10]}-"))
    git("worktree", "add", "--detach", "--force", str(folder), commit)
    try:
        yield folder
    finally:
        git("worktree", "remove", "--force", str(folder))
        shutil.rmtree(folder, ignore_errors=True)


# -- traces ---------------------------------------------------------------------------
def _environment(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMCOURSE_", "PYTHON"))}
    env.update(HF_HUB_OFFLINE="1", MMCOURSE_HEADLESS="1", TQDM_DISABLE="1", MMCOURSE_REPLAY_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def traces(name: str, roots: Sequence[Path], overrides: dict[str, Any] | None = None, *, threads: int = 1
           ) -> list[dict[str, Any]]:
    """Run entry ``name``'s shrunk recipe from the code under each of ``roots``, each in a fresh
    process on ``threads`` threads, side by side; their traces, in order."""
    overrides = ENTRIES[name].replay if overrides is None else overrides
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"trace{k}.json" for k in range(len(roots))]
        runs = [subprocess.Popen([sys.executable, str(DRIVER), str(root), name, json.dumps(overrides), str(out)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(threads),
                                 cwd=tmp) for root, out in zip(roots, outs)]
        results = [(run, *run.communicate()) for run in runs]
        for (run, _, err), root in zip(results, roots):
            if run.returncode:
                tail = "\n".join(err.strip().splitlines()[-15:])
                raise RuntimeError(f"replaying {name} under {root} failed:\n{tail}")
        return [json.loads(out.read_text(encoding="utf-8")) for out in outs]


def trace(name: str, root: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """One trace of entry ``name``'s shrunk recipe from the code under ``root``."""
    return traces(name, [root], overrides)[0]


def _floats(hexes: Sequence[str]) -> str:
    return ", ".join(f"{float.fromhex(h):.9g}" for h in hexes)


def compare(then: dict[str, Any], now: dict[str, Any]) -> str:
    """Where two traces first differ ("" when they are bit-for-bit equal)."""
    for a, b in zip(then["steps"], now["steps"]):
        if a == b:
            continue
        fields = [k for k in ("batch", "loss", "params", "lr", "rng", "optimizer") if a.get(k) != b.get(k)]
        detail = f"step {a['step']}: {', '.join(fields)} differ"
        if "loss" in fields:
            detail += f" (loss {_floats(a['loss'])} then, {_floats(b['loss'])} now)"
        elif "lr" in fields:
            detail += f" (lr {float.fromhex(a['lr']):.9g} then, {float.fromhex(b['lr']):.9g} now)"
        return detail
    if len(then["steps"]) != len(now["steps"]):
        return f"step {min(len(then['steps']), len(now['steps'])) + 1}: {len(then['steps'])} optimiser steps then, " \
               f"{len(now['steps'])} now"
    if then["metrics"] != now["metrics"]:
        keys = sorted(set(then["metrics"]) | set(now["metrics"]))
        changed = [k for k in keys if then["metrics"].get(k) != now["metrics"].get(k)]
        return f"the metrics after training: {', '.join(changed[:6])}{' ...' if len(changed) > 6 else ''} differ"
    if then["model"] != now["model"]:
        return "the returned model (its state_dict) differs"
    return ""


# -- the probe --------------------------------------------------------------------------
def probe(names: Sequence[str], *, commits: dict[str, str], progress: bool = True) -> list[Verdict]:
    """Replay each entry at ``commits[name]`` (its ``trained_at``) and at the working tree."""
    verdicts = []
    for commit in dict.fromkeys(commits[n] for n in names):  # one worktree per commit
        with checkout(commit) as then_root:
            for name in (n for n in names if commits[n] == commit):
                then, now = traces(name, [then_root, ROOT])  # side by side, one thread each
                difference = compare(then, now)
                v = Verdict(name, commit, not difference, len(now["steps"]), difference,
                            (then["seconds"], now["seconds"]))
                if progress:
                    print(v.line(), flush=True)
                verdicts.append(v)
    return verdicts
