"""The HTTP access log, where ``[server] access_log`` says.

A twisted.web Site without a ``logPath`` hands each combined-log line to the
legacy ``log.logfile``, which turns it into a twisted.logger event that the
twistd file observer formats a second time (timestamp, event text): about a
sixth of the server's CPU for a cheap API call. Here the line is formatted
once, by twisted.web's own ``combinedLogFormatter``, and written straight to
a file rotated by size. ``"-"`` keeps the old route through the twistd log
(and so the JSON log); ``"off"`` formats nothing.
"""

import os

from twisted.python.logfile import BaseLogFile, LogFile
from twisted.web.server import Site

from gridhost.core.config import ACCESS_LOG_OFF, ACCESS_LOG_TWISTD

# access.log is renamed access.log.1 at this size; older files shift up and
# the oldest beyond KEEP_ROTATED is deleted, so the log never fills a disk.
ROTATE_BYTES = 16 * 1024 * 1024
KEEP_ROTATED = 5
# Request lines hold client addresses and URLs: not for every local user.
FILE_MODE = 0o640


class _ReactorLogFile(LogFile):
    """LogFile without its per-write lock: only the reactor thread writes."""

    def write(self, data):
        BaseLogFile.write(self, data)
        self.size += len(data)


class AccessLogError(Exception):
    """The access log file cannot be opened; raised before anything starts."""


def open_access_log(path):
    """A size-rotated :class:`LogFile` at ``path``, its folder created."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise AccessLogError(f"server.access_log: cannot open {path!r} (its folder is a file)")
    try:
        os.makedirs(folder, exist_ok=True)
        return _ReactorLogFile(os.path.basename(path), os.path.dirname(path), rotateLength=ROTATE_BYTES,
                       defaultMode=FILE_MODE, maxRotatedFiles=KEEP_ROTATED)
    except OSError as e:
        raise AccessLogError(f"server.access_log: cannot open {path!r} ({e.strerror or e})") from e


class HostSite(Site):
    """A Site whose access log is ``target``: ``"off"``, ``"-"`` (the twistd
    log) or a file path. The file is opened here, so a bad path fails before
    any listener or app starts, and closed when the last listener stops."""

    def __init__(self, resource, target, reactor):
        super().__init__(resource, reactor=reactor)
        self.access_log = target
        self._access_file = None
        if target not in (ACCESS_LOG_OFF, ACCESS_LOG_TWISTD):
            self._access_file = open_access_log(target)

    def startFactory(self):
        super().startFactory()  # the once-a-second timestamp; the twistd log
        if self.access_log == ACCESS_LOG_OFF:
            self._logFile = None
        elif self.access_log != ACCESS_LOG_TWISTD:
            if self._access_file is None or self._access_file.closed:
                self._access_file = open_access_log(self.access_log)  # listeners restarted
            self._logFile = self._access_file
