"""The agent channel's wire: messages cut from any chunking of the stream,
bodies handed out as views, and messages written straight to an idle TCP
socket with what it does not take left to the transport."""

import os
import select
import socket

import pytest
from twisted.internet import tcp
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from naclgrid import channel_wire, frames
from naclgrid.channel_wire import MessageStream, _send_now, encode


class Collector(MessageStream):
    def __init__(self):
        super().__init__()
        self.got = []

    def messageReceived(self, obj, body):
        self.got.append((obj, None if body is None else bytes(body)))


def wire(*messages):
    return b"".join(b"".join(encode(obj, body)) for obj, body in messages)


MESSAGES = [({"id": 1}, None), ({"id": 2, "name": "pop"}, b"x" * 70_000),
            ({"id": 3}, b""), ({"id": 4}, [b"a" * 10, b"b" * 300_000, b"c"])]
EXPECTED = [({"id": 1}, None), ({"id": 2, "name": "pop"}, b"x" * 70_000),
            ({"id": 3}, b""), ({"id": 4}, b"a" * 10 + b"b" * 300_000 + b"c")]


@pytest.mark.parametrize("size", [1, 3, 4, 5, 1000, 65_536, 10**7])
def test_messages_are_cut_from_any_chunking(size):
    stream = Collector()
    stream.makeConnection(StringTransport())
    data = wire(*MESSAGES)
    for start in range(0, len(data), size):
        stream.dataReceived(data[start:start + size])
    assert stream.got == EXPECTED


def bodies_of(data):
    """The bodies, as handed to messageReceived, of messages read in one go."""
    got = []

    class Keeper(MessageStream):
        def messageReceived(self, obj, body):
            got.append(body)

    stream = Keeper()
    stream.makeConnection(StringTransport())
    stream.dataReceived(data)
    return got


def test_a_body_is_a_view_of_the_message_and_a_frames_body_decodes_from_it():
    inner = frames.encode({"tasks": [{"input_blob": 0}]}, [b"payload"])
    got = bodies_of(wire(({"id": 7}, inner), ({"id": 8}, b"tail")))
    assert all(isinstance(body, memoryview) for body in got)
    obj, blobs = frames.decode(got[0])
    assert obj == {"tasks": [{"input_blob": 0}]} and blobs == [b"payload"]
    assert type(blobs[0]) is bytes  # copied out: the message can go
    assert bytes(got[1]) == b"tail"


def test_a_small_message_after_a_big_one_does_not_keep_the_big_buffer():
    big = wire(({"id": 1}, b"x" * (2 * 1024 * 1024)))
    small = wire(({"id": 2}, b"pop"))
    got = bodies_of(big + small)  # one read: the small message rides on the big one
    assert bytes(got[1]) == b"pop"
    assert len(got[1].obj) < 1024  # its own small buffer, not the big one's
    assert len(got[0].obj) >= 2 * 1024 * 1024


class FakeSocket:
    """Takes ``budget`` bytes in all, then refuses like a full socket."""

    def __init__(self, budget, error=BlockingIOError):
        self.budget = budget
        self.error = error
        self.taken = b""
        self.calls = 0

    def sendmsg(self, buffers):
        self.calls += 1
        assert len(buffers) <= channel_wire._IOV_MAX
        if self.budget <= 0:
            raise self.error()
        data = b"".join(bytes(b) for b in buffers)[:self.budget]
        self.budget -= len(data)
        self.taken += data
        return len(data)


@pytest.mark.parametrize("budget", [0, 1, 4, 5, 9, 10, 14, 10**6])
def test_send_now_sends_what_fits_and_returns_the_rest(budget):
    pieces = [b"head", b"", b"blob-1", b"blob-2"]
    sock = FakeSocket(budget)
    left = _send_now(sock, pieces)
    whole = b"".join(pieces)
    assert sock.taken == whole[:budget]
    assert sock.taken + b"".join(left) == whole
    assert all(type(piece) is bytes for piece in left)


def test_send_now_passes_at_most_iov_max_pieces_a_call():
    pieces = [b"%d," % i for i in range(2500)]
    sock = FakeSocket(10**9)
    assert _send_now(sock, pieces) == []
    assert sock.taken == b"".join(pieces) and sock.calls == 3


def test_a_broken_socket_leaves_everything_to_the_transport():
    pieces = [b"head", b"body"]
    assert _send_now(FakeSocket(0, error=BrokenPipeError), pieces) == pieces


def test_only_a_plain_tcp_connection_with_nothing_queued_is_idle():
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    left, right = socket.socketpair()
    try:
        transport = tcp.Connection(left, None, None)
        transport.connected = True
        assert channel_wire._idle_tcp(transport)
        transport._tempDataBuffer = [b"queued"]
        assert not channel_wire._idle_tcp(transport)
        transport._tempDataBuffer, transport.dataBuffer = [], b"unsent"
        assert not channel_wire._idle_tcp(transport)
        transport.dataBuffer = b""
        # A TLS layer passes attributes on to the TCP connection beneath:
        # its look-alike TLS, buffers and socket must not make it idle TCP.
        tls = TLSMemoryBIOProtocol.__new__(TLSMemoryBIOProtocol)
        tls.transport = transport
        assert tls.socket is left and not tls.TLS
        assert not channel_wire._idle_tcp(tls)
        assert not channel_wire._idle_tcp(StringTransport())
    finally:
        left.close()
        right.close()


def test_a_big_message_crosses_a_real_socket_with_a_tiny_send_buffer():
    """sendmsg fills the socket, the transport sends the rest as it drains,
    in order, behind which a second message waits its turn."""
    listener = socket.create_server(("127.0.0.1", 0))
    left = socket.create_connection(listener.getsockname())
    right, _ = listener.accept()
    listener.close()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    left.setblocking(False)
    clock = Clock()

    class Reactor:
        def __init__(self):
            self.writers = set()

        def addWriter(self, writer):
            self.writers.add(writer)

        def removeWriter(self, writer):
            self.writers.discard(writer)

        def addReader(self, reader):
            pass

        def removeReader(self, reader):
            pass

        callLater = clock.callLater

    reactor = Reactor()
    transport = tcp.Connection(left, None, reactor)
    transport.connected = True
    sender = MessageStream()
    sender.makeConnection(transport)
    assert transport.bufferSize == channel_wire.READ_BYTES
    body = os.urandom(1024 * 1024)
    sender.sendMessage({"id": 1}, [body[:100], body[100:]])
    sender.sendMessage({"id": 2}, b"second")
    # The socket was full: the rest waits in the transport.
    assert len(transport.dataBuffer) - transport.offset + transport._tempDataLen > 0
    receiver = Collector()
    receiver.makeConnection(StringTransport())
    right.setblocking(False)
    for _ in range(2000):  # each pass moves at least a socket buffer's worth, or waits
        if len(receiver.got) == 2:
            break
        readable, writable, _ = select.select(
            [right], [left] if reactor.writers else [], [], 5.0)
        if writable:
            transport.doWrite()
        if readable:
            receiver.dataReceived(right.recv(1 << 20))
    assert receiver.got == [({"id": 1}, body), ({"id": 2}, b"second")]
    left.close()
    right.close()
