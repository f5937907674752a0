"""The signed-request scheme of the original Corefarm client, made safe.

The 2010 client sent ``login`` and ``signature`` = sha256(method, sorted
``key=value`` pairs, login, private key): no HMAC, no expiry, replayable.
Here the signature is HMAC-SHA256 keyed with the API key over the endpoint
name and the sorted parameters, which include a ``date`` that must lie within
``WINDOW`` seconds of the server clock; a signature is accepted only once.
"""

import hashlib
import hmac

WINDOW = 300
SIGNED_FIELDS = ("login", "date", "signature")


def canonical_message(method_name, params):
    """Bytes that are signed: ``METHOD`` then ``k=v`` for every parameter in
    sorted order. ``params`` is a list of ``(name: str, value: bytes)``; a file
    field is passed as its sha256 hex, and ``signature`` is left out."""
    pairs = sorted(
        (name.encode("utf-8"), _as_bytes(value)) for name, value in params if name != "signature"
    )
    return method_name.encode("ascii") + b"".join(name + b"=" + value for name, value in pairs)


def _as_bytes(value):
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def sign(key, method_name, params):
    """Client side: the lower-case hex signature of a request (``key`` is the
    whole ``ngk_...`` string, as the wire protocol says)."""
    key_bytes = key.encode("ascii") if isinstance(key, str) else key
    return hmac.new(key_bytes, canonical_message(method_name, params), hashlib.sha256).hexdigest()


def signature_matches(hmac_key, method_name, params, signature):
    """Constant-time check of a presented signature."""
    expected = hmac.new(hmac_key, canonical_message(method_name, params), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), _as_bytes(signature))


def date_within_window(date_text, now):
    """True if ``date_text`` is unix seconds within ``WINDOW`` of ``now``."""
    try:
        date = int(date_text)
    except (TypeError, ValueError):
        return False
    return abs(now - date) <= WINDOW
