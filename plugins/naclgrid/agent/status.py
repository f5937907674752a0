"""The agent's status line: rewritten in place on a terminal, plain lines
otherwise (a log file or a supervisor's pipe has no use for carriage returns).
"""

from twisted.internet.task import LoopingCall


class StatusLine:
    """Prints ``stats.summary()`` every ``interval`` seconds on a TTY; when
    the stream is not a TTY, every ``plain_interval`` seconds and only if the
    text changed."""

    def __init__(self, stream, clock, stats, *, tty=None, interval=0.5, plain_interval=10.0):
        self._stream = stream
        self._stats = stats
        self._tty = stream.isatty() if tty is None else tty
        self._last = None
        self._loop = LoopingCall(self.update)
        self._loop.clock = clock
        self._interval = interval if self._tty else plain_interval

    def start(self):
        self._loop.start(self._interval, now=True)

    def stop(self):
        if self._loop.running:
            self._loop.stop()
        if self._tty and self._last is not None:
            self._stream.write("\n")
            self._stream.flush()

    def update(self):
        text = self._stats.summary()
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
        elif text != self._last:
            self._stream.write(text + "\n")
        else:
            return
        self._last = text
        self._stream.flush()
