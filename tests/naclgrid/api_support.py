"""Helpers for the REST API and auth tests (not a test module)."""

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.python.failure import Failure


def result_of(d):
    """The result of an already-fired Deferred or coroutine; raises its
    failure. Fails the test if it has not fired yet (unit tests run on a
    Clock, so everything must have happened synchronously)."""
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def failure_of(d):
    """The exception of an already-failed Deferred or coroutine."""
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    assert isinstance(results[0], Failure), f"expected a failure, got {results[0]!r}"
    return results[0].value
