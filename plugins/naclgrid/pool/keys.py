"""The pool's agent key, kept across restarts in the app's data folder."""

import os

from twisted.internet.defer import ensureDeferred

from naclgrid.auth.bootstrap import write_private
from naclgrid.auth.keys import AuthError

POOL_KEY_FILE = "pool-agent.key"
POOL_USER = "pool"


def pool_key_factory(keys, data_dir):
    """A ``key_factory`` for :func:`build_pool`: reuse the agent key in
    ``DATA_DIR/pool-agent.key`` while the store still knows it, else create a
    new agent key (user ``pool``) and write it there with mode 0600. ``keys``
    is a :class:`naclgrid.auth.KeyService`, ``data_dir`` a path string."""
    async def factory():
        path = os.path.join(getattr(data_dir, "path", data_dir), POOL_KEY_FILE)
        if os.path.exists(path):
            with open(path, encoding="ascii", errors="replace") as handle:
                key = handle.read().strip()
            try:
                principal = await keys.verify_bearer(key)
            except AuthError:
                principal = None
            if principal is not None and principal.role == "agent":
                return key
        key, _record = await keys.create("agent", POOL_USER)
        write_private(path, key + "\n")
        return key
    return lambda: ensureDeferred(factory())
