"""Exponential backoff with jitter, for reconnecting to an unreachable server.

Jitter matters here: after a server restart every agent of a grid retries at
once, and without it they would all hit the server in the same instant, again
and again. "Equal jitter" keeps at least half of the exponential delay (so a
busy server is not hammered) and randomises the other half.
"""

import random


class Backoff:
    """Successive delays ``initial * factor**n`` capped at ``maximum``, each
    drawn uniformly from ``[d/2, d]``. ``reset()`` after a success."""

    def __init__(self, initial=0.25, maximum=10.0, factor=2.0, rng=None):
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self):
        """The delay to wait before the next attempt; counts one failure."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(self.failures, 64))
        self.failures += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self):
        self.failures = 0
