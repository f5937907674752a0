"""A blocking facade over :class:`Grid` for plain scripts.

The async client runs on a private reactor in a daemon thread (its own
instance, never the global one, so a script that also uses Twisted is not
disturbed); each blocking call hands a coroutine to that thread and waits.
"""

import threading

from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import blockingCallFromThread

from naclgrid.client.grid import Grid


def _new_reactor():
    try:
        from twisted.internet.epollreactor import EPollReactor as Reactor
    except ImportError:  # not Linux
        from twisted.internet.selectreactor import SelectReactor as Reactor
    return Reactor()


class ReactorThread:
    """A private reactor running in a daemon thread."""

    def __init__(self):
        self.reactor = _new_reactor()
        self._thread = threading.Thread(target=self._run, name="naclgrid-reactor", daemon=True)
        self._thread.start()

    def _run(self):
        self.reactor.run(installSignalHandlers=False)

    def call(self, function, *args, **kwargs):
        """Run ``function`` (a coroutine function, or one returning a Deferred
        or a value) in the reactor thread and return its result."""
        def start():
            return ensureDeferred(_as_coroutine(function, args, kwargs))
        return blockingCallFromThread(self.reactor, start)

    def stop(self, timeout=10):
        if self.reactor.running:
            self.reactor.callFromThread(self.reactor.stop)
        self._thread.join(timeout)


async def _as_coroutine(function, args, kwargs):
    result = function(*args, **kwargs)
    if hasattr(result, "__await__") or hasattr(result, "addCallback"):
        result = await result
    return result


def connect(url, key, **options):
    """A :class:`BlockingGrid` on its own reactor thread. Options as for
    :class:`Grid` (``compute``, ``local_slots``, ``scheme``, ``cache_dir``...)."""
    return BlockingGrid(url, key, **options)


class BlockingGrid:
    """Blocking twin of :class:`Grid`; use it as a context manager or call
    :meth:`close` at the end."""

    def __init__(self, url, key, **options):
        self._thread = ReactorThread()
        self._grid = self._thread.call(lambda: Grid(url, key, reactor=self._thread.reactor,
                                                    **options))

    @property
    def grid(self):
        """The underlying async :class:`Grid` (for use on the reactor thread)."""
        return self._grid

    def new_job(self, application, **options):
        job = self._thread.call(self._grid.new_job, application, **options)
        return BlockingJob(self._thread, job)

    def job(self, job_id):
        return BlockingJob(self._thread, self._grid.job(job_id))

    def jobs(self):
        return self._thread.call(self._grid.jobs)

    def nodes(self):
        return self._thread.call(self._grid.nodes)

    def close(self):
        try:
            self._thread.call(self._grid.close)
        finally:
            self._thread.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class BlockingJob:
    """Blocking twin of :class:`Job`; ``with`` cancels the job on error."""

    def __init__(self, thread, job):
        self._thread = thread
        self.job = job
        self.job_id = job.job_id

    def __repr__(self):
        return repr(self.job)

    def drop_file(self, name, data):
        return self._thread.call(self.job.drop_file, name, data)

    def start(self, input=b"", **extras):
        return self._thread.call(self.job.start, input, **extras)

    def fork(self, entry, input=b""):
        return self._thread.call(self.job.fork, entry, input)

    def call(self, entry, input=b"", **options):
        return self._thread.call(self.job.call, entry, input, **options)

    def fork_many(self, entry=None, inputs=(), *, tasks=None):
        return self._thread.call(self.job.fork_many, entry, inputs, tasks=tasks)

    def fetch(self, slot, **options):
        return self._thread.call(self.job.fetch, slot, **options)

    def gather(self, slots=None, **options):
        return self._thread.call(self.job.gather, slots, **options)

    def status(self):
        return self._thread.call(self.job.status)

    def stop(self, state="stopped"):
        return self._thread.call(self.job.stop, state)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            try:
                self.stop("cancelled")
            except Exception:
                pass  # the original error matters more
        return False
