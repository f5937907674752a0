"""The store connection the host shares between its apps.

One ``[server] store`` setting chooses where every app keeps its state:
``memory`` (one process, nothing survives a restart) or a ``redis://`` URL
(several gridhost processes share one grid). Apps receive a
:class:`StoreConnection` and build their own stores on top of it.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twisted.internet.defer import succeed


def parse_redis_url(url):
    """Return ``(host, port, db, password)`` for a ``redis://`` URL, or raise
    ValueError naming the problem."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError(f"expected 'memory' or a redis:// URL, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"redis URL {url!r} has no host")
    try:
        port = parts.port or 6379
    except ValueError:
        raise ValueError(f"redis URL {url!r} has a bad port") from None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"redis URL {url!r}: the path must be a database number")
    return parts.hostname, port, int(path or 0), parts.password


@dataclass
class StoreConnection:
    """``kind`` is ``"memory"`` or ``"redis"``. For redis, :meth:`redis`
    gives a lazily connected, reconnecting, binary-safe txredisapi handler
    (``charset=None``: values come back as ``bytes``)."""

    kind: str
    url: str | None
    reactor: object
    poolsize: int = 4
    _handler: object = field(default=None, repr=False)
    _factory: object = field(default=None, repr=False)

    @classmethod
    def from_setting(cls, setting, reactor):
        if setting == "memory":
            return cls("memory", None, reactor)
        parse_redis_url(setting)
        return cls("redis", setting, reactor)

    def redis(self):
        if self.kind != "redis":
            raise RuntimeError("this host runs on the memory store")
        if self._handler is None:
            import txredisapi
            from twisted.internet.endpoints import HostnameEndpoint

            host, port, db, password = parse_redis_url(self.url)
            factory = txredisapi.RedisFactory(
                f"{host}:{port}", db, self.poolsize, True, txredisapi.ConnectionHandler,
                None, password, 30, False,
            )
            factory.reconnect = True
            factory.startConnecting(HostnameEndpoint(self.reactor, host, port, timeout=5))
            self._factory = factory
            self._handler = factory.handler
        return self._handler

    def new_redis_subscriber(self, protocol_class):
        """Connect one dedicated pub/sub connection (txredisapi's
        ``SubscriberProtocol`` subclass); returns a Deferred firing with it."""
        from twisted.internet.endpoints import HostnameEndpoint
        from twisted.internet.protocol import Factory

        host, port, _db, _password = parse_redis_url(self.url)
        factory = Factory.forProtocol(protocol_class)
        return HostnameEndpoint(self.reactor, host, port, timeout=5).connect(factory)

    def ping(self):
        """A Deferred that fires when the store answers; fails otherwise."""
        if self.kind == "memory":
            return succeed(True)
        return self.redis().ping()

    def close(self):
        if self._handler is not None:
            handler, self._handler = self._handler, None
            return handler.disconnect()
        return succeed(None)
