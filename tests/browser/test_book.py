"""The book (``make book``) in headless Chromium: every page loads clean, links and images
resolve, chapters show their figures, math renders, search finds InfoNCE in chapter 02."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from .conftest import ROOT

BOOK = ROOT / "build" / "book"


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = BOOK / "manifest.json"
    if not path.is_file():
        pytest.fail(f"no book at {BOOK}: run `make course` then `make book` first")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site(manifest):
    """The book served over HTTP on a free loopback port (as a static host would)."""
    handler = functools.partial(_QuietHandler, directory=str(BOOK))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Watch:
    """Console errors, uncaught exceptions, failed or non-2xx requests, and any request that
    leaves the machine (the book must read offline)."""

    def __init__(self, page, origin: str) -> None:
        self.problems: list[str] = []
        self.requests = 0
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught exception: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("request", self._request)
        self.origin = origin

    def _request(self, request) -> None:
        self.requests += 1
        if not request.url.startswith((self.origin, "data:", "blob:", "about:")):
            self.problems.append(f"request to another host: {request.url}")


def _internal_target(href: str, page_url: str, origin: str) -> Path | None:
    """The file an internal link points at (None for external links and pure fragments)."""
    if not href.startswith(origin):
        return None
    path = unquote(urlparse(href).path).lstrip("/")
    target = BOOK / path
    return target / "index.html" if target.is_dir() else target


def test_every_page_loads_clean_with_its_figures_and_links(browser, site, manifest, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page, site)
    checked_links, checked_images, figures_seen, broken = set(), 0, 0, []
    for entry in manifest["pages"]:
        url = f"{site}/{entry['page']}"
        before = len(watch.problems)
        page.goto(url, wait_until="networkidle")
        assert page.title(), f"{entry['page']}: the page has no title"
        text = page.inner_text("body")
        assert "Loading widget" not in text, f"{entry['page']}: a widget shows 'Loading widget…' instead of its figure"
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])")
        checked_images += len(images)
        broken += [f"{entry['page']}: image {src} did not load" for src, ok in images if not ok]
        figures = page.locator(".cell_output img").count()
        figures_seen += figures
        assert figures >= entry["figures"], (f"{entry['page']} should show {entry['figures']} figures (its executed "
                                             f"notebook's image outputs); the browser shows {figures}")
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            base, _, fragment = href.partition("#")
            target = _internal_target(base, url, site)
            if target is None or href in checked_links:
                continue
            checked_links.add(href)
            if not target.is_file():
                broken.append(f"{entry['page']}: link {href} points at a missing page")
            elif fragment and f'id="{unquote(fragment)}"' not in target.read_text(encoding="utf-8"):
                broken.append(f"{entry['page']}: link {href} points at a missing section")
        if entry["section"] == "chapters":
            assert figures >= 3, f"{entry['page']}: a chapter shows at least 3 figures; the browser shows {figures}"
            page.screenshot(path=str(screenshots / f"book_{Path(entry['page']).stem}.png"))
            page.locator(".cell_output img").first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / f"book_{Path(entry['page']).stem}_figure.png"))
        new = watch.problems[before:]
        assert not new, f"{entry['page']}: " + "; ".join(new[:5])
    assert not broken, "; ".join(broken[:10])
    print(f"\nbook: {len(manifest['pages'])} pages, {figures_seen} figures, {checked_images} images, "
          f"{len(checked_links)} internal links, {watch.requests} requests checked")
    context.close()


def test_math_is_typeset_by_the_bundled_mathjax(browser, site):
    page = browser.new_page()
    watch = Watch(page, site)
    page.goto(f"{site}/chapters/05_diffusion.html", wait_until="networkidle")
    equations = page.locator(".math").count()
    assert equations >= 3, f"chapter 05 should hold its equations as math; it holds {equations}"
    page.wait_for_function(f"document.querySelectorAll('mjx-container').length >= {equations}", timeout=20_000)
    rendered = page.locator("mjx-container").count()
    assert rendered >= equations, f"each of chapter 05's {equations} equations should be typeset; {rendered} were"
    assert not watch.problems, "; ".join(watch.problems[:5])
    page.close()


def test_search_for_infonce_lands_on_chapter_02(browser, site):
    page = browser.new_page()
    Watch(page, site)
    page.goto(f"{site}/search.html?q=InfoNCE", wait_until="networkidle")
    page.wait_for_selector("#search-results li a", timeout=20_000)
    first = page.locator("#search-results li a").first.get_attribute("href")
    assert "chapters/02_clip" in first, f"the first search result for InfoNCE should be chapter 02; it is {first}"
    page.close()


def test_each_page_has_a_colab_launch_button(browser, site, manifest):
    page = browser.new_page()
    for entry in manifest["pages"]:
        if entry["notebook"] is None:
            continue
        page.goto(f"{site}/{entry['page']}", wait_until="domcontentloaded")
        hrefs = page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
        want = f"https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/{entry['notebook']}"
        assert want in hrefs, f"{entry['page']}: the launch button should open {want}; links to Colab: {hrefs}"
    page.close()
