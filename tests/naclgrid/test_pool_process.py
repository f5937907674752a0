"""The local pool for real: an in-process naclgrid API on a TCP port, the
PoolService spawning ``python -m naclgrid.agent`` children, a job that gets
computed by them, and the children drained after the idle timeout."""

import os

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
    registry.add("pi", wasm_bytes("pi"))
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
        # Tasks of about 0.1 s each: the queue outlasts the second agent's
        # start (no-op tasks could all be done by the first one, and the
        # pool would stop the second while it still boots).
        job = await client.new_job("pi")
        await job.start()
        count = 30_000_000
        await job.fork_many("sample", [b"%d %d" % (seed, count) for seed in range(40)])
        await until(reactor, lambda: len(launcher.agents) == 2, 30, "two pool agents")
        names = {a.name for a in launcher.agents}
        for _ in range(300):  # both agents poll this server
            nodes = {n.node for n in await engine.nodes()}
            if nodes >= names:
                break
            await sleep(reactor, 0.1)
        assert nodes >= names
        hits = [int(h) for h in await job.gather(timeout=120)]
        assert len(hits) == 40 and abs(4 * sum(hits) / (40 * count) - 3.14159265) < 1e-3
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


def test_twistd_gridhost_computes_with_its_own_pool(tmp_path):
    """The one-command demo: no agent started by hand, and the job gets done
    by the server's local agents, which leave again once idle."""
    from naclgrid.client import connect
    from gridhost.testing import wait_for
    from tests.naclgrid.agent_support import GridServer

    server = GridServer(tmp_path, pool={"max_agents": 2, "idle_timeout": 2}).start()
    try:
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            with grid.new_job("pi") as job:
                job.start()
                job.fork_many("sample", [b"%d 20000" % seed for seed in range(20)])
                hits = [int(h) for h in job.gather(timeout=120)]
                job.stop()
        assert abs(4 * sum(hits) / (20 * 20000) - 3.14159) < 0.05
        wait_for(lambda: server.output().count("exited (0)") == 2, 60,
                   "both pool agents to drain and exit")
        log = server.output()
        assert log.count("started local agent") == 2
    finally:
        server.kill()


def test_a_pool_agent_stops_when_its_server_is_killed(tmp_path):
    """SIGKILL leaves the server no chance to stop its agents; they notice."""
    import os
    import signal

    from gridhost.testing import wait_for
    from tests.naclgrid.agent_support import GridServer

    server = GridServer(tmp_path, pool={"max_agents": 1, "idle_timeout": 600}).start()
    try:
        from naclgrid.client import connect

        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            job = grid.new_job("echo")
            job.start()
            job.fork("echo", b"x")
            assert job.gather(timeout=60) == [b"x"]
        children = _children(server.process.proc.pid)
        assert len(children) == 1
    finally:
        server.kill()

    def gone():
        try:
            os.kill(children[0], 0)
        except ProcessLookupError:
            return True
        return False
    try:
        wait_for(gone, 30, "the orphaned agent to stop")
    finally:
        if not gone():
            os.kill(children[0], signal.SIGKILL)


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found
