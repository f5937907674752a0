"""Headless chromium against a real ``twistd -n gridhost``: accounts, forms,
phone-size layout, the Participate controls and screenshots of every page."""

import re

import pytest
from playwright.sync_api import expect

from tests.corefarm.browser_support import (
    MAIN_PAGES, PASSWORD, PHONE, browser, farm_server, join, overflows, take_screenshots,
)

pytestmark = pytest.mark.integration
__all__ = ["browser"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with farm_server(tmp_path_factory.mktemp("farm")) as s:
        yield s


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_sign_up_log_out_and_log_in_again(server, page):
    join(page, server.url, "alice")
    assert page.locator("nav .who").inner_text() == "alice"
    assert "3,600" in page.inner_text("main")
    page.click("nav button:has-text('Log out')")
    page.wait_for_url(server.url + "/")
    assert page.locator("nav a:has-text('Log in')").count() == 1
    page.goto(server.url + "/login")
    page.fill("#name", "alice")
    page.fill("#password", "wrong password")
    page.click("form.card button[type=submit]")
    assert page.inner_text("#form-error") == "Wrong name or password."
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs$"))
    assert page.locator("nav .who").inner_text() == "alice"


def test_errors_appear_beside_their_fields(server, page):
    page.goto(server.url + "/join")
    page.fill("#name", "x")
    page.fill("#password", "short")
    page.fill("#password2", "short")
    page.click("form.card button[type=submit]")
    name_error = page.locator("#name-error")
    assert "3 to 32 characters" in name_error.inner_text()
    # The message sits right under its input.
    assert page.evaluate("document.querySelector('#name').nextElementSibling.id") == "name-error"
    join(page, server.url, "bob")
    page.goto(server.url + "/submit")
    page.set_input_files("#scene", files=[{"name": "photo.jpg", "mimeType": "image/jpeg",
                                           "buffer": b"\xff\xd8\xff\xe0 not a scene"}])
    page.fill("#width", "0")
    page.click("form.card button[type=submit]")
    assert "This is not a scene" in page.inner_text("#scene-error")
    assert "Width must be a whole number" in page.inner_text("#width-error")


def test_a_forged_form_gets_a_clear_page(server, page):
    join(page, server.url, "carol")
    page.goto(server.url + "/feedback")
    page.evaluate("document.querySelector('form.card input[name=csrf]').value = 'forged'")
    page.fill("#message", "hello")
    page.click("form.card button[type=submit]")
    assert "Form expired" in page.inner_text("main")


def test_feedback_round_trip(server, page):
    join(page, server.url, "dave")
    page.goto(server.url + "/feedback")
    page.fill("#message", "The preview is lovely.")
    page.click("form.card button[type=submit]")
    assert "Thank you" in page.inner_text(".notice")
    assert "The preview is lovely." in page.inner_text(".feedback-list")


def test_every_page_fits_a_phone_without_script_errors(server, browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    join(page, server.url, "erin")
    for name in MAIN_PAGES:
        page.goto(f"{server.url}/{name}")
        page.wait_for_load_state("networkidle")
        assert not overflows(page), f"/{name} scrolls sideways on a phone"
    context.close()
    assert problems == []          # no script error, no CSP violation


def test_participate_starts_workers_and_pauses(server, page):
    page.goto(server.url + "/participate")
    identity = page.inner_text('[data-field="identity"]')
    assert identity.startswith("anon-")
    page.fill("#workers", "2")
    page.click('[data-action="start"]')
    workers = page.locator(".workers li")
    expect(workers).to_have_count(2)
    for i in range(2):
        expect(workers.nth(i)).to_contain_text("waiting for a tile")
    status = server.get_json("/api/figures")[1]
    assert status["browser_nodes"] == 2
    page.fill("#workers", "1")
    page.dispatch_event("#workers", "change")
    expect(workers).to_have_count(1)
    page.click('[data-action="pause"]')
    expect(workers).to_have_count(0)
    expect(page.locator('[data-field="state"]')).to_contain_text("Paused")


def test_screenshots_of_the_main_pages(server, browser, tmp_path):
    paths = take_screenshots(browser, server.url, tmp_path)
    assert len(paths) == 2 * len(MAIN_PAGES)
    for path in paths:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000
