"""Agent endpoints: pop, ack, ack_many, heartbeat, files, nodes.

Agents and admins may call all of them. A submitter may act as the agent of
its own job (a master computing its own tasks): pop with that ``job_id``,
ack and heartbeat its leases, download its files.
"""

import re

from naclgrid.api.endpoint import ADMIN, AGENT, SUBMITTER, AGENT_ROLES, endpoint, job_id_of
from naclgrid.api.errors import ApiError, batch_response, json_response, wants_frames
from naclgrid.api.jobs import json_list
from naclgrid.api.parsing import check_int, check_number
from naclgrid.api.views import node_json, task_json
from naclgrid.errors import GridError
from naclgrid.grid.engine import MAX_ACKS_PER_CALL
from naclgrid.model import ACK_DUPLICATE, Lease

ALL_ROLES = (SUBMITTER, AGENT, ADMIN)
_NODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_APP_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,300}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_LEASE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def install(app):
    """Register the agent routes on the NaclgridAPI Klein app."""

    @endpoint(app, "pop", ALL_ROLES, accept=("form", "multipart", "json", "frames"),
              limit={"form": "small", "multipart": "small", "json": "batch", "frames": "batch"})
    async def pop(self, request, principal, params):
        job_id = job_id_of(params, required=False)
        owner = None
        if principal.role == SUBMITTER:
            if job_id is None:
                raise ApiError("forbidden", "a submitter key may pop only with job_id of its own job", 403)
            owner = principal.user
        if params.json is not None:
            options = pop_options_of_json(params.json)
        else:
            options = {
                "node": params.text("node", max_length=64),
                "max": params.integer("max", 1, 256, default=1),
                "applications": applications_of(params.text("applications", max_length=4096)),
                "wait": params.number("wait", 0, 60, default=0.0),
                "park_max": params.integer("park_max", 1, 256, default=None),
            }
        node = options.pop("node") or f"key-{principal.key_id}"
        if not _NODE_RE.match(node):
            raise ApiError("bad_request", "'node' must be 1-64 characters of A-Z a-z 0-9 _ . -")
        answer = {}
        if params.json is not None and "acks" in params.json:
            # Results travel with the agent's next pop: settled first, so
            # their masters are woken before this poll parks.
            answer["acks"] = await self.apply_acks(principal, params, params.json["acks"])
        parked = self.clock.seconds()
        tasks = await self.grid.pop(node, principal.user, job_id=job_id, owner=owner, **options)
        limits = self.settings.task_limits
        apps = self.settings.applications
        blobs = wants_frames(request)
        answer["tasks"] = [task_json(t, apps, limits, blobs) for t in tasks]
        # How long the long poll waited here: agents subtract it from their
        # measured round trip, which sizes their prefetch.
        if tasks and options["wait"] > 0:
            answer["waited"] = round(self.clock.seconds() - parked, 6)
        return batch_response(request, answer, blobs)

    @endpoint(app, "ack", ALL_ROLES, limit="result")
    async def ack(self, request, principal, params):
        job_id = job_id_of(params)
        slot = params.integer("slot", 0, 2**53, required=True)
        lease_id = lease_id_of(params.text("lease_id", required=True, max_length=128))
        if params.has("result") == params.has("error"):
            raise ApiError("bad_request", "send exactly one of 'result' and 'error'")
        result = params.raw("result")
        error = params.text("error", max_length=self.settings.max_error_bytes)
        if result is not None and len(result) > self.max_result_bytes:
            raise ApiError("too_large", f"results are limited to {self.max_result_bytes} bytes", 413)
        await self.check_own_job(principal, job_id)
        outcome = await self.grid.ack(job_id, slot, lease_id, result=result, error=error)
        return json_response(request, ack_json(outcome))

    @endpoint(app, "ack_many", ALL_ROLES, accept=("json", "frames"), limit="batch")
    async def ack_many(self, request, principal, params):
        answers = await self.apply_acks(principal, params, params.json.get("acks"))
        return json_response(request, {"results": answers})

    @endpoint(app, "heartbeat", ALL_ROLES, accept=("json",), limit="list")
    async def heartbeat(self, request, principal, params):
        items = json_list(params.json, "leases", self.max_batch_items)
        node = params.json.get("node")
        if node is not None and (not isinstance(node, str) or not _NODE_RE.match(node)):
            raise ApiError("bad_request", "'node' must be 1-64 characters of A-Z a-z 0-9 _ . -")
        leases = [lease_of(item, f"leases[{index}]") for index, item in enumerate(items)]
        allowed = [await self.owns_job(principal, lease.job_id) for lease in leases]
        mine = [lease for lease, ok in zip(leases, allowed) if ok]
        expiries = iter(await self.grid.heartbeat(mine, node=node, user=principal.user) if mine else [])
        answer = []
        for lease, ok in zip(leases, allowed):
            expires = next(expiries) if ok else None
            answer.append({"job_id": lease.job_id, "slot": lease.slot, "lease_id": lease.lease_id,
                           "ok": expires is not None, "lease_expires": expires})
        return json_response(request, {"leases": answer})

    @endpoint(app, "files", ALL_ROLES, methods=("GET",), path="/files/<sha256>")
    async def files(self, request, principal, params, sha256):
        if not _SHA256_RE.match(sha256):
            raise ApiError("bad_request", "files are addressed by lower-case hex sha256")
        if principal.role == SUBMITTER and not await self.may_read_file(principal, sha256):
            raise GridError("No such file.", code="no_such_file", status=404)
        etag = f'"{sha256}"'.encode("ascii")
        request.setHeader(b"etag", etag)
        request.setHeader(b"cache-control", b"private, max-age=31536000, immutable")
        if etag in (request.getHeader(b"if-none-match") or b"").replace(b" ", b"").split(b","):
            request.setResponseCode(304)
            return b""
        data = await self.grid.get_file(sha256)
        request.setHeader(b"content-type", b"application/octet-stream")
        return data

    @endpoint(app, "nodes", AGENT_ROLES, methods=("GET",))
    async def nodes(self, request, principal, params):
        nodes = await self.grid.nodes()
        return json_response(request, {"nodes": [node_json(n) for n in nodes]})


class AgentHelpers:
    """Ownership checks and ack handling the agent routes share (mixed into
    NaclgridAPI)."""

    async def apply_acks(self, principal, params, items):
        """Per-item answers of a list of acks (``ack_many``, or riding on a
        ``pop``): each item succeeds or fails alone."""
        if not isinstance(items, list):
            raise ApiError("bad_request", "the JSON body needs a list 'acks'")
        if len(items) > self.max_batch_items:
            raise ApiError("too_large", f"at most {self.max_batch_items} items per call", 413,
                           limit=self.max_batch_items)
        answers, valid, where = [None] * len(items), [], []
        owned = {}
        for index, item in enumerate(items):
            try:
                lease, result, error = self.parse_ack(params, index, item)
                if lease.job_id not in owned:
                    owned[lease.job_id] = await self.owns_job(principal, lease.job_id)
                if not owned[lease.job_id]:
                    raise GridError(f"no job {lease.job_id}", code="no_such_job", status=404)
            except GridError as failure:
                answers[index] = refusal(failure)
                continue
            valid.append((lease.job_id, lease.slot, lease.lease_id, result, error))
            where.append(index)
        # One store round trip per engine-sized chunk.
        outcomes = []
        for first in range(0, len(valid), MAX_ACKS_PER_CALL):
            outcomes += await self.grid.ack_many(valid[first:first + MAX_ACKS_PER_CALL])
        for index, outcome in zip(where, outcomes):
            answers[index] = refusal(outcome) if isinstance(outcome, GridError) else ack_json(outcome)
        return answers

    async def owns_job(self, principal, job_id):
        if principal.role != SUBMITTER:
            return True
        try:
            await self.grid.get_job(job_id, owner=principal.user)
        except GridError:
            return False
        return True

    async def check_own_job(self, principal, job_id):
        if principal.role == SUBMITTER:
            # NoSuchJob for another user's job: never reveal that it exists.
            await self.grid.get_job(job_id, owner=principal.user)

    async def may_read_file(self, principal, sha256):
        if any(ref.sha256 == sha256 for ref in self.settings.applications.values()):
            return True
        for status in await self.grid.list_jobs(owner=principal.user):
            if any(f["sha256"] == sha256 for f in status.get("files", ())):
                return True
        return False

    def parse_ack(self, params, index, item):
        if not isinstance(item, dict):
            raise ApiError("bad_request", f"acks[{index}] must be an object")
        lease = lease_of(item, f"acks[{index}]")
        has_result = "result_b64" in item or "result_blob" in item
        has_error = "error" in item
        if has_result == has_error:
            raise ApiError("bad_request",
                           f"acks[{index}] needs exactly one of result_b64 (result_blob), error")
        result = params.binary(item, "result", f"acks[{index}].result") if has_result else None
        error = item.get("error")
        if has_error and (not isinstance(error, str) or len(error) > self.settings.max_error_bytes):
            raise ApiError("bad_request", f"acks[{index}].error must be a string up to "
                           f"{self.settings.max_error_bytes} characters")
        if result is not None and len(result) > self.max_result_bytes:
            raise ApiError("too_large", f"results are limited to {self.max_result_bytes} bytes", 413)
        return lease, result, error


def refusal(error):
    return {"ok": False, "error": error.code, "message": error.message}


def ack_json(outcome):
    return {"ok": True, "duplicate": True} if outcome == ACK_DUPLICATE else {"ok": True}


def pop_options_of_json(body):
    """``pop``'s options from a JSON (or frames) body."""
    node = body.get("node")
    if node is not None and not isinstance(node, str):
        raise ApiError("bad_request", "'node' must be a string")
    apps = body.get("applications")
    if isinstance(apps, list) and all(isinstance(name, str) for name in apps):
        apps = ",".join(apps)
    if apps is not None and (not isinstance(apps, str) or len(apps) > 4096):
        raise ApiError("bad_request", "'applications' is a list (or comma list) of names")
    return {
        "node": node,
        "max": check_int("max", body.get("max", 1), 1, 256),
        "applications": applications_of(apps),
        "wait": check_number("wait", body.get("wait", 0), 0, 60),
        "park_max": (None if body.get("park_max") is None
                     else check_int("park_max", body["park_max"], 1, 256)),
    }


def applications_of(text):
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if len(names) > 64 or not all(_APP_RE.match(name) for name in names):
        raise ApiError("bad_request", "'applications' is a comma list of up to 64 application names")
    return names


def lease_id_of(text):
    if not _LEASE_ID_RE.match(text):
        raise ApiError("bad_request", "'lease_id' is not a lease id")
    return text


def lease_of(item, where):
    if not isinstance(item, dict):
        raise ApiError("bad_request", f"{where} must be an object")
    job_id, slot, lease_id = item.get("job_id"), item.get("slot"), item.get("lease_id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= 128:
        raise ApiError("bad_request", f"{where}.job_id must be a job id")
    if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
        raise ApiError("bad_request", f"{where}.slot must be a slot number")
    if not isinstance(lease_id, str):
        raise ApiError("bad_request", f"{where}.lease_id must be a string")
    return Lease(job_id, slot, lease_id_of(lease_id))
