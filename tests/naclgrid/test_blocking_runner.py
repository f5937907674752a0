"""The blocking facade's reactor, run by the threads that wait on it."""

import select
import socket
import threading

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater

from naclgrid.client.blocking import DrivenReactor


@pytest.fixture
def runner():
    runner = DrivenReactor()
    yield runner
    runner.stop()


def test_a_call_returns_its_value_and_raises_its_error(runner):
    async def double(x):
        return 2 * await deferLater(runner.reactor, 0.001, lambda: x)

    assert runner.call(double, 21) == 42
    assert runner.call(lambda: "plain") == "plain"

    async def broken():
        raise ValueError("no such thing")

    with pytest.raises(ValueError, match="no such thing"):
        runner.call(broken)


def test_calls_from_several_threads_run_at_once(runner):
    # Each call waits until all of them have started: run one after another,
    # the first would wait forever (and the join below would time out).
    count = 4
    started, gate, results = [], Deferred(), []

    async def meet(i):
        started.append(i)
        if len(started) == count:
            gate.callback(None)
        await gate
        return i

    threads = [threading.Thread(target=lambda i=i: results.append(runner.call(meet, i)))
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(results) == list(range(count))


def test_what_happened_between_calls_is_seen_before_the_next_call(runner):
    # Nobody runs the reactor between calls: a connection the peer closed
    # meanwhile must still be known as closed when the next call starts.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    class Watch(Protocol):
        lost = False

        def connectionLost(self, reason):
            Watch.lost = True

    endpoint = TCP4ClientEndpoint(runner.reactor, "127.0.0.1", port)
    protocol = runner.call(endpoint.connect, Factory.forProtocol(Watch))
    peer, _ = listener.accept()
    peer.close()
    listener.close()
    # Wait for the FIN to reach the client socket without running the
    # reactor: a blocking poll on the socket itself.
    poller = select.poll()
    poller.register(protocol.transport.fileno(), select.POLLIN)
    assert poller.poll(10_000)
    assert runner.call(lambda: Watch.lost) is True


def test_a_stopped_runner_refuses_calls_and_stops_its_thread_pool(runner):
    pool = runner.call(runner.reactor.getThreadPool)
    assert runner.call(lambda: runner.reactor.callInThread(lambda: None)) is None
    runner.stop()
    assert not pool.started
    with pytest.raises(RuntimeError, match="closed"):
        runner.call(lambda: None)
    runner.stop()  # twice is fine
