"""Seeded random walks over both stores: forks, pops on several nodes,
acks (good, failing, stale, duplicate), heartbeats, lease expiry, holds.
After every step the incremental counts must equal a recount of the tasks,
no accepted result may change, and at the end every task must finish (none
stuck, lost or duplicated)."""

import random

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from naclgrid import errors
from naclgrid.model import ACK_DUPLICATE, ACK_OK, DONE, FAILED, LEASED, QUEUED


async def recount(store, jid):
    job = await store.get_job(jid)
    outcomes = await store.fetch_many(jid, list(range(job.total)))
    tally = dict.fromkeys((QUEUED, LEASED, DONE, FAILED), 0)
    for o in outcomes:
        tally[o.state] += 1
    assert job.counts == tally, (job.counts, tally)
    return job, outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest_twisted.ensureDeferred
async def test_random_walk_keeps_every_invariant(store, seed):
    rng = random.Random(seed)
    clock = Clock()
    jobs = []
    for priority in (1, 2):
        job = await store.create_job("alice", "app", now=0, priority=priority,
                                     max_attempts=3, lease_seconds=10)
        await store.start_job(job.job_id, b"", now=0)
        jobs.append(job.job_id)
    held = set()
    leases = []                  # PopResults handed out (maybe stale by now)
    accepted = {}                # (job, slot) -> result an ack was accepted with

    for _ in range(150):
        now = clock.seconds()
        op = rng.random()
        jid = rng.choice(jobs)
        if op < 0.15:
            await store.fork(jid, [("main", bytes([rng.randrange(256)]) * rng.randrange(4))
                                   for _ in range(rng.randrange(1, 6))], now=now)
        elif op < 0.40:
            leases += await store.pop(rng.choice(["a", "b", "c"]), now=now,
                                      max=rng.randrange(1, 4))
        elif op < 0.70 and leases:
            t = rng.choice(leases)
            key = (t.job_id, t.slot)
            try:
                if rng.random() < 0.7:
                    outcome = await store.ack(t.job_id, t.slot, t.lease_id, now=now,
                                              result=b"r%d" % t.slot + t.input)
                    if outcome == ACK_OK:
                        assert key not in accepted
                        accepted[key] = b"r%d" % t.slot + t.input
                else:
                    outcome = await store.ack(t.job_id, t.slot, t.lease_id, now=now,
                                              error="agent error")
                assert outcome in (ACK_OK, ACK_DUPLICATE)
            except errors.StaleLease:
                pass
        elif op < 0.78 and leases:
            sample = rng.sample(leases, min(3, len(leases)))
            await store.heartbeat([t.lease for t in sample], now=now)
        elif op < 0.90:
            clock.advance(rng.choice([1, 4, 11]))
            await store.requeue_expired(now=clock.seconds())
        elif jid in held:
            await store.unhold_job(jid, now=now)
            held.discard(jid)
        else:
            await store.hold_job(jid, "insufficient_credit", now=now)
            held.add(jid)
        for j in jobs:
            await recount(store, j)
        for (j, slot), result in accepted.items():
            assert (await store.fetch(j, slot)).result == result

    # Drain: every task must reach a final state; nothing is stuck.
    for j in held:
        await store.unhold_job(j, now=clock.seconds())
    for _ in range(200):
        clock.advance(11)
        await store.requeue_expired(now=clock.seconds())
        batch = await store.pop("drain", now=clock.seconds(), max=50)
        for t in batch:
            assert await store.ack(t.job_id, t.slot, t.lease_id, now=clock.seconds(),
                                   result=b"r%d" % t.slot + t.input) == ACK_OK
            accepted[(t.job_id, t.slot)] = b"r%d" % t.slot + t.input
        if not batch:
            unfinished = 0
            for j in jobs:
                counts = (await store.get_job(j)).counts
                unfinished += counts[QUEUED] + counts[LEASED]
            if not unfinished:
                break
    for j in jobs:
        job, outcomes = await recount(store, j)
        assert job.counts[QUEUED] == job.counts[LEASED] == 0
        for o in outcomes:
            if o.state == DONE:
                assert accepted[(j, o.slot)] == o.result
            else:
                assert o.state == FAILED and o.attempts == 3
                assert o.error in ("agent error", "lease expired")
