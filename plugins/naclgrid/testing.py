"""Helpers for tests and benchmarks of naclgrid (as gridhost.testing is for
the host): a whole naclgrid in this process with the real REST API on a
loopback port (memory store, the ``echo`` and ``pi`` apps registered, the grid's
service running; the caller passes its reactor in), and real agent
processes."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from twisted.web.resource import Resource
from twisted.web.server import Site


@dataclass
class LoopbackGrid:
    store: object
    grid: object
    keys: object
    port: object
    url: str  # the API's base URL, ending in /naclgrid/

    async def stop(self):
        self.grid.service.stopService()
        await self.port.stopListening()


async def serve_loopback(reactor, node_ttl=5.0, requeue_interval=0.5):
    """Start a :class:`LoopbackGrid` on a free 127.0.0.1 port."""
    from naclgrid.api import ApiSettings, NaclgridAPI
    from naclgrid.api.applications import ApplicationRegistry
    from naclgrid.apps import wasm_bytes
    from naclgrid.auth import Authenticator, KeyService
    from naclgrid.grid import Grid
    from naclgrid.stores.memory import MemoryGridStore

    store = MemoryGridStore()
    grid = Grid(store, reactor, node_ttl=node_ttl, requeue_interval=requeue_interval)
    registry = ApplicationRegistry(store)
    registry.add("echo", wasm_bytes("echo"))
    registry.add("pi", wasm_bytes("pi"))
    grid.applications = registry
    await registry.publish()
    keys = KeyService(store, reactor)
    api = NaclgridAPI(grid, Authenticator(keys, store, reactor), reactor,
                      ApiSettings(applications=registry))
    root = Resource()
    root.putChild(b"naclgrid", api.resource())
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    grid.service.startService()
    return LoopbackGrid(store, grid, keys, port,
                        f"http://127.0.0.1:{port.getHost().port}/naclgrid/")


class AgentProcess:
    """``python -m naclgrid.agent`` (the real CLI) as a child process, for
    black-box tests and benchmarks. The key travels in ``NACLGRID_KEY``,
    never on the command line; every start appends to ``FOLDER/NAME.log``,
    so an agent restarted under the same name keeps one story."""

    def __init__(self, folder, url, key, name, slots=1, poll_wait=2, status="plain",
                 extra=(), env=None, cwd=None):
        self.folder, self.url, self.name = Path(folder), url, name
        self.log_path = self.folder / f"{name}.log"
        self.args = [sys.executable, "-m", "naclgrid.agent", "--url", url, "--slots", str(slots),
                     "--node", name, "--status", status, "--poll-wait", str(poll_wait),
                     "--cache-dir", str(self.folder / "agent-cache"), *extra]
        self.env = {**os.environ, **(env or {}), "NACLGRID_KEY": key, "PYTHONUNBUFFERED": "1"}
        self.cwd = cwd
        self.proc = None

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, cwd=self.cwd, stdout=log,
                                         stderr=subprocess.STDOUT)
        return self

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        if self.alive:
            self.proc.send_signal(signum)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        """SIGKILL: the agent loses what it holds (leases expire)."""
        if self.alive:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout=15):
        """SIGTERM (the agent drains), and SIGKILL if it does not exit in time."""
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
