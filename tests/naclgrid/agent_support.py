"""Helpers for the agent, client and pool unit tests (not a test module)."""

from twisted.internet.defer import Deferred, maybeDeferred

from naclgrid.sandbox.errors import TaskFailure


class FakeSandbox:
    """The sandbox seam: ``echo`` returns its input, ``upper`` upper-cases it,
    ``fail`` fails like a trapping module, ``cat`` returns the job file named
    by its input."""

    def __init__(self):
        self.loaded = []
        self.ran = []

    def load(self, module_bytes):
        self.loaded.append(module_bytes)
        return ("app", module_bytes)

    def run(self, app, entry, data, files=None, limits=None):
        self.ran.append((entry, data))
        if entry == "echo":
            return data
        if entry == "upper":
            return data.upper()
        if entry == "cat":
            content = files(data.decode())
            return b"<none>" if content is None else content
        raise TaskFailure("trap", f"boom in {entry}")


class InlineThreads:
    """``in_thread`` that calls at once; or, with ``manual=True``, holds each
    call until the test releases it (a task that runs for a while)."""

    def __init__(self, manual=False):
        self.manual = manual
        self.pending = []

    def __call__(self, function, *args):
        if not self.manual:
            return maybeDeferred(function, *args)
        d = Deferred()
        self.pending.append((function, args, d))
        return d

    def release(self, count=None):
        """Run the held calls (the first ``count`` of them)."""
        count = len(self.pending) if count is None else count
        batch, self.pending = self.pending[:count], self.pending[count:]
        for function, args, d in batch:
            maybeDeferred(function, *args).chainDeferred(d)
        return len(batch)
