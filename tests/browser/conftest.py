"""Fixtures of ``make test-browser``: the system's headless Chromium driven by Playwright.

Browser downloads are not possible offline, so Playwright is pointed at the Chromium of the
system packages (``apt-get install chromium``; ``.ci/run`` installs it when run as root).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"


def chromium_executable() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium on PATH: install the system package (`apt-get install chromium`; "
                ".ci/run does it when run as root)")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_executable(), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
