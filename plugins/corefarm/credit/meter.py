"""Measuring who computed which tile, and for how long.

The REST API calls ``grid.pop(node, user, ...)`` and ``grid.ack(job_id,
slot, lease_id, ...)``; :class:`MeteredGrid` wraps the Grid it is given and
tells the :class:`TileMeter` about both. The meter remembers each lease of a
metered application (who popped it, when) in the shared kv, and books a tile
when its result is accepted.

A tile is worth the lease's wall time, from pop to accepted ack. For a
browser worker, which pops one tile at a time, that is its compute time. An
agent that prefetches is also credited for the time a tile waited in its
queue; the lease length caps that.
"""

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger

from naclgrid.model import ACK_OK

# Kept after the lease expires, for acks that arrive late but still count.
LEASE_RECORD_GRACE = 600.0


class TileMeter:
    """``TileMeter(keyspace, ledger, grid, applications=("yafaray",))``."""

    log = Logger(namespace="corefarm.credit")

    def __init__(self, keyspace, ledger, grid, applications=("yafaray",), log=None):
        self._kv, self._ledger, self._grid = keyspace, ledger, grid
        self.applications = frozenset(applications)
        self._owners = {}           # job_id -> owner (never changes)
        self.listeners = []         # callables(owner) after a booking
        if log is not None:
            self.log = log

    async def popped(self, user, node, tasks):
        now = self._kv.now()
        for task in tasks:
            if task.application not in self.applications:
                continue
            ttl = max(1.0, task.lease_expires - now) + LEASE_RECORD_GRACE
            await self._kv.set_json("lease:" + task.lease_id,
                                    {"user": user, "node": node, "t0": now,
                                     "cap": task.lease_expires - now}, ttl=ttl)

    async def delivered(self, job_id, slot, lease_id):
        """A result for this lease was accepted: book the tile."""
        record = await self._kv.get_json("lease:" + lease_id)
        if record is None:
            return False
        await self._kv.delete("lease:" + lease_id)
        seconds = min(max(0.0, self._kv.now() - record["t0"]), max(record.get("cap", 0.0), 0.0))
        owner = await self.owner_of(job_id)
        booked = await self._ledger.record_tile(record["user"], owner, seconds, job_id, slot)
        if booked:
            for listener in list(self.listeners):
                listener(owner)
        return booked

    async def owner_of(self, job_id):
        if job_id not in self._owners:
            if len(self._owners) > 100_000:
                self._owners.clear()
            self._owners[job_id] = (await self._grid.get_job(job_id)).owner
        return self._owners[job_id]


class MeteredGrid:
    """A Grid that reports pops and accepted results to a TileMeter.
    Everything else is the wrapped Grid's. A meter failure is logged and
    never fails the agent's call: losing a credit beats losing a tile."""

    def __init__(self, grid, meter):
        self._grid, self._meter = grid, meter

    def __getattr__(self, name):
        return getattr(self._grid, name)

    def pop(self, node, user, *args, **kwargs):
        return ensureDeferred(self._pop(node, user, *args, **kwargs))

    async def _pop(self, node, user, *args, **kwargs):
        tasks = await self._grid.pop(node, user, *args, **kwargs)
        try:
            await self._meter.popped(user, node, tasks)
        except Exception:
            self._meter.log.failure("could not meter a pop by {user}", user=user)
        return tasks

    def ack(self, job_id, slot, lease_id, result=None, error=None):
        return ensureDeferred(self._ack(job_id, slot, lease_id, result, error))

    async def _ack(self, job_id, slot, lease_id, result, error):
        outcome = await self._grid.ack(job_id, slot, lease_id, result=result, error=error)
        if result is not None and outcome == ACK_OK:
            try:
                await self._meter.delivered(job_id, slot, lease_id)
            except Exception:
                self._meter.log.failure("could not book tile {job_id}/{slot}",
                                        job_id=job_id, slot=slot)
        return outcome

    def ack_many(self, acks):
        return ensureDeferred(self._ack_many(list(acks)))

    async def _ack_many(self, acks):
        # The REST API's ack_many goes through here: meter it like single acks.
        outcomes = await self._grid.ack_many(acks)
        for (job_id, slot, lease_id, result, _error), outcome in zip(acks, outcomes):
            if result is not None and outcome == ACK_OK:
                try:
                    await self._meter.delivered(job_id, slot, lease_id)
                except Exception:
                    self._meter.log.failure("could not book tile {job_id}/{slot}",
                                            job_id=job_id, slot=slot)
        return outcomes
