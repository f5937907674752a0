"""Key records in a JSON file, for hosts on the memory store.

A memory store lives inside the server process, so ``gridhost keys create``
could not reach it. Keys are therefore kept in ``DATA_DIR/keys.json`` (hashes
only, mode 0600), which the CLI edits and the server re-reads when it changes.
"""

import json
import os

from naclgrid.auth.bootstrap import write_private

KEYS_FILE = "keys.json"


class FileKeyStore:
    """``put_key`` / ``get_key`` / ``revoke_key`` / ``list_keys`` over a JSON
    file; the same methods the naclgrid stores offer, answered synchronously."""

    def __init__(self, filename):
        self._filename = filename
        self._stamp = None
        self._records = {}

    def _load(self):
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
        return self._records

    def _save(self, records):
        write_private(self._filename, json.dumps(records, indent=1, sort_keys=True))
        self._stamp = None

    def put_key(self, key_id, record):
        records = dict(self._load())
        records[key_id] = record
        self._save(records)

    def get_key(self, key_id):
        return self._load().get(key_id)

    def revoke_key(self, key_id, now=None):
        records = dict(self._load())
        if records.pop(key_id, None) is None:
            return False
        self._save(records)
        return True

    def list_keys(self):
        return sorted(self._load().values(), key=lambda record: record["created_at"])
