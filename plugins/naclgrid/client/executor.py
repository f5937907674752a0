"""Run one popped task in the sandbox: the code the agent and a computing
master share.

Modules and job files come through a :class:`FileCache`; a compiled module is
kept in memory per sha256 (compiling costs far more than instantiating).
Sandbox calls run on a thread pool, because the sandbox releases the GIL
while wasm runs and so several slots really compute in parallel.
"""

from base64 import b64decode
from collections import OrderedDict
from dataclasses import replace
from functools import lru_cache

from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

# naclgrid.sandbox.errors.TIME_LIMIT, without importing wasmtime with the SDK.
TIME_LIMIT = "time_limit"


# A task may run on the caller's (the reactor's) thread instead of a worker
# thread when runs of its module and entry have been quick (under
# QUICK_SECONDS): handing a tiny task to a thread and back costs more than
# the task (two cross-thread wake-ups and the GIL passed around, about half
# of an idle agent's time per task here). Each quick run scores a point (up
# to QUICK_MAX), a slow one loses QUICK_RUNS, and QUICK_RUNS points make a
# kind quick: one run slowed by a busy machine does not undo it, two slow
# runs do. An inline run has its own time budget, INLINE_SECONDS (the epoch
# ticker makes that 10-20 ms at most): a task that overruns it is stopped
# and run again on a thread with its own limits (tasks are pure: bytes in,
# bytes out), and its kind must then prove itself quick SLOW_PENALTY times.
QUICK_SECONDS = 0.002
QUICK_RUNS = 3
QUICK_MAX = 10
INLINE_SECONDS = 0.005
SLOW_PENALTY = 30


class Outcome:
    """What became of a task: ``result`` bytes, or ``error`` text to report
    (and the sandbox error's ``kind``, when it was one)."""

    __slots__ = ("result", "error", "kind")

    def __init__(self, result=None, error=None, kind=None):
        self.result = result
        self.error = error
        self.kind = kind

    @property
    def ok(self):
        return self.error is None

    def __repr__(self):
        return f"Outcome(error={self.error!r})" if self.error else f"Outcome({len(self.result)} bytes)"


def in_threadpool(reactor, threadpool):
    """``in_thread`` for :class:`TaskExecutor`: call on ``threadpool``."""
    def call(function, *args):
        return deferToThreadPool(reactor, threadpool, function, *args)
    return call


def default_sandbox():
    from naclgrid.sandbox import Sandbox

    return Sandbox()


def task_limits(limits):
    """The sandbox's Limits for a task's ``limits`` dict (missing or null
    values keep the sandbox defaults)."""
    known = tuple(sorted((k, v) for k, v in (limits or {}).items()
                         if k in ("memory_bytes", "fuel", "seconds") and v is not None))
    return _limits_for(known)


@lru_cache(maxsize=64)
def _limits_for(known):
    # Every task of a job carries the same limits; validating them once
    # per distinct value saves a noticeable share of a no-op task's cost.
    from naclgrid.sandbox.limits import Limits

    return Limits(**dict(known))


class TaskExecutor:
    """``in_thread(function, *args)`` returns a Deferred of the call made on a
    worker thread. ``run(task)`` fires with an :class:`Outcome`. It fails only when the
    task could not be prepared (a download failed): the caller then leaves the
    lease to expire rather than blame the task."""

    log = Logger()

    def __init__(self, cache, in_thread, sandbox=None, limits_factory=task_limits,
                 max_modules=16, clock=None):
        self._cache = cache
        self._in_thread = in_thread
        self._sandbox = sandbox
        self._limits = limits_factory
        self._apps = OrderedDict()
        self._max_modules = max_modules
        self._clock = clock  # measures runs for inline; None: never inline
        self._quick = {}  # (module sha256, entry) -> score of quick runs

    @property
    def sandbox(self):
        if self._sandbox is None:
            self._sandbox = default_sandbox()
        return self._sandbox

    def run(self, task, inline=False):
        """``inline``: the caller has nothing else to do, so a task of a kind
        known to be tiny may run right here on its thread."""
        return ensureDeferred(self._run(task, inline))

    def run_many(self, tasks):
        """Run ``tasks`` one after another in a single trip to a worker
        thread (a trip costs more than a tiny task). Fires with one
        :class:`Outcome` (or a Failure, as :meth:`run` would fail) per task."""
        return ensureDeferred(self._run_many(list(tasks)))

    async def _run(self, task, inline=False):
        try:
            call = await self._prepare(task)
        except _Refused as refused:
            return refused.outcome
        kind = (task["module"]["sha256"], task["entry"])
        if inline and self._clock is not None and self._quick.get(kind, 0) >= QUICK_RUNS:
            outcome = self._run_inline(kind, call)
            if outcome is not None:
                return outcome
        outcome, seconds = await self._in_thread(self._timed, call)
        if seconds is not None:
            self._note(kind, seconds)
        return outcome

    def _timed(self, call):
        """On a worker thread: run one call; its Outcome and wall time (None
        without a clock)."""
        if self._clock is None:
            return _outcome_of(self.sandbox, call), None
        start = self._clock.seconds()
        outcome = _outcome_of(self.sandbox, call)
        return outcome, self._clock.seconds() - start

    def _run_inline(self, kind, call):
        """Run on this thread under the inline budget; None when the task
        overran it and must run again on a thread."""
        app, entry, data, files, limits = call
        capped = limits.seconds > INLINE_SECONDS
        if capped:
            limits = replace(limits, seconds=INLINE_SECONDS)
        start = self._clock.seconds()
        outcome = _outcome_of(self.sandbox, (app, entry, data, files, limits))
        if capped and outcome.kind == TIME_LIMIT:
            self._quick[kind] = -SLOW_PENALTY
            return None
        self._note(kind, self._clock.seconds() - start)
        return outcome

    def _note(self, kind, seconds):
        score = self._quick.get(kind, 0)
        if seconds < QUICK_SECONDS:
            self._quick[kind] = min(score + 1, QUICK_MAX)
        else:
            self._quick[kind] = score - QUICK_RUNS
        if len(self._quick) > 4 * self._max_modules:
            self._quick.clear()  # bounded; forgetting only costs a few thread trips

    async def _run_many(self, tasks):
        outcomes, calls = [None] * len(tasks), []
        for index, task in enumerate(tasks):
            try:
                calls.append((index, await self._prepare(task)))
            except _Refused as refused:
                outcomes[index] = refused.outcome
            except Exception:
                outcomes[index] = Failure()
        if calls:
            for (index, _), outcome in zip(calls, await self._in_thread(
                    _run_each, self.sandbox, [call for _, call in calls])):
                outcomes[index] = outcome
        return outcomes

    async def _prepare(self, task):
        """The sandbox.run arguments of a task; raises _Refused with the
        task's Outcome when it fails before it runs."""
        files = {f["name"]: f["sha256"] for f in task.get("files", ())}
        for sha in files.values():
            await self._cache.ensure(sha)
        module = task.get("module")
        if module is None:
            # The server knows no module for the task's application (a
            # file:NAME that was never dropped, or an application since
            # unregistered): the task fails with a reason, the agent goes on.
            raise _Refused(Outcome(error=f"bad_module: the server has no module for "
                                         f"application {task.get('application')!r}"))
        try:
            app = await self._app(module["sha256"])
        except Exception as exc:  # a refused module fails the task, not the agent
            raise _Refused(Outcome(error=_describe(exc))) from None
        try:
            limits = self._limits(task.get("limits"))
        except ValueError as exc:
            raise _Refused(Outcome(error=f"bad_limits: {exc}")) from None
        data = b64decode(task["input_b64"]) if "input_b64" in task else task["input"]
        return app, task["entry"], data, self._cache.reader(files), limits

    async def _app(self, sha256):
        app = self._apps.get(sha256)
        if app is not None:
            self._apps.move_to_end(sha256)
            return app
        module = await self._cache.read(sha256)
        app = await self._in_thread(self.sandbox.load, module)
        self._apps[sha256] = app
        while len(self._apps) > self._max_modules:
            self._apps.popitem(last=False)
        return app


class _Refused(Exception):
    def __init__(self, outcome):
        super().__init__(outcome.error)
        self.outcome = outcome


def _run_each(sandbox, calls):
    """On a worker thread: run each call, one Outcome each."""
    return [_outcome_of(sandbox, call) for call in calls]


def _outcome_of(sandbox, call):
    """Run one ``sandbox.run`` call; its Outcome, failures included."""
    try:
        return Outcome(result=bytes(sandbox.run(*call)))
    except Exception as exc:
        return Outcome(error=_describe(exc), kind=getattr(exc, "kind", None))


def _describe(exc):
    kind = getattr(exc, "kind", None)
    if kind is not None:
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
