"""The local pool for real: an in-process naclgrid API on a TCP port, the
PoolService spawning ``python -m naclgrid.agent`` children, a job that gets
computed by them, and the children drained after the idle timeout."""

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.web.server import Site

from naclgrid.client import Grid
from naclgrid.pool import build_pool, pool_key_factory

pytestmark = pytest.mark.integration


def sleep(reactor, seconds):
    d = Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


async def until(reactor, predicate, timeout, what):
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await sleep(reactor, 0.1)
        waited += 0.1


@pytest_twisted.ensureDeferred
async def test_pool_starts_agents_for_queued_work_and_drains_them_when_idle(reactor, tmp_path):
    from naclgrid.api import ApiSettings, NaclgridAPI
    from naclgrid.api.applications import ApplicationRegistry
    from naclgrid.apps import wasm_bytes
    from naclgrid.auth import Authenticator, KeyService
    from naclgrid.grid import Grid as Engine
    from naclgrid.stores.memory import MemoryGridStore

    store = MemoryGridStore()
    engine = Engine(store, reactor, requeue_interval=0.5)
    keys = KeyService(store, reactor)
    registry = ApplicationRegistry(store)
    registry.add("echo", wasm_bytes("echo"))
    await registry.publish()
    engine.applications = registry
    api = NaclgridAPI(engine, Authenticator(keys, store, reactor), reactor,
                      ApiSettings(applications=registry))
    engine.service.startService()
    port = reactor.listenTCP(0, Site(api.resource()), interface="127.0.0.1")
    url = f"http://127.0.0.1:{port.getHost().port}/"
    pool = build_pool({"max_agents": 2, "idle_timeout": 2, "interval": 0.2}, engine, reactor,
                      url, pool_key_factory(keys, str(tmp_path)), data_dir=str(tmp_path))
    launcher = pool.launcher
    pool.startService()
    client = None
    try:
        await sleep(reactor, 1)
        assert launcher.agents == []  # nothing queued: nothing started
        submitter, _ = await keys.create("submitter", "alice")
        client = Grid(url, submitter, reactor=reactor, compute=False)
        job = await client.new_job("echo")
        await job.start()
        await job.fork_many("echo", [b"%d" % i for i in range(40)])
        await until(reactor, lambda: len(launcher.agents) == 2, 30, "two pool agents")
        assert await job.gather(timeout=120) == [b"%d" % i for i in range(40)]
        nodes = await engine.nodes()
        assert {n.node for n in nodes} >= {a.name for a in launcher.agents}
        children = list(launcher.agents)
        await until(reactor, lambda: launcher.agents == [], 60, "the idle agents to exit")
        codes = [await child.exited for child in children]
        assert codes == [0, 0]  # drained on SIGTERM, not killed
    finally:
        await pool.stopService()
        if client is not None:
            await client.close()
        await port.stopListening()
        engine.service.stopService()
