"""The embedded store: everything in this process's memory.

Same contract as the Redis store (one test suite runs against both), built
for flat per-task cost: a job keeps its tasks in parallel arrays indexed by
slot and a deque of queued slots; ready jobs sit in one heap per
application ordered by stride-scheduling pass; leases sit in an expiry heap.
No operation on the pop/ack path scans tasks or jobs.
"""

import heapq
from array import array
from collections import deque
from itertools import count

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from naclgrid.errors import (
    GridError, JobStopped, LimitExceeded, NoSuchJob, NoSuchTask, StaleLease,
)
from naclgrid.interfaces import IGridStore
from naclgrid.model import (
    ACK_DUPLICATE, ACK_OK, ACTIVE_JOB_STATES, CREATED, DONE, ERROR_JOB_STOPPED,
    ERROR_LEASE_EXPIRED, FAILED, FINAL_JOB_STATES, LEASED, QUEUED, RUNNING, FileRef, Job,
    NodeInfo, PopResult, TaskOutcome,
)
from naclgrid.stores import common
from naclgrid.stores.common import deferred as _deferred
from naclgrid.stores.memory_aux import MemoryAuxiliaries

# Task state codes in _MemJob.st.
_Q, _L, _D, _F = 0, 1, 2, 3


class _MemJob:
    __slots__ = (
        "job_id", "owner", "application", "state", "priority", "max_attempts",
        "lease_seconds", "created_at", "started_at", "finished_at", "input", "meta",
        "files", "held", "counts", "entries", "inputs", "st", "att", "queue",
        "leases", "acked", "results", "errors", "pass_", "ready_seq", "_intern", "purged",
    )

    def __init__(self, job_id, owner, application, priority, max_attempts,
                 lease_seconds, now, meta):
        self.job_id, self.owner, self.application = job_id, owner, application
        self.state, self.priority = CREATED, priority
        self.max_attempts, self.lease_seconds = max_attempts, lease_seconds
        self.created_at, self.started_at, self.finished_at = now, None, None
        self.input, self.meta, self.files, self.held = b"", dict(meta or {}), {}, None
        self.counts = {QUEUED: 0, LEASED: 0, DONE: 0, FAILED: 0}
        self.entries, self.inputs = [], []
        self.st, self.att = bytearray(), array("H")
        self.queue = deque()
        self.leases = {}     # slot -> [lease_id, expires, node] while leased
        self.acked = {}      # slot -> lease id whose ack finished or requeued it
        self.results, self.errors = {}, {}
        self.pass_, self.ready_seq = 0.0, None
        self._intern = {}    # entry names repeat: keep one str object each
        self.purged = False  # task inputs and results dropped (purge_finished)

    def snapshot(self):
        final = self.state in FINAL_JOB_STATES
        return Job(
            job_id=self.job_id, owner=self.owner, application=self.application,
            state=self.state, priority=self.priority, max_attempts=self.max_attempts,
            lease_seconds=self.lease_seconds, created_at=self.created_at,
            started_at=self.started_at, finished_at=self.finished_at,
            input_size=len(self.input), total=len(self.st), counts=dict(self.counts),
            files=tuple(sorted(self.files.values(), key=lambda f: f.name)),
            held=None if final else self.held, meta=dict(self.meta),
        )

    def outcome_of(self, slot):
        code = self.st[slot]
        attempts = self.att[slot]
        if self.purged and code in (_D, _F):
            raise common.results_expired(self.job_id)
        if code == _D:
            return TaskOutcome(self.job_id, slot, DONE, attempts, result=self.results[slot])
        if code == _F:
            return TaskOutcome(self.job_id, slot, FAILED, attempts, error=self.errors[slot])
        if self.state in FINAL_JOB_STATES:
            return TaskOutcome(self.job_id, slot, FAILED, attempts, error=ERROR_JOB_STOPPED)
        if code == _L:
            return TaskOutcome(self.job_id, slot, LEASED, attempts,
                               lease_expires=self.leases[slot][1])
        return TaskOutcome(self.job_id, slot, QUEUED, attempts)


@implementer(IGridStore)
class MemoryGridStore(MemoryAuxiliaries):
    """IGridStore in process memory. Nothing survives a restart."""

    log = Logger()
    namespace = "memory"

    def __init__(self):
        self._jobs = {}
        self._ready = {}          # application -> heap of (pass, seq, job_id)
        self._vtime = {}          # application -> pass of the last job served
        self._seq = count()
        self._expiry = []         # heap of (expires, seq, job_id, slot, lease_id)
        self._active = {}         # owner -> number of created/running jobs
        self._nodes = {}          # node -> [user, applications, last_seen, live_until]
        self._node_leases = {}
        self._finished = []       # heap of (finished_at, seq, job_id), for purge_finished
        self._listeners = []
        MemoryAuxiliaries.__init__(self)

    # -- plumbing --------------------------------------------------------------
    def start(self):
        return succeed(None)

    def close(self):
        return succeed(None)

    def ping(self):
        return succeed(True)

    def subscribe(self, callback):
        self._listeners.append(callback)

        def unsubscribe():
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unsubscribe

    def _emit(self, *event):
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                self.log.failure("grid event listener failed on {event!r}", event=event)

    def _job(self, job_id):
        job = self._jobs.get(job_id)
        if job is None:
            raise NoSuchJob(f"no job {job_id}")
        return job

    def _task_job(self, job_id, slot):
        job = self._job(job_id)
        if not isinstance(slot, int) or not 0 <= slot < len(job.st):
            raise NoSuchTask(f"job {job_id} has no slot {slot}")
        return job

    # -- fairness -----------------------------------------------------------------
    def _make_ready(self, job):
        """Put the job in its application's ready heap if it can be served."""
        if (job.ready_seq is None and job.state == RUNNING and job.held is None
                and job.queue):
            # Entering at the current virtual time: an idle job neither loses
            # its turn nor gets a burst of catch-up service.
            job.pass_ = max(job.pass_, self._vtime.get(job.application, 0.0))
            self._push(job)

    def _push(self, job):
        job.ready_seq = next(self._seq)
        heapq.heappush(self._ready.setdefault(job.application, []),
                       (job.pass_, job.ready_seq, job.job_id))

    def _head(self, app):
        heap = self._ready.get(app)
        while heap:
            pass_, seq, job_id = heap[0]
            job = self._jobs.get(job_id)
            if job is not None and job.ready_seq == seq:
                return heap[0]
            heapq.heappop(heap)    # stale entry: job left the ready set or moved
        if heap is not None:
            del self._ready[app]
        return None

    # -- jobs ---------------------------------------------------------------------
    @_deferred
    def create_job(self, owner, application, now, priority=1, max_attempts=3,
                   lease_seconds=60.0, meta=None, max_active=None):
        active = self._active.get(owner, 0)
        if max_active is not None and active >= max_active:
            raise LimitExceeded(f"user {owner} already has {active} active jobs")
        job_id = common.new_id()
        job = _MemJob(job_id, owner, application, int(priority), int(max_attempts),
                      float(lease_seconds), now, meta)
        self._jobs[job_id] = job
        self._active[owner] = active + 1
        return job.snapshot()

    @_deferred
    def get_job(self, job_id):
        return self._job(job_id).snapshot()

    @_deferred
    def get_job_input(self, job_id):
        return self._job(job_id).input

    @_deferred
    def list_jobs(self, owner=None):
        return [j.snapshot() for j in self._jobs.values() if owner is None or j.owner == owner]

    @_deferred
    def add_file(self, job_id, name, sha256, size):
        job = self._job(job_id)
        if job.state in FINAL_JOB_STATES:
            raise JobStopped(f"job {job_id} is {job.state}")
        ref = job.files[name] = FileRef(name, sha256, int(size))
        return ref

    @_deferred
    def start_job(self, job_id, input, now, meta=None):
        job = self._job(job_id)
        if job.state != CREATED:
            raise common.not_running(job_id, job.state)
        job.state, job.started_at, job.input = RUNNING, now, bytes(input)
        job.meta.update(meta or {})
        self._make_ready(job)
        self._emit("started", job_id, job.application)
        if job.queue and job.held is None:
            self._emit("work", job.application, len(job.queue))
        return job.snapshot()

    @_deferred
    def stop_job(self, job_id, state, now):
        common.check_stop_state(state)
        job = self._job(job_id)
        if job.state in FINAL_JOB_STATES:
            raise common.not_running(job_id, job.state)
        if job.state in ACTIVE_JOB_STATES:
            self._active[job.owner] -= 1
        job.state, job.finished_at = state, now
        # O(1): unfinished tasks are failed "job stopped" by interpretation
        # (outcome_of), their leases fenced by the job state.
        c = job.counts
        c[FAILED] += c[QUEUED] + c[LEASED]
        c[QUEUED] = c[LEASED] = 0
        job.queue = deque()
        job.ready_seq = None
        heapq.heappush(self._finished, (now, next(self._seq), job_id))
        self._emit("result", job_id, None)
        return job.snapshot()

    @_deferred
    def purge_finished(self, before, limit=100):
        done = 0
        while self._finished and self._finished[0][0] <= before and done < limit:
            _at, _seq, job_id = heapq.heappop(self._finished)
            job = self._jobs[job_id]
            # Entries, inputs and results are what a job's size is made of;
            # the per-slot states and counts stay (a few bytes a task).
            job.entries, job.inputs, job.results, job.errors = [], [], {}, {}
            job.purged = True
            done += 1
        return done

    @_deferred
    def hold_job(self, job_id, reason, now):
        job = self._job(job_id)
        job.held = str(reason)
        job.ready_seq = None
        return job.snapshot()

    @_deferred
    def unhold_job(self, job_id, now):
        job = self._job(job_id)
        if job.held is not None:
            job.held = None
            self._make_ready(job)
            if job.state == RUNNING and job.queue:
                self._emit("work", job.application, len(job.queue))
        return job.snapshot()

    # -- tasks ---------------------------------------------------------------------
    @_deferred
    def fork(self, job_id, tasks, now, max_tasks=None):
        job = self._job(job_id)
        if job.state in FINAL_JOB_STATES:
            raise JobStopped(f"job {job_id} is {job.state}")
        tasks = common.check_tasks(tasks)
        first = len(job.st)
        if max_tasks is not None and first + len(tasks) > max_tasks:
            raise LimitExceeded(f"job {job_id} would exceed {max_tasks} tasks")
        intern = job._intern
        for entry, data in tasks:
            job.entries.append(intern.setdefault(entry, entry))
            job.inputs.append(data)
        n = len(tasks)
        job.st.extend(bytes(n))
        job.att.extend([0] * n)
        job.queue.extend(range(first, first + n))
        job.counts[QUEUED] += n
        self._make_ready(job)
        if n and job.state == RUNNING and job.held is None:
            self._emit("work", job.application, n)
        return list(range(first, first + n))

    @_deferred
    def pop(self, node, now, max=1, applications=None, job_id=None):
        out = []
        if job_id is not None:
            job = self._jobs.get(job_id)
            if (job is None or job.state != RUNNING or job.held is not None
                    or (applications is not None and job.application not in applications)):
                return out
            while len(out) < max and job.queue:
                out.append(self._lease_next(job, node, now))
            if job.ready_seq is not None:
                # Served outside the heap: re-file it under its new pass.
                job.ready_seq = None
                self._make_ready(job)
            return out
        apps = list(self._ready) if applications is None else list(applications)
        while len(out) < max:
            best = None
            for app in apps:
                head = self._head(app)
                if head is not None and (best is None or head < best[0]):
                    best = (head, app)
            if best is None:
                break
            (pass_, _seq, jid), app = best
            heapq.heappop(self._ready[app])
            job = self._jobs[jid]
            job.ready_seq = None
            self._vtime[app] = pass_
            out.append(self._lease_next(job, node, now))
            if job.queue:
                self._push(job)
        return out

    def _lease_next(self, job, node, now):
        slot = job.queue.popleft()
        lease_id = common.new_lease_id()
        expires = now + job.lease_seconds
        job.st[slot] = _L
        job.att[slot] += 1
        job.leases[slot] = [lease_id, expires, node]
        job.acked.pop(slot, None)
        job.counts[QUEUED] -= 1
        job.counts[LEASED] += 1
        job.pass_ += common.STRIDE / job.priority
        self._node_leases[node] = self._node_leases.get(node, 0) + 1
        heapq.heappush(self._expiry, (expires, next(self._seq), job.job_id, slot, lease_id))
        return PopResult(
            job_id=job.job_id, slot=slot, entry=job.entries[slot],
            application=job.application, input=job.inputs[slot], lease_id=lease_id,
            lease_expires=expires, attempt=job.att[slot],
            files=tuple(sorted(job.files.values(), key=lambda f: f.name)),
        )

    def _live_lease(self, job, slot, lease_id, now):
        lease = job.leases.get(slot) if job.st[slot] == _L else None
        if lease is None or lease[0] != lease_id or lease[1] <= now:
            return None
        return lease

    @_deferred
    def heartbeat(self, leases, now):
        out = []
        for lease in leases:
            job = self._jobs.get(lease.job_id)
            live = None
            if (job is not None and job.state == RUNNING and isinstance(lease.slot, int)
                    and 0 <= lease.slot < len(job.st)):
                live = self._live_lease(job, lease.slot, lease.lease_id, now)
            if live is None:
                out.append(None)
                continue
            live[1] = now + job.lease_seconds
            heapq.heappush(self._expiry, (live[1], next(self._seq), job.job_id,
                                          lease.slot, lease.lease_id))
            out.append(live[1])
        return out

    @_deferred
    def ack(self, job_id, slot, lease_id, now, result=None, error=None):
        return self._ack(job_id, slot, lease_id, now, result, error)

    @_deferred
    def ack_many(self, acks, now):
        out = []
        for job_id, slot, lease_id, result, error in acks:
            try:
                out.append(self._ack(job_id, slot, lease_id, now, result, error))
            except GridError as e:
                out.append(e)
        return out

    def _ack(self, job_id, slot, lease_id, now, result, error):
        job = self._task_job(job_id, slot)
        if job.acked.get(slot) == lease_id:
            return ACK_DUPLICATE
        if job.state in FINAL_JOB_STATES:
            raise JobStopped(f"job {job_id} is {job.state}")
        lease = self._live_lease(job, slot, lease_id, now)
        if lease is None:
            raise StaleLease(f"lease {lease_id} on {job_id}/{slot} is not live")
        self._release(job, slot, lease[2])
        job.acked[slot] = lease_id
        if error is None:
            job.st[slot] = _D
            job.results[slot] = bytes(result or b"")
            job.inputs[slot] = None
            job.counts[DONE] += 1
            self._emit("result", job_id, slot)
        else:
            self._retry_or_fail(job, slot, str(error))
        return ACK_OK

    def _release(self, job, slot, node):
        del job.leases[slot]
        job.counts[LEASED] -= 1
        left = self._node_leases.get(node, 1) - 1
        if left > 0:
            self._node_leases[node] = left
        else:
            self._node_leases.pop(node, None)

    def _retry_or_fail(self, job, slot, error):
        if job.att[slot] >= job.max_attempts:
            job.st[slot] = _F
            job.errors[slot] = error
            job.inputs[slot] = None
            job.counts[FAILED] += 1
            self._emit("result", job.job_id, slot)
        else:
            # Retries go to the front: a job's stragglers hold up its master.
            job.st[slot] = _Q
            job.queue.appendleft(slot)
            job.counts[QUEUED] += 1
            self._make_ready(job)
            if job.state == RUNNING and job.held is None:
                self._emit("work", job.application, 1)

    @_deferred
    def requeue_expired(self, now, limit=1000):
        done = 0
        while self._expiry and self._expiry[0][0] <= now and done < limit:
            _exp, _seq, job_id, slot, lease_id = heapq.heappop(self._expiry)
            job = self._jobs.get(job_id)
            lease = job.leases.get(slot) if job is not None else None
            if lease is None or lease[0] != lease_id or lease[1] > now:
                continue     # acked, or extended (a later heap entry covers it)
            done += 1
            if job.state in FINAL_JOB_STATES:
                del job.leases[slot]
                left = self._node_leases.get(lease[2], 1) - 1
                if left > 0:
                    self._node_leases[lease[2]] = left
                else:
                    self._node_leases.pop(lease[2], None)
                continue
            self._release(job, slot, lease[2])
            self._retry_or_fail(job, slot, ERROR_LEASE_EXPIRED)
        return done

    @_deferred
    def fetch(self, job_id, slot):
        return self._task_job(job_id, slot).outcome_of(slot)

    @_deferred
    def fetch_many(self, job_id, slots):
        job = self._job(job_id)
        for slot in slots:
            self._task_job(job_id, slot)
        return [job.outcome_of(slot) for slot in slots]

    # -- nodes -------------------------------------------------------------------------
    @_deferred
    def touch_node(self, node, user, applications, now, live_until):
        apps = None if applications is None else tuple(applications)
        old = self._nodes.get(node)
        if old is not None:
            live_until = max(live_until, old[3])
        self._nodes[node] = [user, apps, now, live_until]

    @_deferred
    def refresh_node(self, node, now, live_until):
        old = self._nodes.get(node)
        if old is not None:
            old[2], old[3] = now, max(live_until, old[3])

    @_deferred
    def list_nodes(self, now):
        out = []
        for node, (user, apps, seen, until) in list(self._nodes.items()):
            if until + common.NODE_FORGET_SECONDS < now:
                del self._nodes[node]
                continue
            out.append(NodeInfo(node, user, apps, seen, until, self._node_leases.get(node, 0)))
        return out
