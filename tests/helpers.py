"""Helpers shared by the tests (import them: ``from tests.helpers import ROOT``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
