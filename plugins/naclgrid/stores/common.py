"""Helpers shared by both stores: validation of store-level arguments and
the stride constant. Kept tiny so both stores stay line-for-line comparable."""

import hashlib
import secrets

from twisted.internet.defer import fail, succeed

from naclgrid.errors import BadRequest, JobNotRunning, ResultsExpired
from naclgrid.model import CANCELLED, FAILED, STOPPED

# Stride scheduling: serving one task of a job advances its "pass" by
# STRIDE / priority, and the job with the smallest pass is served next, so
# over time each ready job gets tasks in proportion to its priority.
STRIDE = 1_000_000.0

# Nodes not seen for this long after they stopped being live are forgotten.
NODE_FORGET_SECONDS = 24 * 3600.0

STOP_STATES = (STOPPED, FAILED, CANCELLED)


def new_id():
    return secrets.token_hex(8)


def new_lease_id():
    return secrets.token_hex(12)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def check_stop_state(state):
    if state not in STOP_STATES:
        raise BadRequest(f"state must be one of {', '.join(STOP_STATES)}, not {state!r}")


def check_tasks(tasks):
    """Normalise ``[(entry, input)]``; entries are str without newlines (the
    Redis store packs entry and input as ``entry + "\\n" + input``)."""
    out = []
    for entry, data in tasks:
        if not isinstance(entry, str) or "\n" in entry:
            raise BadRequest("entry must be a string without newlines")
        if not isinstance(data, (bytes, bytearray)):
            raise BadRequest("task input must be bytes")
        out.append((entry, bytes(data)))
    return out


def not_running(job_id, state):
    return JobNotRunning(f"job {job_id} is {state}")


def results_expired(job_id):
    return ResultsExpired(f"job {job_id} ended longer ago than this server keeps task "
                          "results ([app.naclgrid] results_ttl): they were dropped")


def deferred(method):
    """Run a synchronous store method, returning its outcome as a Deferred
    (so callers are written once for both stores)."""
    def wrapper(self, *args, **kwargs):
        try:
            return succeed(method(self, *args, **kwargs))
        except Exception:
            return fail()
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper
