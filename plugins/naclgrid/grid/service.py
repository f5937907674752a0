"""The Grid's service: starts the store (Redis pub/sub), requeues expired
leases on the injected clock, so a lost agent's tasks come back without
anyone asking, and drops the task data of jobs that ended more than
``results_ttl`` ago, so a long-running server does not grow without bound."""

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import LoopingCall

# Leases processed per store call, and calls per tick: a backlog drains over
# a few ticks instead of blocking Redis with one huge script.
REQUEUE_BATCH = 1000
REQUEUE_CALLS_PER_TICK = 20
# Jobs purged per store call, calls per purge, and the longest time between
# purges (shorter for a short results_ttl, never below one tick).
PURGE_BATCH = 100
PURGE_CALLS = 10
PURGE_EVERY = 60.0


class GridService(Service):
    name = "naclgrid-engine"

    def __init__(self, grid, interval=1.0):
        self.grid, self.interval = grid, interval
        self._loop = None
        self._next_purge = None

    def startService(self):
        super().startService()
        started = self.grid.store.start()
        started.addErrback(lambda f: self.grid.log.failure("grid store failed to start", f))
        self._loop = LoopingCall(self.requeue_now)
        self._loop.clock = self.grid.clock
        self._loop.start(self.interval, now=False)
        return None

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return self.grid.store.close()

    def requeue_now(self):
        """One tick; never fails (a failure would stop the LoopingCall)."""
        return ensureDeferred(self._requeue())

    async def _requeue(self):
        try:
            for _ in range(REQUEUE_CALLS_PER_TICK):
                n = await self.grid.store.requeue_expired(self.grid.clock.seconds(),
                                                          limit=REQUEUE_BATCH)
                if n < REQUEUE_BATCH:
                    break
        except Exception:
            self.grid.log.failure("requeueing expired leases failed; will retry")
        ttl, now = self.grid.results_ttl, self.grid.clock.seconds()
        if ttl is None or (self._next_purge is not None and now < self._next_purge):
            return
        self._next_purge = now + min(PURGE_EVERY, max(self.interval, ttl / 10))
        try:
            for _ in range(PURGE_CALLS):
                if await self.grid.store.purge_finished(now - ttl, limit=PURGE_BATCH) < PURGE_BATCH:
                    break
        except Exception:
            self.grid.log.failure("dropping the results of ended jobs failed; will retry")
