"""Deliver finished results to the server, never losing one.

A result stays here until the server has answered for it: accepted (also as
a duplicate of an earlier delivery), or refused for good because its lease is
stale or its job stopped, when it is dropped (the server has, or will get,
another copy). While the server is unreachable the queue keeps everything and
retries with backoff. Results that finish while one delivery is in flight are
batched into the next ``ack_many`` call: batching costs no added latency.
While the agent is busy (``hold()`` is true: tasks are waiting for a slot),
a result may also wait up to ``delay`` seconds for company, which saves the
server one request per task when tasks are short; an idle agent acks at once,
so a lone task's round trip never waits.

Results may also ride on the agent's next ``pop`` (:meth:`AckQueue.take_riding`):
the agent hands back the server's verdicts, or the batch when the pop failed.
"""

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from naclgrid.client.backoff import Backoff
from naclgrid.client.errors import GridAPIError, GridError

# Refusals that mean "the server will never take this result": drop it.
FINAL_REFUSALS = frozenset({"stale_lease", "job_stopped", "no_such_job", "no_such_task"})
MAX_BATCH = 256
MAX_BATCH_BYTES = 8 * 1024 * 1024


class PendingAck:
    __slots__ = ("job_id", "slot", "lease_id", "result", "error")

    def __init__(self, job_id, slot, lease_id, result=None, error=None):
        self.job_id = job_id
        self.slot = slot
        self.lease_id = lease_id
        self.result = result
        self.error = error

    @property
    def key(self):
        return (self.job_id, self.slot)

    def as_dict(self):
        return {"job_id": self.job_id, "slot": self.slot, "lease_id": self.lease_id,
                "result": self.result, "error": self.error}

    def size(self):
        return len(self.result) if self.error is None else len(self.error)


class AckQueue:
    """``add()`` a finished task; ``on_settled(key, accepted)`` is called once
    the server has decided about it."""

    log = Logger()

    def __init__(self, api, clock, on_settled, on_server=None, backoff=None, hold=None,
                 delay=0.05, hold_items=64):
        self._api = api
        self._clock = clock
        self._on_settled = on_settled
        self._on_server = on_server or (lambda state: None)
        self._backoff = backoff or Backoff(initial=0.25, maximum=10.0)
        self._queue = []
        self._busy = False
        self._empty_waiters = []
        self._inflight = 0
        self._hold = hold or (lambda: False)
        self._delay = delay
        self._hold_items = hold_items
        self._timer = None
        self._riding = 0

    def __len__(self):
        return len(self._queue) + self._inflight + self._riding

    def add(self, item, send=True):
        """Queue a result; with ``send=False`` the caller calls :meth:`kick`
        itself (after a pop has had the chance to take it along)."""
        self._queue.append(item)
        if send:
            self.kick()

    def kick(self):
        """Send what is queued now, or soon if the agent is busy."""
        if self._busy or not self._queue:
            return  # joins the next batch
        if self._hold() and len(self._queue) < self._hold_items:
            if self._timer is None:
                self._timer = self._clock.callLater(self._delay, self.flush)
            return
        self.flush()

    def take_riding(self):
        """Queued results to send along with a pop (possibly none)."""
        if not self._queue:
            return []
        batch = self._take()
        self._riding += len(batch)
        if not self._queue and self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        return batch

    def riding_answered(self, batch, answers):
        """The server's verdicts on a batch that rode on a pop."""
        self._riding -= len(batch)
        if len(answers) != len(batch):
            # Not an answer for each item: deliver them again (acks are idempotent).
            self.riding_failed(batch, counted=True)
            return
        self._backoff.reset()
        self._settle(batch, answers)
        self.kick()
        self._check_empty()

    def riding_failed(self, batch, counted=False):
        """The pop they rode on failed: they may or may not have arrived."""
        if not counted:
            self._riding -= len(batch)
        self._queue[:0] = batch
        self.flush()

    def flush(self):
        """Send what is queued now (no-op while a delivery is running)."""
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if self._busy or not self._queue:
            return
        self._busy = True
        ensureDeferred(self._deliver()).addErrback(
            lambda f: self.log.failure("ack delivery crashed", f))

    def drop(self, key):
        """Forget a queued result whose lease is known to be lost."""
        self._queue = [item for item in self._queue if item.key != key]

    def when_empty(self):
        self.flush()
        waiter = Deferred()
        self._empty_waiters.append(waiter)
        self._check_empty()
        return waiter

    def _check_empty(self):
        if not self._queue and not self._busy and not self._riding:
            waiters, self._empty_waiters = self._empty_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    async def _deliver(self):
        try:
            while self._queue:
                batch = self._take()
                self._inflight = len(batch)
                try:
                    answers = await self._send(batch)
                except GridError as exc:
                    # Unreachable or 5xx: put the batch back in front, wait, retry.
                    self._queue[:0] = batch
                    self._inflight = 0
                    self._on_server("unreachable")
                    delay = self._backoff.next_delay()
                    self.log.info("ack failed ({error}); retry in {delay:.1f}s",
                                  error=exc, delay=delay)
                    await deferLater(self._clock, delay, lambda: None)
                    continue
                self._inflight = 0
                self._backoff.reset()
                self._on_server("ok")
                self._settle(batch, answers)
        finally:
            self._busy = False
            self._inflight = 0
            self._check_empty()

    def _take(self):
        batch, size = [], 0
        while self._queue and len(batch) < MAX_BATCH:
            cost = self._queue[0].size()
            if batch and size + cost > MAX_BATCH_BYTES:
                break
            batch.append(self._queue.pop(0))
            size += cost
        return batch

    async def _send(self, batch):
        """Per-item answers: ``{"ok": True}`` or ``{"ok": False, "error", "message"}``."""
        if len(batch) > 1:
            try:
                return await self._api.ack_many([item.as_dict() for item in batch])
            except GridAPIError:
                # The batch as a whole was refused (too large, say): one by one,
                # so that each item gets its own verdict.
                return [(await self._send([item]))[0] for item in batch]
        item = batch[0]
        try:
            await self._api.ack(item.job_id, item.slot, item.lease_id,
                                result=item.result, error=item.error)
        except GridAPIError as exc:
            return [{"ok": False, "error": exc.code, "message": exc.message}]
        return [{"ok": True}]

    def _settle(self, batch, answers):
        for item, answer in zip(batch, answers):
            if answer.get("ok"):
                self._on_settled(item.key, True)
                continue
            code = answer.get("error")
            if code == "too_large" and item.error is None:
                # The result itself was refused: report that as the task's error.
                item.result, item.error = None, f"result too large: {answer.get('message', '')}"
                self._queue.append(item)
                continue
            if code not in FINAL_REFUSALS:
                self.log.warn("ack of {job}/{slot} refused: {code} {message}", job=item.job_id,
                              slot=item.slot, code=code, message=answer.get("message"))
            self._on_settled(item.key, False)
