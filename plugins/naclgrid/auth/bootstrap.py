"""The admin key a fresh server writes for its operator."""

import os

from twisted.internet.defer import ensureDeferred

from naclgrid.auth.keys import AuthError

ADMIN_KEY_FILE = "admin.key"


def ensure_admin_key(data_dir, keys, log):
    """Make sure the operator holds an admin key.

    If ``DATA_DIR/admin.key`` holds a live key nothing changes. If the store
    has no admin key at all (a fresh server, or a memory store after a
    restart), a new one is created and written there with mode 0600. Either
    way the log says where the key is. A Deferred firing with the file path,
    or None when the store has admin keys but the file holds none of them.
    """
    return ensureDeferred(_ensure_admin_key(data_dir, keys, log))


async def _ensure_admin_key(data_dir, keys, log):
    path = data_dir.child(ADMIN_KEY_FILE)
    if path.exists():
        try:
            principal = await keys.verify_bearer(path.getContent().decode("ascii").strip())
        except (AuthError, UnicodeDecodeError):
            principal = None
        if principal is not None and principal.is_admin:
            log.info("naclgrid admin key: {path}", path=path.path)
            return path.path
    records = await keys.list()
    if any(record["role"] == "admin" for record in records):
        log.warn(
            "naclgrid: {path} holds no live admin key, but the store has admin keys; "
            "make a new one with 'gridhost keys create --role admin'",
            path=path.path,
        )
        return None
    key, _record = await keys.create("admin", "admin")
    write_private(path.path, key + "\n")
    log.info("naclgrid: wrote a new admin key to {path} (mode 0600)", path=path.path)
    return path.path


def write_private(filename, text):
    """Write ``text`` to ``filename`` readable by the owner only, atomically:
    the key never exists in a file with looser permissions."""
    temp = f"{filename}.tmp{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, filename)
