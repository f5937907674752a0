"""Every page of the site over StubTreq: the real site, accounts, credit and
Grid on the memory store and a Clock; a stand-in render master."""

import re

import pytest

from tests.corefarm.site_support import Farm, result_of

PAGES = ["/", "/join", "/login", "/status", "/participate", "/download", "/leaderboard", "/feedback"]


@pytest.fixture
def farm(tmp_path):
    return Farm(tmp_path)


@pytest.mark.parametrize("path", PAGES)
def test_public_pages_render_with_layout_and_no_external_resources(farm, path):
    reply = farm.browser().get(path)
    assert reply.code == 200, reply
    assert reply.header("content-type").startswith("text/html")
    assert "Corefarm" in reply.text and 'name="viewport"' in reply.text
    assert "default-src 'self'" in reply.header("content-security-policy")
    for url in re.findall(r'(?:src|href)="([^"]+)"', reply.text):
        assert not url.startswith(("http:", "https:", "//")), url


def test_home_says_what_the_farm_is_and_shows_live_figures(farm):
    reply = farm.browser().get("/")
    assert "cooperative rendering farm" in reply.text.lower()
    assert 'data-live="api/figures"' in reply.text
    figures = farm.browser().get("/api/figures").json()
    assert figures["nodes_online"] == 0 and figures["cpu_seconds"] == 0


def test_static_files_are_served_from_the_package(farm):
    browser = farm.browser()
    for name, kind in (("site.css", "text/css"), ("live.js", "text/javascript"),
                       ("job.js", "text/javascript"), ("participate.js", "text/javascript"),
                       ("worker.js", "text/javascript")):
        reply = browser.get(f"/static/{name}")
        assert reply.code == 200 and reply.header("content-type").startswith(kind), name
    assert browser.get("/static/..%2fplugin.py").code == 404
    assert browser.get("/static/nope.js").code == 404


def test_unknown_pages_get_an_html_404(farm):
    reply = farm.browser().get("/no/such/page")
    assert reply.code == 404 and "Not found" in reply.text


def test_join_logs_in_and_grants_the_starting_credit(farm):
    browser = farm.browser()
    reply = browser.join("alice")
    assert reply.header("location") == "/jobs"
    jobs = browser.get("/jobs")
    assert jobs.code == 200 and "alice" in jobs.text and "3,600" in jobs.text


def test_join_shows_each_error_beside_its_field(farm):
    browser = farm.browser()
    token = browser.get("/join").csrf()
    reply = browser.post("/join", {"csrf": token, "name": "x", "email": "nope",
                                   "password": "secret-one", "password2": "secret-two"})
    assert reply.code == 400
    assert reply.field_error("password2") == "The two passwords differ."
    reply = browser.post("/join", {"csrf": token, "name": "x", "email": "",
                                   "password": "secret-one", "password2": "secret-one"})
    assert "3 to 32 characters" in reply.field_error("name")
    assert 'value="x"' in reply.text        # what the user typed is kept


def test_login_logout_cycle_and_session_rotation(farm):
    browser = farm.browser()
    browser.join("alice")
    first = dict(browser.cookies)
    token = browser.get("/jobs").csrf()
    assert browser.post("/logout", {"csrf": token}).code == 303
    assert browser.get("/jobs").code == 401
    reply = browser.login("alice")
    assert reply.code == 303 and reply.header("location") == "/jobs"
    assert browser.cookies != first
    wrong = farm.browser().form_post("/login", "/login", {"name": "alice", "password": "nope-nope"})
    assert wrong.code == 400 and wrong.field_error("form") == "Wrong name or password."


def test_login_is_rate_limited(farm):
    farm.browser().join("alice")
    attacker = farm.browser()
    for _ in range(5):
        attacker.form_post("/login", "/login", {"name": "alice", "password": "guess-guess"})
    reply = attacker.form_post("/login", "/login", {"name": "alice", "password": "correct horse battery"})
    assert reply.code == 429 and "Too many failed logins" in reply.field_error("form")


def test_login_never_redirects_off_site(farm):
    farm.browser().join("alice")
    browser = farm.browser()
    reply = browser.form_post("/login", "/login", {"name": "alice", "password": "correct horse battery",
                                                   "next": "https://evil.example/"})
    assert reply.header("location") == "/jobs"


@pytest.mark.parametrize("path,fields", [
    ("/join", {"name": "mallory", "password": "aaaaaaaaaa", "password2": "aaaaaaaaaa"}),
    ("/login", {"name": "alice", "password": "correct horse battery"}),
    ("/feedback", {"message": "spam"}),
    ("/logout", {}),
])
def test_forged_csrf_tokens_are_refused_with_a_page(farm, path, fields):
    browser = farm.browser()
    browser.join("alice")
    for token in ("forged", "", None):
        data = dict(fields) if token is None else {**fields, "csrf": token}
        reply = browser.post(path, data)
        assert reply.code == 403 and "Form expired" in reply.text, (path, token)
    assert farm.browser().post(path, {**fields, "csrf": "x"}).code == 403    # no session at all


def test_feedback_is_stored_server_side(farm):
    browser = farm.browser()
    browser.join("alice")
    reply = browser.form_post("/feedback", "/feedback", {"message": "Lovely <b>farm</b>", "contact": ""})
    assert reply.code == 200 and "Thank you" in reply.text
    assert "Lovely &lt;b&gt;farm&lt;/b&gt;" in reply.text          # escaped, listed as theirs
    stored = result_of(farm.parts["services"].feedback.recent())
    assert stored[0]["message"] == "Lovely <b>farm</b>" and stored[0]["author"] == "alice"
    empty = browser.form_post("/feedback", "/feedback", {"message": "   "})
    assert empty.code == 400 and empty.field_error("message") == "Write a message first."


def test_download_page_explains_the_native_agent_and_issues_keys(farm):
    anonymous = farm.browser().get("/download")
    assert "gridhost agent --url http://farm.test/naclgrid/ --key YOUR_AGENT_KEY" in anonymous.text
    browser = farm.browser()
    browser.join("alice")
    reply = browser.form_post("/download", "/download/keys", {"role": "agent"})
    key = re.search(r'data-field="new-key">(ngk_[0-9a-f_]+)<', reply.text).group(1)
    assert f"--key {key}" in reply.text
    principal = result_of(farm.parts["keys"].verify_bearer(key))
    assert (principal.user, principal.role) == ("alice", "agent")
    bad = browser.form_post("/download", "/download/keys", {"role": "admin"})
    assert bad.code == 400


def test_participate_issues_an_agent_key_to_anonymous_visitors_once(farm):
    browser = farm.browser()
    page = browser.get("/participate")
    token = page.csrf()
    identity = re.search(r'data-field="identity">([^<]+)<', page.text).group(1)
    assert identity.startswith("anon-")
    answer = browser.post("/participate/key", headers={"X-CSRF-Token": token}, body=b"").json()
    assert answer["user"] == identity and answer["api"] == "/naclgrid/"
    principal = result_of(farm.parts["keys"].verify_bearer(answer["key"]))
    assert (principal.user, principal.role) == (identity, "agent")
    again = browser.post("/participate/key", headers={"X-CSRF-Token": token}, body=b"").json()
    assert again["key"] == answer["key"]
    forged = browser.post("/participate/key", headers={"X-CSRF-Token": "nope"}, body=b"")
    assert forged.code == 403 and forged.json()["error"] == "forbidden"


def test_participate_key_of_a_member_is_in_their_name(farm):
    browser = farm.browser()
    browser.join("alice")
    token = browser.get("/participate").csrf()
    answer = browser.post("/participate/key", headers={"X-CSRF-Token": token}, body=b"").json()
    assert answer["user"] == "alice"


def test_volunteer_keys_are_rate_limited_per_address(tmp_path):
    farm = Farm(tmp_path, volunteer_keys_per_hour=2)
    codes = []
    for _ in range(3):
        browser = farm.browser()
        token = browser.get("/participate").csrf()
        codes.append(browser.post("/participate/key", headers={"X-CSRF-Token": token}, body=b"").code)
    assert codes == [200, 200, 429]


def test_status_and_leaderboard_show_the_ledger(farm):
    browser = farm.browser()
    browser.join("alice")
    job = result_of(farm.master.submit("alice", {"scene.xml": b"<scene/>"}, {"scene": "scene.xml"}))
    farm.finish_tiles(job, user="bob", seconds=2.0)
    figures = browser.get("/api/figures")
    farm.clock.advance(2)
    figures = browser.get("/api/figures").json()
    assert figures["tasks_done"] == 4 and figures["cpu_seconds"] == 8.0
    assert figures["nodes_online"] == 1
    board = browser.get("/leaderboard")
    rows = re.findall(r"<tr[^>]*><td>(\d+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td>"
                      r"<td class=\"num\">([^<]+)</td></tr>", board.text)
    assert rows == [("1", "bob", "8.0", "0.0"), ("2", "alice", "0.0", "8.0")]
    status = browser.get("/status")
    assert "agent-1" in status.text and "bob" in status.text


def test_the_site_works_mounted_below_a_path(farm):
    from twisted.web.resource import Resource
    from treq.testing import StubTreq

    root = Resource()
    root.putChild(b"farm", farm.site.resource())
    browser = farm.browser()
    browser.stub = StubTreq(root)
    home = browser.get("/farm/")
    assert home.code == 200 and '<base href="/farm/">' in home.text
    token = browser.get("/farm/join").csrf()
    reply = browser.post("/farm/join", {"csrf": token, "name": "alice", "email": "",
                                        "password": "correct horse battery",
                                        "password2": "correct horse battery"})
    assert reply.code == 303 and reply.header("location") == "/farm/jobs"


NASTY = [
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n", "multipart/form-data; boundary=x"),
    (b"a=1", "multipart/form-data"),
    (b"{}", "application/json"),
    (b"name=" + b"%FF" * 10, "application/x-www-form-urlencoded"),
    (b"x" * 70_000, "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("path", ["/join", "/login", "/logout", "/feedback", "/submit",
                                  "/download/keys", "/jobs/abc/cancel", "/participate/key"])
@pytest.mark.parametrize("body,kind", NASTY)
def test_junk_posts_get_a_4xx_never_a_500(farm, path, body, kind):
    browser = farm.browser()
    browser.join("alice")
    reply = browser.request("POST", path, body=body, headers={"Content-Type": kind})
    assert 400 <= reply.code < 500, (path, reply)
