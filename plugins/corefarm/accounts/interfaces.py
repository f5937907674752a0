"""The contracts of corefarm's accounts: who a visitor is, kept in the
naclgrid store's kv so every server sharing the store agrees."""

from zope.interface import Attribute, Interface


class IAccounts(Interface):
    """Members: sign-up and login with argon2 hashes and rate limits."""

    def sign_up(name, password, email=""):
        """Create an account; the canonical name. Raises AccountError
        (``field``, ``message``) for a bad or taken name, a weak password or
        a bad e-mail address."""

    def log_in(name, password, address):
        """The canonical name, or AccountError ``field="form"`` for a wrong
        password or when the per-account or per-address limit is reached."""

    def exists(name):
        """True if a member of that name exists (any case)."""


class ISessionStore(Interface):
    """Server-side sessions: the cookie holds a random token, the store its
    hash; each session carries its CSRF token."""

    ttl = Attribute("Seconds a member's session lives.")
    anonymous_ttl = Attribute("Seconds an anonymous visitor's session lives.")

    def create(user=None, anon=None):
        """A new Session (anonymous when ``user`` is None)."""

    def load(token):
        """The Session of a cookie value, or None."""

    def save(session):
        """Store a changed Session (e.g. its ``data``)."""

    def delete(session):
        """End a session (log out)."""

    def rotate(session, user):
        """A fresh session (new token and CSRF token) for ``user``, replacing
        ``session``: called at login."""
