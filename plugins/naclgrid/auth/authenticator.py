"""Turn a request's credentials into a :class:`Principal`, or refuse it."""

from twisted.internet.defer import ensureDeferred, fail

from naclgrid.auth.keys import AuthError, _settle, hmac_key_of, principal_of
from naclgrid.auth.signing import WINDOW, date_within_window, signature_matches

# A signature is remembered slightly longer than any date could stay valid.
_NONCE_TTL = 2 * WINDOW + 60


class Authenticator:
    """Checks ``Authorization: Bearer KEY`` or the signed form (``login``,
    ``date``, ``signature`` parameters) against a :class:`KeyService`, using a
    store's ``remember_nonce`` to reject replayed signatures."""

    def __init__(self, keys, store, clock):
        self._keys = keys
        self._store = store
        self._clock = clock

    def authenticate(self, method_name, authorization, params):
        """A Deferred firing with the caller's Principal.

        ``authorization`` is the raw Authorization header (bytes or None);
        ``params`` lists ``(name, value)`` of every query and form parameter,
        file fields as their sha256 hex. Fails with :class:`AuthError`.
        """
        return ensureDeferred(self._authenticate(method_name, authorization, params))

    async def _authenticate(self, method_name, authorization, params):
        if authorization is not None:
            return await self.bearer(authorization)
        names = {name for name, _ in params}
        if "signature" in names or "login" in names:
            return await self._signed(method_name, params)
        raise AuthError("unauthorized", "send Authorization: Bearer KEY or a signed request")

    def bearer(self, authorization):
        """A Deferred firing with the Principal of an ``Authorization``
        header value (already fired when the key store answers at once)."""
        text = authorization.decode("latin-1") if isinstance(authorization, bytes) else authorization
        scheme, _, key = text.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return fail(AuthError("unauthorized", "the Authorization header must be 'Bearer KEY'"))
        return self._keys.verify_bearer(key.strip())

    async def _signed(self, method_name, params):
        values = {}
        for name, value in params:
            if name in ("login", "date", "signature"):
                if name in values:
                    raise AuthError("unauthorized", f"parameter {name!r} given twice")
                values[name] = value.decode("latin-1") if isinstance(value, bytes) else value
        missing = [n for n in ("login", "date", "signature") if n not in values]
        if missing:
            raise AuthError("unauthorized", "a signed request needs " + ", ".join(missing))
        if not date_within_window(values["date"], self._clock.seconds()):
            raise AuthError(
                "unauthorized", f"date must be unix seconds within {WINDOW} s of the server clock"
            )
        record = await self._keys.lookup(values["login"])
        if record is None or not signature_matches(
            hmac_key_of(record), method_name, params, values["signature"]
        ):
            raise AuthError("unauthorized", "bad login or signature")
        # Only a valid signature is remembered, so junk cannot fill the store.
        now = self._clock.seconds()
        fresh = await _settle(
            self._store.remember_nonce("sig:" + values["signature"], expires_at=now + _NONCE_TTL, now=now)
        )
        if not fresh:
            raise AuthError("replayed_signature", "this signature was already used")
        return principal_of(record)
