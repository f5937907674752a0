"""Engine records rendered as wire-protocol JSON (see wire-protocol.md)."""

import base64

from naclgrid.model import DONE, FAILED

FILE_APP_PREFIX = "file:"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def file_json(ref):
    return {"name": ref.name, "sha256": ref.sha256, "size": ref.size}


def module_of(application, files, applications):
    """The wasm a task runs: a registered application's module, or for
    ``file:NAME`` the job's file of that name. None if unknown."""
    if application.startswith(FILE_APP_PREFIX):
        name = application[len(FILE_APP_PREFIX):]
        for ref in files:
            if ref.name == name:
                return {"sha256": ref.sha256, "size": ref.size}
        return None
    ref = applications.get(application)
    return {"sha256": ref.sha256, "size": ref.size} if ref is not None else None


def attach(obj, name, data, blobs):
    """Set binary field ``name`` of ``obj``: base64 in JSON, or (``blobs``
    is a list: a frames answer) a reference to a new blob."""
    if blobs is None:
        obj[name + "_b64"] = b64(data)
    else:
        obj[name + "_blob"] = len(blobs)
        blobs.append(data)
    return obj


def task_json(task, applications, limits, blobs=None):
    return attach({
        "job_id": task.job_id,
        "slot": task.slot,
        "entry": task.entry,
        "application": task.application,
        "lease_id": task.lease_id,
        "lease_expires": task.lease_expires,
        "attempt": task.attempt,
        "module": module_of(task.application, task.files, applications),
        "files": [file_json(ref) for ref in task.files],
        "limits": dict(limits),
    }, "input", task.input, blobs)


def outcome_json(outcome, blobs=None):
    """One ``fetch_many`` entry."""
    if outcome.state == DONE:
        return attach({"slot": outcome.slot, "state": DONE}, "result", outcome.result or b"",
                      blobs)
    if outcome.state == FAILED:
        return {"slot": outcome.slot, "state": FAILED, "error": outcome.error or "",
                "attempts": outcome.attempts}
    return {"slot": outcome.slot, "state": outcome.state, "reason": outcome.reason,
            "attempts": outcome.attempts}


def node_json(node):
    return {
        "node": node.node,
        "user": node.user,
        "applications": list(node.applications) if node.applications is not None else None,
        "last_seen": node.last_seen,
        "leases": node.leases,
        "polling": node.polling,
    }
