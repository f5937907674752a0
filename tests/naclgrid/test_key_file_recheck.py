"""keys.json is looked at once per second of the server clock, not per call."""

import os

import pytest
from twisted.internet.task import Clock

from naclgrid.auth import KeyService
from naclgrid.auth.filestore import RECHECK_SECONDS, FileKeyStore
from tests.naclgrid.api_support import failure_of, result_of


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(1_700_000_000)
    return clock


def counting_stat(monkeypatch):
    calls = []
    real = os.stat

    def stat(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr("naclgrid.auth.filestore.os.stat", stat)
    return calls


def test_the_server_stats_the_file_at_most_once_per_second(tmp_path, clock, monkeypatch):
    path = str(tmp_path / "keys.json")
    key, _ = result_of(KeyService(FileKeyStore(path), clock).create("agent", "farm"))
    server = KeyService(FileKeyStore(path, clock), clock)
    stats = counting_stat(monkeypatch)
    for _ in range(50):
        assert result_of(server.verify_bearer(key)).user == "farm"
    assert len(stats) == 1
    clock.advance(RECHECK_SECONDS)
    result_of(server.verify_bearer(key))
    assert len(stats) == 2


def test_a_key_made_by_the_cli_works_at_once(tmp_path, clock):
    path = str(tmp_path / "keys.json")
    cli = KeyService(FileKeyStore(path), clock)
    server = KeyService(FileKeyStore(path, clock), clock)
    first, _ = result_of(cli.create("agent", "one"))
    assert result_of(server.verify_bearer(first)).user == "one"  # the file is now cached
    second, _ = result_of(cli.create("agent", "two"))
    assert result_of(server.verify_bearer(second)).user == "two"  # no clock advance needed


def test_a_key_revoked_by_the_cli_stops_working_within_a_second(tmp_path, clock):
    path = str(tmp_path / "keys.json")
    cli = KeyService(FileKeyStore(path), clock)
    server = KeyService(FileKeyStore(path, clock), clock)
    key, record = result_of(cli.create("agent", "farm"))
    assert result_of(server.verify_bearer(key)).user == "farm"
    assert result_of(cli.revoke(record["key_id"]))
    clock.advance(RECHECK_SECONDS)
    assert failure_of(server.verify_bearer(key)).code == "unauthorized"


def test_the_servers_own_changes_are_seen_at_once(tmp_path, clock):
    server = KeyService(FileKeyStore(str(tmp_path / "keys.json"), clock), clock)
    key, record = result_of(server.create("agent", "farm"))
    assert result_of(server.verify_bearer(key)).user == "farm"
    assert result_of(server.revoke(record["key_id"]))
    assert failure_of(server.verify_bearer(key)).code == "unauthorized"
    assert result_of(server.list()) == []


def test_a_clock_going_backwards_rechecks(tmp_path, clock, monkeypatch):
    path = str(tmp_path / "keys.json")
    key, _ = result_of(KeyService(FileKeyStore(path), clock).create("agent", "farm"))
    clock.advance(100)
    store = FileKeyStore(path, clock)
    server = KeyService(store, clock)
    result_of(server.verify_bearer(key))
    stats = counting_stat(monkeypatch)
    clock.rightNow -= 50  # a wall clock stepped back by NTP
    result_of(server.verify_bearer(key))
    assert len(stats) == 1
