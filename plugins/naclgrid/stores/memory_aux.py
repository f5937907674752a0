"""The memory store's auxiliary tables: content-addressed blobs, API key
records, signature nonces and the small TTL key-value store. Kept apart
from the job/task core in memory.py."""

import heapq

from naclgrid.errors import NoSuchFile
from naclgrid.stores import common
from naclgrid.stores.common import deferred as _deferred


class MemoryAuxiliaries:
    def __init__(self):
        self._blobs = {}
        self._keys = {}
        self._nonces, self._nonce_heap = {}, []
        self._kv = {}             # key -> (value, expires_at or None)

    # -- blobs -----------------------------------------------------------------------
    @_deferred
    def put_blob(self, data):
        sha = common.sha256_hex(data)
        self._blobs.setdefault(sha, bytes(data))
        return sha

    @_deferred
    def get_blob(self, sha256):
        try:
            return self._blobs[sha256]
        except KeyError:
            raise NoSuchFile(f"no file {sha256}") from None

    @_deferred
    def has_blob(self, sha256):
        return sha256 in self._blobs

    # -- keys, nonces, kv ----------------------------------------------------------------
    @_deferred
    def put_key(self, key_id, record):
        self._keys[key_id] = dict(record, key_id=key_id)

    @_deferred
    def get_key(self, key_id):
        record = self._keys.get(key_id)
        if record is None or record.get("revoked_at") is not None:
            return None
        return dict(record)

    @_deferred
    def revoke_key(self, key_id, now):
        record = self._keys.get(key_id)
        if record is None:
            return False
        record.setdefault("revoked_at", now)
        return True

    @_deferred
    def list_keys(self):
        return [dict(r) for r in self._keys.values()]

    @_deferred
    def remember_nonce(self, value, expires_at, now):
        heap = self._nonce_heap
        while heap and heap[0][0] <= now:
            exp, old = heapq.heappop(heap)
            if self._nonces.get(old) == exp:
                del self._nonces[old]
        known = self._nonces.get(value)
        if known is not None and known > now:
            return False
        self._nonces[value] = expires_at
        heapq.heappush(heap, (expires_at, value))
        return True

    def _kv_live(self, key, now):
        item = self._kv.get(key)
        if item is not None and item[1] is not None and item[1] <= now:
            del self._kv[key]
            return None
        return item

    @_deferred
    def kv_get(self, key, now):
        item = self._kv_live(key, now)
        return None if item is None else item[0]

    @_deferred
    def kv_set(self, key, value, now, ttl=None):
        self._kv[key] = (bytes(value), None if ttl is None else now + ttl)

    @_deferred
    def kv_delete(self, key):
        self._kv.pop(key, None)

    @_deferred
    def kv_incr(self, key, now, amount=1, ttl=None):
        item = self._kv_live(key, now)
        if item is None:
            value, expires = 0, (None if ttl is None else now + ttl)
        else:
            value, expires = int(item[0]), item[1]
        value += int(amount)
        self._kv[key] = (str(value).encode(), expires)
        return value
