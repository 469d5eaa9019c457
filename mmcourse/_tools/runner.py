"""Execute a notebook with papermill and measure it: wall time, peak memory, metrics,
check results and cell errors. Shared by ``grade`` and ``course``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import GRADE_LOG_ENV
from ..runtime import METRICS_ENV, resolve_profile

#: What the kernel sees while the runner executes a notebook.
HEADLESS_ENV = "MMCOURSE_HEADLESS"


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    path: str
    output: str | None = None
    profile: str = "tiny"
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""  # why the notebook could not run to the end ("" if it did)
    notebook: Any = None  # the executed nbformat notebook, when there is one

    @property
    def ran(self) -> bool:
        return not self.error


class _PeakMemory:
    """Samples the summed RSS of this process's children (the kernel) in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


@contextmanager
def _environ(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def source_cells(nb: Any) -> list[tuple[int, Any]]:
    """(number, cell) for every cell papermill did not add, numbered from 1 over all cells,
    markdown included: the position JupyterLab and Colab show when you scroll the notebook.

    Papermill inserts an injected-parameters cell and error banners into the executed
    copy; numbering without them matches what the author and the learner see.
    """
    kept = [c for c in nb.cells if not PAPERMILL_TAGS & set(c.get("metadata", {}).get("tags", []))]
    return list(enumerate(kept, 1))


def cell_errors(nb: Any) -> list[dict[str, Any]]:
    """Every error output of an executed notebook: cell number (see :func:`source_cells`),
    exception name and value, and the cell's source.
    """
    out = []
    for i, cell in source_cells(nb):
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append({"cell": i, "ename": o.get("ename", ""), "evalue": o.get("evalue", ""),
                            "source": cell.source})
    return out


def execute(
    path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    profile: str = "tiny",
    timeout: float = 300,
    parameters: dict[str, Any] | None = None,
    start_timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> NotebookRun:
    """Run ``path`` top to bottom in a fresh kernel, past errors, and measure it.

    A cell running longer than ``timeout`` seconds is interrupted (it ends with a
    ``KeyboardInterrupt`` error) and execution goes on with the next cell.

    Args:
        path: the ``.ipynb`` to execute.
        output: where to write the executed notebook (default: a temporary file).
        profile: forced through ``MMCOURSE_PROFILE`` and the ``PROFILE`` parameter.
        timeout: per-cell limit in seconds.
        parameters: extra papermill parameters.
        start_timeout: seconds to wait for the kernel to start.
        env: extra environment variables for the kernel (e.g. a stand-in run's).
        cwd: the kernel's working folder (default: the notebook's).
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    src = Path(path)
    profile = resolve_profile(profile)  # what the kernel will see, e.g. "auto" -> "tiny"
    run = NotebookRun(path=str(src), profile=profile)
    if src.suffix != ".ipynb":
        run.error = f"{src} is not a .ipynb notebook"
        return run
    if not src.is_file():
        run.error = f"{src} does not exist"
        return run
    try:
        nbformat.read(src, as_version=4)
    except Exception as err:  # unreadable JSON, wrong format...
        run.error = f"{src} is not a readable notebook: {type(err).__name__}: {err}"
        return run

    with tempfile.TemporaryDirectory(prefix="mmcourse-run-") as tmp:
        tmpdir = Path(tmp)
        out = Path(output) if output is not None else tmpdir / src.name
        out.parent.mkdir(parents=True, exist_ok=True)
        metrics_file, grade_file = tmpdir / "metrics.jsonl", tmpdir / "checks.jsonl"
        env = {
            METRICS_ENV: str(metrics_file),
            GRADE_LOG_ENV: str(grade_file),
            "MMCOURSE_PROFILE": profile,
            HEADLESS_ENV: "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            **(env or {}),
        }
        params = {"PROFILE": profile, **(parameters or {})}
        start = time.perf_counter()
        with _environ(**env), _PeakMemory() as mem:
            try:
                pm.execute_notebook(
                    str(src),
                    str(out),
                    parameters=params,
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    cwd=str(Path(cwd).resolve() if cwd is not None else src.parent.resolve()),
                    execution_timeout=timeout,
                    start_timeout=start_timeout,
                    allow_errors=True,
                    interrupt_on_timeout=True,
                    # quiet the kernel's own log ("running over TCP without encryption"...)
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                )
            except PapermillExecutionError:
                pass  # cells raised; their errors are in the executed notebook
            except Exception as err:  # kernel died, failed to start, ...
                run.error = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        run.wall_s = time.perf_counter() - start
        run.peak_rss_mb = mem.peak / 2**20
        run.metrics = {m["name"]: m["value"] for m in _read_jsonl(metrics_file)}
        run.checks = _read_jsonl(grade_file)
        if out.exists():
            run.notebook = nbformat.read(out, as_version=4)
            run.cell_errors = cell_errors(run.notebook)
            run.output = str(out) if output is not None else None
        elif not run.error:
            run.error = "papermill wrote no output notebook"
    return run
