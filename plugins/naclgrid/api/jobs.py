"""Job endpoints, for submitters (their own jobs) and admins."""

import base64
import binascii
import re

from naclgrid.api.endpoint import JOB_ROLES, endpoint, job_id_of, owner_filter
from naclgrid.api.errors import ApiError, batch_response, json_response, wants_frames
from naclgrid.api.views import FILE_APP_PREFIX, file_json, outcome_json
from naclgrid.model import CANCELLED, DONE, FAILED, STOPPED

_APP_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_FILE_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,255}$")
# Fields of start_job that are not job extras.
_RESERVED = {"input", "job_id", "login", "date", "signature"}
_MAX_EXTRAS = 32


def install(app):
    """Register the job routes on the NaclgridAPI Klein app."""

    @endpoint(app, "new_job", JOB_ROLES)
    async def new_job(self, request, principal, params):
        application = params.text("application", required=True, max_length=300)
        check_application(application, self.settings.applications)
        job = await self.grid.new_job(
            principal.user,
            application,
            priority=params.integer("priority", 1, 100, default=1),
            max_attempts=params.integer(
                "max_attempts", 1, 20, default=self.settings.default_max_attempts),
            lease_seconds=params.number(
                "lease_seconds", 5, 3600, default=self.settings.default_lease_seconds),
        )
        return json_response(request, {"job_id": job.job_id, "id": job.job_id})

    @endpoint(app, "drop_file", JOB_ROLES, limit="file")
    async def drop_file(self, request, principal, params):
        job_id = job_id_of(params)
        upload = params.files.get("file")
        name = params.text("name", max_length=1024)
        if upload is not None:
            data = upload.data
            name = name or upload.filename
        else:
            data = params.raw("file")
        if data is None:
            raise ApiError("bad_request", "send the file as multipart field 'file'")
        if len(data) > self.max_file_bytes:
            raise ApiError("too_large", f"files are limited to {self.max_file_bytes} bytes", 413)
        ref = await self.grid.drop_file(
            job_id, clean_file_name(name), data, owner=owner_filter(principal)
        )
        return json_response(request, file_json(ref))

    @endpoint(app, "start_job", JOB_ROLES, limit="input")
    async def start_job(self, request, principal, params):
        job_id = job_id_of(params)
        data = params.blob("input", self.max_input_bytes)
        job = await self.grid.start_job(
            job_id, data, meta=extras_of(params), owner=owner_filter(principal)
        )
        return json_response(request, {"msg": "success", "state": job.state})

    @endpoint(app, "fork", JOB_ROLES, limit="input")
    async def fork(self, request, principal, params):
        job_id = job_id_of(params)
        entry = params.text("entry", required=True, max_length=1024)
        data = params.blob("input", self.max_input_bytes)
        wait = params.number("wait", 0, 60, default=0.0)
        owner = owner_filter(principal)
        slot = await self.grid.fork(job_id, entry, data, owner=owner)
        if not wait:
            return json_response(request, {"slot": slot})
        # Fork and wait: the result comes back in this answer when it is
        # ready within ``wait``, saving the master a fetch round trip.
        request.setHeader(b"x-naclgrid-slot", str(slot).encode("ascii"))
        outcome = await self.grid.fetch(job_id, slot, wait=wait, owner=owner)
        return fetch_answer(request, outcome, slot)

    @endpoint(app, "fork_many", JOB_ROLES, accept=("json", "frames"), limit="batch")
    async def fork_many(self, request, principal, params):
        job_id = job_id_of(params)
        items = json_list(params.json, "tasks", self.max_batch_items)
        tasks = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("entry"), str):
                raise ApiError("bad_request", f"tasks[{index}] needs a string 'entry'")
            if len(item["entry"]) > 1024:
                raise ApiError("bad_request", f"tasks[{index}].entry is longer than 1024")
            data = params.binary(item, "input", f"tasks[{index}].input") or b""
            if len(data) > self.max_input_bytes:
                raise ApiError(
                    "too_large", f"tasks[{index}] input exceeds {self.max_input_bytes} bytes", 413
                )
            tasks.append((item["entry"], data))
        if not tasks:
            return json_response(request, {"slots": []})
        slots = await self.grid.fork_many(job_id, tasks, owner=owner_filter(principal))
        return json_response(request, {"slots": list(slots)})

    @endpoint(app, "fetch", JOB_ROLES)
    async def fetch(self, request, principal, params):
        job_id = job_id_of(params)
        slot = params.integer("slot", 0, 2**53, required=True)
        wait = params.number("wait", 0, 60, default=0.0)
        outcome = await self.grid.fetch(job_id, slot, wait=wait, owner=owner_filter(principal))
        return fetch_answer(request, outcome)

    @endpoint(app, "fetch_many", JOB_ROLES, accept=("json", "frames"), limit="list")
    async def fetch_many(self, request, principal, params):
        job_id = job_id_of(params)
        slots = json_list(params.json, "slots", self.max_batch_items)
        for index, slot in enumerate(slots):
            if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
                raise ApiError("bad_request", f"slots[{index}] must be a slot number")
        wait = params.json.get("wait", 0)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 60:
            raise ApiError("bad_request", "'wait' must be a number from 0 to 60")
        outcomes = await self.grid.wait_for_slots(
            job_id, slots, wait=wait, owner=owner_filter(principal)
        ) if slots else []
        blobs = wants_frames(request)
        return batch_response(request, {"results": [outcome_json(o, blobs) for o in outcomes]},
                              blobs)

    @endpoint(app, "stop_job", JOB_ROLES)
    async def stop_job(self, request, principal, params):
        job_id = job_id_of(params)
        state = params.text("state", default=STOPPED, max_length=16)
        if state not in (STOPPED, CANCELLED):
            raise ApiError("bad_request", "'state' must be 'stopped' or 'cancelled'")
        job = await self.grid.stop_job(job_id, state, owner=owner_filter(principal))
        return json_response(request, {"msg": "success", "state": job.state})

    @endpoint(app, "job", JOB_ROLES, methods=("GET",))
    async def job(self, request, principal, params):
        status = await self.grid.job_status(job_id_of(params), owner=owner_filter(principal))
        return json_response(request, status)

    @endpoint(app, "jobs", JOB_ROLES, methods=("GET",))
    async def jobs(self, request, principal, params):
        user = params.text("user", max_length=64)
        if user is not None and user != principal.user and not principal.is_admin:
            raise ApiError("forbidden", "only an admin may list another user's jobs", 403)
        statuses = await self.grid.list_jobs(owner=user or principal.user)
        return json_response(request, {"jobs": list(statuses)})


def fetch_answer(request, outcome, slot=None):
    """``fetch``'s answer (also ``fork`` with ``wait``, which adds ``slot``)."""
    extra = {} if slot is None else {"slot": slot}
    if outcome.state == DONE:
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"x-naclgrid-state", b"done")
        return outcome.result or b""
    if outcome.state == FAILED:
        return json_response(request, {
            "error": "task_failed", "message": outcome.error or "",
            "attempts": outcome.attempts, "state": FAILED, **extra,
        }, 422)
    return json_response(request, {
        "state": outcome.state, "reason": outcome.reason, "attempts": outcome.attempts, **extra,
    }, 202)


def check_application(application, registered):
    if application.startswith(FILE_APP_PREFIX):
        clean_file_name(application[len(FILE_APP_PREFIX):])
        return
    if not _APP_RE.match(application) or application not in registered:
        known = ", ".join(sorted(registered)) or "none"
        raise ApiError(
            "bad_request",
            f"unknown application {application!r} (registered: {known}; or use file:NAME)",
        )


def clean_file_name(name):
    """The basename of an uploaded file name, or 400 if nothing sane is left."""
    base = re.split(r"[/\\]", name or "")[-1]
    if base in ("", ".", "..") or not _FILE_NAME_RE.match(base):
        raise ApiError("bad_request", "a file needs a name (1-255 characters, no path)")
    return base


def extras_of(params):
    """start_job's extra fields (e.g. the original client's ``ghz``)."""
    extras = {}
    for name, _ in params.form + params.query:
        if name in _RESERVED or name in extras:
            continue
        if len(extras) >= _MAX_EXTRAS:
            raise ApiError("bad_request", f"at most {_MAX_EXTRAS} extra start_job fields")
        extras[name] = params.text(name, max_length=1024)
    return extras


def json_list(body, key, max_items):
    items = body.get(key)
    if not isinstance(items, list):
        raise ApiError("bad_request", f"the JSON body needs a list '{key}'")
    if len(items) > max_items:
        raise ApiError("too_large", f"at most {max_items} items per call", 413, limit=max_items)
    return items


def decode_b64(value, where):
    if not isinstance(value, str):
        raise ApiError("bad_request", f"{where} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("bad_request", f"{where} is not valid base64") from None
