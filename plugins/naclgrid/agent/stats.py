"""Counters of one agent, read by the status line."""

from collections import deque


class AgentStats:
    """What the agent did so far; ``rate()`` is tasks/s over a sliding window."""

    def __init__(self, clock, window=10.0):
        self._clock = clock
        self._window = window
        self._marks = deque()
        self.done = 0
        self.failed = 0
        self.lost = 0
        self.running = 0
        self.slots = 0
        self.unacked = 0
        self.current_job = None
        self.server = "connecting"
        self.draining = False

    def finished(self, ok):
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self._marks.append(self._clock.seconds())

    def rate(self):
        now = self._clock.seconds()
        while self._marks and self._marks[0] < now - self._window:
            self._marks.popleft()
        return len(self._marks) / self._window

    def summary(self):
        job = self.current_job[:12] if self.current_job else "-"
        text = (f"done {self.done} failed {self.failed} | {self.rate():.1f} tasks/s | "
                f"running {self.running}/{self.slots} | job {job} | server {self.server}")
        if self.unacked:
            text += f" | {self.unacked} results to ack"
        if self.draining:
            text += " | draining"
        return text
