"""Host and site routing, operations endpoints, and hostile paths."""

import json
import tomllib

import pytest
from treq.testing import StubTreq

from gridhost.core.config import validate
from gridhost.core.service import GridHostService
from gridhost.testing import result_of
from tests.core.fakes import FakeApp

CONFIG = """
[server]
data_dir = "{data}"
[app.naclgrid]
greeting = "grid"
[app.corefarm]
greeting = "farm"
[[host]]
names = ["farm.example", "localhost"]
[[host.site]]
path = "/"
app = "corefarm"
[[host.site]]
path = "/api/grid"
app = "naclgrid"
[[host]]
names = ["grid.example"]
[[host.site]]
path = "/"
app = "naclgrid"
[[host.site]]
path = "/again"
app = "naclgrid"
"""


@pytest.fixture
def host(tmp_path, clock):
    events = []
    apps = {"naclgrid": FakeApp("naclgrid", events=events),
            "corefarm": FakeApp("corefarm", requires=("naclgrid",), events=events)}
    config, errors = validate(tomllib.loads(CONFIG.format(data=tmp_path)), apps)
    assert errors == []
    service = GridHostService.from_config(config, apps, clock, listen=[])
    service.events = events
    service.apps = apps
    return service


def get(host, url, headers=None):
    http = StubTreq(host.site.resource)
    response = result_of(http.get(url, headers=headers or {}))
    return response.code, result_of(response.content()), response


def test_two_virtual_hosts_serve_different_apps(host):
    assert get(host, "http://farm.example/jobs/1")[:2] == (200, b"farm jobs/1")
    assert get(host, "http://localhost:8080/")[:2] == (200, b"farm ")
    assert get(host, "http://farm.example/api/grid/pop")[:2] == (200, b"grid pop")
    assert get(host, "http://grid.example/pop")[:2] == (200, b"grid pop")
    assert get(host, "http://GRID.example:99/again/x")[:2] == (200, b"grid x")


def test_unknown_host_is_404_json(host):
    code, body, response = get(host, "http://evil.example/")
    assert code == 404
    assert json.loads(body) == {"error": "unknown_host", "message": "no site is served for host 'evil.example'"}


def test_host_header_is_what_counts(host):
    code, body, _ = get(host, "http://farm.example/", headers={"Host": "grid.example"})
    assert (code, body) == (200, b"grid ")


@pytest.mark.parametrize("path", ["/a/../b", "/%2e%2e/etc/passwd", "/x/%2F/y", "/a/./b", "/x%00y"])
def test_path_traversal_is_refused(host, path):
    code, body, _ = get(host, "http://farm.example" + path)
    assert code == 400
    assert json.loads(body)["error"] == "bad_path"


def test_dependency_api_is_handed_over(host):
    _, context = host.apps["corefarm"].built_with
    assert context.dependencies == {"naclgrid": {"name": "naclgrid", "deps": {}}}
    assert context.data_dir.basename() == "corefarm" and context.data_dir.isdir()


def test_healthz_and_metrics_on_every_host(host):
    host.startService()
    code, body, _ = get(host, "http://grid.example/healthz")
    assert code == 200
    assert json.loads(body) == {"ok": True, "store": {"ok": True, "kind": "memory"},
                                "apps": {"naclgrid": {"ok": True}, "corefarm": {"ok": True}}}
    get(host, "http://farm.example/api/grid/x")
    get(host, "http://farm.example/api/grid/y")
    code, body, response = get(host, "http://farm.example/metrics")
    assert code == 200
    assert response.headers.getRawHeaders("content-type")[0].startswith("text/plain")
    text = body.decode()
    assert 'gridhost_requests_total{code="200",method="GET",site="naclgrid:/api/grid"} 2.0' in text
    assert 'gridhost_request_seconds_count{site="naclgrid:/api/grid"} 2.0' in text


def test_unhealthy_app_gives_503(tmp_path, clock):
    apps = {"naclgrid": FakeApp("naclgrid", healthy=False)}
    config, _ = validate(tomllib.loads(
        f'[server]\ndata_dir="{tmp_path}"\n[[host]]\nnames=["*"]\n[[host.site]]\npath="/"\napp="naclgrid"'), apps)
    service = GridHostService.from_config(config, apps, clock, listen=[])
    code, body, _ = get(service, "http://x/healthz")
    assert code == 503 and json.loads(body)["apps"] == {"naclgrid": {"ok": False}}


def test_apps_start_in_order_and_stop_in_reverse(host):
    host.startService()
    result_of(host.stopService())
    assert host.events == [("start", "naclgrid"), ("start", "corefarm"),
                           ("stop", "corefarm"), ("stop", "naclgrid")]


def test_apps_learn_their_local_url_once_listening(tmp_path, clock):
    from twisted.internet import reactor  # a real listener needs the real reactor

    apps = {"naclgrid": FakeApp("naclgrid")}
    config, _ = validate(tomllib.loads(
        f'[server]\ndata_dir="{tmp_path}"\n[[host]]\nnames=["*"]\n[[host.site]]\npath="/grid"\napp="naclgrid"'),
        apps)
    service = GridHostService.from_config(config, apps, reactor, listen=["tcp:0:interface=127.0.0.1"])
    _, context = apps["naclgrid"].built_with
    assert context.mounts == ((("*",), "/grid"),)
    assert context.url_on_this_machine() is None  # nothing bound yet
    service.privilegedStartService()
    try:
        port = service.ports[0].getHost().port
        assert context.url_on_this_machine() == f"http://127.0.0.1:{port}/grid/"
        assert (tmp_path / "ports").read_text() == f"{port}\n"
    finally:
        service.ports[0].stopListening()


def test_an_unusual_method_is_counted_as_other(host):
    # The client picks the method: metric labels must not grow with its whims.
    http = StubTreq(host.site.resource)
    result_of(http.request("FROB", "http://farm.example/jobs/1"))
    result_of(http.request("GET", "http://farm.example/jobs/1"))
    body = get(host, "http://farm.example/metrics")[1].decode()
    assert 'method="other",site="corefarm:/"' in body
    assert 'method="GET",site="corefarm:/"' in body
    assert "FROB" not in body
