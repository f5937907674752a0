"""Config validation: every bad config is reported at once, with its location."""

import tomllib

import pytest

from gridhost.core.config import DEFAULT_TABLE, load_config_file, read_toml, validate
from tests.core.fakes import FakeApp


@pytest.fixture
def apps():
    return {"naclgrid": FakeApp("naclgrid"), "corefarm": FakeApp("corefarm", requires=("naclgrid",))}


SITE = '\n[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "naclgrid"\n'

BAD = [
    ('[server]\nbogus = 1' + SITE, ["server.bogus: unknown key"]),
    ('colour = "red"' + SITE, ["colour: unknown key"]),
    ('[server]\nlisten = "tcp:80"' + SITE, ["server.listen: expected a list of non-empty strings, got a string"]),
    ('[server]\nlisten = []' + SITE, ["server.listen: needs at least one endpoint"]),
    ('[server]\nlisten = ["tpc:80"]' + SITE, ["server.listen[0]: bad endpoint 'tpc:80': Unknown endpoint type: 'tpc'"]),
    ('[server]\nstore = "postgres://x"' + SITE, ["server.store: expected 'memory' or a redis:// URL, got 'postgres://x'"]),
    ('[server]\nstore = 5' + SITE, ["server.store: expected 'memory' or a redis:// URL, got an integer"]),
    ('[server]\nstore = "redis://h:port"' + SITE, ["server.store: redis URL 'redis://h:port' has a bad port"]),
    ('[server]\nstore = "redis:///0"' + SITE, ["server.store: redis URL 'redis:///0' has no host"]),
    ('[server]\nplugin_dirs = ["/no/such/dir"]' + SITE, ["server.plugin_dirs[0]: no such directory '/no/such/dir'"]),
    ('[server]\nlog_format = "xml"' + SITE, ["server.log_format: expected 'text' or 'json'"]),
    ('[server]\ndata_dir = ""' + SITE, ["server.data_dir: expected a non-empty string"]),
    ('[server]\nmax_request_bytes = 10' + SITE,
     ["server.max_request_bytes: expected a whole number of bytes from 1024 to 68719476736"]),
    ('[server]', ["host: no [[host]] configured: nothing would be served"]),
    ('[[host]]\nnames = ["*"]', ["host[0].site: a host needs at least one [[host.site]]"]),
    ('[[host]]\n[[host.site]]\npath = "/"\napp = "naclgrid"',
     ['host[0].names: missing (use ["*"] to match any host)']),
    ('[[host]]\nnames = ["*"]\nport = 80\n[[host.site]]\npath = "/"\napp = "naclgrid"', ["host[0].port: unknown key"]),
    (SITE + '[[host]]\nnames = ["a"]\n[[host.site]]\npath = "/"\napp = "naclgrid"\n[[host]]\nnames = ["b"]\n'
     '[[host.site]]\npath = "/"\napp = "nacl"',
     ["host[2].site[0].app: no installed app named 'nacl' (installed: naclgrid, corefarm)"]),
    ('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "x"\napp = "naclgrid"',
     ["host[0].site[0].path: expected a path starting with '/'"]),
    ('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/a/../b"\napp = "naclgrid"',
     ["host[0].site[0].path: bad path '/a/../b': no '.', '..', '%', backslashes or empty segments"]),
    ('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/metrics"\napp = "naclgrid"',
     ["host[0].site[0].path: /metrics is reserved for the host's own endpoint"]),
    ('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/a"\napp = "naclgrid"\n[[host.site]]\npath = "/a/"\napp = "corefarm"',
     ["host[0].site[1].path: /a is already mounted by host[0].site[0]"]),
    ('[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"', ["host[0].site[0].app: missing app name"]),
    (SITE + '[[host]]\nnames = ["*", "x"]\n[[host.site]]\npath = "/"\napp = "naclgrid"',
     ["host[1].names: '*' is already served by host[0]"]),
    ('[app.nacl]\n' + SITE, ["app.nacl: no installed app named 'nacl' (installed: naclgrid, corefarm)"]),
    ('[app.naclgrid]\ncolour = 1' + SITE, ["app.naclgrid: colour: unknown option"]),
    ('app = 3' + SITE, ["app: expected [app.NAME] tables"]),
    ('host = 3', ["host: expected one or more [[host]] tables"]),
]


@pytest.mark.parametrize("text,expected", BAD, ids=[e[0] for _, e in BAD])
def test_bad_config_exact_message(apps, text, expected):
    config, errors = validate(tomllib.loads(text), apps)
    assert config is None
    assert errors == expected


def test_every_error_reported_at_once(apps):
    text = ('[server]\nbogus = 1\nlisten = ["tpc:1"]\n[app.corefarm]\ncolour = 2\n'
            '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "nacl"\n')
    _, errors = validate(tomllib.loads(text), apps)
    assert errors == [
        "server.bogus: unknown key",
        "server.listen[0]: bad endpoint 'tpc:1': Unknown endpoint type: 'tpc'",
        "host[0].site[0].app: no installed app named 'nacl' (installed: naclgrid, corefarm)",
        "app.corefarm: colour: unknown option",
    ]


def test_dependencies_are_built_first_and_added(apps):
    text = '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "corefarm"\n'
    config, errors = validate(tomllib.loads(text), apps)
    assert errors == []
    assert list(config.apps) == ["naclgrid", "corefarm"]


def test_dependency_cycle_and_missing_dependency():
    apps = {"a": FakeApp("a", requires=("b",)), "b": FakeApp("b", requires=("a",)),
            "c": FakeApp("c", requires=("zzz",))}
    text = '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/"\napp = "a"\n[[host.site]]\npath = "/c"\napp = "c"\n'
    _, errors = validate(tomllib.loads(text), apps)
    assert errors == ["app.a: dependency cycle: a -> b -> a",
                      "app.c: requires 'zzz', which is not installed (installed: a, b, c)"]


def test_several_hosts_and_same_app_twice(apps):
    text = ('[server]\nlisten = ["tcp:0:interface=127.0.0.1", "tcp:0"]\nstore = "redis://127.0.0.1:6390/2"\n'
            '[[host]]\nnames = ["A.example", "b.example"]\n[[host.site]]\npath = "/grid"\napp = "naclgrid"\n'
            '[[host.site]]\npath = "/"\napp = "corefarm"\n'
            '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/api/v1/"\napp = "naclgrid"\n')
    config, errors = validate(tomllib.loads(text), apps)
    assert errors == []
    assert config.hosts[0].names == ("a.example", "b.example")
    assert [s.path for s in config.hosts[1].sites] == ["/api/v1"]
    assert config.server.store == "redis://127.0.0.1:6390/2"


def test_default_is_valid(apps):
    config, errors = validate(DEFAULT_TABLE, apps)
    assert errors == []
    assert config.server.store == "memory" and config.server.listen == ("tcp:8080",)
    assert [(s.path, s.app) for s in config.hosts[0].sites] == [("/naclgrid", "naclgrid"), ("/", "corefarm")]


@pytest.mark.parametrize("content,expected", [
    (b"[server\nlisten=1", "TOML syntax error: Expected ']' at the end of a table declaration (at line 1, column 8)"),
    (b"\xff\xfe", "the config file is not UTF-8 text"),
    (b"a = 1\n" * 300_000, "the config file is larger than 1048576 bytes"),
])
def test_hostile_files(tmp_path, content, expected):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    _, errors = read_toml(path)
    assert errors == [f"{path}: {expected}"]


def test_missing_file(tmp_path):
    _, errors = load_config_file(tmp_path / "nope.toml", apps={})
    assert errors == [f"{tmp_path / 'nope.toml'}: cannot read the config file (No such file or directory)"]


def test_crashing_app_checker_is_reported(apps):
    class Crashy(FakeApp):
        def check_config(self, section):
            raise KeyError("oops")

    apps["naclgrid"] = Crashy("naclgrid")
    _, errors = validate(tomllib.loads(SITE), apps)
    assert errors == ["app.naclgrid: the app's config check crashed: KeyError('oops')"]
