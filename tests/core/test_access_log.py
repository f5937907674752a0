"""``[server] access_log``: a file (the default, in data_dir), "off", or "-"."""

import tomllib

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from gridhost.core import accesslog
from gridhost.core.accesslog import AccessLogError
from gridhost.core.config import validate
from gridhost.core.service import GridHostService
from tests.core.fakes import FakeApp

SITE = '\n[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "naclgrid"\n'


def config_for(data_dir, access_log=None, apps=None):
    server = f'[server]\ndata_dir = "{data_dir}"\n'
    if access_log is not None:
        server += f"access_log = {access_log!r}\n".replace("'", '"')
    config, errors = validate(tomllib.loads(server + SITE), apps or {"naclgrid": FakeApp("naclgrid")})
    assert errors == []
    return config


@pytest.fixture
def serve(tmp_path, clock):
    """Build a host for an access_log setting, start its Site as a listener
    would, and send it raw HTTP; stops the Site at the end."""
    started = []

    def serve(access_log=None):
        service = GridHostService.from_config(config_for(tmp_path, access_log), {"naclgrid": FakeApp("naclgrid")},
                                              clock, listen=[])
        service.site.doStart()
        started.append(service.site)
        return service.site

    yield serve
    for site in started:
        site.doStop()


def send(site, raw):
    channel = site.buildProtocol(IPv4Address("TCP", "10.1.2.3", 40000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "10.1.2.3", 40000))
    channel.makeConnection(transport)
    channel.dataReceived(raw)
    channel.connectionLost(None)
    return transport.value()


GET = b"GET /hello?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: probe/1\r\n\r\n"


@pytest.fixture
def legacy_lines():
    """Access lines that went through the twistd (legacy) log."""
    lines = []

    def observe(event):
        text = str(event.get("log_io", ""))
        if "GET /hello" in text:
            lines.append(text)

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


@pytest.mark.parametrize("value,target", [
    (None, "DATA/access.log"),
    ("off", "off"),
    ("-", "-"),
    ("stdout", "-"),
    ("logs/requests.log", "logs/requests.log"),
])
def test_valid_settings(tmp_path, value, target):
    config = config_for(tmp_path, value)
    assert config.server.access_log_target() == target.replace("DATA", str(tmp_path))


@pytest.mark.parametrize("line,message", [
    ("access_log = 5", "expected a file path, 'off' or '-' (the twistd log), got an integer"),
    ('access_log = ""', "expected a file path, 'off' or '-' (the twistd log)"),
    ('access_log = ["a.log"]', "expected a file path, 'off' or '-' (the twistd log), got a list"),
    ('access_log = "logs/"', "'logs/' is a directory; name a file inside it"),
    ('access_log = "a\\u0000b"', "the path contains a NUL character"),
])
def test_bad_settings_are_reported_with_the_other_errors(line, message):
    text = f'[server]\n{line}\nlog_format = "xml"\nbogus = 1\n[[host]]\nnames = ["*"]\n'
    config, errors = validate(tomllib.loads(text), {"naclgrid": FakeApp("naclgrid")})
    assert config is None
    assert errors == [
        "server.bogus: unknown key",
        f"server.access_log: {message}",
        "server.log_format: expected 'text' or 'json'",
        "host[0].site: a host needs at least one [[host.site]]",
    ]


def test_an_existing_directory_is_refused(tmp_path):
    text = f'[server]\naccess_log = "{tmp_path}"' + SITE
    _, errors = validate(tomllib.loads(text), {"naclgrid": FakeApp("naclgrid")})
    assert errors == [f"server.access_log: '{tmp_path}' is a directory; name a file inside it"]


def test_by_default_a_request_lands_in_data_dir_access_log(tmp_path, serve, legacy_lines):
    site = serve()
    assert b"200 OK" in send(site, GET)
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith('"10.1.2.3" - - [')
    assert lines[0].endswith('"GET /hello?x=1 HTTP/1.1" 200 25 "-" "probe/1"')
    assert legacy_lines == []  # formatted once, not passed on to the twistd log
    assert (tmp_path / "access.log").stat().st_mode & 0o777 == 0o640


def test_a_configured_file_and_its_folder_are_created(tmp_path, serve):
    site = serve(str(tmp_path / "logs" / "web.log"))
    send(site, GET)
    send(site, GET)
    assert len((tmp_path / "logs" / "web.log").read_text().splitlines()) == 2
    assert not (tmp_path / "access.log").exists()


def test_off_writes_nothing_anywhere(tmp_path, serve, legacy_lines):
    site = serve("off")
    assert b"200 OK" in send(site, GET)
    assert not (tmp_path / "access.log").exists()
    assert legacy_lines == []


def test_dash_keeps_the_twistd_log(tmp_path, serve, legacy_lines):
    site = serve("-")
    send(site, GET)
    assert not (tmp_path / "access.log").exists()
    assert len(legacy_lines) == 1 and '"GET /hello?x=1 HTTP/1.1" 200 25' in legacy_lines[0]


def test_the_file_rotates_by_size_and_keeps_a_bounded_number(tmp_path, serve, monkeypatch):
    monkeypatch.setattr(accesslog, "ROTATE_BYTES", 300)
    monkeypatch.setattr(accesslog, "KEEP_ROTATED", 2)
    site = serve()
    for _ in range(20):
        send(site, GET)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("access.log"))
    assert names == ["access.log", "access.log.1", "access.log.2"]
    assert all(p.stat().st_size <= 300 + 120 for p in tmp_path.glob("access.log*"))


def test_the_file_is_reopened_when_listeners_start_again(tmp_path, serve):
    site = serve()
    send(site, GET)
    site.doStop()
    site.doStart()
    send(site, GET)
    assert len((tmp_path / "access.log").read_text().splitlines()) == 2


def test_a_file_that_cannot_be_opened_stops_the_host_before_any_app_is_built(tmp_path, clock):
    (tmp_path / "plain").write_text("not a folder")
    app = FakeApp("naclgrid")
    config = config_for(tmp_path, str(tmp_path / "plain" / "access.log"), {"naclgrid": app})
    with pytest.raises(AccessLogError) as caught:
        GridHostService.from_config(config, {"naclgrid": app}, clock, listen=[])
    assert str(caught.value) == (f"server.access_log: cannot open '{tmp_path / 'plain' / 'access.log'}' "
                                 "(its folder is a file)")
    assert app.built_with is None
