"""test-full's slice: the full-profile cells and what they read run, the rest does not."""

import nbformat

from mmcourse._tools.fullrun import (
    SKIPPED_SOURCE,
    SKIPPED_TAG,
    _bindings_and_reads,
    full_profile_slice,
)
from tests.helpers import write_notebook

CELLS = [
    'PROFILE = "auto"',                                           # 0 parameters: always kept
    "import torch\nimport mmcourse\nfrom mmcourse import hub",    # 1 read by 6 (torch, hub)
    "cfg = mmcourse.setup(PROFILE)",                              # 2 read by 6
    "photos = [1, 2]\nmodel = torch.nn.Linear(2, 2)",             # 3 photos read by 5
    "for _ in range(10**9):\n    pass\nlosses = [0]",             # 4 slow, read by nobody
    "photos = photos + [3]\nn = len(photos)",                     # 5 read by 6 (n), reads 3
    "if cfg.is_full:\n    big = hub.load('clip-b32', cfg)\n    print(n, torch.ones(1))",  # 6 full profile
    "print(losses)",                                              # 7 reads 4, not full profile
]


def _slice(tmp_path):
    nb = nbformat.read(write_notebook(tmp_path / "nb.ipynb", CELLS), as_version=4)
    sliced, kept, total = full_profile_slice(nb)
    skipped = [i for i, c in enumerate(sliced.cells) if SKIPPED_TAG in c.metadata.get("tags", [])]
    return sliced, kept, total, skipped


def test_the_slice_keeps_the_full_profile_cells_and_what_they_read(tmp_path):
    sliced, kept, total, skipped = _slice(tmp_path)
    assert (kept, total) == (6, 8), f"6 of 8 code cells should run: kept {kept} of {total}"
    assert skipped == [4, 7], f"only the cells no full-profile cell reads from should be skipped: {skipped}"
    assert all(sliced.cells[i].source == SKIPPED_SOURCE for i in skipped), "a skipped cell should say why"


def test_the_slice_leaves_the_source_notebook_alone(tmp_path):
    nb = nbformat.read(write_notebook(tmp_path / "nb.ipynb", CELLS), as_version=4)
    full_profile_slice(nb)
    assert [c.source for c in nb.cells] == CELLS, "slicing must work on a copy"


def test_reads_are_names_used_before_the_cell_binds_them():
    binds, reads = _bindings_and_reads("x = f(x)\ny = [z for z in x]\ndef g(a):\n    return a + w\nk += 1")
    assert binds >= {"x", "y", "g", "k"}, binds
    assert reads == {"f", "x", "w", "k"}, f"x = f(x) and k += 1 read earlier cells, z and a are local: {reads}"


def test_a_cell_that_is_not_python_is_kept():
    assert _bindings_and_reads("%%time\nx = (") is None
