"""HTTP/1.1 protocol switching (RFC 9110 §7.8) for apps behind the host.

An app that wants a persistent, lighter conversation than one HTTP request
per message (naclgrid's agent channel) answers an ``Upgrade`` request with
:func:`switch_protocol`: the host writes ``101 Switching Protocols`` and from
then on the connection's bytes go to the app's protocol, not to twisted.web.
It stays on the host's port, behind the same Host and site-path routing,
TLS included, so a deployment opens nothing new.

twisted.web has no public API for this. The handover follows what Twisted
itself does when TLS negotiates HTTP/2 (``_GenericHTTPChannelProtocol``):
unregister the HTTP channel as the transport's producer, cancel its idle
timeout, and point the transport (or the TLS wrapper) at the new protocol.
"""

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from gridhost.core.responses import json_error


class UpgradeRefused(Exception):
    """The request cannot switch protocols (wrong method, HTTP version or
    headers); ``str()`` says why, for a 4xx answer."""


def upgrade_token(request):
    """The protocol a request asks to switch to (lower-case str), or None
    when it does not ask (no ``Connection: upgrade``)."""
    connection = (request.getHeader(b"connection") or b"").lower()
    if b"upgrade" not in [part.strip() for part in connection.split(b",")]:
        return None
    token = (request.getHeader(b"upgrade") or b"").strip().lower()
    return token.decode("ascii", "replace") or None


def check_upgrade(request, token):
    """Raise :class:`UpgradeRefused` unless ``request`` can switch to ``token``."""
    if request.method != b"GET":
        raise UpgradeRefused("an upgrade is a GET request")
    if request.clientproto != b"HTTP/1.1":
        raise UpgradeRefused("only HTTP/1.1 connections can switch protocols")
    if upgrade_token(request) != token:
        raise UpgradeRefused(f"send 'Connection: Upgrade' and 'Upgrade: {token}'")
    channel = request.channel
    if channel.transport is None or getattr(channel, "_networkProducer", None) is None:
        raise UpgradeRefused("this connection cannot switch protocols")


def switch_protocol(request, token, protocol, headers=()):
    """Answer ``request`` with 101 and hand its connection to ``protocol``
    (an IProtocol, not yet connected). ``headers`` are extra ``(name,
    value)`` str pairs for the 101 answer. Returns ``NOT_DONE_YET`` for the
    resource to return: twisted.web must not answer this request again.

    Raises :class:`UpgradeRefused` for a request that cannot switch.
    """
    check_upgrade(request, token)
    channel = request.channel
    transport = channel.transport
    head = [b"HTTP/1.1 101 Switching Protocols", b"Connection: Upgrade",
            b"Upgrade: " + token.encode("ascii")]
    head += [f"{name}: {value}".encode("latin-1") for name, value in headers]
    # Bytes the client sent after the request (it should have waited for the
    # 101, but pipelining is legal): they belong to the new protocol. Those
    # of a later read wait in _dataBuffer; those of the request's own read
    # are still in LineReceiver's buffer (this runs inside its loop), and
    # emptying it ends that loop.
    early = b"".join(getattr(channel, "_dataBuffer", ())) + channel.clearLineBuffer()
    channel._dataBuffer = []
    producer = channel._networkProducer
    producer.unregisterProducer()
    channel.setTimeout(None)
    channel._savedTimeOut = None
    if hasattr(transport, "wrappedProtocol"):  # TLS, or another protocol wrapper
        transport.wrappedProtocol = protocol
    else:
        transport.protocol = protocol
    # The HTTP channel is out of the loop now: it must not write or time out.
    channel.transport = None
    transport.write(b"\r\n".join(head) + b"\r\n\r\n")
    _finish_switched(request)
    # twisted.web stops reading while a request is handled and over 16 KiB
    # wait behind it; nobody else would start it again.
    producer.resumeProducing()
    protocol.makeConnection(transport)
    if early:
        protocol.dataReceived(early)
    return NOT_DONE_YET


def _finish_switched(request):
    """Finish ``request`` as twisted.web's a 101 without a body (its head is
    written already): the access log and request metrics see it then, and
    its channel lets go of it."""
    request.setResponseCode(101)
    request.startedWriting = 1  # so finish() writes no head of its own
    request.sentLength = 0
    request.finish()


class SwitchingResource(Resource):
    """A leaf that switches its requests to ``protocol_factory()`` (called
    with the request) under ``token``; a request that cannot switch gets 400
    (or 426 when it did not ask to upgrade) with a JSON reason.

    A resource, not a bare ``NOT_DONE_YET``, so that it can be returned from a
    Klein route too: Klein finishes any request whose route returns a value.
    """

    isLeaf = True

    def __init__(self, token, protocol_factory, headers=()):
        super().__init__()
        self._token = token
        self._protocol_factory = protocol_factory
        self._headers = tuple(headers)

    def render(self, request):
        if upgrade_token(request) is None:
            request.setHeader(b"upgrade", self._token.encode("ascii"))
            request.setHeader(b"connection", b"Upgrade")
            return json_error(request, 426, "upgrade_required",
                              f"this URL only speaks {self._token}: send 'Connection: Upgrade' "
                              f"and 'Upgrade: {self._token}'")
        try:
            # Checked before the protocol is built: a refused request builds none.
            check_upgrade(request, self._token)
            return switch_protocol(request, self._token, self._protocol_factory(request),
                                   self._headers)
        except UpgradeRefused as refused:
            return json_error(request, 400, "bad_upgrade", str(refused))
