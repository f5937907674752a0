"""``gridhost agent`` options: flags, TOML file, key sources, errors."""

import pytest

from naclgrid.agent.cli import main
from naclgrid.agent.config import ConfigError, load_config

KEY = "ngk_" + "a" * 16 + "_" + "b" * 64


def test_flags_and_defaults():
    config = load_config(["--url", "http://h:8080/naclgrid", "--key", KEY], environ={},
                         cpu_count=3)
    assert config.url == "http://h:8080/naclgrid/"
    assert config.slots == 3 and config.poll_wait == 10 and config.applications is None
    assert config.node and config.scheme == "bearer"


def test_toml_file_and_flags_override_it(tmp_path):
    key_file = tmp_path / "agent.key"
    key_file.write_text(KEY + "\n")
    path = tmp_path / "agent.toml"
    path.write_text(f'[agent]\nurl = "http://h/naclgrid/"\nkey_file = "{key_file}"\n'
                    'slots = 4\napplications = ["echo", "pi"]\nnode = "box-1"\n')
    config = load_config(["--config", str(path), "--slots", "2"], environ={})
    assert (config.key, config.slots, config.node) == (KEY, 2, "box-1")
    assert config.applications == ["echo", "pi"]


def test_key_from_the_environment():
    config = load_config(["--url", "http://h/"], environ={"NACLGRID_KEY": KEY})
    assert config.key == KEY


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text('url = "ftp://x"\nslots = "many"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(["--config", str(path), "--poll-wait", "99", "--status", "loud"], environ={})
    errors = caught.value.errors
    assert any("unknown key 'colour'" in e for e in errors)
    assert any("slots must be an integer" in e for e in errors)
    assert any("'ftp://x' is not an http(s) URL" in e for e in errors)
    assert any("an agent key is required" in e for e in errors)
    assert any("--poll-wait: must be 1..60" in e for e in errors)
    assert any("--status: must be auto" in e for e in errors)


def test_bad_toml_is_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "agent.toml"
    path.write_text("url = \n")
    assert main(["--config", str(path), "--key", KEY]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "Traceback" not in err


def test_a_malformed_key_is_refused():
    with pytest.raises(ConfigError, match="does not look like"):
        load_config(["--url", "http://h/", "--key", "secret"], environ={})
