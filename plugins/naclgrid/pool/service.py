"""The pool service: every tick, compare demand with the policy, start or
drain agents."""

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger


class PoolService(Service):
    """``demand()`` returns a Deferred of an IDemand; ``key_factory()`` a
    Deferred of the agents' key (asked once, before the first start)."""

    name = "naclgrid-pool"
    log = Logger(namespace="naclgrid.pool")

    def __init__(self, policy, launcher, demand, key_factory, clock, interval=1.0, stop_grace=2.0):
        self.policy = policy
        self.launcher = launcher
        self._demand = demand
        self._key_factory = key_factory
        self._clock = clock
        self._interval = interval
        self._stop_grace = stop_grace
        self._loop = None
        self._has_key = False

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self.tick)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=False)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return self.launcher.stop_all(self._stop_grace)

    def tick(self):
        """One decision; never fails (a failure would end the LoopingCall)."""
        return ensureDeferred(self._tick())

    async def _tick(self):
        try:
            demand = await self._demand()
            running = self.launcher.running()
            wanted = self.policy.desired(demand, running, self._clock.seconds())
            if wanted > running and not self._has_key:
                self.launcher.set_key(await self._key_factory())
                self._has_key = True
            for _ in range(wanted - running):
                self.launcher.start_agent()
            for _ in range(running - wanted):
                self.launcher.drain_agent()
        except Exception:
            self.log.failure("pool tick failed; trying again next tick")
