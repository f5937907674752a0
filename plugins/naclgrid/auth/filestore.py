"""Key records in a JSON file, for hosts on the memory store.

A memory store lives inside the server process, so ``gridhost keys create``
could not reach it. Keys are therefore kept in ``DATA_DIR/keys.json`` (hashes
only, mode 0600), which the CLI edits and the server re-reads when it changes.

The server looks at the file's stat at most once per ``RECHECK_SECONDS`` of
its clock, and at once when asked for a key id it does not know: a key made
by the CLI works at once, a revoked one stops working within a second, and
a busy server does not stat the file on every request.
"""

import json
import os

from naclgrid.auth.bootstrap import write_private

KEYS_FILE = "keys.json"
RECHECK_SECONDS = 1.0


class FileKeyStore:
    """``put_key`` / ``get_key`` / ``revoke_key`` / ``list_keys`` over a JSON
    file; the same methods the naclgrid stores offer, answered synchronously.

    ``clock`` (an IReactorTime) spaces out the checks for changes; without
    one (the CLI) every call looks at the file."""

    def __init__(self, filename, clock=None):
        self._filename = filename
        self._clock = clock
        self._stamp = None
        self._records = {}
        self._checked_at = None
        self._cached = False  # whether the last _load trusted its copy without a stat

    def _load(self, fresh=False):
        self._cached = False
        if self._clock is not None and self._stamp is not None and not fresh:
            now = self._clock.seconds()
            if 0 <= now - self._checked_at < RECHECK_SECONDS:
                self._cached = True
                return self._records
        try:
            stat = os.stat(self._filename)
        except FileNotFoundError:
            self._stamp, self._records = None, {}
            return self._records
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            with open(self._filename, encoding="utf-8") as handle:
                self._records = json.load(handle)
            self._stamp = stamp
        if self._clock is not None:
            self._checked_at = self._clock.seconds()
        return self._records

    def _save(self, records):
        write_private(self._filename, json.dumps(records, indent=1, sort_keys=True))
        self._stamp = None

    def put_key(self, key_id, record):
        records = dict(self._load(fresh=True))
        records[key_id] = record
        self._save(records)

    def get_key(self, key_id):
        record = self._load().get(key_id)
        if record is None and self._cached:
            record = self._load(fresh=True).get(key_id)  # perhaps just made by the CLI
        return record

    def revoke_key(self, key_id, now=None):
        records = dict(self._load(fresh=True))
        if records.pop(key_id, None) is None:
            return False
        self._save(records)
        return True

    def list_keys(self):
        return sorted(self._load(fresh=True).values(), key=lambda record: record["created_at"])
