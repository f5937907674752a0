"""The two ways a request proves who sends it (see wire-protocol.md).

``BearerKey`` sends ``Authorization: Bearer KEY``: the default, simplest and
cheapest. ``SignedKey`` never sends the key: it adds ``login``, ``date``, a
random ``nonce`` and an HMAC-SHA256 ``signature`` to the query string. The
nonce is there because the server accepts a signature only once, and two
identical calls in the same second (polling ``fetch``) would otherwise carry
the same signature.
"""

import hashlib
import secrets

from naclgrid.auth.signing import sign


def _key_id(key):
    if not key.startswith("ngk_") or "_" not in key[4:]:
        raise ValueError("an API key looks like ngk_<key_id>_<secret>")
    return key[4:].split("_", 1)[0]


class BearerKey:
    """Credentials sent as a bearer header."""

    signs_body = False  # so the transport need not hash request bodies

    def __init__(self, key):
        _key_id(key)
        self._key = key

    def authorize(self, method_name, query, form, files, clock, body_sha256=None):
        """Return ``(headers, extra_query)`` for one request."""
        return {"Authorization": [f"Bearer {self._key}"]}, []


class SignedKey:
    """Credentials sent as an HMAC signature over the parameters."""

    signs_body = True

    def __init__(self, key):
        self._login = _key_id(key)
        self._key = key

    def authorize(self, method_name, query, form, files, clock, body_sha256=None):
        extra = [("login", self._login), ("date", str(int(clock.seconds()))),
                 ("nonce", secrets.token_hex(8))]
        params = list(query) + list(form) + extra
        params += [(name, hashlib.sha256(data).hexdigest()) for name, data in files]
        if body_sha256 is not None:
            # A JSON body is covered as one ``body=<sha256 hex>`` parameter.
            params.append(("body", body_sha256))
        extra.append(("signature", sign(self._key, method_name, params)))
        return {}, extra


def credentials_for(key, scheme="bearer"):
    """``scheme`` is ``"bearer"`` or ``"hmac"``."""
    if scheme == "bearer":
        return BearerKey(key)
    if scheme == "hmac":
        return SignedKey(key)
    raise ValueError(f"unknown credential scheme {scheme!r} (use 'bearer' or 'hmac')")
