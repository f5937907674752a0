"""The agent's main loop: pop, run, ack, heartbeat, drain."""

from collections import Counter, deque

from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.task import LoopingCall, deferLater
from twisted.logger import Logger

from naclgrid.agent.acker import AckQueue, PendingAck
from naclgrid.client.backoff import Backoff
from naclgrid.client.errors import GridAPIError, GridError

# Refusals of pop that no retry can fix: the key is wrong or lacks the role.
FATAL_POP_ERRORS = frozenset({"unauthorized", "forbidden", "bad_request"})
# Work kept queued per slot, at least. Each pop costs the agent and the
# server about a millisecond of CPU each, which on a busy machine comes out of
# the tasks' share: 10 ms tasks came three per pop with 60 ms, ten with 150 ms
# (fan-out of 200 on 2 agents sharing 2 cores with the server: 85 pops -> 25,
# about 0.1 CPU-s less). The price is the tail: when a job's queue runs dry
# one agent may still hold up to half of this that an idle one could have run
# (a third of that on average). Tasks longer than this prefetch one per slot.
PREFETCH_WINDOW = 0.15
PREFETCH_BYTES = 8 * 1024 * 1024
# Short tasks go to a slot's thread several at a time, about this long a
# batch. Each trip costs the reactor thread 0.2-0.5 ms of CPU (a thread hop
# and the bookkeeping around it, run with cold caches after the slot's wasm),
# which on a machine whose cores all compute is taken from the tasks: 10 ms
# tasks four per trip instead of one cut that by more than half. Their
# results then reach the server up to a batch later.
BATCH_SECONDS = 0.05
MAX_BATCH = 64
# How long, at least, the agent waits for an imminent result before it pops
# without it (a free slot idles at most this long for a longer task).
IMMINENT_FLOOR = 0.01


class Held:
    """A task whose lease this agent holds, from pop until the server decided
    about its result."""

    __slots__ = ("task", "lease_id", "expires", "state", "renewed", "started")

    def __init__(self, task, now):
        self.task = task
        self.lease_id = task["lease_id"]
        self.expires = float(task.get("lease_expires") or now + 60)
        self.state = "queued"  # queued -> running -> acking
        self.renewed = now
        self.started = None

    @property
    def key(self):
        return (self.task["job_id"], self.task["slot"])


class AgentStopped(Exception):
    """The agent stopped because the server refused it for good."""


class Agent:
    """Runs tasks from one server until :meth:`drain` or :meth:`stop`.

    ``prefetch`` extra tasks are popped beyond the free slots, so that a slot
    that frees finds its next task already here (tiny tasks are otherwise
    bound by one round trip each); their leases are heartbeaten like the
    others. By default (``prefetch=None``) it adapts: enough tasks to keep
    every slot busy for about two pop round trips (and at least
    ``PREFETCH_WINDOW`` seconds), from running averages of both, between
    ``slots`` and 256. Refills go out at half empty, so short tasks come a
    few per pop rather than one. Long tasks thus prefetch one per slot
    (a job's last tasks are not hoarded by one agent), tiny ones a batch.
    """

    log = Logger()

    def __init__(self, api, executor, clock, stats, *, slots, node, applications=None,
                 poll_wait=10, prefetch=None, backoff=None):
        self._api = api
        self._executor = executor
        self._clock = clock
        self.stats = stats
        self.slots = slots
        self.node = node
        self._applications = applications
        self._poll_wait = poll_wait
        self._fixed_prefetch = prefetch
        self._task_seconds = None  # running averages, for the adaptive prefetch
        # The job whose tasks _task_seconds measured (None: any job). Another
        # job's tasks may be far longer: a tiny-task estimate must not make
        # the first pop of a new job take 256 of its tasks.
        self._estimate_job = None
        self._jobs_unfinished = Counter()  # job -> its held tasks not run yet
        self._pop_seconds = None
        self._input_bytes = None
        self._backoff = backoff or Backoff(initial=0.25, maximum=10.0)
        self._held = {}
        self._queue = deque()
        self._running = 0  # slots in use
        self._active = 0   # tasks running (a slot may run a batch of tiny ones)
        self._draining = False
        self._capacity_waiter = None
        self._done = Deferred()
        self._error = None
        # A busy agent's results wait for the next refill pop to ride on
        # (about half a PREFETCH_WINDOW away) rather than cost a request of
        # their own; an idle agent's go at once.
        self._acks = AckQueue(api, clock, self._settled, self._server_state,
                              hold=lambda: bool(self._queue) and not self._draining,
                              delay=PREFETCH_WINDOW)
        self._heartbeat = LoopingCall(self._beat)
        self._heartbeat.clock = clock
        self._hb_interval = None
        stats.slots = slots

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        """Begin working; returns a Deferred that fires when the agent has
        stopped (after a drain), or fails with :class:`AgentStopped`."""
        ensureDeferred(self._pop_loop()).addErrback(self._crashed)
        return self._done

    def drain(self):
        """Stop popping; finish what is held and deliver its results."""
        if self._draining:
            return
        self._draining = True
        self.stats.draining = True
        self.log.info("draining: {n} task(s) held", n=len(self._held))
        if self._pop_call is not None:
            # Take no new work: a pending long poll would hand us some.
            self._pop_call.cancel()
        self._wake()
        self._maybe_done()

    def stop(self):
        """Stop at once, whatever is held (its leases expire on the server)."""
        self._draining = True
        self._finish()

    @property
    def held(self):
        return len(self._held)

    def _crashed(self, failure):
        self.log.failure("agent loop crashed", failure)
        self._error = failure
        self._finish()

    def _finish(self):
        if self._heartbeat.running:
            self._heartbeat.stop()
        if not self._done.called:
            if self._error is not None:
                self._done.errback(self._error)
            else:
                self._done.callback(None)

    def _maybe_done(self):
        if self._draining and not self._held and not self._popping:
            ensureDeferred(self._after_acks())

    async def _after_acks(self):
        await self._acks.when_empty()
        if not self._held:
            self._finish()

    # -- popping -----------------------------------------------------------
    _popping = False
    _pop_call = None
    _loop_dispatching = False
    _capacity_timer = None

    async def _pop_loop(self):
        while not self._draining:
            capacity = self.slots + self.prefetch
            want = capacity - self._unstarted() - self._active
            # Refill at half empty, not after every finished task: popping
            # one task per round trip would cost the server a request per task.
            if want < max(1, capacity // 2):
                self._deliver_acks()  # no pop leaves now for results to ride on
                await self._capacity()
                continue
            if self._results_imminent():
                # Wait for them, but not longer than a pop would take: a task
                # of a new, longer kind must not keep free slots idle.
                self._deliver_acks()
                await self._capacity(limit=self._imminent_window())
                continue
            # A pop that finds nothing waits on the server, and whatever job
            # comes next answers it: sized by this job's tiny tasks (max 256)
            # it took all of a later job's 200 tasks of 10 ms to one agent
            # (fan-out 1.9 s). So once parked a while (0.5 s) it takes one
            # per slot and one more (``park_max``), as a new job's first pop.
            self._popping = True
            pop_started = self._clock.seconds()
            riding = self._acks.take_riding()
            for item in riding:
                self._mark(item.key, "riding")
            options = dict(max=min(want, 256), wait=self._poll_wait, node=self.node,
                           applications=self._applications, retries=0,
                           park_max=self.slots + 1)
            if riding:
                self._pop_call = self._api.pop_and_ack(
                    [item.as_dict() for item in riding], **options)
            else:
                self._pop_call = self._api.pop(**options)
            try:
                tasks = await self._pop_call
                if riding:
                    tasks, answers = tasks
                    self._acks.riding_answered(riding, answers)
                    riding = []
            except (CancelledError, ConnectingCancelledError):
                break  # drain() hung up the long poll (or its connection attempt)
            except GridAPIError as exc:
                if exc.code in FATAL_POP_ERRORS:
                    self._error = AgentStopped(f"the server refused this agent: {exc}")
                    self._draining = True
                    break
                await self._unreachable(exc)
                continue
            except GridError as exc:
                await self._unreachable(exc)
                continue
            except Exception:
                if self._draining:
                    break  # whatever the hung-up poll raised, we are leaving
                raise
            finally:
                self._popping = False
                self._pop_call = None
                if riding:  # the pop failed: those results go again, on their own
                    for item in riding:
                        self._mark(item.key, "acking")
                    self._acks.riding_failed(riding)
            self._backoff.reset()
            self._server_state("ok")
            waited = getattr(tasks, "waited", None)
            if tasks:  # an empty answer measured the long poll, not a round trip
                # The time the server held the poll is not round trip either.
                elapsed = self._clock.seconds() - pop_started - (waited or 0.0)
                self._pop_seconds = _average(self._pop_seconds, max(elapsed, 0.0))
            for task in tasks:
                self._accept(task)
            # Tasks that end at once (inline) leave their results to this loop.
            self._loop_dispatching = True
            try:
                self._dispatch(deliver=False)
            finally:
                self._loop_dispatching = False
        self._deliver_acks()
        self._maybe_done()

    @property
    def prefetch(self):
        if self._fixed_prefetch is not None:
            return self._fixed_prefetch
        task_seconds = self._estimate()
        if not task_seconds or self._pop_seconds is None:
            return self.slots
        ahead = max(2 * self._pop_seconds, PREFETCH_WINDOW)
        per_slot = ahead / max(task_seconds, 1e-4)
        most = 256
        if self._input_bytes and self._input_bytes * most > PREFETCH_BYTES:
            # Big inputs: a pop's answer and what waits here stay near PREFETCH_BYTES.
            most = max(1, int(PREFETCH_BYTES / self._input_bytes))
        return int(max(self.slots, min(most, self.slots * per_slot)))

    def _estimate(self):
        """The measured task length, if it applies to the work at hand: it
        does not once no unfinished task of the job it measured is held
        (idle, or on to another job), until a task of the new job has
        finished. Finished tasks waiting for their ack do not count: the pop
        that carries a job's last results is the long poll that the next
        job answers, and sized by the last job's tiny tasks it took all 200
        tasks of a 10 ms job to one agent (fan-out 2.1 s)."""
        if self._estimate_job is not None and not self._jobs_unfinished[self._estimate_job]:
            return None
        return self._task_seconds

    def _deliver_acks(self):
        if not self._queue:
            self._acks.flush()  # nothing waits for a slot: deliver at once
        else:
            self._acks.kick()

    def _results_imminent(self):
        """Only running tasks, and they should end before a pop returns:
        wait for them, so that their results ride on that pop. Not when one
        of them has run longer than that already (tasks of a new, longer
        kind than the average says)."""
        task_seconds = self._estimate()
        if not (self._running > 0 and not self._queue and task_seconds is not None
                and self._pop_seconds is not None and task_seconds < self._pop_seconds):
            return False
        now, window = self._clock.seconds(), self._imminent_window()
        return all(now - held.started < window for held in self._held.values()
                   if held.state == "running")

    def _imminent_window(self):
        # Two pop round trips, and never less than IMMINENT_FLOOR: a round
        # trip measured at a fraction of a millisecond would otherwise give
        # up on a tiny task's result just before it comes (latency +1 ms).
        return max(2 * self._pop_seconds, IMMINENT_FLOOR)

    def _mark(self, key, state):
        held = self._held.get(key)
        if held is not None:
            held.state = state

    async def _unreachable(self, exc):
        self._server_state("unreachable")
        delay = self._backoff.next_delay()
        self.log.info("pop failed ({error}); retry in {delay:.1f}s", error=exc, delay=delay)
        await deferLater(self._clock, delay, lambda: None)

    def _capacity(self, limit=None):
        self._capacity_waiter = Deferred()
        if limit is not None:
            self._capacity_timer = self._clock.callLater(max(limit, 0.001), self._wake)
        return self._capacity_waiter

    def _wake(self):
        timer, self._capacity_timer = self._capacity_timer, None
        if timer is not None and timer.active():
            timer.cancel()
        waiter, self._capacity_waiter = self._capacity_waiter, None
        if waiter is not None:
            waiter.callback(None)

    def _unstarted(self):
        return len(self._queue)

    # -- running -----------------------------------------------------------
    def _accept(self, task):
        now = self._clock.seconds()
        size = len(task.get("input") or task.get("input_b64") or b"")
        self._input_bytes = _average(self._input_bytes, size)
        held = Held(task, now)
        if self._held.get(held.key) is None:
            self._jobs_unfinished[held.key[0]] += 1
        self._held[held.key] = held
        self._queue.append(held)
        self._tune_heartbeat(held.expires - now)

    def _dispatch(self, deliver=True):
        if not self._queue and deliver:
            self._acks.flush()  # nothing waits for a slot: deliver at once
        while self._running < self.slots and self._queue:
            batch = []
            while self._queue and len(batch) < self._batch_size():
                held = self._queue.popleft()
                if held.key not in self._held:  # its lease was lost while it waited
                    continue
                held.state = "running"
                held.started = self._clock.seconds()
                batch.append(held)
            if not batch:
                continue
            self._running += 1
            self._active += len(batch)
            self.stats.running = self._running
            self.stats.current_job = batch[-1].task["job_id"]
            if len(batch) == 1:
                # Alone (no other task running or waiting), a tiny task may
                # run right here: see TaskExecutor.run.
                alone = self._running == 1 and not self._queue
                self._executor.run(batch[0].task, inline=alone).addBoth(self._ran, batch)
            else:
                self._executor.run_many([h.task for h in batch]).addBoth(self._ran, batch)

    def _batch_size(self):
        """Tasks run per trip to a slot's thread: several when they are short
        (about BATCH_SECONDS of them, and never more than the queue spread
        over the slots), else one."""
        seconds = self._estimate()
        if seconds is None or seconds * 2 > BATCH_SECONDS:
            return 1
        fair = -(-len(self._queue) // self.slots)  # a share of the queue per slot
        return max(1, min(MAX_BATCH, int(BATCH_SECONDS / max(seconds, 1e-5)), fair))

    def _ran(self, outcomes, batch):
        self._running -= 1
        self._active -= len(batch)
        self.stats.running = self._running
        if not isinstance(outcomes, list):
            outcomes = [outcomes] * len(batch)  # one task, or a batch that failed whole
        now = self._clock.seconds()
        for outcome, held in zip(outcomes, batch):
            self._finished(outcome, held, (now - held.started) / len(batch))
        self._dispatch(deliver=False)
        if self._capacity_waiter is not None:
            self._wake()  # the loop pops, taking the result along, or delivers it
        elif not self._loop_dispatching:
            self._deliver_acks()  # a pop is out already (or none will leave)
        self._maybe_done()
        return None

    def _finished(self, outcome, held, seconds):
        if held.key not in self._held or self._held[held.key] is not held:
            pass  # lease lost meanwhile: nobody wants this result
        elif not hasattr(outcome, "ok"):
            # Could not prepare the task (a download failed): not the task's
            # fault, so let its lease expire and another attempt run it.
            self.log.warn("task {job}/{slot} not run: {error}", job=held.task["job_id"],
                          slot=held.task["slot"], error=outcome.getErrorMessage())
            self._forget(held.key)
        else:
            self._count_finished(held)
            held.state = "acking"
            job = held.key[0]
            if job != self._estimate_job and self._estimate_job is not None:
                self._task_seconds = None  # a new job: start over from its tasks
            self._estimate_job = job
            self._task_seconds = _average(self._task_seconds, seconds)
            self.stats.finished(outcome.ok)
            self._acks.add(PendingAck(held.task["job_id"], held.task["slot"], held.lease_id,
                                      outcome.result, outcome.error), send=False)
            self.stats.unacked = len(self._acks)

    def _forget(self, key):
        held = self._held.pop(key, None)
        if held is not None:
            self._count_finished(held)

    def _count_finished(self, held):
        if held.state in ("queued", "running"):
            job = held.key[0]
            self._jobs_unfinished[job] -= 1
            if not self._jobs_unfinished[job]:
                del self._jobs_unfinished[job]

    def _settled(self, key, accepted):
        self._forget(key)
        self.stats.unacked = len(self._acks)
        if not accepted:
            self.stats.lost += 1
        self._maybe_done()

    def _server_state(self, state):
        previous, self.stats.server = self.stats.server, state
        if state == "unreachable" and previous != "unreachable":
            self.log.warn("server unreachable; retrying with backoff, results kept")
        elif state == "ok" and previous == "unreachable":
            self.log.info("server reachable again")

    # -- heartbeats --------------------------------------------------------
    def _tune_heartbeat(self, lease_left):
        # Renew at a third of the lease, so that two lost heartbeats in a row
        # still leave the lease alive.
        interval = max(1.0, min(30.0, lease_left / 3))
        if self._hb_interval is not None and interval >= self._hb_interval:
            return
        self._hb_interval = interval
        if self._heartbeat.running:
            self._heartbeat.stop()
        self._heartbeat.start(interval, now=False)

    def _beat(self):
        now = self._clock.seconds()
        # A result riding on a parked pop has reached the server already.
        due = [h for h in self._held.values()
               if h.state != "riding" and now - h.renewed >= self._hb_interval * 0.9]
        if not due:
            return None
        leases = [(h.task["job_id"], h.task["slot"], h.lease_id) for h in due]
        return self._api.heartbeat(leases, node=self.node).addCallbacks(
            self._renewed, self._beat_failed, callbackArgs=(due, now))

    def _renewed(self, answers, due, sent_at):
        for held, answer in zip(due, answers):
            if self._held.get(held.key) is not held:
                continue
            if answer.get("ok"):
                held.renewed = sent_at
                if answer.get("lease_expires"):
                    held.expires = float(answer["lease_expires"])
            else:
                self.log.info("lease of {job}/{slot} lost", job=held.task["job_id"],
                              slot=held.task["slot"])
                self._forget(held.key)
                self._acks.drop(held.key)
                self.stats.lost += 1
        self._wake()
        self._maybe_done()

    def _beat_failed(self, failure):
        # Never let a failure through: it would end the heartbeat loop.
        if failure.check(GridError):
            if not failure.check(GridAPIError):
                self._server_state("unreachable")
            self.log.info("heartbeat failed: {error}", error=failure.getErrorMessage())
        else:
            self.log.failure("heartbeat failed", failure)


def _average(previous, sample, weight=0.2):
    return sample if previous is None else previous + weight * (sample - previous)
