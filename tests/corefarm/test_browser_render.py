"""Real renders in headless chromium against a real ``twistd -n gridhost``.

1. A member signs up, logs in, submits a shared scene, watches the progress
   reach 100 % and downloads the image (one native agent renders).
2. With no native agent at all, one Participate tab renders a whole job in
   its Web Workers, and the image is pixel-for-pixel the native render.
"""

import io
import re
import subprocess
import sys

import numpy as np
import pytest
from playwright.sync_api import expect
from PIL import Image

from corefarm.render.local import render_local
from corefarm.scene import load_scene
from tests.corefarm.browser_support import browser, farm_server, join

pytestmark = pytest.mark.integration
__all__ = ["browser"]

SCENE = "/work/shared/yafaray-scenes/00_HANDMADE_minimal_249_style.xml"
WIDTH, HEIGHT, SAMPLES = 240, 180, 8
RENDER_TIMEOUT = 240_000


def native_png_pixels():
    data = open(SCENE, "rb").read()
    scene = load_scene(data, name="scene.xml")
    job, image = render_local(scene, size=(WIDTH, HEIGHT), samples=SAMPLES, tiles=(3, 2))
    png = job.encode(image, "png")  # as the master writes it (alpha only for transparent backgrounds)
    return np.asarray(Image.open(io.BytesIO(png)))


def submit_scene(page, base, fmt="png"):
    page.goto(f"{base}/submit")
    page.set_input_files("#scene", SCENE)
    page.fill("#width", str(WIDTH))
    page.fill("#height", str(HEIGHT))
    page.fill("#samples", str(SAMPLES))
    page.select_option("#format", fmt)
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/[A-Za-z0-9_.:-]+$"))
    return page.url.rsplit("/", 1)[1]


def wait_until_done(page):
    expect(page.locator('[data-field="state"]')).to_have_text("done", timeout=RENDER_TIMEOUT)
    expect(page.locator('[data-field="percent"]')).to_have_text("100%")
    expect(page.locator('[data-field="download"]')).to_be_visible()


def download(page):
    with page.expect_download() as info:
        page.click('[data-field="download"]')
    return Image.open(info.value.path())


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_sign_up_submit_watch_and_download(tmp_path, browser):
    with farm_server(tmp_path / "farm") as server:
        agent = subprocess.Popen(
            [sys.executable, "-m", "gridhost.core.cli", "agent", "--url", server.url + "/naclgrid/",
             "--key", server.create_key("agent", "farm-agent"), "--slots", "1", "--status", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            join(page, server.url, "painter")
            page.click("nav button:has-text('Log out')")
            page.goto(server.url + "/login")
            page.fill("#name", "painter")
            page.fill("#password", "correct horse battery")
            page.click("form.card button[type=submit]")
            page.wait_for_url(re.compile(r".*/jobs$"))
            job_id = submit_scene(page, server.url)
            wait_until_done(page)
            preview = page.locator('[data-field="preview"]')
            expect(preview).to_have_attribute("src", re.compile(r"preview\.png\?tiles=[1-9]"))
            image = download(page)
            assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
            page.goto(server.url + "/jobs")
            row = page.locator(f'tr[data-job="{job_id}"]')
            expect(row).to_contain_text("done")
            expect(row.locator("a", has_text="Download")).to_be_visible()
            context.close()
        finally:
            stop(agent)


def test_one_participate_tab_renders_a_whole_job_identical_to_native(tmp_path, browser):
    expected = native_png_pixels()
    with farm_server(tmp_path / "farm") as server:
        owner = browser.new_context(accept_downloads=True)
        page = owner.new_page()
        join(page, server.url, "owner")
        submit_scene(page, server.url)
        expect(page.locator('[data-field="reason"]')).to_contain_text("no agent", ignore_case=True,
                                                                      timeout=60_000)

        volunteer = browser.new_context()
        tab = volunteer.new_page()
        tab.goto(server.url + "/participate")
        tab.click('[data-action="start"]')
        expect(tab.locator('[data-field="tiles"]')).not_to_have_text("0", timeout=RENDER_TIMEOUT)

        wait_until_done(page)
        status, figures = server.get_json("/api/figures")
        assert figures["nodes_online"] == figures["browser_nodes"] >= 1   # browsers only
        got = np.asarray(download(page))
        assert got.shape == expected.shape
        assert np.array_equal(got, expected), f"{np.count_nonzero(got != expected)} values differ"

        # The volunteer's tab says what it did, and the ledger agrees.
        assert float(tab.inner_text('[data-field="seconds"]')) > 0
        tab.click('[data-action="pause"]')
        expect(tab.locator('[data-field="state"]')).to_contain_text("Paused", timeout=60_000)
        page.goto(server.url + "/leaderboard")
        board = page.inner_text("table.board")
        assert "owner" in board and "anon-" in board
        owner.close()
        volunteer.close()
