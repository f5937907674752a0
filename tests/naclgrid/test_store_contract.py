"""One contract, two stores: every test runs on the memory store and on a
real redis-server (see conftest.store). Time is a Clock the test advances;
no store reads the wall clock."""

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from naclgrid import errors
from naclgrid.interfaces import IGridStore
from naclgrid.model import (
    ACK_DUPLICATE, ACK_OK, DONE, FAILED, LEASED, QUEUED, RUNNING, STOPPED, Lease,
)

ALL_BYTES = bytes(range(256))


async def failure_of(d, kind):
    with pytest.raises(kind) as info:
        await d
    return info.value


async def running_job(store, clock, n=0, app="app", **kw):
    job = await store.create_job("alice", app, now=clock.seconds(), **kw)
    if n:
        await store.fork(job.job_id, [("main", b"in%d" % i) for i in range(n)], now=clock.seconds())
    await store.start_job(job.job_id, b"job input", now=clock.seconds())
    return job.job_id


@pytest.fixture
def clock():
    c = Clock()
    c.advance(1_700_000_000)
    return c


def test_provides_the_interface(store):
    assert verifyObject(IGridStore, store)


@pytest_twisted.ensureDeferred
async def test_job_lifecycle_and_listing(store, clock):
    job = await store.create_job("alice", "app", now=clock.seconds(), priority=3,
                                 max_attempts=2, lease_seconds=30, meta={"k": "v"})
    assert (job.state, job.priority, job.max_attempts, job.lease_seconds) == ("created", 3, 2, 30)
    assert job.created_at == clock.seconds() and job.started_at is None
    other = await store.create_job("bob", "app", now=clock.seconds())
    clock.advance(5)
    started = await store.start_job(job.job_id, ALL_BYTES, now=clock.seconds(), meta={"x": 1})
    assert started.state == RUNNING and started.started_at == clock.seconds()
    assert started.input_size == 256 and started.meta == {"k": "v", "x": 1}
    assert await store.get_job_input(job.job_id) == ALL_BYTES
    await failure_of(store.start_job(job.job_id, b"", now=clock.seconds()), errors.JobNotRunning)
    assert [j.job_id for j in await store.list_jobs("alice")] == [job.job_id]
    assert {j.job_id for j in await store.list_jobs()} == {job.job_id, other.job_id}
    clock.advance(5)
    stopped = await store.stop_job(job.job_id, STOPPED, now=clock.seconds())
    assert stopped.state == STOPPED and stopped.finished_at == clock.seconds()
    await failure_of(store.stop_job(job.job_id, STOPPED, now=clock.seconds()), errors.JobNotRunning)
    await failure_of(store.get_job("nope"), errors.NoSuchJob)
    await failure_of(store.stop_job(other.job_id, "bogus", now=0), errors.BadRequest)


@pytest_twisted.ensureDeferred
async def test_active_job_limit_is_atomic_and_released_by_stop(store, clock):
    a = await store.create_job("alice", "app", now=0, max_active=2)
    await store.create_job("alice", "app", now=0, max_active=2)
    await failure_of(store.create_job("alice", "app", now=0, max_active=2), errors.LimitExceeded)
    await store.create_job("bob", "app", now=0, max_active=2)
    await store.stop_job(a.job_id, "cancelled", now=0)
    await store.create_job("alice", "app", now=0, max_active=2)


@pytest_twisted.ensureDeferred
async def test_fork_gives_consecutive_slots_and_honours_the_task_limit(store, clock):
    job = await store.create_job("alice", "app", now=0)
    assert await store.fork(job.job_id, [("a", b"")] * 3, now=0) == [0, 1, 2]
    assert await store.fork(job.job_id, [("b", b"x")], now=0) == [3]
    await failure_of(store.fork(job.job_id, [("c", b"")] * 2, now=0, max_tasks=5),
                     errors.LimitExceeded)
    assert (await store.get_job(job.job_id)).total == 4     # the batch is all or nothing
    await failure_of(store.fork("nope", [("a", b"")], now=0), errors.NoSuchJob)
    await store.stop_job(job.job_id, STOPPED, now=0)
    await failure_of(store.fork(job.job_id, [("a", b"")], now=0), errors.JobStopped)


@pytest_twisted.ensureDeferred
async def test_pop_leases_binary_safe_tasks_only_from_started_jobs(store, clock):
    job = await store.create_job("alice", "app", now=0, lease_seconds=30)
    jid = job.job_id
    sha = await store.put_blob(ALL_BYTES)
    await store.add_file(jid, "scene.xml", sha, 256)
    await store.fork(jid, [("render", ALL_BYTES), ("render", b"")], now=clock.seconds())
    assert await store.pop("n1", now=clock.seconds()) == []       # not started
    await store.start_job(jid, b"", now=clock.seconds())
    [t] = await store.pop("n1", now=clock.seconds())
    assert (t.job_id, t.slot, t.entry, t.application, t.input) == (jid, 0, "render", "app", ALL_BYTES)
    assert t.attempt == 1 and t.lease_expires == clock.seconds() + 30 and t.lease_id
    assert [(f.name, f.sha256, f.size) for f in t.files] == [("scene.xml", sha, 256)]
    [t2] = await store.pop("n1", now=clock.seconds(), max=5)
    assert t2.input == b"" and t2.lease_id != t.lease_id
    assert await store.pop("n1", now=clock.seconds()) == []
    assert await store.ack(jid, 0, t.lease_id, now=clock.seconds(), result=ALL_BYTES[::-1]) == ACK_OK
    done = await store.fetch(jid, 0)
    assert (done.state, done.result, done.attempts) == (DONE, ALL_BYTES[::-1], 1)


@pytest_twisted.ensureDeferred
async def test_counts_follow_every_transition(store, clock):
    jid = await running_job(store, clock, n=4, max_attempts=1)

    async def counts():
        return (await store.get_job(jid)).counts
    assert await counts() == {QUEUED: 4, LEASED: 0, DONE: 0, FAILED: 0}
    a, b, c = await store.pop("n", now=clock.seconds(), max=3)
    assert await counts() == {QUEUED: 1, LEASED: 3, DONE: 0, FAILED: 0}
    await store.ack(jid, a.slot, a.lease_id, now=clock.seconds(), result=b"r")
    await store.ack(jid, b.slot, b.lease_id, now=clock.seconds(), error="boom")
    assert await counts() == {QUEUED: 1, LEASED: 1, DONE: 1, FAILED: 1}
    job = await store.stop_job(jid, STOPPED, now=clock.seconds())
    assert job.counts == {QUEUED: 0, LEASED: 0, DONE: 1, FAILED: 3}
    assert (job.total, job.finished, job.progress) == (4, 4, 1.0)


@pytest_twisted.ensureDeferred
async def test_duplicate_ack_is_idempotent_and_never_overwrites(store, clock):
    jid = await running_job(store, clock, n=1)
    [t] = await store.pop("n", now=clock.seconds())
    assert await store.ack(jid, 0, t.lease_id, now=clock.seconds(), result=b"first") == ACK_OK
    assert await store.ack(jid, 0, t.lease_id, now=clock.seconds(), result=b"second") == ACK_DUPLICATE
    await failure_of(store.ack(jid, 0, "forged", now=clock.seconds(), result=b"evil"), errors.StaleLease)
    assert (await store.fetch(jid, 0)).result == b"first"
    assert (await store.get_job(jid)).counts[DONE] == 1


@pytest_twisted.ensureDeferred
async def test_expired_lease_is_fenced_and_requeued_exactly_once(store, clock):
    jid = await running_job(store, clock, n=1, lease_seconds=10, max_attempts=3)
    [old] = await store.pop("slow", now=clock.seconds())
    clock.advance(10)
    # Expired but not yet requeued: the ack is already refused.
    await failure_of(store.ack(jid, 0, old.lease_id, now=clock.seconds(), result=b"late"),
                     errors.StaleLease)
    assert await store.heartbeat([old.lease], now=clock.seconds()) == [None]
    assert await store.requeue_expired(now=clock.seconds()) == 1
    assert await store.requeue_expired(now=clock.seconds()) == 0
    [new] = await store.pop("fast", now=clock.seconds())
    assert (new.slot, new.attempt) == (0, 2) and new.lease_id != old.lease_id
    await failure_of(store.ack(jid, 0, old.lease_id, now=clock.seconds(), result=b"late"),
                     errors.StaleLease)
    await store.ack(jid, 0, new.lease_id, now=clock.seconds(), result=b"good")
    await failure_of(store.ack(jid, 0, old.lease_id, now=clock.seconds(), result=b"late"),
                     errors.StaleLease)
    outcome = await store.fetch(jid, 0)
    assert (outcome.result, outcome.attempts) == (b"good", 2)


@pytest_twisted.ensureDeferred
async def test_heartbeat_extends_only_live_leases(store, clock):
    jid = await running_job(store, clock, n=2, lease_seconds=10)
    a, b = await store.pop("n", now=clock.seconds(), max=2)
    clock.advance(8)
    assert await store.heartbeat([a.lease, Lease(jid, b.slot, "forged"), Lease("nope", 0, "x")],
                                 now=clock.seconds()) == [clock.seconds() + 10, None, None]
    clock.advance(5)      # b expired at +10, a now lasts until +18
    assert await store.requeue_expired(now=clock.seconds()) == 1
    assert await store.ack(jid, a.slot, a.lease_id, now=clock.seconds(), result=b"ok") == ACK_OK
    assert (await store.fetch(jid, b.slot)).state == QUEUED


@pytest_twisted.ensureDeferred
async def test_error_acks_retry_then_fail_with_the_agents_text(store, clock):
    jid = await running_job(store, clock, n=1, max_attempts=3)
    for attempt in (1, 2, 3):
        [t] = await store.pop("n", now=clock.seconds())
        assert t.attempt == attempt
        assert await store.ack(jid, 0, t.lease_id, now=clock.seconds(),
                               error=f"crash {attempt} \u2603") == ACK_OK
        assert await store.ack(jid, 0, t.lease_id, now=clock.seconds(),
                               error="again") == ACK_DUPLICATE
    assert await store.pop("n", now=clock.seconds()) == []
    outcome = await store.fetch(jid, 0)
    assert (outcome.state, outcome.error, outcome.attempts) == (FAILED, "crash 3 \u2603", 3)


@pytest_twisted.ensureDeferred
async def test_lease_expiry_at_max_attempts_fails_the_task(store, clock):
    jid = await running_job(store, clock, n=1, max_attempts=2, lease_seconds=5)
    for _ in range(2):
        assert len(await store.pop("n", now=clock.seconds())) == 1
        clock.advance(6)
        await store.requeue_expired(now=clock.seconds())
    outcome = await store.fetch(jid, 0)
    assert (outcome.state, outcome.error, outcome.attempts) == (FAILED, "lease expired", 2)
    assert (await store.get_job(jid)).counts == {QUEUED: 0, LEASED: 0, DONE: 0, FAILED: 1}


@pytest_twisted.ensureDeferred
async def test_stop_job_drops_queued_tasks_and_fences_leases(store, clock):
    jid = await running_job(store, clock, n=4)
    a, b = await store.pop("n", now=clock.seconds(), max=2)
    await store.ack(jid, a.slot, a.lease_id, now=clock.seconds(), result=b"kept")
    await store.stop_job(jid, "cancelled", now=clock.seconds())
    await failure_of(store.ack(jid, b.slot, b.lease_id, now=clock.seconds(), result=b"late"),
                     errors.JobStopped)
    assert await store.ack(jid, a.slot, a.lease_id, now=clock.seconds(), result=b"x") == ACK_DUPLICATE
    assert await store.heartbeat([b.lease], now=clock.seconds()) == [None]
    assert await store.pop("n", now=clock.seconds(), max=10) == []
    assert await store.pop("n", now=clock.seconds(), job_id=jid) == []
    outcomes = await store.fetch_many(jid, [0, 1, 2, 3])
    assert [(o.state, o.result, o.error) for o in outcomes] == [
        (DONE, b"kept", None), (FAILED, None, "job stopped"),
        (FAILED, None, "job stopped"), (FAILED, None, "job stopped")]
    clock.advance(3600)
    await store.requeue_expired(now=clock.seconds())       # the fenced lease just goes away
    assert (await store.get_job(jid)).counts == {QUEUED: 0, LEASED: 0, DONE: 1, FAILED: 3}
    assert {n.node: n.leases for n in await store.list_nodes(clock.seconds())}.get("n", 0) == 0


@pytest_twisted.ensureDeferred
async def test_unknown_tasks_and_jobs(store, clock):
    jid = await running_job(store, clock, n=1)
    await failure_of(store.fetch(jid, 1), errors.NoSuchTask)
    await failure_of(store.fetch(jid, -1), errors.NoSuchTask)
    await failure_of(store.fetch("nope", 0), errors.NoSuchJob)
    await failure_of(store.fetch_many(jid, [0, 7]), errors.NoSuchTask)
    await failure_of(store.ack(jid, 5, "x", now=0, result=b""), errors.NoSuchTask)
    await failure_of(store.ack("nope", 0, "x", now=0, result=b""), errors.NoSuchJob)
    # A queued task that was never leased cannot be acked.
    await failure_of(store.ack(jid, 0, "", now=0, result=b""), errors.StaleLease)


@pytest_twisted.ensureDeferred
async def test_hold_stops_serving_until_unhold(store, clock):
    jid = await running_job(store, clock, n=2)
    held = await store.hold_job(jid, "insufficient_credit", now=clock.seconds())
    assert held.held == "insufficient_credit"
    assert await store.pop("n", now=clock.seconds(), max=5) == []
    assert await store.pop("n", now=clock.seconds(), job_id=jid) == []
    assert (await store.unhold_job(jid, now=clock.seconds())).held is None
    assert len(await store.pop("n", now=clock.seconds(), max=5)) == 2


@pytest_twisted.ensureDeferred
async def test_application_and_job_filters(store, clock):
    ray = await running_job(store, clock, n=2, app="ray")
    pi = await running_job(store, clock, n=2, app="pi")
    got = await store.pop("n", now=clock.seconds(), max=10, applications=["pi"])
    assert {t.job_id for t in got} == {pi} and len(got) == 2
    assert await store.pop("n", now=clock.seconds(), applications=["nothing"]) == []
    assert await store.pop("n", now=clock.seconds(), job_id=ray, applications=["pi"]) == []
    got = await store.pop("n", now=clock.seconds(), max=10, job_id=ray)
    assert [t.slot for t in got] == [0, 1]


async def drain_one_by_one(store, clock, small, n_small):
    """Pop one task at a time; return how many pops it took until the
    small job's tasks were all served."""
    served_small, pops = 0, 0
    while served_small < n_small:
        [t] = await store.pop("n", now=clock.seconds())
        pops += 1
        served_small += t.job_id == small
    return pops


@pytest_twisted.ensureDeferred
async def test_a_huge_job_never_starves_a_small_one(store, clock, request):
    big_n = 20_000 if request.node.callspec.params["store"] == "memory" else 5_000
    big = await store.create_job("alice", "app", now=0)
    for start in range(0, big_n, 10_000):
        await store.fork(big.job_id, [("m", b"")] * min(10_000, big_n - start), now=0)
    await store.start_job(big.job_id, b"", now=0)
    await store.pop("n", now=0, max=100)                  # the big job is under way
    small = await running_job(store, clock, n=10)
    # Round robin: the 10 small tasks need about 20 pops, not 20,000.
    assert await drain_one_by_one(store, clock, small, 10) <= 21


@pytest_twisted.ensureDeferred
async def test_priority_weights_the_round_robin(store, clock):
    low = await running_job(store, clock, n=400, priority=1)
    high = await running_job(store, clock, n=400, priority=3)
    got = await store.pop("n", now=clock.seconds(), max=200)
    share = sum(t.job_id == high for t in got) / len(got)
    assert 0.70 <= share <= 0.80, share
    assert low != high


@pytest_twisted.ensureDeferred
async def test_requeued_task_goes_first_and_job_reenters_fairly(store, clock):
    jid = await running_job(store, clock, n=3, lease_seconds=5)
    [t] = await store.pop("n", now=clock.seconds())
    await store.ack(jid, t.slot, t.lease_id, now=clock.seconds(), error="retry me")
    assert [x.slot for x in await store.pop("n", now=clock.seconds(), max=3)] == [0, 1, 2]


@pytest_twisted.ensureDeferred
async def test_blobs_are_content_addressed(store, clock):
    sha = await store.put_blob(ALL_BYTES)
    assert sha == "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"
    assert await store.put_blob(ALL_BYTES) == sha
    assert await store.get_blob(sha) == ALL_BYTES and await store.has_blob(sha)
    assert not await store.has_blob("0" * 64)
    await failure_of(store.get_blob("0" * 64), errors.NoSuchFile)
    job = await store.create_job("alice", "app", now=0)
    await store.add_file(job.job_id, "b.wasm", sha, 256)
    await store.add_file(job.job_id, "a.txt", sha, 256)
    await store.add_file(job.job_id, "b.wasm", "f" * 64, 1)     # replaced by name
    files = (await store.get_job(job.job_id)).files
    assert [(f.name, f.sha256) for f in files] == [("a.txt", sha), ("b.wasm", "f" * 64)]


@pytest_twisted.ensureDeferred
async def test_nodes_are_listed_with_liveness_and_leases(store, clock):
    jid = await running_job(store, clock, n=3)
    now = clock.seconds()
    await store.touch_node("n1", "agent1", ["app", "pi"], now, now + 30)
    await store.touch_node("n2", "agent2", None, now, now + 30)
    await store.pop("n1", now=now, max=2)
    nodes = {n.node: n for n in await store.list_nodes(now)}
    assert nodes["n1"].applications == ("app", "pi") and nodes["n1"].leases == 2
    assert nodes["n2"].applications is None and nodes["n2"].serves("anything")
    assert nodes["n1"].user == "agent1" and nodes["n1"].live(now + 30)
    assert not nodes["n1"].live(now + 31)
    await store.refresh_node("n1", now + 20, now + 50)
    await store.refresh_node("ghost", now + 20, now + 50)           # unknown: ignored
    nodes = {n.node: n for n in await store.list_nodes(now + 20)}
    assert set(nodes) == {"n1", "n2"}
    assert (nodes["n1"].last_seen, nodes["n1"].live_until) == (now + 20, now + 50)
    assert nodes["n1"].applications == ("app", "pi")
    assert await store.list_nodes(now + 3 * 86400) == []         # long dead: forgotten
    assert jid


@pytest_twisted.ensureDeferred
async def test_keys_nonces_and_kv(store, clock):
    await store.put_key("k1", {"hash": "h", "role": "agent", "user": "u"})
    assert (await store.get_key("k1"))["role"] == "agent"
    assert await store.get_key("k2") is None
    assert await store.revoke_key("k1", now=5.0) and not await store.revoke_key("k2", now=5.0)
    assert await store.get_key("k1") is None
    [listed] = await store.list_keys()
    assert listed["key_id"] == "k1" and listed["revoked_at"] == 5.0

    assert await store.remember_nonce("sig", expires_at=100.0, now=0.0)
    assert not await store.remember_nonce("sig", expires_at=100.0, now=50.0)
    assert await store.remember_nonce("sig", expires_at=300.0, now=100.0)

    assert await store.kv_get("s", now=0) is None
    await store.kv_set("s", ALL_BYTES, now=0, ttl=10)
    assert await store.kv_get("s", now=9.9) == ALL_BYTES
    assert await store.kv_get("s", now=10) is None
    await store.kv_set("p", b"forever", now=0)
    assert await store.kv_get("p", now=1e12) == b"forever"
    await store.kv_delete("p")
    assert await store.kv_get("p", now=0) is None
    assert await store.kv_incr("c", now=0, ttl=60) == 1
    assert await store.kv_incr("c", now=30, amount=5, ttl=60) == 6
    assert await store.kv_incr("c", now=61, ttl=60) == 1          # window rolled over


@pytest_twisted.ensureDeferred
async def test_ping(store):
    assert await store.ping() is True


class EventLog:
    """Collects store events; ``expect`` fires when a matching one arrives
    (at once on the memory store, over pub/sub on Redis)."""

    def __init__(self, store):
        self.events, self._waiting = [], []
        store.subscribe(self._on)

    def _on(self, event):
        self.events.append(event)
        for want, d in list(self._waiting):
            if event == want:
                self._waiting.remove((want, d))
                d.callback(event)

    def expect(self, want):
        from twisted.internet import defer
        if want in self.events:
            return defer.succeed(want)
        d = defer.Deferred()
        self._waiting.append((want, d))
        return d


@pytest_twisted.ensureDeferred
async def test_events_announce_work_and_results(store, clock, reactor):
    log = EventLog(store)

    async def seen(event):
        d = log.expect(event)
        d.addTimeout(10, reactor)
        assert await d == event
    job = await store.create_job("alice", "ray", now=0)
    await store.fork(job.job_id, [("m", b"")] * 3, now=0)
    await store.start_job(job.job_id, b"", now=0)
    await seen(("started", job.job_id, "ray"))
    await seen(("work", "ray", 3))
    await store.fork(job.job_id, [("m", b"")] * 2, now=0)
    await seen(("work", "ray", 2))
    t, *_ = await store.pop("n", now=0, max=5)
    await store.ack(job.job_id, t.slot, t.lease_id, now=0, result=b"r")
    await seen(("result", job.job_id, t.slot))
    await store.stop_job(job.job_id, STOPPED, now=0)
    await seen(("result", job.job_id, None))
    assert ("started", job.job_id, "ray") == log.events[0]       # nothing before the start


@pytest_twisted.ensureDeferred
async def test_ack_many_applies_each_ack_on_its_own(store, clock):
    jid = await running_job(store, clock, n=4, max_attempts=2)
    a, b, c = await store.pop("n", now=clock.seconds(), max=3)
    outcomes = await store.ack_many([
        (jid, a.slot, a.lease_id, ALL_BYTES, None),
        (jid, b.slot, "forged", b"evil", None),
        (jid, c.slot, c.lease_id, None, "crashed"),
        (jid, a.slot, a.lease_id, b"again", None),
        ("nope", 0, "x", b"", None),
        (jid, 99, "x", b"", None),
    ], now=clock.seconds())
    assert outcomes[0] == ACK_OK and outcomes[2] == ACK_OK and outcomes[3] == ACK_DUPLICATE
    assert [type(o) for o in outcomes[1:2] + outcomes[4:]] == [
        errors.StaleLease, errors.NoSuchJob, errors.NoSuchTask]
    assert (await store.fetch(jid, a.slot)).result == ALL_BYTES
    assert (await store.get_job(jid)).counts == {QUEUED: 2, LEASED: 1, DONE: 1, FAILED: 0}
    assert await store.ack_many([], now=clock.seconds()) == []


@pytest_twisted.ensureDeferred
async def test_purge_finished_drops_the_task_data_of_jobs_that_ended_long_enough_ago(
        store, clock):
    old = await running_job(store, clock, n=3, max_attempts=1)
    a, b, _queued = await store.pop("n", now=clock.seconds(), max=3)
    await store.ack(old, a.slot, a.lease_id, now=clock.seconds(), result=b"kept until purged")
    await store.ack(old, b.slot, b.lease_id, now=clock.seconds(), error="crashed")
    await store.stop_job(old, STOPPED, now=clock.seconds())
    clock.advance(10)
    recent = await running_job(store, clock, n=1)
    (task,) = await store.pop("n", now=clock.seconds())
    await store.ack(recent, task.slot, task.lease_id, now=clock.seconds(), result=b"recent")
    await store.stop_job(recent, STOPPED, now=clock.seconds())
    running = await running_job(store, clock, n=1)

    assert await store.purge_finished(clock.seconds() - 20) == 0
    assert (await store.fetch(old, a.slot)).result == b"kept until purged"
    assert await store.purge_finished(clock.seconds() - 5) == 1  # the old job only
    for slot in (a.slot, b.slot):
        await failure_of(store.fetch(old, slot), errors.ResultsExpired)
    await failure_of(store.fetch_many(old, [2, a.slot]), errors.ResultsExpired)
    # What never ran still reads as stopped; the record, counts and input stay.
    (never,) = await store.fetch_many(old, [2])
    assert never.state == FAILED and never.error == "job stopped"
    job = await store.get_job(old)
    assert job.counts == {QUEUED: 0, LEASED: 0, DONE: 1, FAILED: 2} and job.total == 3
    assert await store.get_job_input(old) == b"job input"
    assert (await store.fetch(recent, 0)).result == b"recent"
    assert await store.purge_finished(clock.seconds(), limit=5) == 1  # the recent one
    await failure_of(store.fetch(recent, 0), errors.ResultsExpired)
    assert await store.purge_finished(clock.seconds()) == 0  # each job once; running ones never
    assert (await store.fetch(running, 0)).state == QUEUED
