"""A prefixed view of the naclgrid store's kv with time from the clock.

Everything the site keeps (users, sessions, credit, feedback) goes through
this, so a memory store and a Redis store shared by several servers behave
the same, and no module reads the time itself.
"""

import json


class Keyspace:
    """``Keyspace(store, clock, prefix)``: ``store`` is a naclgrid
    IGridStore (its ``kv_*`` and ``remember_nonce`` methods)."""

    def __init__(self, store, clock, prefix="cf:"):
        self.store, self.clock, self.prefix = store, clock, prefix

    def now(self):
        return self.clock.seconds()

    def child(self, prefix):
        return Keyspace(self.store, self.clock, self.prefix + prefix)

    async def get(self, key):
        return await self.store.kv_get(self.prefix + key, now=self.now())

    async def set(self, key, value, ttl=None):
        await self.store.kv_set(self.prefix + key, value, now=self.now(), ttl=ttl)

    async def delete(self, key):
        await self.store.kv_delete(self.prefix + key)

    async def incr(self, key, amount=1, ttl=None):
        return int(await self.store.kv_incr(self.prefix + key, now=self.now(),
                                            amount=amount, ttl=ttl))

    async def get_int(self, key):
        raw = await self.get(key)
        return int(raw) if raw is not None else 0

    async def get_json(self, key):
        raw = await self.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def set_json(self, key, value, ttl=None):
        await self.set(key, json.dumps(value, separators=(",", ":")).encode(), ttl=ttl)

    async def claim(self, key, ttl=None):
        """True for exactly one caller across every server sharing the store
        (until ``ttl`` seconds pass; forever when None)."""
        # A counter is atomic on both stores; the first increment wins.
        return await self.incr("claim:" + key, ttl=ttl) == 1
