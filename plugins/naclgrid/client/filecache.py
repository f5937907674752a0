"""Job files and application modules cached on disk by their sha256.

A file's name is its content hash, so a cached file never goes stale and
needs no revalidation; a download is checked against the hash before it is
kept. Concurrent requests for one hash share one download.
"""

import hashlib
import os
import tempfile

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import Logger

_HEX = frozenset("0123456789abcdef")


def valid_sha256(text):
    return isinstance(text, str) and len(text) == 64 and set(text) <= _HEX


class FileCache:
    """``download(sha256)`` returns a Deferred of the bytes (already checked);
    ``max_bytes`` bounds the cache, oldest-used files go first."""

    log = Logger()

    def __init__(self, directory, download, max_bytes=1024**3):
        self.directory = str(directory)
        self._download = download
        self._max_bytes = max_bytes
        self._inflight = {}
        os.makedirs(self.directory, exist_ok=True)

    def path_of(self, sha256):
        if not valid_sha256(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return os.path.join(self.directory, sha256[:2], sha256)

    def ensure(self, sha256):
        """A Deferred firing with the local path of the file once it is cached."""
        path = self.path_of(sha256)
        if os.path.exists(path):
            _touch(path)
            d = Deferred()
            d.callback(path)
            return d
        waiter = Deferred()
        if sha256 in self._inflight:
            self._inflight[sha256].append(waiter)
        else:
            self._inflight[sha256] = [waiter]
            ensureDeferred(self._fetch(sha256, path))
        return waiter

    def read(self, sha256):
        """A Deferred firing with the file's bytes."""
        return self.ensure(sha256).addCallback(_read_file)

    def reader(self, names):
        """A callable ``name -> bytes | None`` over ``names`` (``{name: sha256}``)
        of cached files, for the sandbox; it runs on a worker thread."""
        paths = {name: self.path_of(sha) for name, sha in names.items()}

        def read(name):
            path = paths.get(name)
            return None if path is None else _read_file(path)
        return read

    async def _fetch(self, sha256, path):
        waiters = self._inflight[sha256]
        try:
            data = await self._download(sha256)
            if hashlib.sha256(data).hexdigest() != sha256:
                raise ValueError(f"file {sha256} does not match its hash")
            _write_atomically(path, data)
            self._evict(keep=path)
        except BaseException as exc:  # every waiter must hear about it
            del self._inflight[sha256]
            for waiter in waiters:
                waiter.errback(exc)
            return
        del self._inflight[sha256]
        for waiter in waiters:
            waiter.callback(path)

    def _evict(self, keep):
        entries = []
        for root, _dirs, files in os.walk(self.directory):
            for name in files:
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                entries.append((st.st_atime, st.st_size, full))
        total = sum(size for _, size, _ in entries)
        for _atime, size, full in sorted(entries):
            if total <= self._max_bytes:
                break
            if full == keep:
                continue
            try:
                os.unlink(full)
                total -= size
            except FileNotFoundError:
                pass


def _read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


def _touch(path):
    try:
        os.utime(path)
    except OSError:
        pass


def _write_atomically(path, data):
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
