"""Where entries live: in memory, or in the host's Redis."""

import json

from twisted.internet.defer import succeed


class MemoryBook:
    def __init__(self, limit):
        self._entries, self._limit = [], limit

    def add(self, entry):
        self._entries = ([entry] + self._entries)[: self._limit]
        return succeed(None)

    def latest(self):
        return succeed(list(self._entries))

    def count(self):
        return len(self._entries)


class RedisBook:
    KEY = "guestbook:entries"

    def __init__(self, redis, limit):
        self._redis, self._limit = redis, limit
        self._count = 0

    async def add(self, entry):
        await self._redis.lpush(self.KEY, json.dumps(entry))
        await self._redis.ltrim(self.KEY, 0, self._limit - 1)

    async def latest(self):
        raw = await self._redis.lrange(self.KEY, 0, self._limit - 1)
        entries = [json.loads(r) for r in raw]
        self._count = len(entries)
        return entries

    def count(self):
        return self._count
