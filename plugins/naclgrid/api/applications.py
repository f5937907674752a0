"""Registered applications: a name a job may ask for, and the wasm it runs.

The config's ``applications`` table and other apps (corefarm registers its
ray tracer) add modules here. Each module is stored as a content-addressed
blob in the grid store, so agents download it with ``GET files/<sha256>``
and cache it; tasks name it in their ``module`` field.
"""

import hashlib
from collections.abc import Mapping

from twisted.internet.defer import ensureDeferred

from naclgrid.model import FileRef

WASM_MAGIC = b"\0asm"


class ApplicationRegistry(Mapping):
    """``name -> FileRef`` of the module. Names are known (and jobs may be
    created for them) as soon as they are registered; :meth:`publish` puts
    the modules into the store, and :meth:`register` does both."""

    def __init__(self, store):
        self._store = store
        self._refs = {}
        self._unpublished = {}  # sha256 -> bytes not yet in the store

    def __getitem__(self, name):
        return self._refs[name]

    def __iter__(self):
        return iter(self._refs)

    def __len__(self):
        return len(self._refs)

    def add(self, name, module):
        """Register ``module`` (wasm bytes) under ``name`` without touching the
        store yet; returns its FileRef. Call :meth:`publish` before agents need it."""
        if not module.startswith(WASM_MAGIC):
            raise ValueError(f"application {name!r}: not a WebAssembly module")
        sha = hashlib.sha256(module).hexdigest()
        self._refs[name] = FileRef(f"{name}.wasm", sha, len(module))
        self._unpublished[sha] = bytes(module)
        return self._refs[name]

    def register(self, name, module):
        """Add and publish; a Deferred firing with the FileRef."""
        ref = self.add(name, module)
        return ensureDeferred(self._publish_then(ref))

    async def _publish_then(self, ref):
        await self.publish()
        return ref

    def publish(self):
        """Store every module not stored yet; a Deferred. Safe to repeat."""
        return ensureDeferred(self._publish())

    async def _publish(self):
        for sha, module in list(self._unpublished.items()):
            stored = await self._store.put_blob(module)
            if stored != sha:
                raise RuntimeError(f"the store hashed a module as {stored}, expected {sha}")
            self._unpublished.pop(sha, None)

    @property
    def published(self):
        return not self._unpublished
