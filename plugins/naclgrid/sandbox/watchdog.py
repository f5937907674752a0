"""Wall-clock deadlines for wasm: a thread that advances the engine's epoch.

Every store sets its deadline as "N ticks after the current epoch", so one
ticker serves any number of tasks running at once on other threads, on any
of the engines it was given. The ticker sleeps once no task has run for
IDLE_SECONDS, so an idle agent costs no wakeups; it keeps ticking through
short gaps, because waking it for every one of many tiny tasks cost more
than its ticks (a futex wake-up each, and the GIL passed around).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import wasmtime

IDLE_SECONDS = 1.0


class EpochWatchdog:
    def __init__(self, engine: wasmtime.Engine, tick_seconds: float = 0.01) -> None:
        if not tick_seconds > 0:
            raise ValueError("tick_seconds must be positive")
        self._engines = [engine]
        self.tick_seconds = tick_seconds
        self._cond = threading.Condition()
        self._active = 0
        self._asleep = False  # waiting on _cond for a task to start
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, engine: wasmtime.Engine) -> None:
        """Advance ``engine``'s epoch too (a second engine of the sandbox)."""
        with self._cond:
            self._engines = self._engines + [engine]

    def ticks_for(self, seconds: float) -> int:
        """Deadline in ticks for a budget of ``seconds`` (never early: +1
        because the first tick may come right after the deadline is set)."""
        return math.ceil(seconds / self.tick_seconds) + 1

    @contextmanager
    def running(self) -> Iterator[None]:
        """Keep the ticker going while the body runs a task."""
        with self._cond:
            if self._closed:
                raise RuntimeError("sandbox is closed")
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="naclgrid-epoch", daemon=True)
                self._thread.start()
            elif self._asleep:
                self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1

    def _run(self) -> None:
        # Sleep outside the lock so tasks starting and ending never shorten
        # a tick (which would make deadlines fire early).
        idle_ticks = math.ceil(IDLE_SECONDS / self.tick_seconds)
        quiet = 0  # ticks in a row with no task running
        while True:
            with self._cond:
                quiet = 0 if self._active else quiet + 1
                while quiet > idle_ticks and self._active == 0 and not self._closed:
                    self._asleep = True
                    self._cond.wait()
                    self._asleep = False
                    quiet = 0
                if self._closed:
                    return
                engines = self._engines
            time.sleep(self.tick_seconds)
            for engine in engines:
                engine.increment_epoch()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
