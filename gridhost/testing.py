"""Helpers for testing gridhost apps, and for scripts that drive real
processes (as ``treq.testing`` serves treq users).

Unit tests run on a ``twisted.internet.task.Clock``, so everything they wait
for has already happened: :func:`result_of` takes it out of its Deferred.
Tests and benchmarks that start real processes (twistd, agents,
redis-server) cannot be called back by them: :func:`wait_for` polls, with a
bound.
"""

import socket
import time

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.python.failure import Failure


def result_of(d):
    """The result of an already-fired Deferred or coroutine; raises its
    failure, and fails if it has not fired yet."""
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it returns something truthy (and return it),
    for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
