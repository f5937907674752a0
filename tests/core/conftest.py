import pytest
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock


def result_of(d):
    """The result of an already-fired Deferred (or coroutine), for sync tests."""
    d = ensureDeferred(d) if not hasattr(d, "addBoth") else d
    box = []
    d.addBoth(box.append)
    assert box, "the Deferred has not fired"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]


@pytest.fixture
def clock():
    return Clock()
