"""A blocking facade over :class:`Grid` for plain scripts.

The async client runs on a private reactor (its own instance, never the
global one, so a script that also uses Twisted is not disturbed), and a
blocking call runs that reactor in the caller's own thread until its result
is in. Handing each call to a reactor thread instead cost two cross-thread
wake-ups per call (the reactor's waker, then the caller's lock), about a
quarter of a millisecond here: as much as the rest of a small call's client
side. Between calls the reactor is still, which a client can afford: every
poll and wait happens inside some call.
"""

import threading

from twisted.internet.defer import ensureDeferred
from twisted.python.failure import Failure

from naclgrid.client.grid import Grid


def _new_reactor():
    try:
        from twisted.internet.epollreactor import EPollReactor as Reactor
    except ImportError:  # not Linux
        from twisted.internet.selectreactor import SelectReactor as Reactor
    return Reactor()


class DrivenReactor:
    """A private reactor run by the threads that wait on it.

    One waiting thread at a time drives it (runs its loop); a call made
    while another thread drives is handed to that driver, and whoever is
    left waiting takes over when the driver's own call is done. So a
    script that calls from several threads still gets its calls run at once.
    """

    def __init__(self):
        self.reactor = _new_reactor()
        self._cond = threading.Condition()
        self._driving = False
        self._closed = False
        # Fires the startup triggers (a computing master's thread pool
        # starts with them), as run() would; the loop is ours.
        self.reactor.startRunning(installSignalHandlers=False)

    def call(self, function, *args, **kwargs):
        """Run ``function`` (a coroutine function, or one returning a Deferred
        or a value) on the reactor and return its result (or raise)."""
        outcome = []

        def start():
            ensureDeferred(_as_coroutine(function, args, kwargs)).addBoth(finish)

        def finish(result):
            with self._cond:
                outcome.append(result)
                self._cond.notify_all()

        with self._cond:
            if self._closed:
                raise RuntimeError("this client is closed")
            drive = not self._driving
            self._driving = True
        if drive:
            self._drive(start, outcome)
        else:
            self.reactor.callFromThread(start)
            with self._cond:
                while not outcome and self._driving:
                    self._cond.wait()
                drive = not outcome
                if drive:
                    self._driving = True
            if drive:
                self._drive(None, outcome)
        result = outcome[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result

    def _drive(self, start, outcome):
        reactor = self.reactor
        try:
            # What happened while nobody drove (a connection the server
            # closed, say) is seen before the call, not after it.
            reactor.runUntilCurrent()
            reactor.doIteration(0)
            if start is not None:
                start()
            while not outcome:
                reactor.runUntilCurrent()
                if outcome:
                    break
                reactor.doIteration(reactor.timeout())
        finally:
            with self._cond:
                self._driving = False
                self._cond.notify_all()

    def stop(self):
        """Shut the reactor down (its thread pool, its connections)."""
        with self._cond:
            if self._closed:
                return
        try:
            self.call(self._shutdown)
        finally:
            with self._cond:
                self._closed = True

    def _shutdown(self):
        from twisted.internet.defer import Deferred

        stopped = Deferred()
        self.reactor.addSystemEventTrigger("after", "shutdown", stopped.callback, None)
        self.reactor.stop()
        return stopped


async def _as_coroutine(function, args, kwargs):
    result = function(*args, **kwargs)
    if hasattr(result, "__await__") or hasattr(result, "addCallback"):
        result = await result
    return result


def connect(url, key, **options):
    """A :class:`BlockingGrid` on its own private reactor. Options as for
    :class:`Grid` (``compute``, ``local_slots``, ``scheme``, ``cache_dir``...)."""
    return BlockingGrid(url, key, **options)


class BlockingGrid:
    """Blocking twin of :class:`Grid`; use it as a context manager or call
    :meth:`close` at the end."""

    def __init__(self, url, key, **options):
        self._runner = DrivenReactor()
        self._grid = self._runner.call(lambda: Grid(url, key, reactor=self._runner.reactor,
                                                    **options))

    @property
    def runner(self):
        """The :class:`DrivenReactor` this client's calls run on."""
        return self._runner

    @property
    def grid(self):
        """The underlying async :class:`Grid`: its coroutines run on the
        private reactor, e.g. through ``runner.call``."""
        return self._grid

    def new_job(self, application, **options):
        job = self._runner.call(self._grid.new_job, application, **options)
        return BlockingJob(self._runner, job)

    def job(self, job_id):
        return BlockingJob(self._runner, self._grid.job(job_id))

    def jobs(self):
        return self._runner.call(self._grid.jobs)

    def nodes(self):
        return self._runner.call(self._grid.nodes)

    def close(self):
        try:
            self._runner.call(self._grid.close)
        finally:
            self._runner.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class BlockingJob:
    """Blocking twin of :class:`Job`; ``with`` cancels the job on error."""

    def __init__(self, runner, job):
        self._runner = runner
        self.job = job
        self.job_id = job.job_id

    def __repr__(self):
        return repr(self.job)

    def drop_file(self, name, data):
        return self._runner.call(self.job.drop_file, name, data)

    def start(self, input=b"", **extras):
        return self._runner.call(self.job.start, input, **extras)

    def fork(self, entry, input=b""):
        return self._runner.call(self.job.fork, entry, input)

    def call(self, entry, input=b"", **options):
        return self._runner.call(self.job.call, entry, input, **options)

    def fork_many(self, entry=None, inputs=(), *, tasks=None):
        return self._runner.call(self.job.fork_many, entry, inputs, tasks=tasks)

    def fetch(self, slot, **options):
        return self._runner.call(self.job.fetch, slot, **options)

    def gather(self, slots=None, **options):
        return self._runner.call(self.job.gather, slots, **options)

    def status(self):
        return self._runner.call(self.job.status)

    def stop(self, state="stopped"):
        return self._runner.call(self.job.stop, state)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            try:
                self.stop("cancelled")
            except Exception:
                pass  # the original error matters more
        return False
