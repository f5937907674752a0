"""Fixed-window counters in the shared kv: every server sees the same
count, so spreading attempts over servers does not help an attacker."""


class RateLimiter:
    """``RateLimiter(keyspace)``; each rule is (limit, window seconds)."""

    def __init__(self, keyspace):
        self._kv = keyspace

    async def hit(self, key, limit, window):
        """Count one attempt; True while at most ``limit`` attempts fell in
        the current window."""
        return await self._kv.incr(key, ttl=window) <= limit

    async def exceeded(self, key, limit):
        """True when ``key`` already used up its ``limit`` (without counting)."""
        return await self._kv.get_int(key) >= limit

    async def reset(self, key):
        await self._kv.delete(key)
