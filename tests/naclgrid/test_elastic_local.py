"""The elastic service with the local provider: the real REST API on a
loopback port, the pool's launcher starting real ``naclgrid.agent``
processes, and a job that makes the pool grow, compute and shrink back to
zero (agents fenced with SIGTERM, which drains them)."""

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater

pytestmark = pytest.mark.integration


async def sleep(reactor, seconds):
    await deferLater(reactor, seconds, lambda: None)


async def until(reactor, predicate, timeout, what):
    """Poll ``await predicate()``: agent processes cannot call the test back."""
    for _ in range(int(timeout / 0.1)):
        if await predicate():
            return
        await sleep(reactor, 0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest_twisted.ensureDeferred
async def test_the_local_pool_grows_for_a_job_and_shrinks_to_zero(reactor, tmp_path):
    from naclgrid.elastic import build_elastic
    from naclgrid.testing import serve_loopback

    loopback = await serve_loopback(reactor)
    grid, keys, url = loopback.grid, loopback.keys, loopback.url
    elastic = build_elastic(
        {"enabled": True, "provider": "local", "max_nodes": 2, "interval": 0.5,
         "scale_up_cooldown": 0, "scale_down_cooldown": 1, "idle_timeout": 2,
         "drain_grace": 1, "boot_timeout": 30, "lost_timeout": 15},
        grid, keys, reactor, url, data_dir=str(tmp_path))
    launcher = elastic.provider.launcher
    elastic.startService()
    try:
        # Tasks of about 0.1 s each: the queue lasts long enough for the
        # second agent to boot and join (a job of no-op tasks can be done by
        # the first agent before the second is up, which then gets fenced
        # while still booting).
        job = await grid.new_job("alice", "pi")
        await grid.start_job(job.job_id, b"")
        count = 30_000_000
        await grid.fork_many(job.job_id, [("sample", b"%d %d" % (seed, count))
                                          for seed in range(40)])

        async def both_joined():
            return [e.get("event") for e in elastic.journal.entries].count("joined") == 2
        await until(reactor, both_joined, 30, "both local agents to join")
        outcomes = await grid.wait_for_slots(job.job_id, list(range(40)), wait=60)
        hits = [int(o.result) for o in outcomes]
        assert abs(4 * sum(hits) / (40 * count) - 3.14159265) < 1e-3
        served = {n.node for n in await grid.nodes()}
        assert {a.name for a in launcher.agents} <= served

        async def all_gone():
            return not launcher.agents and not elastic.nodes
        await until(reactor, all_gone, 30, "the pool to shrink to zero")
        events = [e.get("event") for e in elastic.journal.entries]
        assert events.count("launched") == 2 and events.count("joined") == 2
        assert events.count("fenced") == 2 and events.count("destroyed") == 2
        downs = [e for e in elastic.journal.entries if e.get("action") == "down"]
        assert downs and "holding no lease" in downs[0]["reason"]
    finally:
        await ensureDeferred(_stop(elastic, loopback))


async def _stop(elastic, loopback):
    if elastic.running:
        await elastic.stopService()
    await loopback.stop()
