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
        job = await grid.new_job("alice", "echo")
        await grid.start_job(job.job_id, b"")
        inputs = [b"task %d" % i for i in range(40)]
        await grid.fork_many(job.job_id, [("echo", x) for x in inputs])

        async def two_agents():
            return len(launcher.agents) == 2
        await until(reactor, two_agents, 10, "two local agents")
        outcomes = await grid.wait_for_slots(job.job_id, list(range(40)), wait=60)
        assert [o.result for o in outcomes] == inputs
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
