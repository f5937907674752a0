"""One autoscaler among several servers sharing a store.

Servers on one Redis must not all rent machines for the same queue. Time is
cut into terms of ``term`` seconds; a server leads term ``t`` if it was the
first to claim it with the store's atomic ``remember_nonce`` (SET NX with an
expiry on Redis). The leader claims term ``t + 1`` in the second half of
``t``, so it keeps leading while alive; others claim a term only once it has
begun, so they win only after a leader died (failover within two terms).
Clock skew between servers must stay below half a term.
"""

from twisted.internet.defer import ensureDeferred


class LeaderTerms:
    def __init__(self, store, clock, pool, term=10.0):
        self._store, self._clock = store, clock
        self._pool, self._term = pool, float(term)
        self._held = set()

    def _key(self, term):
        return f"elastic:{self._pool}:leader:{term}"

    def check(self):
        """A Deferred firing True while this server leads the current term."""
        return ensureDeferred(self._check())

    async def _check(self):
        now = self._clock.seconds()
        current = int(now // self._term)
        self._held = {t for t in self._held if t >= current}
        if current not in self._held and await self._claim(current, now):
            self._held.add(current)
        if current in self._held and current + 1 not in self._held \
                and now - current * self._term >= self._term / 2:
            if await self._claim(current + 1, now):
                self._held.add(current + 1)
        return current in self._held

    def _claim(self, term, now):
        return self._store.remember_nonce(self._key(term), expires_at=(term + 3) * self._term,
                                          now=now)
