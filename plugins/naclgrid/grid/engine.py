"""The Grid: naclgrid's in-process API (see naclgrid.interfaces.IGrid).

It validates and limits what callers send, checks job ownership, explains
why work waits, and turns the store's one-shot ``pop``/``fetch`` into long
polls that wake on store events. All time comes from the injected clock.
"""

import json
import posixpath
import re
from collections import Counter

from twisted.internet.defer import ensureDeferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from naclgrid.errors import BadRequest, GridError, NoSuchJob, TooLarge
from naclgrid.interfaces import IGrid
from naclgrid.model import (
    AGENTS_BUSY, CREATED, FINAL_JOB_STATES, INSUFFICIENT_CREDIT, JOB_NOT_STARTED,
    JOB_STOPPED, NO_AGENT, QUEUED, REASONS, STOPPED, Lease, Limits, job_status_json,
)
from naclgrid.grid.service import GridService
from naclgrid.grid.waiters import Waiters

NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
MAX_SLOTS_PER_CALL = 10_000
MAX_HEARTBEAT_LEASES = 1024
MAX_ACKS_PER_CALL = 1024
# A poll parked at least this long takes no more than its ``park_max``.
PARK_SECONDS = 0.5


def _as_deferred(coroutine_function):
    def wrapper(*args, **kwargs):
        return ensureDeferred(coroutine_function(*args, **kwargs))
    wrapper.__name__ = coroutine_function.__name__
    wrapper.__doc__ = coroutine_function.__doc__
    return wrapper


def _int_in(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer in {low}..{high}")
    return value


def _number_in(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BadRequest(f"{name} must be a number in {low}..{high}")
    return float(value)


@implementer(IGrid)
class Grid:
    """``Grid(store, clock, limits=None, log=None, node_ttl=30.0,
    requeue_interval=1.0, results_ttl=86400.0)``. A node counts as live for
    ``node_ttl`` seconds after it was last seen (plus the length of a long
    poll it is in). A job's task inputs and results are dropped
    ``results_ttl`` seconds after it ends (``None``: kept for ever)."""

    def __init__(self, store, clock, limits=None, log=None, node_ttl=30.0,
                 requeue_interval=1.0, results_ttl=86400.0):
        self.store, self.clock = store, clock
        self.results_ttl = None if results_ttl is None else float(results_ttl)
        self.limits = limits or Limits()
        self.log = log or Logger()
        self.node_ttl = float(node_ttl)
        self._waiters = Waiters()
        self._polling = Counter()
        self._touched = {}          # node -> ((user, apps), live_until, when) last written
        self._unsubscribe = store.subscribe(self._waiters.on_event)
        self.service = GridService(self, requeue_interval)

    def _now(self):
        return self.clock.seconds()

    @property
    def waiting(self):
        """Number of long polls currently parked on this server."""
        return len(self._waiters)

    # -- jobs ------------------------------------------------------------------------
    @_as_deferred
    async def new_job(self, owner, application, priority=1, max_attempts=3,
                      lease_seconds=60.0, meta=None):
        lim = self.limits
        if not isinstance(owner, str) or not owner:
            raise BadRequest("owner must be a non-empty string")
        if (not isinstance(application, str) or not application
                or len(application) > lim.max_application_chars or "\n" in application):
            raise BadRequest(f"application must be 1..{lim.max_application_chars} characters")
        _int_in("priority", priority, 1, 100)
        _int_in("max_attempts", max_attempts, 1, 20)
        lease_seconds = _number_in("lease_seconds", lease_seconds, 5, 3600)
        meta = dict(meta or {})
        try:
            encoded = json.dumps(meta)
        except (TypeError, ValueError):
            raise BadRequest("meta must be JSON-serialisable") from None
        if len(encoded) > lim.max_meta_bytes:
            raise TooLarge(f"meta is larger than {lim.max_meta_bytes} bytes")
        return await self.store.create_job(
            owner, application, now=self._now(), priority=priority,
            max_attempts=max_attempts, lease_seconds=lease_seconds, meta=meta,
            max_active=lim.max_active_jobs_per_user)

    @_as_deferred
    async def get_job(self, job_id, owner=None):
        return await self._owned(job_id, owner)

    async def _owned(self, job_id, owner):
        if not isinstance(job_id, str) or not job_id:
            raise NoSuchJob("no job given")
        job = await self.store.get_job(job_id)
        if owner is not None and job.owner != owner:
            # Same answer as a missing job: never reveal that it exists.
            raise NoSuchJob(f"no job {job_id}")
        return job

    @_as_deferred
    async def job_status(self, job_id, owner=None):
        job = await self._owned(job_id, owner)
        return job_status_json(job, await self.waiting_reason(job))

    @_as_deferred
    async def list_jobs(self, owner=None):
        jobs = await self.store.list_jobs(owner)
        nodes = await self._live_nodes() if any(self._needs_nodes(j) for j in jobs) else []
        return [job_status_json(j, self._reason(j, nodes)) for j in jobs]

    @_as_deferred
    async def waiting_reason(self, job):
        nodes = await self._live_nodes() if self._needs_nodes(job) else []
        return self._reason(job, nodes)

    @staticmethod
    def _needs_nodes(job):
        return (job.state not in FINAL_JOB_STATES and job.state != CREATED
                and job.held is None and job.counts[QUEUED] > 0)

    @staticmethod
    def _reason(job, live_nodes):
        if job.state == CREATED:
            return JOB_NOT_STARTED
        if job.state in FINAL_JOB_STATES:
            return JOB_STOPPED
        if job.held is not None:
            return job.held if job.held in REASONS else INSUFFICIENT_CREDIT
        if job.counts[QUEUED] == 0:
            return None
        if any(n.serves(job.application) for n in live_nodes):
            return AGENTS_BUSY
        return NO_AGENT

    async def _live_nodes(self):
        now = self._now()
        return [n for n in await self.store.list_nodes(now) if n.live(now)]

    # -- files -------------------------------------------------------------------------
    @_as_deferred
    async def drop_file(self, job_id, name, data, owner=None):
        lim = self.limits
        name = posixpath.basename(str(name).replace("\\", "/"))
        if not name or name in (".", "..") or len(name) > lim.max_file_name_chars \
                or "\x00" in name or "\n" in name:
            raise BadRequest("bad file name")
        if len(data) > lim.max_file_bytes:
            raise TooLarge(f"file is larger than {lim.max_file_bytes} bytes")
        await self._owned(job_id, owner)
        sha = await self.store.put_blob(bytes(data))
        return await self.store.add_file(job_id, name, sha, len(data))

    def get_file(self, sha256):
        return self.store.get_blob(str(sha256).lower())

    # -- lifecycle -----------------------------------------------------------------------
    @_as_deferred
    async def start_job(self, job_id, input=b"", meta=None, owner=None):
        if len(input) > self.limits.max_input_bytes:
            raise TooLarge(f"input is larger than {self.limits.max_input_bytes} bytes")
        await self._owned(job_id, owner)
        return await self.store.start_job(job_id, bytes(input), now=self._now(), meta=meta)

    @_as_deferred
    async def stop_job(self, job_id, state=STOPPED, owner=None):
        await self._owned(job_id, owner)
        return await self.store.stop_job(job_id, state, now=self._now())

    def hold_job(self, job_id, reason=INSUFFICIENT_CREDIT):
        return self.store.hold_job(job_id, reason, now=self._now())

    def unhold_job(self, job_id):
        return self.store.unhold_job(job_id, now=self._now())

    @_as_deferred
    async def fork(self, job_id, entry, input, owner=None):
        slots = await self.fork_many(job_id, [(entry, input)], owner=owner)
        return slots[0]

    @_as_deferred
    async def fork_many(self, job_id, tasks, owner=None):
        lim = self.limits
        tasks = list(tasks)
        if not tasks:
            raise BadRequest("no tasks given")
        if len(tasks) > lim.max_fork_batch:
            raise TooLarge(f"at most {lim.max_fork_batch} tasks per call")
        for entry, data in tasks:
            if not isinstance(entry, str) or not 0 < len(entry) <= lim.max_entry_chars \
                    or "\n" in entry:
                raise BadRequest(f"entry must be 1..{lim.max_entry_chars} characters, one line")
            if not isinstance(data, (bytes, bytearray)):
                raise BadRequest("input must be bytes")
            if len(data) > lim.max_input_bytes:
                raise TooLarge(f"input is larger than {lim.max_input_bytes} bytes")
        await self._owned(job_id, owner)
        return await self.store.fork(job_id, tasks, now=self._now(),
                                     max_tasks=lim.max_tasks_per_job)

    # -- agents ---------------------------------------------------------------------------
    @_as_deferred
    async def pop(self, node, user, max=1, applications=None, job_id=None, wait=0,
                  owner=None, park_max=None):
        """``park_max``: once the poll has waited PARK_SECONDS for work, it
        takes at most this many tasks (an agent asks for a big batch of the
        job at hand, but a poll parked that long is answered by whatever job
        comes next)."""
        lim = self.limits
        if not isinstance(node, str) or not NODE_ID.match(node):
            raise BadRequest("node must match [A-Za-z0-9_.-]{1,64}")
        max = _int_in("max", max, 1, lim.max_pop)
        if park_max is not None:
            _int_in("park_max", park_max, 1, lim.max_pop)
        wait = _number_in("wait", wait, 0, lim.max_wait)
        apps = None if applications is None else tuple(sorted(set(applications)))
        if apps is not None and not all(isinstance(a, str) and a for a in apps):
            raise BadRequest("applications must be non-empty names")
        if owner is not None:
            if job_id is None:
                raise BadRequest("a submitter may only pop its own job's tasks (job_id)")
            await self._owned(job_id, owner)
        wake_apps = apps
        if job_id is not None:
            # Work events name applications, not jobs: listen on this job's.
            # The node serves that application only (for waiting reasons).
            wake_apps = ((await self.store.get_job(job_id)).application,)
            if apps is None:
                apps = wake_apps
        start = self._now()
        deadline = start + wait
        await self._touch(node, user, apps, start, start + wait + self.node_ttl)
        self._polling[node] += 1
        try:
            woken = False
            while True:
                if woken and park_max is not None and self._now() - start >= PARK_SECONDS:
                    # Parked this long, the poll is answered by new work of
                    # unknown size (the next job), not by the stream it
                    # was sized for (a master still forking batches).
                    max = min(max, park_max)
                waiter = self._waiters.for_work(apps=wake_apps, job_id=job_id)
                try:
                    tasks = await self.store.pop(node, self._now(), max=max,
                                                 applications=apps, job_id=job_id)
                except Exception:
                    waiter.cancel()
                    if woken:
                        self._waiters.chain(wake_apps)
                    raise
                if tasks or self._now() >= deadline:
                    waiter.cancel()
                    if woken and len(tasks) == max:
                        self._waiters.chain(wake_apps)
                    return tasks
                # Woken or timed out, look again: the timeout and an event may race.
                woken = await waiter.wait(self.clock, deadline - self._now())
        finally:
            self._polling[node] -= 1
            if not self._polling[node]:
                del self._polling[node]
            if wait > 0:
                now = self._now()
                self._touch(node, user, apps, now, now + self.node_ttl).addErrback(
                    lambda f: self.log.failure("could not record node {node}", f, node=node))

    def _touch(self, node, user, apps, now, live_until):
        """Record the node, skipping the store write when this server wrote
        an equivalent record less than node_ttl/2 ago (a busy agent polls
        many times a second; liveness needs no such precision)."""
        half = self.node_ttl / 2
        last = self._touched.get(node)
        if (last is not None and last[0] == (user, apps) and now - last[2] < half
                and last[1] >= live_until - half):
            return succeed(None)
        self._touched[node] = ((user, apps), live_until, now)
        return self.store.touch_node(node, user, apps, now, live_until)

    @_as_deferred
    async def heartbeat(self, leases, node=None, user=None):
        leases = list(leases)
        if len(leases) > MAX_HEARTBEAT_LEASES:
            raise TooLarge(f"at most {MAX_HEARTBEAT_LEASES} leases per heartbeat")
        try:
            leases = [l if isinstance(l, Lease) else Lease(*l) for l in leases]
        except TypeError:
            raise BadRequest("a lease is (job_id, slot, lease_id)") from None
        for lease in leases:
            if (not isinstance(lease.job_id, str) or not isinstance(lease.lease_id, str)
                    or isinstance(lease.slot, bool) or not isinstance(lease.slot, int)):
                raise BadRequest("a lease is (job_id: str, slot: int, lease_id: str)")
        now = self._now()
        if node is not None and NODE_ID.match(str(node)):
            # A node busy computing is alive; what it serves is unchanged.
            await self.store.refresh_node(node, now, now + self.node_ttl)
        return await self.store.heartbeat(leases, now=now)

    def _checked_ack(self, job_id, slot, lease_id, result, error):
        if (result is None) == (error is None):
            raise BadRequest("an ack carries either a result or an error")
        if result is not None:
            if not isinstance(result, (bytes, bytearray)):
                raise BadRequest("result must be bytes")
            if len(result) > self.limits.max_result_bytes:
                raise TooLarge(f"result is larger than {self.limits.max_result_bytes} bytes")
            result = bytes(result)
        else:
            error = str(error)[:self.limits.max_error_chars] or "error"
        if isinstance(slot, bool) or not isinstance(slot, int):
            raise BadRequest("slot must be an integer")
        return str(job_id), slot, str(lease_id), result, error

    @_as_deferred
    async def ack(self, job_id, slot, lease_id, result=None, error=None):
        job_id, slot, lease_id, result, error = self._checked_ack(
            job_id, slot, lease_id, result, error)
        return await self.store.ack(job_id, slot, lease_id, now=self._now(),
                                    result=result, error=error)

    @_as_deferred
    async def ack_many(self, acks):
        """``[(job_id, slot, lease_id, result, error), ...]`` (at most
        MAX_ACKS_PER_CALL) in one store round trip. Returns, per item,
        ACK_OK / ACK_DUPLICATE or the GridError it met (not raised): one bad
        item does not spoil the others."""
        acks = list(acks)
        if len(acks) > MAX_ACKS_PER_CALL:
            raise TooLarge(f"at most {MAX_ACKS_PER_CALL} acks per call")
        out, valid, where = [None] * len(acks), [], []
        for i, item in enumerate(acks):
            try:
                valid.append(self._checked_ack(*item))
                where.append(i)
            except GridError as e:
                out[i] = e
            except (TypeError, ValueError):
                out[i] = BadRequest("an ack is (job_id, slot, lease_id, result, error)")
        if valid:
            for i, outcome in zip(where, await self.store.ack_many(valid, now=self._now())):
                out[i] = outcome
        return out

    # -- results --------------------------------------------------------------------------
    @_as_deferred
    async def fetch(self, job_id, slot, wait=0, owner=None):
        outcomes = await self.wait_for_slots(job_id, [slot], wait=wait, owner=owner)
        return outcomes[0]

    @_as_deferred
    async def wait_for_slots(self, job_id, slots, wait=0, owner=None):
        wait = _number_in("wait", wait, 0, self.limits.max_wait)
        slots = list(slots)
        if len(slots) > MAX_SLOTS_PER_CALL:
            raise TooLarge(f"at most {MAX_SLOTS_PER_CALL} slots per call")
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in slots):
            raise BadRequest("slots must be integers")
        job = await self._owned(job_id, owner)
        deadline = self._now() + wait
        known = {}                      # slot -> final TaskOutcome (never changes)
        while True:
            pending = [s for s in dict.fromkeys(slots) if s not in known]
            waiter = self._waiters.for_results(job_id, pending) if wait > 0 else None
            try:
                outcomes = await self.store.fetch_many(job_id, pending) if pending else []
            except Exception:
                if waiter is not None:
                    waiter.cancel()
                raise
            for o in outcomes:
                if o.finished:
                    known[o.slot] = o
            unfinished = [o for o in outcomes if not o.finished]
            if not unfinished or waiter is None or self._now() >= deadline:
                if waiter is not None:
                    waiter.cancel()
                break
            if waiter.slots is not None:
                # Results that landed while we were fetching already shrank it.
                waiter.slots.intersection_update(o.slot for o in unfinished)
                if not waiter.slots:
                    waiter.wake()
            await waiter.wait(self.clock, deadline - self._now())
        if unfinished:
            job = await self.store.get_job(job_id)
            reason = await self.waiting_reason(job)
            for o in unfinished:
                o.reason = reason if o.state == QUEUED else None
        by_slot = dict(known)
        by_slot.update((o.slot, o) for o in unfinished)
        return [by_slot[s] for s in slots]

    # -- nodes ---------------------------------------------------------------------------
    @_as_deferred
    async def nodes(self):
        now = self._now()
        out = await self.store.list_nodes(now)
        for n in out:
            n.polling = self._polling.get(n.node, 0)
        return out
