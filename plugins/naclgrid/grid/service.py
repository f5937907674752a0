"""The Grid's service: starts the store (Redis pub/sub) and requeues
expired leases on the injected clock, so a lost agent's tasks come back
without anyone asking."""

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import LoopingCall

# Leases processed per store call, and calls per tick: a backlog drains over
# a few ticks instead of blocking Redis with one huge script.
REQUEUE_BATCH = 1000
REQUEUE_CALLS_PER_TICK = 20


class GridService(Service):
    name = "naclgrid-engine"

    def __init__(self, grid, interval=1.0):
        self.grid, self.interval = grid, interval
        self._loop = None

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
