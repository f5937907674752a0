"""A whole naclgrid in this process, for tests and benchmarks that need the
real REST API on a loopback port (agent processes, the elastic service)
without a twistd: memory store, the ``echo`` app registered, the grid's
service running. Only callers pass a reactor in; nothing here imports one.
"""

from dataclasses import dataclass

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
