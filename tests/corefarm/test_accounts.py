"""Accounts, sessions and login rate limits on the real memory store and a Clock."""

import pytest
from twisted.internet.task import Clock

from naclgrid.stores.memory import MemoryGridStore

from corefarm.accounts import AccountError, Accounts, Keyspace, PasswordPolicy, RateLimiter, SessionStore
from tests.corefarm.site_support import T0, failure_of, result_of


@pytest.fixture
def kv():
    clock = Clock()
    clock.advance(T0)
    return Keyspace(MemoryGridStore(), clock, prefix="t:")


@pytest.fixture
def accounts(kv):
    granted = []

    async def on_created(name):
        granted.append(name)

    passwords = PasswordPolicy(time_cost=1, memory_kib=64)
    a = Accounts(kv.child("a:"), passwords, RateLimiter(kv.child("r:")), on_created=on_created,
                 max_failures=3, max_attempts=10, window=600)
    a.granted = granted
    return a


def test_passwords_are_stored_as_argon2id_hashes_only(accounts, kv):
    result_of(accounts.sign_up("Alice", "correct horse battery", "alice@example.org"))
    record = result_of(kv.child("a:").get_json("user:alice"))
    assert record["hash"].startswith("$argon2id$")
    assert "correct horse" not in repr(record)
    assert accounts.granted == ["Alice"]


def test_names_are_unique_case_insensitively_and_checked(accounts):
    result_of(accounts.sign_up("Alice", "correct horse battery"))
    assert failure_of(accounts.sign_up("alice", "another password")).field == "name"
    for bad in ("al", "a" * 33, "bad name", "-dash", "anon-123", "admin", "x/y"):
        error = failure_of(accounts.sign_up(bad, "correct horse battery"))
        assert isinstance(error, AccountError) and error.field == "name", bad
    assert failure_of(accounts.sign_up("bob", "short")).field == "password"
    assert failure_of(accounts.sign_up("bob", "x" * 2000)).field == "password"
    assert failure_of(accounts.sign_up("bob", "correct horse battery", "not-an-email")).field == "email"


def test_log_in_returns_the_canonical_name(accounts):
    result_of(accounts.sign_up("Alice", "correct horse battery"))
    assert result_of(accounts.log_in("ALICE", "correct horse battery", "10.0.0.1")) == "Alice"
    error = failure_of(accounts.log_in("alice", "wrong password!", "10.0.0.1"))
    assert error.message == "Wrong name or password."
    error = failure_of(accounts.log_in("nobody", "wrong password!", "10.0.0.1"))
    assert error.message == "Wrong name or password."


def test_failed_logins_lock_the_account_for_the_window(accounts, kv):
    result_of(accounts.sign_up("alice", "correct horse battery"))
    for _ in range(3):
        failure_of(accounts.log_in("alice", "wrong password!", "10.0.0.1"))
    error = failure_of(accounts.log_in("alice", "correct horse battery", "10.0.0.2"))
    assert "Too many failed logins" in error.message
    kv.clock.advance(601)
    assert result_of(accounts.log_in("alice", "correct horse battery", "10.0.0.2")) == "alice"


def test_one_address_is_limited_across_accounts(accounts):
    for i in range(10):
        failure_of(accounts.log_in(f"user{i}", "whatever!!", "10.9.9.9"))
    error = failure_of(accounts.log_in("user0", "whatever!!", "10.9.9.9"))
    assert "from your address" in error.message


def test_sessions_keep_only_a_hash_and_expire(kv):
    sessions = SessionStore(kv.child("s:"), ttl=100, anonymous_ttl=10)
    anon = result_of(sessions.create())
    assert anon.user is None and anon.identity.startswith("anon-")
    stored = kv.store._kv
    assert not any(anon.token.encode() in k.encode() or anon.token.encode() in v[0] for k, v in stored.items())
    assert result_of(sessions.load(anon.token)).csrf == anon.csrf
    user = result_of(sessions.rotate(anon, "alice"))
    assert user.token != anon.token and user.csrf != anon.csrf and user.anon == anon.anon
    assert result_of(sessions.load(anon.token)) is None        # the old token is dead
    kv.clock.advance(50)
    assert result_of(sessions.load(user.token)).user == "alice"
    kv.clock.advance(51)
    assert result_of(sessions.load(user.token)) is None
    assert result_of(sessions.load("junk")) is None
    assert result_of(sessions.load("x" * 5000)) is None


def test_csrf_check_is_exact(kv):
    session = result_of(SessionStore(kv).create())
    assert session.csrf_ok(session.csrf)
    # Another last character (the token is random: it may end in "A" itself).
    last = "B" if session.csrf.endswith("A") else "A"
    assert not session.csrf_ok(session.csrf[:-1] + last)
    assert not session.csrf_ok("")
    assert not session.csrf_ok(None)


def test_claims_are_won_once(kv):
    assert result_of(kv.claim("x")) is True
    assert result_of(kv.claim("x")) is False
