"""Accounts: sign up and log in, with login rate limits.

A user record lives under ``user:<lower-case name>``; names are claimed
atomically (two servers cannot both create "alice"). Every account also
gets a sequence number so the leaderboard can list users without scanning
the store.
"""

import re

from zope.interface import implementer

from corefarm.accounts.interfaces import IAccounts


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
# Names the grid itself hands out to keys, and names that would confuse.
RESERVED = re.compile(r"^(anon-|agent-|submitter-|admin|root|system|corefarm)", re.I)
MAX_EMAIL_CHARS = 254

LOGIN_WINDOW = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_ATTEMPTS_PER_ADDRESS = 30


class AccountError(Exception):
    """A user mistake, with the form field it belongs beside."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


@implementer(IAccounts)
class Accounts:
    """``Accounts(keyspace, passwords, limiter, on_created=None)``.

    ``passwords`` is a PasswordPolicy, ``limiter`` a RateLimiter;
    ``on_created(name)`` runs after a sign-up (the starting credit grant).
    """

    def __init__(self, keyspace, passwords, limiter, on_created=None,
                 max_failures=MAX_FAILURES_PER_USER, max_attempts=MAX_ATTEMPTS_PER_ADDRESS,
                 window=LOGIN_WINDOW):
        self._kv, self._passwords, self._limiter = keyspace, passwords, limiter
        self._on_created = on_created
        self.max_failures, self.max_attempts, self.window = max_failures, max_attempts, window
        self._dummy = None

    @staticmethod
    def name_problem(name):
        if not NAME_RE.match(name or ""):
            return ("3 to 32 characters: letters, digits, '_', '.' and '-', "
                    "starting with a letter or digit.")
        if RESERVED.match(name):
            return "This name is reserved; pick another."
        return None

    async def sign_up(self, name, password, email=""):
        """Create an account; the canonical name. AccountError per field."""
        problem = self.name_problem(name)
        if problem:
            raise AccountError("name", problem)
        problem = self._passwords.problem(password)
        if problem:
            raise AccountError("password", problem)
        email = (email or "").strip()
        if len(email) > MAX_EMAIL_CHARS or (email and "@" not in email):
            raise AccountError("email", "That does not look like an e-mail address.")
        key = name.lower()
        if await self._kv.get_json("user:" + key) is not None or not await self._kv.claim("name:" + key):
            raise AccountError("name", "This name is taken.")
        encoded = await self._passwords.hash(password)
        seq = await self._kv.incr("users:count")
        await self._kv.set_json("user:" + key, {"name": name, "hash": encoded, "email": email,
                                                "created_at": self._kv.now(), "seq": seq})
        await self._kv.set("users:at:%d" % seq, name.encode())
        if self._on_created is not None:
            await self._on_created(name)
        return name

    async def log_in(self, name, password, address):
        """The canonical user name, or AccountError. Failed logins count per
        account and every attempt counts per client address."""
        key = (name or "").lower()[:64]
        if not await self._limiter.hit(f"login:addr:{address}", self.max_attempts, self.window):
            raise AccountError("form", "Too many login attempts from your address; "
                                       f"wait {self.window // 60} minutes.")
        if await self._limiter.exceeded(f"login:fail:{key}", self.max_failures):
            raise AccountError("form", "Too many failed logins for this account; "
                                       f"wait {self.window // 60} minutes.")
        record = await self._kv.get_json("user:" + key) if key else None
        # Unknown names cost one hash too, so timing does not reveal accounts.
        encoded = record["hash"] if record is not None else await self._dummy_hash()
        ok = await self._passwords.verify(encoded, password) and record is not None
        if not ok:
            await self._limiter.hit(f"login:fail:{key}", self.max_failures, self.window)
            raise AccountError("form", "Wrong name or password.")
        await self._limiter.reset(f"login:fail:{key}")
        return record["name"]

    async def _dummy_hash(self):
        if self._dummy is None:
            self._dummy = await self._passwords.hash("not-a-password-of-anyone")
        return self._dummy

    async def exists(self, name):
        return await self._kv.get_json("user:" + (name or "").lower()) is not None

    async def names(self, limit=10_000):
        """Every account name, oldest first (at most ``limit``)."""
        count = min(await self._kv.get_int("users:count"), limit)
        out = []
        for seq in range(1, count + 1):
            raw = await self._kv.get("users:at:%d" % seq)
            if raw is not None:
                out.append(raw.decode())
        return out
