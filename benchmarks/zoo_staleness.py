"""What an edit costs the zoo, before and after staleness was judged by behaviour.

For each edit below, applied to a temporary worktree of each commit:

* before (``--before``, a commit that still hashed source, e.g. f0317d7): the entries its
  ``zoo.stale`` then called stale, and the retraining that cleared them (their stored
  ``train_seconds``);
* after (``--after``, default HEAD): the entries whose trigger fired, and the wall time of
  ``python -m mmcourse zoo probe --changed`` that replays them at the commit that trained them
  and records them current, or names the first step that differs.

    .venv/bin/python benchmarks/zoo_staleness.py --before f0317d7 [--after HEAD] [--only train-rename]

The replays dominate: expect 5-10 minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sub(path: str, pattern: str, replacement: str, count: int = 0) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        file = root / path
        text, n = re.subn(pattern, replacement, file.read_text(encoding="utf-8"), count=count)
        if not n:
            raise RuntimeError(f"{path}: {pattern!r} not found")
        file.write_text(text, encoding="utf-8")
    return edit


def _move_spread(root: Path) -> None:
    """Move unified.py's _spread (the diversity of drawn images) into metrics/image.py."""
    unified, image = root / "mmcourse/unified.py", root / "mmcourse/metrics/image.py"
    text = unified.read_text(encoding="utf-8")
    start = text.index("def _spread(")
    end = text.index("\n\n\n", start)
    block = text[start:end].rstrip() + "\n"
    text = text[:start] + text[end + 3:]
    text = text.replace("from .sequences import", "from .metrics.image import _spread\nfrom .sequences import", 1)
    unified.write_text(text, encoding="utf-8")
    image.write_text(image.read_text(encoding="utf-8").rstrip() + "\n\n\n" + block, encoding="utf-8")


EDITS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "train-rename": ("train.py: a local variable renamed (fit's progress bar)",
                     _sub("mmcourse/train.py", r"\bbar\b", "progress_bar")),
    "vocabulary-constant": ("data/vocabulary.py: a constant added",
                            lambda r: (r / "mmcourse/data/vocabulary.py").open("a").write(
                                "\nNUMBER_OF_PAIRS = len(COLORS) * len(SHAPES)\n")),
    "clip-unused": ("models/clip.py: an unused function added",
                    lambda r: (r / "mmcourse/models/clip.py").open("a").write(
                        "\n\ndef _unused_helper() -> int:\n    return 0\n")),
    "ldm-description": ("ch05_ldm.py: a typo in the entry's description",
                        _sub("mmcourse/zoo/entries/ch05_ldm.py", 'description="text-conditional',
                             'description="text-conditonal', 1)),
    "module-move": ("unified.py's _spread moved to metrics/image.py", _move_spread),
    "train-docstring": ("train.py: fit's docstring edited",
                        _sub("mmcourse/train.py", r"Train ``model`` for ``steps`` optimiser steps",
                             "Train the model for ``steps`` optimiser steps", 1)),
}


def _worktree(commit: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="zoo-staleness-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(folder), commit],
                   check=True, capture_output=True)
    return folder


def _remove(folder: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False,
                   capture_output=True)


def _python(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "MMCOURSE_HEADLESS": "1"}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True)


def before(commit: str, edit: Callable[[Path], None]) -> tuple[list[str], float]:
    """Stale entries under the source hash, and the minutes their retraining took."""
    root = _worktree(commit)
    try:
        edit(root)
        done = _python(root, "-c", "import json; from mmcourse import zoo; print(json.dumps({n: zoo.meta(n)"
                                   "['train_seconds'] for n in sorted(zoo.ENTRIES) if zoo.stale(n)}))")
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        stale = json.loads(done.stdout.strip().splitlines()[-1])
        return sorted(stale), sum(stale.values()) / 60
    finally:
        _remove(root)


def after(commit: str, edit: Callable[[Path], None]) -> tuple[list[str], list[str], float]:
    """Entries whose trigger fired, those that then differed, and the probe's wall seconds."""
    root = _worktree(commit)
    try:
        edit(root)
        start = time.perf_counter()
        done = _python(root, "-m", "mmcourse", "zoo", "probe", "--changed")
        seconds = time.perf_counter() - start
        lines = done.stdout.splitlines()
        replayed = sorted(line.split(":")[0] for line in lines if " steps compared against " in line)
        differ = sorted(line.split(":")[0] for line in lines if "DIFFERS" in line)
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
        return replayed, differ, seconds
    finally:
        _remove(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a commit whose zoo still hashed source (e.g. f0317d7)")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--only", nargs="*", choices=sorted(EDITS), help="these edits only")
    args = parser.parse_args()
    print("| edit | before: stale | before: retraining | after: replayed | after: differ | after: zoo probe |")
    print("|---|---|---|---|---|---|")
    for key in args.only or EDITS:
        what, edit = EDITS[key]
        stale, minutes = before(args.before, edit)
        replayed, differ, seconds = after(args.after, edit)
        print(f"| {what} | {len(stale)} | {minutes:.0f} min | {len(replayed)} | {len(differ)} {differ or ''} | "
              f"{seconds:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
