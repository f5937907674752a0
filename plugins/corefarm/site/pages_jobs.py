"""Submit, My jobs, one job's page, its live progress, preview and image.

The render master does the work (``corefarm.render.master.RenderMaster``):
``submit(owner, files, options) -> job_id``, ``progress(job_id, owner)``,
``preview_png(job_id, owner)`` and ``output(job_id, owner)``. Each takes
the owner and answers another user's job exactly like a missing one
(naclgrid ``NoSuchJob``), which every page here turns into a 404.
"""

import re
import time

from naclgrid.errors import (GridError, JobNotRunning, LimitExceeded, NoSuchJob, ResultsExpired,
                             TooLarge)

from corefarm.site.forms import FormError, FormTooLarge, read_form
from corefarm.site.markup import Markup, field_error, join, page, render, tag
from corefarm.site.uploads import UploadProblem, inspect_upload
from corefarm.site.web import (
    PageError, check_csrf, error_page, html_response, json_error, json_response, not_found,
    redirect,
)

JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
FORMATS = (("png", "PNG (8-bit)"), ("tga", "TGA (8-bit, as the original Corefarm)"),
           ("exr", "OpenEXR (floating point)"))
# Form framing around the file itself.
FORM_SLACK = 64 * 1024
FINAL_STATES = ("done", "failed", "cancelled", "stopped")

REASONS = {
    "no_agent": "Waiting for a machine: no agent or browser tab is rendering right now. "
                "Open the Participate page to render it yourself.",
    "agents_busy": "Waiting: every machine is busy with other tiles.",
    "job_not_started": "Starting.",
    "insufficient_credit": "Waiting for credit: your balance does not cover the rest of this "
                           "job. Contribute from the Participate page to earn CPU-seconds.",
    "job_stopped": "",
}


def job_id_or_404(job_id):
    if not JOB_ID.match(job_id or ""):
        raise not_found("job")
    return job_id


def mib(n):
    return f"{n / (1024 * 1024):g} MiB"


def _optional_int(form, name, low, high, errors, label):
    text = form.get(name).strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors[name] = f"{label} must be a whole number from {low} to {high}."
        return None
    return int(text)


def parse_options(form, settings, errors):
    options = {
        "width": _optional_int(form, "width", 1, settings.max_width, errors, "Width"),
        "height": _optional_int(form, "height", 1, settings.max_height, errors, "Height"),
        "samples": _optional_int(form, "samples", 1, settings.max_samples, errors, "Samples"),
        "format": form.get("format", "png"),
    }
    if (options["width"] is None) != (options["height"] is None) and not (
            "width" in errors or "height" in errors):
        missing = "height" if options["height"] is None else "width"
        errors[missing] = "Give both width and height, or neither."
    if options["format"] not in dict(FORMATS):
        errors["format"] = "Choose PNG, TGA or EXR."
    return options


def progress_view(progress, cost):
    """The JSON the job page polls, from the master's progress dict."""
    total = int(progress.get("tiles_total") or 0)
    done = int(progress.get("tiles_done") or 0)
    state = progress.get("state") or "queued"
    reason = progress.get("waiting_reason")
    finished = state in FINAL_STATES
    return {
        "state": state,
        "reason": reason,
        "reason_text": "" if finished else REASONS.get(reason or "", reason or ""),
        "tiles_done": done,
        "tiles_total": total,
        "progress": (done / total) if total else (1.0 if state == "done" else 0.0),
        "warnings": list(progress.get("warnings") or [])[:200],
        "error": progress.get("error") or "",
        "output": progress.get("output") if state == "done" else None,
        "cpu_seconds": round(cost, 1),
        "finished": finished,
        "width": progress.get("width"),
        "height": progress.get("height"),
    }


def when(seconds):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds or 0))


def install(app, page_route):

    async def submit_page(self, request, visit, values=None, errors=None, status=200):
        values, errors = values or {}, errors or {}
        balance = await self.s.ledger.balance(visit.user)
        chosen = values.get("format", "png")
        options = join(tag("option", label, value=key, selected=key == chosen)
                       for key, label in FORMATS)
        body = render("submit.html", csrf=visit.csrf, balance=f"{balance:,.0f}",
                      max_upload=mib(self.settings.max_upload_bytes),
                      scene_name=values.get("scene_name", ""), width=values.get("width", ""),
                      height=values.get("height", ""), samples=values.get("samples", ""),
                      format_options=options,
                      **{f"{n}_error": field_error(errors, n) for n in
                         ("form", "scene", "scene_name", "width", "height", "samples", "format")})
        return html_response(request, page(visit.base, "Submit", "submit", body, visit.user,
                                           visit.csrf), status)

    @page_route(app, "/submit", methods=("GET", "POST"), form=False)
    async def submit(self, request, visit, _form):
        if visit.user is None:
            if request.method == b"GET":
                return redirect(request, visit, "login?next=submit")
            self.require_user(visit, "the submit page")
        if request.method == b"GET":
            return await submit_page(self, request, visit)
        limit = self.settings.max_upload_bytes + FORM_SLACK
        try:
            form = read_form(request, limit)
        except FormTooLarge:
            return await submit_page(self, request, visit, errors={
                "scene": f"The upload is larger than the limit of "
                         f"{mib(self.settings.max_upload_bytes)}."}, status=413)
        except FormError as e:
            return await submit_page(self, request, visit, errors={"scene": str(e)}, status=400)
        # Checked only now: the token travels inside the multipart body.
        check_csrf(visit, form.get("csrf"))
        values = {k: form.get(k) for k in ("scene_name", "width", "height", "samples", "format")}
        errors = {}
        options = parse_options(form, self.settings, errors)
        upload = form.files.get("scene")
        plan = None
        try:
            if upload is None or not upload.filename:
                raise UploadProblem("Choose a scene file to upload.")
            if len(upload.data) > self.settings.max_upload_bytes:
                raise UploadProblem(f"The upload is larger than the limit of "
                                    f"{mib(self.settings.max_upload_bytes)}.")
            plan = inspect_upload(upload.filename, upload.data, form.get("scene_name"),
                                  self.settings)
        except UploadProblem as problem:
            errors[problem.field] = problem.message
        if errors:
            return await submit_page(self, request, visit, values, errors, status=400)
        options["scene"] = plan.scene
        try:
            job_id = await self.s.master.submit(visit.user, plan.files, options)
        except (LimitExceeded, TooLarge) as e:
            return await submit_page(self, request, visit, values, {"form": e.message}, status=429)
        except GridError as e:
            return await submit_page(self, request, visit, values, {"form": e.message}, status=400)
        return redirect(request, visit, f"jobs/{job_id}")

    @page_route(app, "/jobs", methods=("GET",))
    async def jobs(self, request, visit, _form):
        user = self.require_user(visit, "your jobs")
        account = await self.s.ledger.account(user)
        statuses = [s for s in await self.s.grid.list_jobs(user)
                    if s.get("application") in self.s.gate.applications]
        statuses.sort(key=lambda s: s.get("created_at") or 0, reverse=True)
        rows = []
        for status in statuses[:self.settings.max_jobs_listed]:
            try:
                view = progress_view(await self.s.master.progress(status["job_id"], user), 0.0)
            except GridError:
                continue
            rows.append(_job_row(status, view))
        if rows:
            table = Markup('<div class="scroll"><table class="jobs"><thead><tr><th>Job</th>'
                           '<th>Submitted</th><th>State</th><th>Progress</th><th></th></tr>'
                           '</thead><tbody>' + "".join(rows) + "</tbody></table></div>")
        else:
            table = Markup('<p class="empty">No jobs yet. <a href="submit">Submit a scene</a>.</p>')
        body = render("jobs.html", table=table, balance=f"{account['balance']:,.0f}",
                      donated=f"{account['donated']:,.0f}", consumed=f"{account['consumed']:,.0f}")
        return html_response(request, page(visit.base, "My jobs", "jobs", body, visit.user,
                                           visit.csrf, scripts=("job.js",)))

    @page_route(app, "/jobs/<string:job_id>", methods=("GET",))
    async def job(self, request, visit, _form, job_id):
        user = self.require_user(visit, "this job")
        view = await _progress(self, job_id, user)
        done = view["state"] == "done"
        reason = view["reason_text"]
        warnings = join(tag("li", w) for w in view["warnings"])
        hidden = Markup("hidden")
        body = render(
            "job.html", job_id=job_id, short_id=job_id[:12], state=view["state"], reason=reason,
            progress=f"{view['progress']:.4f}", percent=f"{view['progress']:.0%}",
            tiles=f"{view['tiles_done']}/{view['tiles_total']}", cpu=f"{view['cpu_seconds']:g}",
            width=view["width"] or "", height=view["height"] or "",
            output_name=view["output"] or "", csrf=visit.csrf,
            download_hidden="" if done else hidden,
            cancel_hidden=hidden if view["finished"] else "",
            warnings=warnings, warnings_hidden="" if view["warnings"] else hidden,
            error=view["error"], error_hidden="" if view["error"] else hidden)
        return html_response(request, page(visit.base, f"Job {job_id[:12]}", "jobs", body,
                                           visit.user, visit.csrf, scripts=("job.js",)))

    @app.route("/jobs/<string:job_id>/progress", methods=["GET"], endpoint="job_progress")
    async def job_progress(self, request, job_id):
        visit = await self.visit(request)
        user = await _reader(self, request, visit)
        if user is None:
            return json_error(request, 401, "unauthorized", "log in (or send an API key) to see your jobs")
        try:
            return json_response(request, await _progress(self, job_id, user))
        except PageError:
            return json_error(request, 404, "no_such_job", "there is no such job here")

    @app.route("/jobs/<string:job_id>/preview.png", methods=["GET"], endpoint="job_preview")
    async def job_preview(self, request, job_id):
        visit = await self.visit(request)
        if visit.user is None or not JOB_ID.match(job_id):
            return json_error(request, 404, "no_such_job", "there is no such job here")
        try:
            data = await self.s.master.preview_png(job_id, visit.user)
        except (NoSuchJob, LookupError):
            return json_error(request, 404, "no_such_job", "there is no such job here")
        except ResultsExpired:
            return json_error(request, 410, "results_expired",
                              "this render ended too long ago: its tiles are no longer kept "
                              "(its finished image stays)")
        except GridError:
            # The master has not planned the tiles yet: nothing to show so far.
            return json_error(request, 404, "no_preview", "no tile is rendered yet")
        request.setHeader(b"content-type", b"image/png")
        request.setHeader(b"cache-control", b"no-store")
        return data

    @app.route("/jobs/<string:job_id>/output", methods=["GET"], endpoint="job_output")
    async def job_output(self, request, job_id):
        visit = await self.visit(request)
        try:
            user = await _reader(self, request, visit)
            if user is None:
                raise not_found("job")
            job_id_or_404(job_id)
            try:
                data, content_type, filename = await self.s.master.output(job_id, user)
            except NoSuchJob:
                raise not_found("job") from None
            except (LookupError, GridError):
                raise PageError(409, "Not ready", "This job has no image yet: it is still "
                                "rendering, or it failed.", back=f"jobs/{job_id}",
                                back_label="Back to the job") from None
        except PageError as error:
            return error_page(request, visit, error)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename or "render.png")
        request.setHeader(b"content-type", content_type.encode("ascii"))
        request.setHeader(b"content-disposition", f'attachment; filename="{safe}"'.encode())
        request.setHeader(b"cache-control", b"private, no-store")
        return data

    @page_route(app, "/jobs/<string:job_id>/cancel", methods=("POST",))
    async def job_cancel(self, request, visit, form, job_id):
        user = self.require_user(visit, "this job")
        job_id_or_404(job_id)
        try:
            await self.s.grid.stop_job(job_id, "cancelled", owner=user)
        except NoSuchJob:
            raise not_found("job") from None
        except (JobNotRunning, GridError):
            pass                     # already finished: the job page says how
        return redirect(request, visit, f"jobs/{job_id}")


async def _reader(site, request, visit):
    """Who may read a job here: the logged-in user, or for scripts (the
    original Corefarm client fetching its image) the user of an API key
    sent as ``Authorization: Bearer KEY``."""
    if visit.user is not None:
        return visit.user
    header = (request.getHeader(b"authorization") or b"").decode("latin-1")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    try:
        principal = await site.s.keys.verify_bearer(key.strip())
    except GridError:
        return None
    return principal.user


async def _progress(site, job_id, user):
    job_id_or_404(job_id)
    try:
        progress = await site.s.master.progress(job_id, user)
    except (NoSuchJob, LookupError):
        raise not_found("job") from None
    cost, _tiles = await site.s.ledger.job_cost(job_id)
    return progress_view(progress, cost)


def _job_row(status, view):
    job_id = status["job_id"]
    state = view["state"] + (f" ({view['reason']})" if view["reason"] and not view["finished"] else "")
    link = tag("a", job_id[:12], href=f"jobs/{job_id}")
    bar = tag("progress", f"{view['progress']:.0%}", max="1", value=f"{view['progress']:.4f}")
    action = tag("a", "Download", href=f"jobs/{job_id}/output") if view["state"] == "done" else ""
    cells = [tag("td", link), tag("td", when(status.get("created_at"))),
             tag("td", state, data_cell="state"),
             tag("td", join([bar, " ", tag("span", f"{view['tiles_done']}/{view['tiles_total']}",
                                           data_cell="tiles")])),
             tag("td", action, data_cell="action")]
    return str(tag("tr", join(cells), data_job=job_id, data_finished="1" if view["finished"] else None))
