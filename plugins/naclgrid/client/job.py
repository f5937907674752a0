"""A job seen from its master: drop files, start, fork, gather, stop."""

from twisted.internet.defer import gatherResults
from twisted.internet.task import deferLater

from naclgrid.client.backoff import Backoff
from naclgrid.client.errors import GridError, GridUnavailable, TaskFailed

# Reasons a queued task gives when nobody else will run it soon.
_NOBODY_FREE = frozenset({"no_agent", "agents_busy"})
# fork_many and fetch_many bodies are kept around this size: large enough to
# amortise a round trip, small enough not to strain either side's memory.
BATCH_BYTES = 8 * 1024 * 1024
MAX_FORK_BATCH = 10_000
MAX_FETCH_BATCH = 1000
FETCH_WAIT = 20
CALL_WAIT_COMPUTING = 0.5
# Results at least this big (on average) are fetched raw, RAW_PARALLEL at
# once, from a server that cannot send frames (base64 in JSON costs more).
RAW_FETCH_BYTES = 64 * 1024
RAW_PARALLEL = 4


class Job:
    """Handle on one job. Use it as ``async with`` block: leaving the block
    with an exception cancels the job, so no agent works on for nothing."""

    def __init__(self, grid, job_id, application=None):
        self.grid = grid
        self.job_id = job_id
        self.application = application
        self._slots = []
        self._worker = None

    def __repr__(self):
        return f"<Job {self.job_id} {self.application or ''}>"

    @property
    def _api(self):
        return self.grid.api

    async def drop_file(self, name, data):
        """Upload a file the job's tasks can read (or, named like the
        ``file:NAME`` application, the job's own .wasm module)."""
        return await self._api.drop_file(self.job_id, name, bytes(data))

    async def start(self, input=b"", **extras):
        """Start the job; ``extras`` become extra form fields."""
        return await self._api.start_job(self.job_id, bytes(input),
                                         [(k, str(v)) for k, v in extras.items()])

    async def fork(self, entry, input=b""):
        """Queue one task; returns its slot."""
        answer = await self._api.fork(self.job_id, entry, bytes(input))
        self._slots.append(answer["slot"])
        return answer["slot"]

    async def call(self, entry, input=b"", *, timeout=None, compute=None):
        """Fork one task and return its result: :meth:`fork` then
        :meth:`fetch`, in one round trip when the result is ready soon (the
        server answers ``fork`` with the result, waiting up to a few seconds).
        Raises :class:`TaskFailed` if it failed."""
        compute = self.grid.compute if compute is None else compute
        # A computing master waits briefly: if no agent takes the task it
        # must learn that soon, to run the task itself.
        wait = CALL_WAIT_COMPUTING if compute else FETCH_WAIT
        if timeout is not None:
            wait = max(0.001, min(wait, timeout))
        slot, state, value = await self._api.fork_wait(self.job_id, entry, bytes(input), wait)
        self._slots.append(slot)
        if state == "done":
            return value
        if state == "failed":
            raise TaskFailed(slot, value.get("message", ""), value.get("attempts"))
        return await self.fetch(slot, timeout=timeout, compute=compute)

    async def fork_many(self, entry=None, inputs=(), *, tasks=None):
        """Queue many tasks at once: ``fork_many(entry, inputs)`` or
        ``fork_many(tasks=[(entry, input), ...])``. Returns their slots."""
        if tasks is None:
            if entry is None:
                raise TypeError("fork_many needs an entry and inputs, or tasks=")
            tasks = [(entry, bytes(data)) for data in inputs]
        else:
            tasks = [(e, bytes(data)) for e, data in tasks]
        slots = []
        for batch in _batches(tasks):
            slots.extend(await self._api.fork_many(self.job_id, batch))
        self._slots.extend(slots)
        return slots

    async def fetch(self, slot, *, timeout=None, compute=None):
        """The result of one task, waiting for it (and computing while no
        agent is free). Raises :class:`TaskFailed` if it failed."""
        return (await self.gather([slot], timeout=timeout, compute=compute))[0]

    async def gather(self, slots=None, *, timeout=None, compute=None, return_exceptions=False):
        """Results of ``slots`` (default: every slot this handle forked, or
        all of the job's tasks), in order.

        While tasks wait because no agent is free, the master pops and runs
        them itself (``compute``: default from the Grid; False never does).
        A failed task raises :class:`TaskFailed`, or is returned in its place
        with ``return_exceptions=True``. ``timeout`` (seconds) raises
        :class:`GridError` when results are still missing.
        """
        if slots is None:
            slots = list(self._slots) or list(range((await self.status())["total"]))
        compute = self.grid.compute if compute is None else compute
        clock = self.grid.clock
        deadline = None if timeout is None else clock.seconds() + timeout
        results = {}
        pending = list(dict.fromkeys(slots))
        chunk, first, raw = 64, True, False
        outage = Backoff(initial=0.5, maximum=5.0)
        try:
            while pending:
                # A first look without waiting tells a computing master why
                # tasks wait; a master that never computes can long-poll at once.
                wait = 0 if first and compute else FETCH_WAIT
                first = False
                if deadline is not None:
                    left = deadline - clock.seconds()
                    if left <= 0:
                        raise GridError(f"{len(pending)} results still missing after {timeout} s")
                    wait = min(wait, max(1, int(left)))
                batch = pending[:RAW_PARALLEL if raw else chunk]
                reasons = set()
                got = 0
                try:
                    if raw:
                        items = await self._fetch_each(batch, wait)
                    else:
                        items = await self._api.fetch_many(self.job_id, batch, wait=wait)
                except GridUnavailable:
                    # Results are kept by the server: outlast an outage
                    # (bounded by ``timeout``) instead of giving up on them.
                    await deferLater(clock, outage.next_delay(), lambda: None)
                    continue
                outage.reset()
                for item in items:
                    slot, state = item["slot"], item["state"]
                    if state == "done":
                        results[slot] = item["result"]
                        got += len(item["result"])
                    elif state == "failed":
                        failure = TaskFailed(slot, item.get("error", ""), item.get("attempts"))
                        if not return_exceptions:
                            raise failure
                        results[slot] = failure
                    else:
                        reasons.add(item.get("reason"))
                done_now = sum(1 for slot in batch if slot in results)
                if done_now:
                    framed = self._api.frames
                    chunk = _next_chunk(got / done_now, framed)
                    # Frames carry results raw already; base64 JSON does not.
                    raw = not framed and got / done_now >= RAW_FETCH_BYTES
                pending = [slot for slot in pending if slot not in results]
                if "job_not_started" in reasons:
                    raise GridError(f"job {self.job_id} is not started: call start() first")
                if compute and reasons & _NOBODY_FREE:
                    self._compute()
        finally:
            if self._worker is not None:
                self._worker.stop()
        return [results[slot] for slot in slots]

    async def _fetch_each(self, slots, wait):
        """fetch_many's answer, from one raw ``fetch`` per slot (at once).

        Big results travel as raw bytes this way: fetch_many would send them
        base64 inside JSON, which costs the server more than the transfer.
        """
        answers = await gatherResults([self._api.fetch(self.job_id, slot, wait)
                                       for slot in slots], consumeErrors=True).addErrback(
            lambda failure: failure.value.subFailure.raiseException())
        items = []
        for slot, (state, value) in zip(slots, answers):
            if state == "done":
                items.append({"slot": slot, "state": "done", "result": value})
            elif state == "failed":
                items.append({"slot": slot, "state": "failed", "error": value.get("message", ""),
                              "attempts": value.get("attempts")})
            else:
                items.append({"slot": slot, "state": state, "reason": value.get("reason")})
        return items

    def _compute(self):
        if self._worker is None:
            self._worker = self.grid.local_worker(self.job_id)
        self._worker.start()

    async def status(self):
        """The job's status dict (state, counts, progress, waiting_reason...)."""
        return await self._api.job(self.job_id)

    async def stop(self, state="stopped"):
        """Stop the job (``state``: ``stopped`` or ``cancelled``)."""
        if self._worker is not None:
            self._worker.stop()
        return await self._api.stop_job(self.job_id, state)

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is not None:
            try:
                await self.stop("cancelled")
            except GridError:
                pass  # the original error matters more
        return False


def _batches(tasks):
    batch, size = [], 0
    for entry, data in tasks:
        cost = len(data) * 4 // 3 + len(entry) + 40
        if batch and (len(batch) >= MAX_FORK_BATCH or size + cost > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((entry, data))
        size += cost
    if batch:
        yield batch


def _next_chunk(mean_result_bytes, framed=False):
    per = max(64, mean_result_bytes if framed else mean_result_bytes * 4 // 3)
    return int(max(1, min(MAX_FETCH_BATCH, BATCH_BYTES // per)))
