"""Events of the Redis store: the Lua scripts PUBLISH on ``<namespace>events``;
one dedicated subscriber connection per store receives them and calls the
listeners, so a long poll on any server wakes when another server gets work.
The connection is re-established after a loss, and listeners then get a
``("reconnect", None, None)`` event: whatever was published meanwhile is
lost, so waiters simply look again."""

import txredisapi
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger


class RedisEvents:
    """Mixin for RedisGridStore (needs ``connection``, ``namespace``, ``clock``)."""

    log = Logger()

    def __init__(self):
        self._listeners = []
        self._subscriber = None
        self._closing = False
        self._subscribed = []          # Deferreds waiting for the subscription
        self._retry = None
        self._ever_subscribed = False

    def subscribe(self, callback):
        self._listeners.append(callback)

        def unsubscribe():
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unsubscribe

    def start(self):
        """Open the event subscription; the Deferred fires once subscribed."""
        self._closing = False
        d = Deferred()
        self._subscribed.append(d)
        if self._subscriber is None and self._retry is None:
            self._connect()
        elif self._subscriber is not None and self._subscriber.connected:
            self._subscribed.remove(d)
            d.callback(None)
        return d

    def _connect(self):
        self._retry = None
        store = self

        class Subscriber(_EventSubscriber):
            pass
        Subscriber.store = store
        d = self.connection.new_redis_subscriber(Subscriber)

        def failed(failure):
            self.log.warn("grid event subscription failed ({why}); retrying",
                          why=failure.getErrorMessage())
            self._schedule_reconnect()
        d.addErrback(failed)

    def _schedule_reconnect(self):
        if not self._closing and self._retry is None:
            self._retry = self.clock.callLater(1.0, self._connect)

    def _on_subscribed(self, protocol):
        self._subscriber = protocol
        waiting, self._subscribed = self._subscribed, []
        for d in waiting:
            d.callback(None)
        if self._ever_subscribed:
            # Events published while we were away are lost: waiters re-check.
            self._dispatch(("reconnect", None, None))
        self._ever_subscribed = True

    def _on_lost(self, protocol):
        if self._subscriber is protocol:
            self._subscriber = None
        self._schedule_reconnect()

    def _on_message(self, message):
        kind, middle, last = message.split(b"|", 2)
        if kind == b"w":
            self._dispatch(("work", last.decode(), int(middle)))
        elif kind == b"r":
            self._dispatch(("result", last.decode(), int(middle) if middle else None))
        elif kind == b"s":
            self._dispatch(("started", last.decode(), middle.decode()))

    def _dispatch(self, event):
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                self.log.failure("grid event listener failed on {event!r}", event=event)

    def close(self):
        self._closing = True
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None and subscriber.transport is not None:
            subscriber.transport.loseConnection()
        return succeed(None)


class _EventSubscriber(txredisapi.SubscriberProtocol):
    store = None

    def __init__(self):
        super().__init__(charset=None)

    def connectionMade(self):
        d = super().connectionMade()
        channel = [self.store.namespace + "events"]
        d.addCallback(lambda _: self.subscribe(channel))
        d.addCallbacks(lambda _: self.store._on_subscribed(self),
                       lambda f: self.store.log.failure("subscribe failed", f))

    def messageReceived(self, pattern, channel, message):
        try:
            self.store._on_message(message)
        except Exception:
            self.store.log.failure("bad grid event {message!r}", message=message)

    def connectionLost(self, why):
        super().connectionLost(why)
        self.store._on_lost(self)
