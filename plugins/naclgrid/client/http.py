"""The SDK's default HTTP client: treq's calling convention on a bare
``twisted.web.client.Agent``.

The transport calls ``request(method, url, headers=..., data=...)`` and reads
``code``, ``headers`` and ``content()`` of the answer: exactly what treq
offers, so treq itself (or ``treq.testing.StubTreq``) can be passed instead.
treq's full stack also manages cookies, redirects and gzip, which this API
never uses, and re-parses every URL; measured on loopback it doubles the
client's cost of a call (bench/grid_vs_peers.py, latency), so the default
skips it.
"""

from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone, _HTTP11ClientFactory
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer


@implementer(IBodyProducer)
class BytesProducer:
    """Writes a whole in-memory body at once.

    treq's default producer streams bytes through the global cooperator,
    which runs on the global reactor: a client on a private reactor (the
    blocking facade) would never send its body. Bodies here are whole
    ``bytes`` anyway, so one write is also the fastest way.
    """

    def __init__(self, body):
        # ``body`` is bytes, or a list of pieces sent one after another (a
        # frames body: joining its blobs first would copy every byte once more).
        self._parts = body if isinstance(body, list) else [body]
        self.length = sum(len(part) for part in self._parts)

    def startProducing(self, consumer):
        for part in self._parts:
            consumer.write(part)
        return succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


# Bytes read from a socket per reactor turn (Twisted's default is 64 KiB):
# an 8 MiB batch then takes 16 passes through the HTTP parser, not 128.
READ_BYTES = 512 * 1024


class _QuietFactory(_HTTP11ClientFactory):
    # One "Starting factory" log line per new connection drowns an agent's log.
    noisy = False

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        made = protocol.connectionMade

        def connection_made():
            if hasattr(protocol.transport, "bufferSize"):
                protocol.transport.bufferSize = READ_BYTES
            return made()
        protocol.connectionMade = connection_made
        return protocol


class _Body(Protocol):
    """Collects a response body (``readBody`` without its warning about
    transports that cannot abort)."""

    def __init__(self):
        self.done = Deferred()
        self._parts = []

    def dataReceived(self, data):
        self._parts.append(data)

    def connectionLost(self, reason):
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self._parts))
        else:
            self.done.errback(reason)


class _CachedEndpoints:
    """Agent's endpoint factory, remembering one endpoint per server: the
    standard one builds (and IDNA-encodes the host of) a new endpoint for
    every request, even when a pooled connection is then reused."""

    def __init__(self, reactor):
        self._standard = Agent(reactor)._endpointFactory
        self._cache = {}

    def endpointForURI(self, uri):
        key = (uri.scheme, uri.host, uri.port)
        endpoint = self._cache.get(key)
        if endpoint is None:
            endpoint = self._cache[key] = self._standard.endpointForURI(uri)
        return endpoint


class Response:
    """What the transport reads of an answer (treq's names): a status code,
    twisted ``Headers`` and the whole body. The agent channel's answers too."""

    def __init__(self, code, headers, body):
        self.code = code
        self.headers = headers
        self._body = body

    def content(self):
        return succeed(self._body)


class AgentHTTP:
    """``request()`` like treq's, over a persistent connection pool."""

    takes_parts = True  # ``data`` may be a list of pieces (see BytesProducer)

    def __init__(self, reactor, max_connections=8):
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool._factory = _QuietFactory
        self.pool.maxPersistentPerHost = max_connections
        self.pool.retryAutomatically = False  # the transport decides what is safe to resend
        self.endpoints = _CachedEndpoints(reactor)
        self._agent = Agent.usingEndpointFactory(reactor, self.endpoints, pool=self.pool)

    def request(self, method, url, headers=None, data=None):
        raw = Headers({name: values for name, values in (headers or {}).items()})
        producer = BytesProducer(data) if data is not None else None
        d = self._agent.request(method.encode("ascii"), url.encode("ascii"), raw, producer)
        return d.addCallback(self._read)

    @staticmethod
    def _read(response):
        body = _Body()
        response.deliverBody(body)
        return body.done.addCallback(
            lambda data: Response(response.code, response.headers, data))

    def close(self):
        return self.pool.closeCachedConnections()
