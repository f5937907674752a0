"""The local pool's launcher (issue 4) as an INodeProvider, so the same
elastic service and policy drive agent processes on this machine: the
one-command demo, and the plot in docs/elastic.md."""

import signal

from twisted.internet.defer import ensureDeferred, succeed
from zope.interface import implementer

from naclgrid.elastic.interfaces import INodeProvider
from naclgrid.elastic.model import ProviderNode


@implementer(INodeProvider)
class LocalProvider:
    """``launcher`` is a :class:`naclgrid.pool.LocalLauncher`; ``key_factory()``
    a Deferred of the agents' shared key (the pool's). A local agent is
    fenced with SIGTERM, which makes it stop popping and finish what it
    holds; nothing survives the server, so there is nothing to adopt."""

    kind = "local"
    adopts = False

    def __init__(self, launcher, key_factory):
        self.launcher = launcher
        self._key_factory = key_factory
        self._has_key = False

    def list_nodes(self):
        return succeed([ProviderNode(a.name, a.name, state="draining" if a.draining else "running",
                                     handle=a) for a in self.launcher.agents])

    def create_node(self, name):
        return ensureDeferred(self._create(name))

    async def _create(self, name):
        if not self._has_key:
            self.launcher.set_key(await self._key_factory())
            self._has_key = True
        # The launcher names its agents itself; the service adopts that name.
        agent = self.launcher.start_agent()
        return ProviderNode(agent.name, agent.name, state="running", handle=agent)

    def _alive(self, node):
        agent = node.handle
        return agent if agent is not None and agent in self.launcher.agents else None

    def fence_node(self, node):
        agent = self._alive(node)
        if agent is not None and not agent.draining:
            agent.draining = True
            agent.signal(signal.SIGTERM)
        return succeed(None)

    def destroy_node(self, node):
        agent = self._alive(node)
        if agent is not None:
            # Fenced, past its grace and holding no lease: safe to end now.
            agent.signal(signal.SIGKILL)
        return succeed(True)

    def shutdown(self, grace=5.0):
        """Stop every agent when the server stops (drain, then kill)."""
        return self.launcher.stop_all(grace)
