"""API keys, the signed-request scheme and the admin key bootstrap."""

import hashlib
import hmac
import json
import os
import stat

import pytest
from twisted.internet.task import Clock
from twisted.logger import Logger, LogLevel, globalLogPublisher
from twisted.python.filepath import FilePath

from naclgrid.auth import AuthError, Authenticator, KeyService, parse_key
from naclgrid.auth.bootstrap import ensure_admin_key
from naclgrid.auth.filestore import FileKeyStore
from naclgrid.auth.keys import hash_key, hmac_key_of
from naclgrid.auth.signing import canonical_message, sign
from naclgrid.stores.memory import MemoryGridStore
from tests.naclgrid.api_support import failure_of, result_of

T0 = 1_700_000_000


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(T0)
    return clock


@pytest.fixture
def store():
    return MemoryGridStore()


@pytest.fixture
def keys(store, clock):
    return KeyService(store, clock)


@pytest.fixture
def auth(keys, store, clock):
    return Authenticator(keys, store, clock)


def test_key_format_and_hash_only_storage(keys, store):
    key, record = result_of(keys.create("submitter", "alice"))
    key_id, secret = parse_key(key)
    assert key == f"ngk_{key_id}_{secret}"
    assert len(key) > 64  # HMAC hashes longer keys first: see naclgrid.auth.keys
    stored = result_of(store.get_key(key_id))
    assert stored["hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert secret not in json.dumps(stored)
    assert (stored["role"], stored["user"]) == ("submitter", "alice")


def test_bearer_verification(keys):
    key, _ = result_of(keys.create("agent"))
    principal = result_of(keys.verify_bearer(key))
    assert principal.role == "agent" and principal.user.startswith("agent-")
    key_id, secret = parse_key(key)
    wrong = f"ngk_{key_id}_{'0' * 64 if secret != '0' * 64 else '1' * 64}"
    for bad in (wrong, "ngk_0123456789abcdef_" + "a" * 64, "garbage", "", key + "x"):
        error = failure_of(keys.verify_bearer(bad))
        assert isinstance(error, AuthError) and error.code == "unauthorized" and error.status == 401


def test_revoked_key_is_refused_and_unlisted(keys):
    key, record = result_of(keys.create("submitter", "bob"))
    assert result_of(keys.revoke(key)) is True
    assert failure_of(keys.verify_bearer(key)).code == "unauthorized"
    assert record["key_id"] not in [r["key_id"] for r in result_of(keys.list())]
    assert result_of(keys.revoke("not-an-id")) is False


def test_bad_role_and_user_rejected(keys):
    with pytest.raises(ValueError):
        result_of(keys.create("root"))
    with pytest.raises(ValueError):
        result_of(keys.create("submitter", "bad user/name"))


def test_hmac_with_stored_hash_equals_hmac_with_key(keys):
    key, record = result_of(keys.create("submitter", "alice"))
    message = canonical_message("fork", [("job_id", b"j1"), ("entry", b"main")])
    assert hmac.new(hmac_key_of(record), message, hashlib.sha256).hexdigest() == sign(
        key, "fork", [("job_id", b"j1"), ("entry", b"main")]
    )


def test_canonical_message_sorts_and_skips_signature():
    params = [("b", b"2"), ("signature", b"zz"), ("a", b"1"), ("a", b"0")]
    assert canonical_message("new_job", params) == b"new_joba=0a=1b=2"


def signed(key, method, clock, skew=0, **fields):
    key_id, _ = parse_key(key)
    params = [(k, v.encode() if isinstance(v, str) else v) for k, v in fields.items()]
    date = int(clock.seconds()) + skew
    params += [("login", key_id.encode()), ("date", str(date).encode())]
    return params + [("signature", sign(key, method, params).encode())]


def test_signed_request_accepted_once(auth, keys, clock):
    key, _ = result_of(keys.create("submitter", "alice"))
    params = signed(key, "new_job", clock, application="pi")
    principal = result_of(auth.authenticate("new_job", None, params))
    assert principal.user == "alice"
    error = failure_of(auth.authenticate("new_job", None, params))
    assert (error.code, error.status) == ("replayed_signature", 401)


def test_signed_request_bound_to_method_and_params(auth, keys, clock):
    key, _ = result_of(keys.create("submitter", "alice"))
    params = signed(key, "new_job", clock, application="pi")
    assert failure_of(auth.authenticate("stop_job", None, params)).code == "unauthorized"
    tampered = [(k, b"evil" if k == "application" else v) for k, v in params]
    assert failure_of(auth.authenticate("new_job", None, tampered)).code == "unauthorized"


@pytest.mark.parametrize("skew", [-301, 301, 10**12])
def test_stale_or_future_date_rejected(auth, keys, clock, skew):
    key, _ = result_of(keys.create("submitter", "alice"))
    params = signed(key, "new_job", clock, skew=skew, application="pi")
    error = failure_of(auth.authenticate("new_job", None, params))
    assert error.code == "unauthorized" and "300" in error.message


def test_date_edge_of_window_accepted(auth, keys, clock):
    key, _ = result_of(keys.create("agent"))
    params = signed(key, "pop", clock, skew=-300)
    assert result_of(auth.authenticate("pop", None, params)).role == "agent"


def test_signed_request_needs_all_fields(auth, keys, clock):
    key, _ = result_of(keys.create("agent"))
    params = [p for p in signed(key, "pop", clock) if p[0] != "date"]
    assert "date" in failure_of(auth.authenticate("pop", None, params)).message
    assert failure_of(auth.authenticate("pop", None, [])).code == "unauthorized"


def test_bearer_header_forms(auth, keys):
    key, _ = result_of(keys.create("admin"))
    assert result_of(auth.authenticate("pop", b"Bearer " + key.encode(), [])).is_admin
    assert result_of(auth.authenticate("pop", b"bearer  " + key.encode(), [])).is_admin
    for header in (b"Basic abc", b"Bearer", key.encode()):
        assert failure_of(auth.authenticate("pop", header, [])).code == "unauthorized"


def test_file_key_store_shared_between_cli_and_server(tmp_path, clock):
    path = str(tmp_path / "keys.json")
    cli = KeyService(FileKeyStore(path), clock)
    server = KeyService(FileKeyStore(path), clock)
    key, record = result_of(cli.create("agent", "farm"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result_of(server.verify_bearer(key)).user == "farm"
    assert key not in open(path).read() and hash_key(key) in open(path).read()
    result_of(cli.revoke(record["key_id"]))
    assert failure_of(server.verify_bearer(key)).code == "unauthorized"


@pytest.fixture
def captured():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def test_fresh_server_writes_admin_key(tmp_path, keys, captured):
    log = Logger(namespace="test")
    path = result_of(ensure_admin_key(FilePath(str(tmp_path)), keys, log))
    assert path == str(tmp_path / "admin.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = open(path).read().strip()
    assert result_of(keys.verify_bearer(key)).is_admin
    assert any(path in str(e.get("path")) and e["log_level"] == LogLevel.info for e in captured)
    # A restart with the same store keeps the same key.
    assert result_of(ensure_admin_key(FilePath(str(tmp_path)), keys, log)) == path
    assert open(path).read().strip() == key


def test_admin_key_rewritten_when_store_is_fresh(tmp_path, clock):
    log = Logger(namespace="test")
    first = KeyService(MemoryGridStore(), clock)
    path = result_of(ensure_admin_key(FilePath(str(tmp_path)), first, log))
    old = open(path).read()
    second = KeyService(MemoryGridStore(), clock)  # a memory store after a restart
    result_of(ensure_admin_key(FilePath(str(tmp_path)), second, log))
    new = open(path).read().strip()
    assert new != old.strip() and result_of(second.verify_bearer(new)).is_admin


def test_admin_key_not_replaced_when_store_has_admins(tmp_path, keys, captured):
    result_of(keys.create("admin", "ops"))
    assert result_of(ensure_admin_key(FilePath(str(tmp_path)), keys, Logger())) is None
    assert not (tmp_path / "admin.key").exists()
    assert any(e["log_level"] == LogLevel.warn for e in captured)
