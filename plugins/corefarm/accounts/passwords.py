"""Password hashing with argon2-cffi, run off the reactor thread.

Hashing is deliberately slow (tens of milliseconds); ``run`` is how a
blocking call is run: ``deferToThreadPool`` in the server, a synchronous
call in unit tests.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from twisted.internet.defer import Deferred, ensureDeferred, maybeDeferred

# argon2 works on the whole input; an unbounded password is a cheap DoS.
MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_CHARS = 8


def run_inline(function, *args):
    return maybeDeferred(function, *args)


class PasswordPolicy:
    """``PasswordPolicy(run=run_inline, time_cost=3, memory_kib=65536)``."""

    def __init__(self, run=run_inline, time_cost=3, memory_kib=65536, parallelism=1):
        self._run = run
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism)

    @staticmethod
    def problem(password):
        """Why ``password`` is not acceptable for a new account, or None."""
        if len(password) < MIN_PASSWORD_CHARS:
            return f"Use at least {MIN_PASSWORD_CHARS} characters."
        if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
            return f"Use at most {MAX_PASSWORD_BYTES} bytes."
        return None

    def hash(self, password):
        """A Deferred firing with the encoded argon2id hash."""
        return _settle(self._run(self._hasher.hash, password))

    def verify(self, encoded, password):
        """A Deferred firing True when ``password`` matches ``encoded``."""
        if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
            return _settle(run_inline(lambda: False))
        return _settle(self._run(self._check, encoded, password))

    def _check(self, encoded, password):
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False


def _settle(value):
    return value if isinstance(value, Deferred) else ensureDeferred(value)
