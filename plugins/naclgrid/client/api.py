"""Thin async wrappers of every wire-protocol endpoint (wire-protocol.md).

Each method is one HTTP call and returns the decoded answer; the friendlier
job-level API lives in :mod:`naclgrid.client.job`. Binary values travel as
multipart parts (inputs, results, files) or base64 inside JSON (batches).
"""

import base64
import hashlib

from twisted.internet.defer import ensureDeferred

from naclgrid.client.errors import GridAPIError, GridError


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text)


class GridAPI:
    """The endpoints of one naclgrid server, over a :class:`Transport`."""

    def __init__(self, transport):
        self.transport = transport

    # -- jobs --------------------------------------------------------------
    def new_job(self, application, *, priority=None, max_attempts=None, lease_seconds=None):
        form = [("application", application)]
        for name, value in (("priority", priority), ("max_attempts", max_attempts),
                            ("lease_seconds", lease_seconds)):
            if value is not None:
                form.append((name, str(int(value))))
        return self._json("new_job", form=form)

    def drop_file(self, job_id, name, data):
        return self._json("drop_file", query=[("job_id", job_id)],
                          files=[("file", (name, data))], idempotent=True)

    def start_job(self, job_id, input=b"", extras=()):
        return self._json("start_job", query=[("job_id", job_id)], form=list(extras),
                          files=[("input", ("input", input))])

    def fork(self, job_id, entry, input):
        return self._json("fork", query=[("job_id", job_id)], form=[("entry", entry)],
                          files=[("input", ("input", input))])

    def fork_many(self, job_id, tasks):
        """``tasks`` is a list of ``(entry, input bytes)``; returns the slots."""
        body = {"tasks": [{"entry": entry, "input_b64": b64(data)} for entry, data in tasks]}
        return self._json("fork_many", query=[("job_id", job_id)], json=body).addCallback(
            lambda answer: answer["slots"])

    def fetch(self, job_id, slot, wait=0):
        """Fires with ``("done", bytes)``, ``("failed", error dict)`` or
        ``(state, waiting dict)`` for a task that is not finished."""
        return ensureDeferred(self._fetch(job_id, slot, wait))

    async def _fetch(self, job_id, slot, wait):
        try:
            reply = await self.transport.call(
                "fetch", query=[("job_id", job_id)],
                form=[("slot", str(slot)), ("wait", _seconds(wait))],
                idempotent=True, timeout=wait + 30)
        except GridAPIError as exc:
            if exc.code == "task_failed":
                return "failed", exc.body
            raise
        if reply.status == 200:
            return "done", reply.body
        answer = reply.json()
        return answer.get("state", "queued"), answer

    def fetch_many(self, job_id, slots, wait=0):
        """Fires with the server's list of per-slot results; a done result has
        its bytes decoded into ``"result"``."""
        def decode(answer):
            results = answer["results"]
            for item in results:
                if "result_b64" in item:
                    item["result"] = unb64(item.pop("result_b64"))
            return results
        return self._json("fetch_many", query=[("job_id", job_id)],
                          json={"slots": list(slots), "wait": wait},
                          idempotent=True, timeout=wait + 60).addCallback(decode)

    def stop_job(self, job_id, state="stopped"):
        return self._json("stop_job", query=[("job_id", job_id)], form=[("state", state)],
                          idempotent=True)

    def job(self, job_id):
        return self._json("job", method="GET", query=[("job_id", job_id)], idempotent=True)

    def jobs(self):
        return self._json("jobs", method="GET", idempotent=True).addCallback(
            lambda answer: answer["jobs"])

    # -- agents ------------------------------------------------------------
    def pop(self, *, max=1, wait=0, node=None, applications=None, job_id=None, retries=None):
        form = [("max", str(max)), ("wait", _seconds(wait))]
        if node:
            form.append(("node", node))
        if applications:
            form.append(("applications", ",".join(applications)))
        query = [("job_id", job_id)] if job_id else []
        # A pop that may have reached the server is not blindly resent: the
        # tasks it leased would sit out their lease. Connection failures are.
        return self._json("pop", query=query, form=form, timeout=wait + 30,
                          retries=retries).addCallback(
            lambda answer: answer["tasks"])

    def ack(self, job_id, slot, lease_id, *, result=None, error=None):
        form = [("slot", str(slot)), ("lease_id", lease_id)]
        files = []
        if error is not None:
            form.append(("error", error))
        else:
            files.append(("result", ("result", result)))
        return self._json("ack", query=[("job_id", job_id)], form=form, files=files,
                          idempotent=True)

    def ack_many(self, acks):
        """``acks``: dicts with job_id, slot, lease_id and ``result`` (bytes)
        or ``error``; fires with the per-item results."""
        items = []
        for ack in acks:
            item = {"job_id": ack["job_id"], "slot": ack["slot"], "lease_id": ack["lease_id"]}
            if ack.get("error") is not None:
                item["error"] = ack["error"]
            else:
                item["result_b64"] = b64(ack["result"])
            items.append(item)
        return self._json("ack_many", json={"acks": items}, idempotent=True).addCallback(
            lambda answer: answer["results"])

    def heartbeat(self, leases, node=None):
        body = {"leases": [{"job_id": j, "slot": s, "lease_id": l} for j, s, l in leases]}
        if node:
            body["node"] = node
        return self._json("heartbeat", json=body, idempotent=True).addCallback(
            lambda answer: answer["leases"])

    def download(self, sha256):
        """The bytes of a stored file, checked against its sha256."""
        def check(reply):
            if hashlib.sha256(reply.body).hexdigest() != sha256:
                raise GridError(f"file {sha256} arrived corrupted")
            return reply.body
        return self.transport.call(f"files/{sha256}", method="GET", idempotent=True,
                                   timeout=600).addCallback(check)

    def nodes(self):
        return self._json("nodes", method="GET", idempotent=True).addCallback(
            lambda answer: answer["nodes"])

    def _json(self, name, **kwargs):
        return self.transport.call(name, **kwargs).addCallback(lambda reply: reply.json())


def _seconds(value):
    return f"{value:g}" if isinstance(value, float) else str(value)
