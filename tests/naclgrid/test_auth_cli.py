"""``gridhost keys``: create, list and revoke, on a memory store's key file and on Redis."""

import subprocess
import sys

import pytest
from twisted.internet.task import Clock

from naclgrid.auth import KeyService
from naclgrid.auth.filestore import FileKeyStore
from naclgrid.cli_keys import main
from tests.naclgrid.api_support import failure_of, result_of

CLI = [sys.executable, "-c", "import sys; from naclgrid.cli_keys import main; sys.exit(main(sys.argv[1:]))"]


def config(tmp_path, store="memory"):
    path = tmp_path / "gridhost.toml"
    path.write_text(
        f'[server]\nlisten = ["tcp:0:interface=127.0.0.1"]\nstore = "{store}"\n'
        f'data_dir = "{tmp_path / "data"}"\n[app.naclgrid]\n'
        '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/naclgrid"\napp = "naclgrid"\n')
    return str(path)


def server_keys(tmp_path):
    """The KeyService a memory-store server builds over the same data dir."""
    return KeyService(FileKeyStore(str(tmp_path / "data" / "naclgrid" / "keys.json")), Clock())


def test_create_list_revoke_on_a_memory_store(tmp_path, capsys):
    cfg = config(tmp_path)
    assert main(["create", "--role", "submitter", "--user", "alice", "--config", cfg]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("ngk_") and "for user alice" in err
    principal = result_of(server_keys(tmp_path).verify_bearer(key))
    assert (principal.role, principal.user) == ("submitter", "alice")

    assert main(["--config", cfg, "list"]) == 0
    out, _ = capsys.readouterr()
    key_id = key.split("_")[1]
    assert key_id in out and "alice" in out and key.split("_")[2] not in out

    assert main(["revoke", key, "--config", cfg]) == 0
    assert failure_of(server_keys(tmp_path).verify_bearer(key)).code == "unauthorized"
    assert main(["revoke", key_id, "--config", cfg]) == 1
    assert "no such key" in capsys.readouterr().err


def test_bad_arguments_are_messages_not_tracebacks(tmp_path, capsys):
    cfg = config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["create", "--role", "root", "--config", cfg])
    assert exit_.value.code == 2
    assert main(["create", "--role", "agent", "--user", "no spaces", "--config", cfg]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nbogus = 1\n")
    assert main(["list", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "bogus" in err


@pytest.mark.integration
def test_create_list_revoke_on_redis(tmp_path, redis_server):
    redis_server.flush()
    cfg = config(tmp_path, redis_server.url)

    def run(*args):
        return subprocess.run([*CLI, *args, "--config", cfg], capture_output=True, text=True,
                              timeout=60)

    created = run("create", "--role", "agent", "--user", "farm")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    listed = run("list")
    assert key.split("_")[1] in listed.stdout and "farm" in listed.stdout
    assert run("revoke", key).returncode == 0
    assert key.split("_")[1] not in run("list").stdout
    # Only the hash ever reached Redis.
    dump = subprocess.run(["redis-cli", "-p", str(redis_server.port), "--no-raw", "HGETALL", "ng:keys"],
                          capture_output=True, text=True, timeout=10).stdout
    assert key.split("_")[1] in dump and key.split("_")[2] not in dump


@pytest.mark.integration
def test_unreachable_redis_is_a_message(tmp_path):
    from gridhost.testing import free_port

    cfg = config(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    done = subprocess.run([*CLI, "--timeout", "1", "list", "--config", cfg],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "cannot reach the store" in done.stderr and "Traceback" not in done.stderr
