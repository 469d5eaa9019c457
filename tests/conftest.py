"""Shared fixtures: the repository root, a tiny run config, and headless plotting."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ["MMCOURSE_HEADLESS"] = "1"

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def cfg(monkeypatch):
    import mmcourse

    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    return mmcourse.setup("tiny", seed=0, verbose=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def write_notebook(path: Path, cells: list[str], *, parameters: bool = True) -> Path:
    """Write a small code-only notebook (the first cell tagged 'parameters' if asked)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, src in enumerate(cells):
        cell = nbformat.v4.new_code_cell(src)
        cell["id"] = f"c{i}"
        if i == 0 and parameters:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path
