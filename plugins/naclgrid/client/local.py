"""The master computes too: run its own job's pending tasks while it waits.

When no agent is free a master that only waited would wait forever (the
original design's known deadlock). While :meth:`Job.gather` waits, this
worker pops tasks of that one job (``pop`` with ``job_id``, allowed for a
job's own submitter), runs them in the same sandbox as an agent and acks them.
"""

from twisted.internet.defer import Deferred, DeferredList, ensureDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from naclgrid.client.errors import GridAPIError, GridError

# A short long-poll: the worker must notice soon that gather is done.
POLL_SECONDS = 1


class LocalWorker:
    """Pops and runs tasks of ``job_id`` until :meth:`stop`."""

    log = Logger()

    def __init__(self, api, job_id, executor, clock, slots=1, node="master"):
        self._api = api
        self._job_id = job_id
        self._executor = executor
        self._clock = clock
        self._slots = slots
        self._node = node
        self._running = False
        self._done = None
        self._idle_waiters = []
        self.completed = 0

    @property
    def running(self):
        return self._running

    def start(self):
        self._running = True
        if self._done is None:
            self._done = ensureDeferred(self._loop())
            self._done.addBoth(self._ended)

    def stop(self):
        """Stop popping; tasks already popped still run and are acked. Returns
        a Deferred that fires when the worker is idle."""
        self._running = False
        waiter = Deferred()
        if self._done is None:
            waiter.callback(None)
        else:
            self._idle_waiters.append(waiter)
        return waiter

    def _ended(self, result):
        self._done = None
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        if isinstance(result, Failure):
            self._running = False
            self.log.failure("the master's local worker stopped", result)

    async def _loop(self):
        failures = 0
        while self._running:
            try:
                tasks = await self._api.pop(max=self._slots, wait=POLL_SECONDS,
                                            node=self._node, job_id=self._job_id)
            except GridAPIError as exc:
                self.log.warn("the master cannot compute its own tasks: {error}", error=exc)
                self._running = False
                return
            except GridError as exc:
                failures += 1
                self.log.info("pop failed ({error}); retrying", error=exc)
                await deferLater(self._clock, min(5, 0.5 * failures), lambda: None)
                continue
            failures = 0
            if not tasks:
                continue
            outcomes = await DeferredList([self._executor.run(t) for t in tasks],
                                          consumeErrors=True)
            acks = []
            for task, (ok, outcome) in zip(tasks, outcomes):
                if not ok:  # could not even prepare it: the lease will expire
                    self.log.warn("task {slot} not run: {error}", slot=task["slot"],
                                  error=outcome.getErrorMessage())
                    continue
                acks.append({"job_id": task["job_id"], "slot": task["slot"],
                             "lease_id": task["lease_id"], "result": outcome.result,
                             "error": outcome.error})
            await self._ack(acks)

    async def _ack(self, acks):
        if not acks:
            return
        try:
            if len(acks) == 1:
                a = acks[0]
                await self._api.ack(a["job_id"], a["slot"], a["lease_id"],
                                    result=a["result"], error=a["error"])
            else:
                await self._api.ack_many(acks)
            self.completed += len(acks)
        except GridAPIError as exc:
            if exc.code not in ("stale_lease", "job_stopped"):
                self.log.warn("ack refused: {error}", error=exc)
        except GridError as exc:
            self.log.warn("ack failed: {error}; the lease will expire", error=exc)
