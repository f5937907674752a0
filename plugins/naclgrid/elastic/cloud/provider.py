"""Cloud nodes through apache-libcloud: one INodeProvider for EC2, GCE,
Azure, OpenStack (and libcloud's dummy driver in tests).

libcloud is blocking (requests), so every driver call goes through
``run_blocking(function, *args)``, which returns a Deferred: a thread pool
in the server, a plain synchronous call in unit tests.
"""

from datetime import datetime

from twisted.internet.defer import ensureDeferred
from zope.interface import implementer

from naclgrid.elastic.cloud.drivers import TAG_KEY, TAG_NODE, TAG_POOL
from naclgrid.elastic.cloud.userdata import render_user_data
from naclgrid.elastic.interfaces import INodeProvider
from naclgrid.elastic.model import ProviderNode

GONE_STATES = ("terminated",)


def _timestamp(value):
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return None


@implementer(INodeProvider)
class CloudProvider:
    """``keys`` is a :class:`naclgrid.auth.KeyService`: each node gets a
    fresh agent key (user ``elastic-<pool>``), revoked when it is fenced or
    destroyed. ``server_url`` is the naclgrid API as the nodes reach it."""

    adopts = True

    def __init__(self, driver, adapter, keys, pool, server_url, slots_per_node, run_blocking,
                 install="gridhost", pip_index_url=""):
        self.driver = driver
        self.adapter = adapter
        self.keys = keys
        self.pool = pool
        self.server_url = server_url
        self.slots_per_node = slots_per_node
        self.install = install
        self.pip_index_url = pip_index_url
        self._run = run_blocking

    @property
    def kind(self):
        return self.adapter.kind

    def list_nodes(self):
        return ensureDeferred(self._list_nodes())

    async def _list_nodes(self):
        nodes = await self._run(self.adapter.list_ours, self.driver, self.pool)
        out = []
        for node in nodes:
            tags = self.adapter.tags_of(node)
            if tags.get(TAG_POOL) != self.pool or not tags.get(TAG_NODE):
                continue
            if str(node.state).lower() in GONE_STATES:
                continue
            out.append(self._provider_node(node, tags))
        return out

    def _provider_node(self, node, tags):
        created = _timestamp(getattr(node, "created_at", None))
        return ProviderNode(tags[TAG_NODE], str(node.id), created, tags.get(TAG_KEY),
                            str(node.state).lower(), handle=node)

    def create_node(self, name):
        return ensureDeferred(self._create_node(name))

    async def _create_node(self, name):
        key, record = await self.keys.create("agent", user=f"elastic-{self.pool}")
        key_id = record["key_id"]
        try:
            user_data = render_user_data(self.server_url, key, name, self.slots_per_node,
                                         install=self.install, pip_index_url=self.pip_index_url)
            tags = {TAG_POOL: self.pool, TAG_NODE: name, TAG_KEY: key_id}
            node = await self._run(self.adapter.create, self.driver, name, user_data, tags)
        except BaseException:
            # No machine: the key must not outlive the attempt.
            await self.keys.revoke(key_id)
            raise
        return self._provider_node(node, {TAG_NODE: name, TAG_KEY: key_id})

    def fence_node(self, node):
        return ensureDeferred(self._revoke(node))

    async def _revoke(self, node):
        if node.key_id:
            await self.keys.revoke(node.key_id)

    def destroy_node(self, node):
        return ensureDeferred(self._destroy_node(node))

    async def _destroy_node(self, node):
        handle = node.handle
        if handle is None:
            listed = {n.provider_id: n for n in await self._list_nodes()}
            handle = listed[node.provider_id].handle if node.provider_id in listed else None
        if handle is not None:
            try:
                await self._run(self.driver.destroy_node, handle)
            except Exception:
                # Already gone (terminated elsewhere, spot reclaim) is success.
                listed = {n.provider_id for n in await self._list_nodes()}
                if node.provider_id in listed:
                    raise
        await self._revoke(node)
        return True
