"""The Grid over a real redis-server: two Grids sharing one Redis (two
servers) wake each other's long polls through pub/sub, and a Redis with
``appendonly yes`` killed with SIGKILL loses nothing it accepted."""

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from naclgrid import errors
from naclgrid.grid import Grid
from naclgrid.model import DONE, LEASED, QUEUED

from .conftest import make_redis_store

pytestmark = pytest.mark.integration


async def started_grid(store, clock):
    grid = Grid(store, clock)
    await store.start()
    return grid


def fired(d):
    return d.called


@pytest_twisted.ensureDeferred
async def test_a_long_poll_on_one_server_wakes_when_another_gets_work(redis_store_factory, reactor):
    # Timeouts run on a Clock that never advances: only an event can wake.
    clock = Clock()
    a = await started_grid(redis_store_factory(), clock)
    b = await started_grid(redis_store_factory(), clock)
    job = await a.new_job("alice", "ray")
    await a.start_job(job.job_id, b"")
    poll = b.pop("agent-on-b", "agent", applications=["ray"], wait=60)
    assert not fired(poll)
    await a.fork(job.job_id, "main", b"\x00tile")
    poll.addTimeout(10, reactor)
    [task] = await poll
    assert task.input == b"\x00tile" and b.waiting == 0

    fetch = a.fetch(job.job_id, task.slot, wait=60)
    await b.ack(job.job_id, task.slot, task.lease_id, result=b"pixels")
    fetch.addTimeout(10, reactor)
    outcome = await fetch
    assert (outcome.state, outcome.result) == (DONE, b"pixels")


@pytest_twisted.ensureDeferred
async def test_requeue_on_one_server_wakes_a_poller_on_another(redis_store_factory, reactor):
    clock = Clock()
    a = await started_grid(redis_store_factory(), clock)
    b = await started_grid(redis_store_factory(), clock)
    job = await a.new_job("alice", "ray", lease_seconds=10)
    await a.fork(job.job_id, "main", b"x")
    await a.start_job(job.job_id, b"")
    [lost] = await a.pop("dies", "agent")
    poll = b.pop("waits", "agent", wait=60)
    clock.advance(10)                       # nothing to wake the poll yet
    assert not fired(poll)
    await a.service.requeue_now()           # server A's tick finds the expired lease
    poll.addTimeout(10, reactor)
    [again] = await poll
    assert (again.slot, again.attempt) == (lost.slot, 2)


@pytest_twisted.ensureDeferred
async def test_waiters_retry_after_the_subscription_comes_back(redis_store_factory, reactor):
    store = redis_store_factory()
    grid = await started_grid(store, Clock())
    job = await grid.new_job("alice", "ray")
    await grid.start_job(job.job_id, b"")
    poll = grid.pop("n", "agent", wait=60)
    store._subscriber.transport.loseConnection()        # events are lost meanwhile
    await grid.fork(job.job_id, "main", b"during the outage")
    poll.addTimeout(10, reactor)
    [task] = await poll
    assert task.input == b"during the outage"


async def snapshot(grid, job_id, slots):
    job = await grid.get_job(job_id)
    outcomes = await grid.wait_for_slots(job_id, slots)
    return job, {o.slot: (o.state, o.result, o.attempts) for o in outcomes}


@pytest_twisted.ensureDeferred
async def test_sigkill_of_redis_with_appendonly_loses_nothing_accepted(
        redis_server_factory, reactor):
    server = redis_server_factory(appendonly=True)
    clock = Clock()
    clock.advance(1_000)
    store = make_redis_store(reactor, server.url)
    grid = await started_grid(store, clock)
    job = await grid.new_job("alice", "ray", lease_seconds=30)
    jid = job.job_id
    await grid.drop_file(jid, "scene.xml", b"<scene/>")
    slots = await grid.fork_many(jid, [("main", bytes([i]) * 3) for i in range(40)])
    await grid.start_job(jid, b"job input")
    popped = await grid.pop("n1", "agent", max=20)
    for t in popped[:10]:
        await grid.ack(jid, t.slot, t.lease_id, result=b"result %d" % t.slot)
    before_job, before = await snapshot(grid, jid, slots)

    server.kill()                           # SIGKILL: no shutdown, no final save
    await store.close()
    await store.connection.close()
    server.start()

    store = make_redis_store(reactor, server.url)
    grid = await started_grid(store, clock)
    after_job, after = await snapshot(grid, jid, slots)
    assert after == before
    assert after_job.counts == before_job.counts == {QUEUED: 20, LEASED: 10, DONE: 10, "failed": 0}
    assert after_job.files == before_job.files
    assert await grid.get_file(after_job.files[0].sha256) == b"<scene/>"
    assert await store.get_job_input(jid) == b"job input"
    # The leases survived too: their acks still count, a forged one does not.
    survivor = popped[10]
    assert await grid.ack(jid, survivor.slot, survivor.lease_id, result=b"late but fine") == "ok"
    with pytest.raises(errors.StaleLease):
        await grid.ack(jid, popped[11].slot, "forged", result=b"")
    # And the queue carries on where it stopped.
    rest = await grid.pop("n2", "agent", max=100)
    assert sorted(t.slot for t in rest) == sorted(set(slots) - {t.slot for t in popped})
    await store.close()
    await store.connection.close()


@pytest_twisted.ensureDeferred
async def test_scripts_are_resent_when_redis_forgot_them(redis_store_factory, redis_server):
    from gridhost.testing import redis_command
    store = redis_store_factory()
    job = await store.create_job("alice", "ray", now=0)
    assert redis_command(redis_server.port, "SCRIPT", "FLUSH").startswith(b"+OK")
    assert await store.fork(job.job_id, [("main", b"x")], now=0) == [0]   # NOSCRIPT -> EVAL
    assert (await store.get_job(job.job_id)).counts[QUEUED] == 1
