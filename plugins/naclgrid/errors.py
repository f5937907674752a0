"""Errors the grid engine raises; the REST API maps each one to
``{"error": e.code, "message": e.message}`` with HTTP status ``e.status``.

Every refusal the engine makes is one of these, so the API never has to
guess: anything else escaping the engine is a bug (a 500).
"""


class GridError(Exception):
    """Base class: ``code`` is the machine-readable slug, ``status`` the HTTP
    status the API answers with."""

    code = "grid_error"
    status = 400

    def __init__(self, message="", code=None, status=None):
        super().__init__(message)
        self.message = message or self.__class__.__doc__.strip().split("\n")[0]
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def as_json(self):
        return {"error": self.code, "message": self.message}

    def __repr__(self):
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.status})"


class BadRequest(GridError):
    """The request is malformed."""

    code, status = "bad_request", 400


class Unauthorized(GridError):
    """Missing or bad credentials."""

    code, status = "unauthorized", 401


class Forbidden(GridError):
    """This key's role may not do that."""

    code, status = "forbidden", 403


class NoSuchJob(GridError):
    """No such job."""

    code, status = "no_such_job", 404


class NoSuchTask(GridError):
    """No such task in this job."""

    code, status = "no_such_task", 404


class NoSuchFile(GridError):
    """No such file."""

    code, status = "no_such_file", 404


class ResultsExpired(GridError):
    """The job ended longer ago than the server keeps task results; they are gone."""

    code, status = "results_expired", 410


class StaleLease(GridError):
    """The lease expired, was requeued, or belongs to someone else; the ack
    was not recorded."""

    code, status = "stale_lease", 409


class JobStopped(GridError):
    """The job was stopped; no more tasks are accepted or acknowledged."""

    code, status = "job_stopped", 409


class JobNotRunning(GridError):
    """The job is not in a state that allows this (e.g. starting it twice)."""

    code, status = "job_not_running", 409


class TooLarge(GridError):
    """Too large."""

    code, status = "too_large", 413


class LimitExceeded(GridError):
    """A configured limit was reached (active jobs, tasks per job, rate)."""

    code, status = "limit_exceeded", 429


class StoreUnavailable(GridError):
    """The store (Redis) cannot be reached right now; retry later."""

    code, status = "store_unavailable", 503
