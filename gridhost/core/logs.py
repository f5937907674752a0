"""Log output: twistd's text log by default, JSON lines on request."""

import sys

from twisted.logger import globalLogPublisher, jsonFileLogObserver


def start_json_log(path):
    """Add a JSON-lines observer writing to ``path`` (``-`` = stdout)."""
    out = sys.stdout if path == "-" else open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    observer = jsonFileLogObserver(out)
    globalLogPublisher.addObserver(observer)
    return observer
