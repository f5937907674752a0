"""Black-box: a real ``twistd -n gridhost`` process, on a free port."""

import subprocess
import sys

import pytest

from gridhost.testing import TWISTD, GridhostProcess

pytestmark = pytest.mark.integration

CONFIG = """
[server]
listen = ["tcp:0:interface=127.0.0.1"]
data_dir = "{data}"
max_request_bytes = 65536
plugin_dirs = ["{examples}"]

[app.guestbook]
title = "Smoke guestbook"

[[host]]
names = ["*"]
[[host.site]]
path = "/naclgrid"
app = "naclgrid"
[[host.site]]
path = "/"
app = "corefarm"
[[host.site]]
path = "/guestbook"
app = "guestbook"
"""


@pytest.fixture
def examples_dir(request):
    return request.config.rootpath / "examples" / "plugins"


@pytest.fixture
def server(tmp_path, examples_dir):
    config = tmp_path / "gridhost.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", examples=examples_dir))
    proc = GridhostProcess(config, tmp_path / "data")
    yield proc.start()
    proc.kill()


def test_smoke_serves_every_app_and_stops_cleanly_on_sigterm(server, tmp_path):
    status, health = server.get_json("/healthz")
    assert status == 200, health
    assert health["ok"] is True
    assert set(health["apps"]) == {"naclgrid", "corefarm", "guestbook"}

    status, body, headers = server.get("/")
    assert status == 200 and b"Corefarm" in body
    status, spec = server.get_json("/naclgrid/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    status, body, _ = server.get("/guestbook/")
    assert status == 200 and b"Smoke guestbook" in body

    status, body, headers = server.get("/metrics")
    assert status == 200
    assert b'gridhost_requests_total{code="200",method="GET",site="corefarm:/"}' in body

    status, _, _ = server.get("/", headers={"Host": "no-such-host.example"})
    assert status == 200  # "*" serves every host
    status, error = server.get_json("/a/%2e%2e/etc/passwd")
    assert status == 400 and error["error"] == "bad_path"

    status, error = server.post_json("/guestbook/sign", b"name=x&message=" + b"y" * 70000)
    assert status == 413 and error == {"error": "too_large",
                                       "message": "the request body is larger than 65536 bytes"}

    assert server.terminate(timeout=5) == 0
    log = server.output()
    assert "Traceback" not in log
    assert log.index("listeners closed") < log.index("Main loop terminated")
    # Request lines go to DATA_DIR/access.log, not through the twistd log.
    access = (tmp_path / "data" / "access.log").read_text()
    assert '"GET /healthz HTTP/1.1" 200' in access and '"GET /guestbook/ HTTP/1.1" 200' in access
    assert "GET /healthz" not in log


def test_bad_config_refuses_to_start(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nlisten = ["tpc:80"]\n[[host]]\nnames = ["*"]\n'
                      '[[host.site]]\npath = "/"\napp = "nacl"\n')
    run = subprocess.run([*TWISTD, "-n", "--pidfile=", "gridhost", "--config", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "server.listen[0]: bad endpoint 'tpc:80': Unknown endpoint type: 'tpc'" in out
    assert "host[0].site[0].app: no installed app named 'nacl' (installed: naclgrid, corefarm)" in out
    assert "Traceback" not in out


def test_check_config_command(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "naclgrid"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nbogus = 1\n[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "nacl"\n')
    cli = [sys.executable, "-m", "gridhost.core.cli", "check-config"]
    ok = subprocess.run([*cli, str(good)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "ok (1 host, 1 site, apps: naclgrid)" in ok.stdout
    failed = subprocess.run([*cli, str(bad)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"{bad}: 2 errors",
        "  server.bogus: unknown key",
        "  host[0].site[0].app: no installed app named 'nacl' (installed: naclgrid, corefarm)",
    ]


def test_json_log_option(tmp_path, examples_dir):
    import json

    config = tmp_path / "gridhost.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", examples=examples_dir))
    log_path = tmp_path / "events.json"
    proc = GridhostProcess(config, tmp_path / "data", extra_args=["--log-json", str(log_path)])
    proc.start()
    try:
        assert proc.get("/healthz")[0] == 200
        assert proc.terminate(timeout=5) == 0
    finally:
        proc.kill()
    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    listening = [e for e in events if e.get("log_namespace") == "gridhost.host" and "port" in e]
    assert listening and listening[0]["port"] == proc.port
