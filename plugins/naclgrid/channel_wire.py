"""The agent channel's wire: messages over one upgraded connection.

After ``GET <site>/channel`` with ``Connection: Upgrade`` and ``Upgrade:
naclgrid-channel/1`` is answered ``101``, both sides send messages:

    message = u32 big-endian length of the rest || a frames body (naclgrid.frames)
    call    = {"id": N, "method": "POST", "name": "fork", "query": "job_id=...",
               "headers": {"content-type": ..., "authorization": ..., "accept": ...}}
              + blob 0: the request body (no blob: no body)
    answer  = {"id": N, "status": 200, "headers": {...}} + blob 0: the answer body
    cancel  = {"id": N, "cancel": true}   the caller gave up (as closing an HTTP
                                          connection would tell the server)

A call is exactly the HTTP request it stands for (same endpoint, parameters,
credentials and answer); only the framing differs. ``id`` is the caller's,
unique among its calls in flight; answers come in any order.

This module is shared by the API and the SDK and depends only on
:mod:`naclgrid.frames`.
"""

import json
import struct

from twisted.internet import tcp
from twisted.internet.protocol import Protocol

from naclgrid import frames

TOKEN = "naclgrid-channel/1"
MAX_BYTES_HEADER = "X-Naclgrid-Channel-Max-Bytes"
_LENGTH = struct.Struct(">I")
_HEAD = struct.Struct(">I4sI")  # message length, then the frames magic and header length
# The server closes a channel that has had no message from its client and
# no call in flight for this long.
IDLE_SECONDS = 300.0
# Bytes read from the socket at a time (Twisted's default is 64 KiB).
READ_BYTES = 512 * 1024
# Pieces per sendmsg call (Linux's IOV_MAX).
_IOV_MAX = 1024
# A buffer this big is not kept alive by a view of a small part of it.
_DETACH_BYTES = 1024 * 1024


class ChannelError(ValueError):
    """A message that breaks the channel's wire format."""


def encode(obj, body=None):
    """The pieces of one message: ``obj`` (a JSON-able dict) and ``body``
    (bytes, a list of pieces written one after another, or None)."""
    pieces = [] if body is None else body if isinstance(body, list) else [body]
    sizes = [] if body is None else [sum(map(len, pieces))]
    text = json.dumps(dict(obj, blob_sizes=sizes), separators=(",", ":")).encode("utf-8")
    head = _HEAD.pack(len(frames.MAGIC) + _LENGTH.size + len(text) + sum(sizes),
                      frames.MAGIC, len(text)) + text
    return [head, *pieces]


def decode(message):
    """``(obj, body)`` of one message (without its length prefix); ``body``
    is None when the message has none, else a memoryview of ``message``
    (bodies are parsed next, and what they carry is copied out then: a copy
    of the body first moved every byte of a batch once more). Raises
    :class:`ChannelError`."""
    try:
        obj, blobs = frames.decode(message, copy=False)
    except frames.FrameError as error:
        raise ChannelError(str(error)) from None
    if len(blobs) > 1:
        raise ChannelError("a channel message carries at most one body")
    if type(obj.get("id")) is not int:
        raise ChannelError("a channel message needs an integer 'id'")
    return obj, (blobs[0] if blobs else None)


def _idle_tcp(transport):
    """Is ``transport`` a plain TCP connection with nothing waiting to be
    sent? Then a message may go straight to its socket: bytes queued before
    it must leave first. Checked by class, not by attributes: a TLS layer
    (``TLSMemoryBIOProtocol``) passes unknown attributes on to the TCP
    connection beneath it, whose socket must only ever see ciphertext."""
    return (isinstance(transport, tcp.Connection) and not transport.TLS
            and not transport.disconnecting and not transport._tempDataBuffer
            and len(transport.dataBuffer) <= transport.offset)


def _send_now(sock, pieces):
    """Send what the socket takes now, scatter-gather (``sendmsg``: the
    kernel reads the pieces where they are; Twisted's own write joins them
    into one buffer first, a copy of every byte of a batch); return the
    pieces left over, for the transport to send later."""
    first = 0
    while first < len(pieces):
        try:
            sent = sock.sendmsg(pieces[first:first + _IOV_MAX])
        except OSError:
            # Full (EAGAIN), or broken: the transport meets the error too
            # and reports it its way.
            break
        while first < len(pieces) and sent >= len(pieces[first]):
            sent -= len(pieces[first])
            first += 1
        if sent:
            return [bytes(memoryview(pieces[first])[sent:]), *pieces[first + 1:]]
    return pieces[first:]


class MessageStream(Protocol):
    """Cuts the byte stream into messages for :meth:`messageReceived`.

    A message's chunks are kept in a list and joined once: twisted's
    ``Int32StringReceiver`` re-joins its whole buffer on every read, which
    costs quadratic copying for the multi-MiB pop and fetch answers.
    ``max_bytes`` bounds a message before any of it is buffered.
    """

    max_bytes = 64 * 1024 * 1024

    def __init__(self):
        self._chunks = []
        self._have = 0
        self._need = None  # length of the message being read, once known

    # While True, messages already read wait here, unread ones in the socket
    # (see ChannelServer's backpressure); dataReceived(b"") goes on.
    _paused = False

    def dataReceived(self, data):
        if data:
            self._chunks.append(data)
            self._have += len(data)
        while not self._paused:
            if self._need is None:
                if self._have < _LENGTH.size:
                    return
                buffered = self._take_all()
                (self._need,) = _LENGTH.unpack_from(buffered)
                if self._need > self.max_bytes:
                    self._chunks, self._have = [], 0
                    self.messageTooLarge(self._need)
                    return
                rest = memoryview(buffered)[_LENGTH.size:]
                self._chunks, self._have = ([rest], len(rest)) if rest else ([], 0)
            if self._have < self._need:
                return
            buffered = self._take_all()
            if len(buffered) == self._need:
                message, self._chunks, self._have = buffered, [], 0
            else:  # views: slicing bytes would copy the message and the rest
                view = memoryview(buffered)
                message, rest = view[:self._need], view[self._need:]
                if len(buffered) > _DETACH_BYTES and len(rest) * 2 < len(buffered):
                    # A small rest after a big message is copied out: a view
                    # would keep the big buffer alive as long as the next
                    # message lives (a long poll: a minute).
                    rest = bytes(rest)
                self._chunks, self._have = [rest], len(rest)
            self._need = None
            if self.transport is None:
                return
            self.rawMessageReceived(message)
            if getattr(self.transport, "disconnecting", False):
                return

    def _take_all(self):
        if len(self._chunks) == 1:
            return self._chunks[0]
        return b"".join(self._chunks)

    def rawMessageReceived(self, message):
        try:
            obj, body = decode(message)
        except ChannelError as error:
            self.badMessage(str(error))
            return
        self.messageReceived(obj, body)

    def makeConnection(self, transport):
        # Big messages arrive in 512 KiB reads, not Twisted's 64 KiB: an
        # 8 MiB batch is 16 chunks to join, not 128.
        if getattr(transport, "bufferSize", READ_BYTES) < READ_BYTES:
            transport.bufferSize = READ_BYTES
        super().makeConnection(transport)

    def sendMessage(self, obj, body=None):
        # A message usually wakes the peer (a task for an agent, a result
        # for its master) while this side goes on with the call that sent
        # it, so it leaves now, not on the reactor's next pass, and both
        # sides work at once.
        transport = self.transport
        pieces = encode(obj, body)
        if _idle_tcp(transport):
            left = _send_now(transport.socket, pieces)
            if left:  # the socket is full: the reactor sends the rest as it drains
                transport.writeSequence(left)
            return
        transport.writeSequence(pieces)
        # Behind queued bytes, or TLS (no doWrite: its bytes leave with the
        # wrapped transport's next pass).
        flush = getattr(transport, "doWrite", None)
        if flush is not None and not transport.disconnecting:
            flush()  # an error it meets is left for the reactor to act on

    def messageReceived(self, obj, body):
        raise NotImplementedError

    def messageTooLarge(self, size):
        """A message announced ``size`` bytes, over ``max_bytes``."""
        self.transport.loseConnection()

    def badMessage(self, reason):
        """A message broke the wire format."""
        self.transport.loseConnection()
