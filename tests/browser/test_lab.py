"""JupyterLab, live: a chapter's jupytext ``.py`` opens as a notebook, its widget cell runs,
and moving a slider redraws the figure. The server runs on a free loopback port in a
temporary folder (a copy of the chapter pair, so autosave cannot touch the repository)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import ROOT

CHAPTER = "00_getting_started"
TOKEN = "mmcourse-browser-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    for suffix in (".py", ".ipynb"):
        shutil.copy(ROOT / "chapters" / f"{CHAPTER}{suffix}", work / f"{CHAPTER}{suffix}")
    settings = work / ".settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    news = work / ".settings" / "@jupyterlab" / "apputils-extension"  # no calls to the internet
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                        "checkForUpdates": False}))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MMCOURSE_HEADLESS"}  # live widgets
    env.update(MMCOURSE_PROFILE="tiny", HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(work / ".jupyter"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}", "--allow-root",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={work / '.settings'}",
           f"--LabApp.workspaces_dir={work / '.workspaces'}", "--ServerApp.open_browser=False"]
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"jupyter lab did not start: {(work / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_a_chapter_opens_from_its_py_and_its_widget_redraws(browser, lab, screenshots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab}/lab?token={TOKEN}", wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.started", timeout=60_000)
    page.evaluate("() => window.jupyterapp.started")
    # 1. the jupytext pairing: the .py opens as a notebook
    page.evaluate(f"""() => window.jupyterapp.commands.execute('docmanager:open',
                      {{path: '{CHAPTER}.py', factory: 'Jupytext Notebook'}})""")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    cells = page.locator(".jp-NotebookPanel .jp-Cell").count()
    assert cells > 20, f"{CHAPTER}.py should open as a notebook of its cells; the notebook shows {cells}"
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=60_000, state="attached")
    # 2. run the chapter up to and including the widget cell (every cell; the rest is quick)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    slider = page.locator(".widget-interact .widget-slider").first
    slider.wait_for(timeout=180_000)
    figure = page.locator(".widget-interact .jp-OutputArea-output img").first
    figure.wait_for(timeout=60_000)
    before = figure.get_attribute("src")
    slider.scroll_into_view_if_needed()
    # 3. move the radius slider: three steps to the right, from the keyboard
    readout = page.locator(".widget-interact .widget-readout").first
    start_value = readout.inner_text().strip()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    page.wait_for_function(
        """(before) => { const img = document.querySelector('.widget-interact .jp-OutputArea-output img');
                        return img && img.getAttribute('src') !== before; }""", arg=before, timeout=60_000)
    after = figure.get_attribute("src")
    assert after != before, "moving the radius slider should redraw the figure; it did not change"
    page.locator(".widget-interact").first.screenshot(path=str(screenshots / "lab_widget.png"))
    page.screenshot(path=str(screenshots / "lab_notebook.png"))
    moved = readout.inner_text().strip()
    assert moved != start_value, f"the slider's readout should move off {start_value}; it reads {moved}"
    assert not errors, "JupyterLab raised: " + "; ".join(errors[:5])
    page.close()
