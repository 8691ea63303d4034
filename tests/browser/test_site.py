"""The built site as a reader sees it, in headless Chromium (run after the book build).

Every chapter page loads without console errors from the site itself, its figures
render, its code fits the page width, its Colab launch link is present, and the search
page finds a chapter. The sequence models' API page renders SASRec with its docstring and
links chapter 04, whose "Code for this chapter" box links back. A screenshot of each
chapter page is kept in ``_build/screenshots/``. Requests to other hosts (a CDN for
MathJax, say) are not the site's errors: this machine may be offline.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("RECSYS_TUTORIAL_SITE", ROOT / "_build" / "html"))
SHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI must install Chromium (Debian package 'chromium'); see .ci/run")
    pytest.skip("no Chromium found: install Debian's 'chromium' package to run the browser tests")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run the book build first")
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=FLAGS)
        yield instance
        instance.close()


def _own_errors(page, base: str) -> list[str]:
    errors: list[str] = []
    host = urlparse(base).netloc

    def on_console(message) -> None:
        location = message.location.get("url", "") if message.location else ""
        if message.type == "error" and (not location or urlparse(location).netloc == host):
            if "Failed to load resource" in message.text and location and urlparse(location).netloc != host:
                return
            errors.append(f"console: {message.text} ({location})")

    def on_failed(request) -> None:
        if urlparse(request.url).netloc == host:
            errors.append(f"request failed: {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", on_failed)
    return errors


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page(chapter, server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = _own_errors(page, server)
    response = page.goto(f"{server}/notebooks/{chapter}.html", wait_until="load")
    assert response is not None and response.ok, f"{chapter}.html did not load"
    page.wait_for_timeout(300)
    images = page.eval_on_selector_all(
        ".cell_output img", "imgs => imgs.map(i => [i.complete && i.naturalWidth > 0, i.src.slice(-40)])"
    )
    assert images, f"{chapter}: no figures rendered"
    broken = [src for ok, src in images if not ok]
    assert not broken, f"{chapter}: figures that did not render: {broken}"
    # Code fits the page: no input cell scrolls sideways, at the narrowest column of each
    # of the theme's desktop layouts (960 and 1200 px: a sidebar appears) and at 1280 px.
    for width in (960, 1200, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        wide = page.eval_on_selector_all(
            ".cell_input pre",
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.textContent.split('\\n').sort((a, b) => b.length - a.length)[0])",
        )
        assert not wide, f"{chapter}: code cells wider than the page at {width} px, e.g. {wide[:3]}"
    page.set_viewport_size({"width": 1280, "height": 900})
    colab = page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "links => links.map(l => l.href)"
    )
    assert any(f"notebooks/{chapter}.ipynb" in href for href in colab), f"{chapter}: no Colab launch link"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{chapter}.png"), full_page=False)
    page.close()
    assert not errors, f"{chapter}: " + "; ".join(errors)


def test_search_finds_a_chapter(server, browser):
    page = browser.new_page()
    errors = _own_errors(page, server)
    page.goto(f"{server}/search.html?q=bigram", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(l => l.href)")
    assert any("01_next_item_as_language_modelling" in h for h in hits), hits
    page.close()
    assert not errors, "; ".join(errors)


def test_api_page_renders_a_class_and_links_its_chapter(server, browser):
    """The sequence models' reference shows SASRec with its docstring, and links chapter 04 both ways."""
    from recsys_tutorial.sequential import SASRec

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = _own_errors(page, server)
    response = page.goto(f"{server}/book/api/sequential.html", wait_until="load")
    assert response is not None and response.ok, "book/api/sequential.html did not load"
    anchor = "recsys_tutorial.sequential.sasrec.SASRec"
    signature = page.locator(f"dt[id='{anchor}']")
    assert signature.count() == 1, "SASRec is not documented on the sequential page"
    assert "SASRec" in signature.inner_text()
    body = signature.locator("xpath=following-sibling::dd[1]").inner_text()
    first = " ".join(SASRec.__doc__.split(".")[0].split())  # its docstring's first sentence
    assert first in " ".join(body.split()), f"SASRec's docstring is not rendered: {body[:200]!r}"
    # the chapter link in the module's docstring resolves to the chapter
    chapter = "notebooks/04_next_item_transformers.html"
    links = page.eval_on_selector_all(
        "article a.reference.internal", "links => links.map(l => l.href)"
    )
    to_chapter = [href for href in links if chapter in href]
    assert to_chapter, "the sequential page does not link chapter 04"
    response = page.goto(to_chapter[0], wait_until="load")
    assert response is not None and response.ok, f"{to_chapter[0]} did not load"
    assert "Next-item transformers" in page.title()
    # and back: the chapter's "Code for this chapter" box links SASRec's module on the API page
    box = page.locator(".admonition", has_text="Code for this chapter")
    assert box.count() == 1, "chapter 04 has no 'Code for this chapter' box"
    targets = box.first.locator("a").evaluate_all("links => links.map(l => l.href)")
    module = "book/api/sequential.html#module-recsys_tutorial.sequential.sasrec"
    back = [href for href in targets if module in href]
    assert back, f"the box does not link the sasrec module's reference: {targets}"
    page.goto(back[0], wait_until="load")
    assert page.locator("[id='module-recsys_tutorial.sequential.sasrec']").count() == 1
    page.close()
    assert not errors, "; ".join(errors)
