"""API keys: ``ngk_<key_id>_<secret>``, stored only as a SHA-256 hash.

A key is more than 64 bytes long on purpose: HMAC (RFC 2104) hashes a key
longer than the block size before use, so ``HMAC(key=KEY)`` equals
``HMAC(key=sha256(KEY))``. The server can therefore check signed requests of
the original Corefarm client with the stored hash alone and never keeps a
secret it could leak in clear.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from twisted.internet.defer import Deferred, ensureDeferred, maybeDeferred

from naclgrid.errors import GridError

ROLES = ("submitter", "agent", "admin")
KEY_PREFIX = "ngk_"
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_SECRET_RE = re.compile(r"^[0-9a-f]{64}$")
_USER_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# HMAC-SHA256 hashes keys longer than its 64-byte block; see the module docstring.
_MIN_KEY_LENGTH = 65


class AuthError(GridError):
    """A credential problem: 401 with ``code`` ``unauthorized`` or
    ``replayed_signature``."""

    def __init__(self, code, message, status=401):
        super().__init__(message, code=code, status=status)


@dataclass(frozen=True)
class Principal:
    """Who made a request: the key's id, the user it acts for and its role."""

    key_id: str
    user: str
    role: str

    @property
    def is_admin(self):
        return self.role == "admin"


def parse_key(text):
    """Split ``ngk_<key_id>_<secret>`` into ``(key_id, secret)``, or return
    None for anything that is not a well-formed key."""
    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        return None
    parts = text[len(KEY_PREFIX):].split("_", 1)
    if len(parts) != 2 or not _KEY_ID_RE.match(parts[0]) or not _SECRET_RE.match(parts[1]):
        return None
    return parts[0], parts[1]


def valid_key_id(text):
    return isinstance(text, str) and bool(_KEY_ID_RE.match(text))


def valid_user(text):
    return isinstance(text, str) and bool(_USER_RE.match(text))


def hash_key(key):
    """Hex SHA-256 of the whole key string: what the store keeps."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def new_key():
    """Return ``(key_id, key)`` for a fresh random key."""
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_hex(32)}"
    assert len(key) >= _MIN_KEY_LENGTH
    return key_id, key


async def _settle(value):
    # Stores answer with Deferreds (Redis) or, in memory, sometimes plain values.
    if isinstance(value, Deferred):
        return await value
    if hasattr(value, "__await__"):
        return await value
    return value


class KeyService:
    """Creates, checks, lists and revokes keys kept in a naclgrid store.

    The store keeps one record per key id: ``{"key_id", "hash", "role",
    "user", "created_at"}``. Only the hash of the key is stored.
    """

    def __init__(self, store, clock):
        self._store = store
        self._clock = clock

    def create(self, role, user=None):
        """Store a new key; a Deferred firing with ``(key, record)``. The
        key itself is returned once and never stored."""
        return ensureDeferred(self._create(role, user))

    async def _create(self, role, user):
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        key_id, key = new_key()
        if user is None:
            user = "admin" if role == "admin" else f"{role}-{key_id}"
        if not valid_user(user):
            raise ValueError("user names are 1-64 characters of A-Z a-z 0-9 _ . @ -")
        record = {
            "key_id": key_id,
            "hash": hash_key(key),
            "role": role,
            "user": user,
            "created_at": self._clock.seconds(),
        }
        await _settle(self._store.put_key(key_id, record))
        return key, record

    def lookup(self, key_id):
        """A Deferred firing with the record of a live key id, or None."""
        return ensureDeferred(self._lookup(key_id))

    async def _lookup(self, key_id):
        if not valid_key_id(key_id):
            return None
        return await _settle(self._store.get_key(key_id))

    def verify_bearer(self, key):
        """A Deferred firing with the :class:`Principal` of a presented key;
        fails with :class:`AuthError` if the key is unknown, revoked or wrong."""
        # Every API call comes through here: no coroutine and no extra
        # Deferred when the store answers at once (memory, keys.json).
        parsed = parse_key(key)
        found = self._store.get_key(parsed[0]) if parsed else None
        if isinstance(found, Deferred):
            return found.addCallback(_check_bearer, key, parsed)
        if hasattr(found, "__await__"):
            return ensureDeferred(_settle(found)).addCallback(_check_bearer, key, parsed)
        return maybeDeferred(_check_bearer, found, key, parsed)

    def revoke(self, key_or_id):
        """A Deferred firing with True if a live key was revoked. Accepts a
        whole key or its id."""
        parsed = parse_key(key_or_id)
        key_id = parsed[0] if parsed else key_or_id
        if not valid_key_id(key_id):
            return ensureDeferred(_false())
        return ensureDeferred(_settle(self._store.revoke_key(key_id, now=self._clock.seconds())))

    def list(self):
        """A Deferred firing with every live key record (hashes included)."""
        return ensureDeferred(self._list())

    async def _list(self):
        records = await _settle(self._store.list_keys())
        return [record for record in records if not record.get("revoked_at")]


def _check_bearer(record, key, parsed):
    # Compare against a dummy hash when the id is unknown, so timing says
    # nothing about which key ids exist.
    expected = record["hash"] if record else "0" * 64
    presented = hash_key(key) if parsed else "1" * 64
    if not hmac.compare_digest(expected.encode(), presented.encode()) or record is None:
        raise AuthError("unauthorized", "unknown or revoked API key")
    return principal_of(record)


async def _false():
    return False


def principal_of(record):
    return Principal(key_id=record["key_id"], user=record["user"], role=record["role"])


def hmac_key_of(record):
    """The HMAC key equivalent to the full API key (see module docstring)."""
    return bytes.fromhex(record["hash"])
