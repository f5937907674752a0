"""Two ``twistd -n gridhost`` servers on one real Redis serve one site:
a session, its CSRF token, login rate limits, credit and feedback made on
one server are seen by the other."""

import json
import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest

from tests.corefarm.browser_support import PASSWORD, farm_server
from gridhost.testing import RedisServer

pytestmark = pytest.mark.integration


class Visitor:
    """One browser (one cookie jar) that may talk to either server."""

    def __init__(self):
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, url, form=None):
        data = urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def csrf(html):
    return re.search(r'<form[^>]*class="card"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"',
                     html).group(1)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        with farm_server(tmp_path_factory.mktemp("a"), store=redis.url) as a, \
                farm_server(tmp_path_factory.mktemp("b"), store=redis.url) as b:
            yield a, b
    finally:
        redis.kill()


def test_a_session_and_its_csrf_token_work_on_every_server(servers):
    a, b = servers
    alice = Visitor()
    status, html = alice.open(a.url + "/join")
    alice.open(a.url + "/join", {"csrf": csrf(html), "name": "alice", "email": "",
                                 "password": PASSWORD, "password2": PASSWORD})
    status, html = alice.open(b.url + "/jobs")
    assert status == 200 and '<span class="who">alice</span>' in html
    # A form rendered by server A is accepted by server B.
    status, html = alice.open(a.url + "/feedback")
    status, html = alice.open(b.url + "/feedback", {"csrf": csrf(html), "message": "from A to B"})
    assert status == 200 and "Thank you" in html
    status, html = alice.open(a.url + "/feedback")
    assert "from A to B" in html
    status, figures = 200, json.loads(alice.open(b.url + "/api/me")[1])
    assert figures["user"] == "alice" and figures["balance"] == 3600


def test_login_limits_count_across_servers(servers):
    a, b = servers
    owner = Visitor()
    status, html = owner.open(a.url + "/join")
    owner.open(a.url + "/join", {"csrf": csrf(html), "name": "bob", "email": "",
                                 "password": PASSWORD, "password2": PASSWORD})
    attacker = Visitor()
    for i in range(5):
        server = (a, b)[i % 2]
        status, html = attacker.open(server.url + "/login")
        status, html = attacker.open(server.url + "/login", {"csrf": csrf(html), "name": "bob",
                                                             "password": f"guess-{i}-guess"})
        assert status == 400
    status, html = attacker.open(b.url + "/login")
    status, html = attacker.open(b.url + "/login", {"csrf": csrf(html), "name": "bob", "password": PASSWORD})
    assert status == 429 and "Too many failed logins" in html


def test_a_name_is_taken_once_across_servers(servers):
    a, b = servers
    first, second = Visitor(), Visitor()
    _, html_a = first.open(a.url + "/join")
    _, html_b = second.open(b.url + "/join")
    form = {"name": "carol", "email": "", "password": PASSWORD, "password2": PASSWORD}
    status_a, _ = first.open(a.url + "/join", {**form, "csrf": csrf(html_a)})
    status_b, html = second.open(b.url + "/join", {**form, "csrf": csrf(html_b)})
    assert status_a == 200 and status_b == 400 and "This name is taken." in html
