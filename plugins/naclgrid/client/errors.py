"""Exceptions of the naclgrid client SDK."""


class GridError(Exception):
    """Base class of every SDK error."""


class GridAPIError(GridError):
    """The server answered with a 4xx JSON error ``{"error", "message"}``."""

    def __init__(self, status, code, message, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body or {}


class GridUnavailable(GridError):
    """The server could not be reached (or answered 5xx) and the call was not
    retried further: either it is not idempotent or the retry budget ran out."""


class TaskFailed(GridError):
    """A task failed for good (attempts exhausted, or its job was stopped)."""

    def __init__(self, slot, message, attempts=None):
        super().__init__(f"task {slot} failed: {message}")
        self.slot = slot
        self.message = message
        self.attempts = attempts
