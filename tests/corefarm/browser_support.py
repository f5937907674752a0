"""Real-browser helpers: a ``twistd -n gridhost`` farm on a free port and
headless Debian chromium driven by Playwright (not a test module).

Run as a script to refresh the documentation's screenshots::

    python -m tests.corefarm.browser_support docs/screenshots
"""

import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from gridhost.testing import GridhostProcess

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

CONFIG = """
[server]
listen = ["tcp:0:interface=127.0.0.1"]
data_dir = "{data}"
store = "{store}"

[app.naclgrid]
lease_seconds = 30

[app.naclgrid.pool]
enabled = false     # the tests choose their agents: native ones, browser tabs, or none

[app.corefarm]
password_time_cost = 1
password_memory_kib = 1024
{corefarm}

[[host]]
names = ["*"]
[[host.site]]
path = "/naclgrid"
app = "naclgrid"
[[host.site]]
path = "/"
app = "corefarm"
"""


@contextmanager
def farm_server(directory, corefarm_options="", store="memory"):
    """A running gridhost serving corefarm at / and naclgrid at /naclgrid."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "gridhost.toml"
    config.write_text(CONFIG.format(data=directory / "data", corefarm=corefarm_options, store=store))
    server = GridhostProcess(config, directory / "data")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def join(page, base, name, password=PASSWORD):
    page.goto(f"{base}/join")
    page.fill("#name", name)
    page.fill("#password", password)
    page.fill("#password2", password)
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs$"))


def overflows(page):
    """True when the page scrolls sideways (it must not at phone size)."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


MAIN_PAGES = ["", "join", "login", "submit", "jobs", "status", "participate", "download",
              "leaderboard", "feedback"]


def take_screenshots(browser, base, out_dir, scene=None):
    """PNG screenshots of the main pages, desktop and phone size; returns the
    paths. With ``scene`` (and an agent serving the farm), a render of it is
    submitted first so My jobs and the job page have something to show."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        join(page, base, f"shot-{size_name}")
        pages = list(MAIN_PAGES)
        if scene is not None:
            page.goto(f"{base}/submit")
            page.set_input_files("#scene", scene)
            page.fill("#width", "320")
            page.fill("#height", "240")
            page.click("form.card button[type=submit]")
            page.wait_for_url(re.compile(r".*/jobs/[^/]+$"))
            page.locator('[data-field="state"]', has_text="done").wait_for(timeout=300_000)
            pages.append(page.url[len(base) + 1:])
        for name in pages:
            if name in ("join", "login"):
                continue
            page.goto(f"{base}/{name}")
            page.wait_for_load_state("networkidle")
            label = "job" if name.startswith("jobs/") else (name or "home")
            path = out_dir / f"{label}-{size_name}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        context.close()
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        for name in ("join", "login"):
            page.goto(f"{base}/{name}")
            path = out_dir / f"{name}-{size_name}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        context.close()
    return paths


def main(argv):
    import tempfile

    out_dir = Path(argv[0] if argv else "docs/screenshots")
    scene = "/work/shared/yafaray-scenes/00_HANDMADE_minimal_249_style.xml"
    with tempfile.TemporaryDirectory() as tmp, farm_server(tmp) as server, chromium() as b:
        agent = subprocess.Popen(
            [sys.executable, "-m", "gridhost.core.cli", "agent", "--url", server.url + "/naclgrid/",
             "--key", server.create_key("agent", "docs-agent"), "--slots", "1", "--status", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for path in take_screenshots(b, server.url, out_dir, scene=scene):
                print(path)
        finally:
            agent.terminate()
            try:
                agent.wait(30)
            except subprocess.TimeoutExpired:
                agent.kill()


if __name__ == "__main__":
    main(sys.argv[1:])
