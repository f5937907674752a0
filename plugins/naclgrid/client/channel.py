"""The SDK's end of the agent channel (naclgrid.api.channel).

:class:`ChannelHTTP` has the ``request()`` of the other HTTP clients here,
so the transport, its retries and every caller stay as they are: calls to
the API's named endpoints travel as messages on one upgraded connection,
and anything else (file downloads, bodies over the server's message limit,
or everything, for a server without a channel) goes through ``fallback``.
"""

from urllib.parse import urlsplit

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.error import ConnectionLost
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.web.client import URI
from twisted.web.http_headers import Headers

from naclgrid import frames
from naclgrid.channel_wire import IDLE_SECONDS, MAX_BYTES_HEADER, TOKEN, MessageStream
from naclgrid.client.http import Response

# The longest 101 answer head read before the connection is given up.
MAX_HANDSHAKE_BYTES = 16 * 1024
# A server that accepts the connection but never answers the upgrade.
HANDSHAKE_SECONDS = 10.0
# A channel this client has sent nothing on for this long, with nothing in
# flight, is closed and replaced before the next call: the server closes it
# at IDLE_SECONDS, and a call sent then could cross the close (a fork, which
# is not idempotent, would then fail instead of being sent again).
RETIRE_SECONDS = IDLE_SECONDS - 60.0


class ChannelRefused(Exception):
    """The server answered the upgrade with something other than 101."""


class ChannelClient(MessageStream):
    """One upgraded connection: sends the upgrade request, then calls."""

    log = Logger()

    def __init__(self, host, path, ready, clock):
        super().__init__()
        self._clock = clock
        self.last_sent = clock.seconds()
        self._host = host
        self._path = path
        self._ready = ready  # fires with self once the server said 101
        self._head = b""
        self._upgraded = False
        self._next_id = 0
        self._waiting = {}  # id -> Deferred of the answer
        self.server_max_bytes = 0
        self.alive = False

    # -- handshake -----------------------------------------------------------
    def connectionMade(self):
        self.alive = True
        self.transport.write(
            b"GET " + self._path + b" HTTP/1.1\r\nHost: " + self._host
            + b"\r\nConnection: Upgrade\r\nUpgrade: " + TOKEN.encode("ascii") + b"\r\n\r\n")

    def dataReceived(self, data):
        if self._upgraded:
            return super().dataReceived(data)
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HANDSHAKE_BYTES:
                self._refused("an endless answer to the upgrade request")
            return None
        head, rest = self._head[:end], self._head[end + 4:]
        self._head = b""
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        if len(status) < 2 or status[1] != b"101":
            self._refused(lines[0].decode("latin-1", "replace"))
            return None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == MAX_BYTES_HEADER.lower().encode("ascii"):
                try:
                    self.server_max_bytes = int(value.strip())
                except ValueError:
                    pass
        self._upgraded = True
        ready, self._ready = self._ready, None
        ready.callback(self)
        if rest:
            super().dataReceived(rest)
        return None

    def _refused(self, why):
        self.transport.loseConnection()
        ready, self._ready = self._ready, None
        if ready is not None:
            ready.errback(ChannelRefused(why))

    # -- calls ---------------------------------------------------------------
    def call(self, method, name, query, headers, body):
        """A Deferred of the :class:`~naclgrid.client.http.Response` to one call."""
        self._next_id += 1
        call_id = self._next_id

        def cancel(_):
            if self._waiting.pop(call_id, None) is not None and self.alive:
                self.sendMessage({"id": call_id, "cancel": True})

        answer = Deferred(cancel)
        self._waiting[call_id] = answer
        self.sendMessage({"id": call_id, "method": method, "name": name, "query": query,
                          "headers": headers}, body)
        return answer

    def sendMessage(self, obj, body=None):
        self.last_sent = self._clock.seconds()
        super().sendMessage(obj, body)

    def stale(self, now):
        """Has the server's idle close come close? (See RETIRE_SECONDS.)"""
        return not self._waiting and now - self.last_sent >= RETIRE_SECONDS

    def messageReceived(self, obj, body):
        answer = self._waiting.pop(obj["id"], None)
        status = obj.get("status")
        if answer is None:
            if obj["id"] == -1:  # the server refused the stream itself and hangs up
                self.log.warn("channel refused by the server: {body}", body=body)
            return  # a call this side gave up on
        headers = Headers()
        framed = False
        for key, value in (obj.get("headers") or {}).items():
            headers.setRawHeaders(key, [value])
            if key.lower() == "content-type" and value.startswith(frames.MEDIA_TYPE):
                framed = True
        # A frames answer stays a view of the message: Reply.document copies
        # its blobs out once. Anything else is read as bytes (JSON, files).
        if body is None:
            body = b""
        elif not framed:
            body = bytes(body)
        answer.callback(Response(status, headers, body))

    def connectionLost(self, reason):
        self.alive = False
        if self._ready is not None:
            ready, self._ready = self._ready, None
            ready.errback(reason)
        waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            answer.errback(ConnectionLost(f"the channel closed: {reason.getErrorMessage()}"))

    def badMessage(self, reason):
        self.log.warn("bad message from the server: {reason}", reason=reason)
        self.transport.loseConnection()


class ChannelHTTP:
    """``request()`` over the channel of ``base_url`` (the API's root,
    ending with ``/``), or through ``fallback`` (an :class:`AgentHTTP`)."""

    log = Logger()
    takes_parts = True

    def __init__(self, reactor, base_url, fallback, endpoints):
        self._reactor = reactor
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._fallback = fallback
        self._endpoints = endpoints  # builds the TCP (or TLS) endpoint of a URI
        self._client = None
        self._connecting = None  # Deferreds waiting for the connection
        self._refused = False

    def request(self, method, url, headers=None, data=None):
        if self._refused or not url.startswith(self._base):
            return self._fallback.request(method, url, headers=headers, data=data)
        name, _, query = url[len(self._base):].partition("?")
        if "/" in name or not name:
            return self._fallback.request(method, url, headers=headers, data=data)
        client = self._client
        if client is not None and client.alive:
            if not client.stale(self._reactor.seconds()):
                return self._send(client, method, name, query, headers, data, url)
            self._client = None
            client.transport.loseConnection()
        return ensureDeferred(self._connect_and_send(method, name, query, headers, data, url))

    async def _connect_and_send(self, method, name, query, headers, data, url):
        # A coroutine so that cancelling the caller's Deferred reaches what it
        # waits on: while connecting, the call is then never sent (a pop sent
        # after its caller gave up would lease a task nobody runs); once sent,
        # the server is told to cancel it.
        try:
            client = await self._connect()
        except ChannelRefused as refused:
            self._refused = True
            self.log.info("no agent channel at {url} ({why}): plain HTTP from now on",
                          url=self._base, why=str(refused))
            return await self._fallback.request(method, url, headers=headers, data=data)
        return await self._send(client, method, name, query, headers, data, url)

    def _send(self, client, method, name, query, headers, data, url):
        size = sum(map(len, data)) if isinstance(data, list) else len(data or b"")
        if client.server_max_bytes and size + 64 * 1024 > client.server_max_bytes:
            return self._fallback.request(method, url, headers=headers, data=data)
        flat = {key: values[-1] for key, values in (headers or {}).items()}
        return client.call(method, name, query, flat, data)

    def _connect(self):
        if self._connecting is None:
            self._connecting = []
            ready = Deferred()
            uri = URI.fromBytes((self._base + "channel").encode("ascii"))
            host = urlsplit(self._base).netloc.encode("ascii")
            factory = Factory.forProtocol(
                lambda: ChannelClient(host, uri.path, ready, self._reactor))
            connecting = self._endpoints.endpointForURI(uri).connect(factory)
            connecting.addErrback(lambda failure: ready.called or ready.errback(failure))
            timer = self._reactor.callLater(HANDSHAKE_SECONDS, _give_up, connecting, ready)
            ready.addBoth(_stop_timer, timer).addBoth(self._connected)
        waiter = Deferred()
        self._connecting.append(waiter)
        return waiter

    def _connected(self, result):
        waiters, self._connecting = self._connecting, None
        if isinstance(result, ChannelClient):
            self._client = result
            for waiter in waiters:
                waiter.callback(result)
        else:
            for waiter in waiters:
                waiter.errback(result)
        return None

    def close(self):
        client, self._client = self._client, None
        if client is not None and client.transport is not None:
            client.transport.loseConnection()
        return self._fallback.close()


def _give_up(connecting, ready):
    if not connecting.called:
        connecting.cancel()  # fails ready through its errback
    elif not ready.called:
        protocol = connecting.result
        if isinstance(protocol, ChannelClient) and protocol.transport is not None:
            protocol.transport.abortConnection()  # connectionLost fails ready


def _stop_timer(result, timer):
    if timer.active():
        timer.cancel()
    return result
