"""Server-side sessions in the shared kv, each carrying its CSRF token.

The browser holds a random token; the store keeps only its SHA-256, so a
leaked store dump does not log anyone in. Every visitor who meets a form
gets a session (anonymous until login), and every form carries that
session's CSRF token: a page on another site can neither read the token nor
set the cookie, so it cannot forge a form post.
"""

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field

from zope.interface import implementer

from corefarm.accounts.interfaces import ISessionStore


SESSION_TTL = 14 * 24 * 3600
ANONYMOUS_TTL = 24 * 3600


def _digest(token):
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass
class Session:
    token: str                      # what the cookie holds (never stored)
    csrf: str
    created_at: float
    user: str | None = None         # None: anonymous visitor
    anon: str = ""                  # stable name an anonymous volunteer's work is credited to
    data: dict = field(default_factory=dict)   # e.g. the volunteer key shown to this visitor

    @property
    def logged_in(self):
        return self.user is not None

    @property
    def identity(self):
        """Who this visitor is for the grid: the user, or the anonymous name."""
        return self.user or self.anon

    def csrf_ok(self, presented):
        return isinstance(presented, str) and hmac.compare_digest(
            presented.encode("utf-8", "replace"), self.csrf.encode("ascii"))


@implementer(ISessionStore)
class SessionStore:
    """``SessionStore(keyspace, ttl=SESSION_TTL, anonymous_ttl=ANONYMOUS_TTL)``."""

    def __init__(self, keyspace, ttl=SESSION_TTL, anonymous_ttl=ANONYMOUS_TTL):
        self._kv = keyspace
        self.ttl, self.anonymous_ttl = ttl, anonymous_ttl

    async def create(self, user=None, anon=None):
        session = Session(token=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32),
                          created_at=self._kv.now(), user=user,
                          anon=anon or f"anon-{secrets.token_hex(6)}")
        await self.save(session)
        return session

    async def save(self, session):
        record = asdict(session)
        del record["token"]
        ttl = self.ttl if session.logged_in else self.anonymous_ttl
        await self._kv.set_json("sess:" + _digest(session.token), record, ttl=ttl)

    async def load(self, token):
        """The Session of a cookie value, or None (unknown, expired, junk)."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        record = await self._kv.get_json("sess:" + _digest(token))
        if not isinstance(record, dict):
            return None
        try:
            return Session(token=token, **record)
        except TypeError:
            return None

    async def delete(self, session):
        await self._kv.delete("sess:" + _digest(session.token))

    async def rotate(self, session, user):
        """A fresh session (new token, new CSRF token) for ``user``, replacing
        ``session``: a token planted before login is worth nothing after."""
        await self.delete(session)
        fresh = await self.create(user=user, anon=session.anon)
        return fresh
