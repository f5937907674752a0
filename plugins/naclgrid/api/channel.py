"""The API's calls over one persistent connection (the agent channel).

Why: on this stack an HTTP request costs twisted.web about 0.3 ms of server
CPU and the client as much again before any work is done, and a task needs
two of them on the agent's side (the pop that brings it, the pop that takes
its result back) and one on its master's (fork and wait). Over the channel a
call is one small message each way, so a task's round trip is mostly the
task. Wire format: :mod:`naclgrid.channel_wire`; the SDK's end:
:mod:`naclgrid.client.channel`.

Every call runs the very endpoint its HTTP request would (``@endpoint``:
credentials, roles, size limits, parsing) on a :class:`ChannelRequest`, the
few request methods the endpoints use, and errors become the same JSON.
"""

import io

from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from naclgrid.api.errors import (ApiError, domain_error_body, error_body,
                                 unexpected_error_body)
from naclgrid.channel_wire import IDLE_SECONDS, MAX_BYTES_HEADER, TOKEN, MessageStream
from naclgrid.errors import GridError

# Calls one connection may have in flight (long polls included); more get
# 429 at once rather than piling up waiters on the server.
MAX_CALLS_IN_FLIGHT = 64
_MAX_HEADERS = 32


class ViewContent(io.RawIOBase):
    """A channel call's body as ``request.content``: a read-only file over the
    message's memoryview. ``view()`` hands out the body itself, so a frames
    body is parsed where it arrived (``io.BytesIO`` would copy it first)."""

    def __init__(self, body):
        super().__init__()
        self._view = memoryview(body if body is not None else b"")
        self._pos = 0

    def view(self):
        return self._view

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self):
        return self._pos

    def readinto(self, buffer):
        chunk = self._view[self._pos:self._pos + len(buffer)]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def readall(self):
        chunk = bytes(self._view[self._pos:])
        self._pos = len(self._view)
        return chunk


class ChannelRequest:
    """What an endpoint reads and writes of a request, for one channel call."""

    channel = None  # no HTTP channel (and no transport to tune) behind it

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.uri = path + b"?" + query if query else path
        self._headers = headers
        self.content = ViewContent(body)
        self.code = 200
        self.response_headers = {}
        self._written = []

    def getHeader(self, name):
        return self._headers.get(name.lower())

    def setHeader(self, name, value):
        self.response_headers[name.lower()] = value

    def setResponseCode(self, code, message=None):
        self.code = code

    def write(self, data):
        self._written.append(data)

    def body(self, returned):
        """The answer's body: what was written, then what the route returned."""
        if returned:
            self._written.append(returned)
        return self._written


class ChannelServer(MessageStream, TimeoutMixin):
    """One client's channel: runs its calls on ``api`` (a NaclgridAPI) with
    ``routes`` (``named_endpoints`` of its Klein app); ``base`` is the site
    path the calls' names hang under (for logs and error messages)."""

    def __init__(self, api, routes, base, clock, max_bytes, *, max_calls=MAX_CALLS_IN_FLIGHT,
                 idle=IDLE_SECONDS):
        super().__init__()
        self._api = api
        self._routes = routes
        self._base = base
        self.callLater = clock.callLater  # TimeoutMixin's clock
        self.max_bytes = max_bytes
        self._max_calls = max_calls
        self._idle = idle
        self._calls = {}  # id -> Deferred of the running call
        self._lost = False

    def connectionMade(self):
        self.setTimeout(self._idle)
        # Backpressure, as twisted.web's HTTP channel has: while answers wait
        # unsent (over the transport's buffer size: a client that does not
        # read), no more calls are read, so what one connection makes the
        # server hold stays bounded (by MAX_CALLS_IN_FLIGHT answers); calls
        # finish once answered, so the in-flight limit alone would not.
        self.transport.registerProducer(self, True)

    # IPushProducer: the transport's buffer of answers is full, or drained.
    def pauseProducing(self):
        self._paused = True  # calls already read wait too
        # (Under TLS the wrapper passes this to the TCP connection beneath.)
        self.transport.pauseProducing()

    def resumeProducing(self):
        if self._lost:
            return
        self._paused = False
        self.transport.resumeProducing()
        # Not from inside the transport's write: the calls read meanwhile
        # write their answers.
        self.callLater(0, self.dataReceived, b"")

    def stopProducing(self):
        pass  # the connection is going: connectionLost cancels the calls

    def connectionLost(self, reason):
        self.setTimeout(None)
        # Calls read while paused and not run yet never run: their caller
        # saw the connection go and may send them again elsewhere.
        self._lost = self._paused = True
        self._chunks, self._have = [], 0
        calls, self._calls = self._calls, {}
        for call in calls.values():
            call.cancel()  # as twisted.web does when an HTTP client hangs up

    def timeoutConnection(self):
        if self._calls:
            # Long polls in flight: not idle. setTimeout, not resetTimeout: the
            # call that fired is spent and resetTimeout would only reset it.
            self.setTimeout(self._idle)
        else:
            self.transport.loseConnection()

    def messageTooLarge(self, size):
        self._refuse(413, "too_large", f"a channel message is limited to {self.max_bytes} bytes")

    def badMessage(self, reason):
        self._refuse(400, "bad_request", f"bad channel message: {reason}")

    def _refuse(self, status, code, message):
        # The stream cannot be trusted past this point: answer once, hang up.
        request = ChannelRequest(b"GET", self._base, b"", {}, None)
        body = error_body(request, status, code, message)
        self.sendMessage({"id": -1, "status": status, "headers": _text_headers(request)}, body)
        self.transport.loseConnection()

    def messageReceived(self, obj, body):
        self.resetTimeout()
        call_id = obj["id"]
        if obj.get("cancel"):
            call = self._calls.get(call_id)
            if call is not None:
                call.cancel()
            return
        if call_id in self._calls:
            self.badMessage(f"id {call_id} is already in flight")
            return
        try:
            request, route = self._request_of(obj, body)
        except ApiError as error:
            request = ChannelRequest(b"POST", self._base, b"", {}, None)
            self._answer(call_id, request, domain_error_body(request, error))
            return
        if len(self._calls) >= self._max_calls:
            self._answer(call_id, request, error_body(
                request, 429, "limit_exceeded",
                f"at most {self._max_calls} calls in flight on one channel"))
            return
        call = self._calls[call_id] = ensureDeferred(route(self._api, request))
        call.addBoth(self._finished, call_id, request)  # forgets it again

    def _request_of(self, obj, body):
        name, method = obj.get("name"), obj.get("method", "POST")
        query, headers = obj.get("query", ""), obj.get("headers", {})
        if not (isinstance(name, str) and isinstance(method, str) and isinstance(query, str)
                and isinstance(headers, dict) and len(headers) <= _MAX_HEADERS
                and all(isinstance(v, str) for v in headers.values())):
            raise ApiError("bad_request", "a channel call needs name, method, query and "
                                          "headers (strings)")
        try:
            raw = {k.lower().encode("latin-1"): v.encode("latin-1") for k, v in headers.items()}
            path = self._base + name.encode("utf-8")
            query_bytes = query.encode("latin-1")
            method_bytes = method.encode("ascii")
        except UnicodeError:
            raise ApiError("bad_request", "channel call headers and query must be latin-1 "
                                          "text") from None
        raw[b"content-length"] = b"%d" % len(body or b"")
        request = ChannelRequest(method_bytes, path, query_bytes, raw, body)
        found = self._routes.get(name)
        if found is None:
            raise ApiError("not_found", f"no endpoint {name!r} on the channel", 404)
        route, methods = found
        if method not in methods:
            raise ApiError("method_not_allowed", f"{name} takes {', '.join(methods)}", 405)
        return request, route

    def _finished(self, result, call_id, request):
        self._calls.pop(call_id, None)
        if isinstance(result, Failure):
            if result.check(CancelledError):
                return None  # the caller gave up or left: nobody to answer
            if result.check(GridError):
                result = domain_error_body(request, result.value)
            else:
                result = unexpected_error_body(self._api.log, request, result)
        if self.transport is not None and not self.transport.disconnecting:
            self._answer(call_id, request, result)
        return None

    def _answer(self, call_id, request, returned):
        self.sendMessage({"id": call_id, "status": request.code,
                          "headers": _text_headers(request)}, request.body(returned))


def _text_headers(request):
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.response_headers.items()}


def channel_headers(max_bytes):
    """Headers of the 101 answer: the largest message the server reads."""
    return ((MAX_BYTES_HEADER, str(max_bytes)),)


__all__ = ["TOKEN", "ChannelRequest", "ChannelServer", "channel_headers"]
