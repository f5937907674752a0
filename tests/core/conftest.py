import pytest
from twisted.internet.task import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(scope="session")
def reactor():
    """The real reactor, for tests that listen on 127.0.0.1."""
    from twisted.internet import reactor as _reactor
    return _reactor
