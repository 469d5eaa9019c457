"""Shared fixtures: the repository root, a tiny run config, and headless plotting."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

from tests.helpers import ROOT

matplotlib.use("Agg")
os.environ["MMCOURSE_HEADLESS"] = "1"


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
