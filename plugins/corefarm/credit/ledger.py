"""Balances in CPU-milliseconds, kept as atomic counters in the shared kv.

Every participant (site account, API key user, anonymous volunteer) gets
the starting grant once, the first time the ledger meets them, and an
index number so the leaderboard can list them without scanning the store.
A tile is booked at most once, however many times its ack is retried.
"""

from zope.interface import implementer

from corefarm.credit.interfaces import ILedger

MS_PER_SECOND = 1000
TILE_RECORD_TTL = 30 * 24 * 3600     # long after any retry of the same tile
BOARD_LIMIT = 10_000


@implementer(ILedger)
class Ledger:
    """``Ledger(keyspace, starting_grant=3600.0)`` (seconds)."""

    def __init__(self, keyspace, starting_grant=3600.0):
        self._kv = keyspace
        self.starting_grant_ms = int(round(starting_grant * MS_PER_SECOND))

    async def ensure(self, user):
        """Index ``user`` and give the starting grant, once per user."""
        if not await self._kv.claim("member:" + user):
            return False
        seq = await self._kv.incr("members")
        await self._kv.set(f"member-at:{seq}", user.encode())
        if self.starting_grant_ms:
            await self._kv.incr("bal:" + user, self.starting_grant_ms)
            await self._kv.incr("granted:" + user, self.starting_grant_ms)
        return True

    async def balance(self, user):
        """CPU-seconds ``user`` may still spend (may be slightly negative:
        tiles already in flight are paid when they land)."""
        await self.ensure(user)
        return await self._kv.get_int("bal:" + user) / MS_PER_SECOND

    async def record_tile(self, contributor, owner, cpu_seconds, job_id, slot):
        """Book one delivered tile: the contributor earns, the owner pays.
        False (and nothing booked) when this tile was booked before."""
        ms = max(0, int(round(cpu_seconds * MS_PER_SECOND)))
        if not await self._kv.claim(f"tile:{job_id}:{slot}", ttl=TILE_RECORD_TTL):
            return False
        await self.ensure(contributor)
        await self.ensure(owner)
        await self._kv.incr("bal:" + contributor, ms)
        await self._kv.incr("don:" + contributor, ms)
        await self._kv.incr("bal:" + owner, -ms)
        await self._kv.incr("con:" + owner, ms)
        await self._kv.incr(f"job:{job_id}", ms)
        await self._kv.incr(f"job-tiles:{job_id}")
        await self._kv.incr("total", ms)
        return True

    async def job_cost(self, job_id):
        """``(cpu_seconds, tiles)`` booked for a job so far."""
        return (await self._kv.get_int(f"job:{job_id}") / MS_PER_SECOND,
                await self._kv.get_int(f"job-tiles:{job_id}"))

    async def total_exchanged(self):
        return await self._kv.get_int("total") / MS_PER_SECOND

    async def account(self, user):
        """``{"user", "balance", "donated", "consumed", "granted"}`` in seconds."""
        await self.ensure(user)
        values = [await self._kv.get_int(f"{k}:{user}") for k in ("bal", "don", "con", "granted")]
        balance, donated, consumed, granted = (v / MS_PER_SECOND for v in values)
        return {"user": user, "balance": balance, "donated": donated, "consumed": consumed,
                "granted": granted}

    async def members(self, limit=BOARD_LIMIT):
        count = min(await self._kv.get_int("members"), limit)
        out = []
        for seq in range(1, count + 1):
            raw = await self._kv.get(f"member-at:{seq}")
            if raw is not None:
                out.append(raw.decode())
        return out

    async def board(self, limit=100):
        """Accounts sorted by CPU-seconds donated (then consumed), at most
        ``limit`` rows, idle members left out."""
        rows = [await self.account(user) for user in await self.members()]
        rows = [r for r in rows if r["donated"] or r["consumed"]]
        rows.sort(key=lambda r: (-r["donated"], -r["consumed"], r["user"]))
        return rows[:limit]
