"""Thin async wrappers of every wire-protocol endpoint (wire-protocol.md).

Each method is one HTTP call and returns the decoded answer; the friendlier
job-level API lives in :mod:`naclgrid.client.job`. Binary values travel as
multipart parts (inputs, results, files), and in batches as raw blobs of an
``application/x-naclgrid-frames`` body (:mod:`naclgrid.frames`), or base64
inside JSON for a server that predates frames (it answers 415, once).
"""

import base64
import hashlib

from twisted.internet.defer import ensureDeferred

from naclgrid import frames
from naclgrid.client.errors import GridAPIError, GridError

FRAMES = frames.MEDIA_TYPE


# Inputs up to this size travel as a plain form field: building and parsing
# a multipart body cost both sides more than percent-encoding a few bytes.
SMALL_INPUT_BYTES = 1024


def _input_fields(form, input):
    """``(form, files)`` of a call with an ``input``: a form field when it is
    small, else a multipart file part (binary as is)."""
    if len(input) <= SMALL_INPUT_BYTES:
        return form + [("input", input)], []
    return form, [("input", ("input", input))]


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text)


class GridAPI:
    """The endpoints of one naclgrid server, over a :class:`Transport`."""

    def __init__(self, transport, use_frames=True):
        self.transport = transport
        self.frames = use_frames      # False once the server refused a frames body
        self.pop_acks = True          # False once the server refused acks riding a pop

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
        form, files = _input_fields([("entry", entry)], input)
        return self._json("fork", query=[("job_id", job_id)], form=form, files=files)

    def fork_wait(self, job_id, entry, input, wait):
        """Fork one task and wait up to ``wait`` seconds for its result in the
        same call. Fires with ``(slot, state, value)`` as :meth:`fetch`'s
        ``(state, value)``; a server without fork-and-wait answers at once
        (state ``"forked"``, value None)."""
        return ensureDeferred(self._fork_wait(job_id, entry, input, wait))

    async def _fork_wait(self, job_id, entry, input, wait):
        try:
            form, files = _input_fields([("entry", entry), ("wait", _seconds(wait))], input)
            reply = await self.transport.call("fork", query=[("job_id", job_id)], form=form,
                                              files=files, timeout=wait + 30)
        except GridAPIError as exc:
            if exc.code == "task_failed" and "slot" in exc.body:
                return exc.body["slot"], "failed", exc.body
            raise
        if reply.status == 200 and _text(reply.header("x-naclgrid-state")) == "done":
            return int(_text(reply.header("x-naclgrid-slot"))), "done", reply.body
        answer = reply.json()
        if "state" not in answer:  # an older server: forked, not waited for
            return answer["slot"], "forked", None
        return answer["slot"], answer["state"], answer

    def fork_many(self, job_id, tasks):
        """``tasks`` is a list of ``(entry, input bytes)``; returns the slots."""
        return ensureDeferred(self._fork_many(job_id, tasks))

    async def _fork_many(self, job_id, tasks):
        query = [("job_id", job_id)]
        if self.frames:
            items = [{"entry": entry, "input_blob": index}
                     for index, (entry, _) in enumerate(tasks)]
            body = self._frames_body({"tasks": items}, [data for _, data in tasks])
            answer = await self._framed("fork_many", query, body)
            if answer is not None:
                return answer["slots"]
        body = {"tasks": [{"entry": entry, "input_b64": b64(data)} for entry, data in tasks]}
        return (await self._json("fork_many", query=query, json=body))["slots"]

    def _frames_body(self, obj, blobs):
        """A frames body: pieces when the HTTP client sends a list of them
        (no copy of the blobs), else joined bytes."""
        parts = frames.encode_parts(obj, blobs)
        return parts if getattr(self.transport, "takes_parts", False) else b"".join(parts)

    async def _framed(self, name, query, body, **kwargs):
        """Send a frames body; the decoded answer, or None when this server
        does not take frames (then never tried again)."""
        try:
            reply = await self.transport.call(name, query=query, body=(FRAMES, body), **kwargs)
        except GridAPIError as exc:
            if exc.status == 415:
                self.frames = False
                return None
            raise
        return reply.json()

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
        def decode(reply):
            answer, blobs = reply.document()
            results = answer["results"]
            for item in results:
                if item.get("state") == "done":
                    item["result"] = _binary(item, "result", blobs)
            return results
        return self.transport.call(
            "fetch_many", query=[("job_id", job_id)], json={"slots": list(slots), "wait": wait},
            idempotent=True, timeout=wait + 60,
            accept=FRAMES if self.frames else None).addCallback(decode)

    def stop_job(self, job_id, state="stopped"):
        return self._json("stop_job", query=[("job_id", job_id)], form=[("state", state)],
                          idempotent=True)

    def job(self, job_id):
        return self._json("job", method="GET", query=[("job_id", job_id)], idempotent=True)

    def jobs(self):
        return self._json("jobs", method="GET", idempotent=True).addCallback(
            lambda answer: answer["jobs"])

    # -- agents ------------------------------------------------------------
    def pop(self, *, max=1, wait=0, node=None, applications=None, job_id=None, retries=None,
            park_max=None):
        """Fires with the leased tasks; each has its input as bytes in ``"input"``.
        ``park_max``: if the server has to wait for work, take at most this many."""
        form = [("max", str(max)), ("wait", _seconds(wait))]
        if park_max is not None:
            form.append(("park_max", str(park_max)))
        if node:
            form.append(("node", node))
        if applications:
            form.append(("applications", ",".join(applications)))
        query = [("job_id", job_id)] if job_id else []
        # A pop that may have reached the server is not blindly resent: the
        # tasks it leased would sit out their lease. Connection failures are.
        return self.transport.call(
            "pop", query=query, form=form, timeout=wait + 30, retries=retries,
            accept=FRAMES if self.frames else None).addCallback(
            lambda reply: _tasks(*reply.document()))

    def pop_and_ack(self, acks, *, max=1, wait=0, node=None, applications=None, retries=None,
                    park_max=None):
        """Deliver ``acks`` (as for :meth:`ack_many`) and pop in one call.
        Fires with ``(tasks, per-ack answers)``. The answers come with the
        tasks, i.e. when the long poll ends; the acks themselves take effect
        before the poll parks. A server that does not take acks on ``pop``
        gets them through ``ack_many`` first."""
        return ensureDeferred(self._pop_and_ack(list(acks), max, wait, node, applications,
                                                retries, park_max))

    async def _pop_and_ack(self, acks, max, wait, node, applications, retries, park_max=None):
        if self.pop_acks:
            body = {"max": max, "wait": wait}
            if park_max is not None:
                body["park_max"] = park_max
            if node:
                body["node"] = node
            if applications:
                body["applications"] = list(applications)
            try:
                if self.frames:
                    body["acks"], blobs = _ack_items(acks, [])
                    raw = (FRAMES, self._frames_body(body, blobs))
                    reply = await self.transport.call("pop", body=raw, accept=FRAMES,
                                                      timeout=wait + 30, retries=retries)
                else:
                    body["acks"], _ = _ack_items(acks, None)
                    reply = await self.transport.call("pop", json=body, timeout=wait + 30,
                                                      retries=retries)
            except GridAPIError as exc:
                if exc.status != 415:
                    raise
                if self.frames:
                    self.frames = False  # maybe JSON riding acks still works
                else:
                    self.pop_acks = False
                return await self._pop_and_ack(acks, max, wait, node, applications, retries)
            answer, blobs = reply.document()
            return _tasks(answer, blobs), answer.get("acks") or []
        answers = await self.ack_many(acks) if acks else []
        tasks = await self.pop(max=max, wait=wait, node=node, applications=applications,
                               retries=retries)
        return tasks, answers

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
        return ensureDeferred(self._ack_many(list(acks)))

    async def _ack_many(self, acks):
        if self.frames:
            items, blobs = _ack_items(acks, [])
            answer = await self._framed("ack_many", [], self._frames_body({"acks": items}, blobs),
                                        idempotent=True)
            if answer is not None:
                return answer["results"]
        items, _ = _ack_items(acks, None)
        return (await self._json("ack_many", json={"acks": items}, idempotent=True))["results"]

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


def _ack_items(acks, blobs):
    """Wire items of ``acks``: results as blobs (``blobs`` a list) or base64."""
    items = []
    for ack in acks:
        item = {"job_id": ack["job_id"], "slot": ack["slot"], "lease_id": ack["lease_id"]}
        if ack.get("error") is not None:
            item["error"] = ack["error"]
        elif blobs is None:
            item["result_b64"] = b64(ack["result"])
        else:
            item["result_blob"] = len(blobs)
            blobs.append(ack["result"])
        items.append(item)
    return items, blobs


def _binary(item, name, blobs):
    value = frames.binary(item, name, blobs)
    item.pop(name + "_b64", None)
    item.pop(name + "_blob", None)
    return value if value is not None else b""


class Tasks(list):
    """``pop``'s tasks; ``waited`` is how long the server held the poll
    (None from a server that does not say)."""

    waited = None


def _tasks(answer, blobs):
    tasks = Tasks(answer["tasks"])
    for task in tasks:
        task["input"] = _binary(task, "input", blobs)
    waited = answer.get("waited")
    if isinstance(waited, (int, float)) and not isinstance(waited, bool) and waited >= 0:
        tasks.waited = float(waited)
    return tasks


def _text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _seconds(value):
    return f"{value:g}" if isinstance(value, float) else str(value)
