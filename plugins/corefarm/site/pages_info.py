"""Home, Status, Leaderboard, Download (native agent) and Feedback."""

from corefarm.site.markup import Markup, field_error, join, page, render, tag
from corefarm.site.web import client_address, html_response, json_response

BOARD_ROWS = 100


def api_url(site, request, visit):
    """The naclgrid REST API's absolute URL, for instructions to copy."""
    if site.settings.public_url:
        root = site.settings.public_url.rstrip("/")
    else:
        host = (request.getHeader(b"host") or b"127.0.0.1").decode("latin-1")
        root = f"{'https' if request.isSecure() else 'http'}://{host}"
    return f"{root}{site.settings.naclgrid_path.rstrip('/')}/"


def _figure_values(figures):
    values = {k: figures[k] for k in ("nodes_online", "jobs_running", "tasks_queued",
                                      "tasks_running", "tasks_done")}
    values["cpu_seconds"] = f"{figures['cpu_seconds']:,.0f}"
    return values


def install(app, page_route):

    @page_route(app, "/", methods=("GET",))
    async def home(self, request, visit, _form):
        figures = await self.s.figures.current()
        body = render("home.html", grant=f"{self.settings.starting_grant:,.0f}",
                      api_base=self.settings.naclgrid_path.rstrip("/"),
                      **_figure_values(figures))
        return html_response(request, page(visit.base, "Cooperative rendering farm", "", body,
                                           visit.user, visit.csrf, scripts=("live.js",)))

    @app.route("/api/figures", methods=["GET"], endpoint="api_figures")
    async def api_figures(self, request):
        return json_response(request, await self.s.figures.current())

    @page_route(app, "/status", methods=("GET",))
    async def status(self, request, visit, _form):
        figures = await self.s.figures.current()
        rows = join(tag("tr", join([tag("td", n["node"]), tag("td", n["user"]),
                                    tag("td", n["leases"]), tag("td", f"{n['seen']:g} s ago")]))
                    for n in figures["nodes"]) or Markup(
            '<tr><td colspan="4">No node is online. Be the first: '
            '<a href="participate">participate</a>.</td></tr>')
        values = _figure_values(figures)
        values.update({k: figures[k] for k in ("browser_nodes", "throughput", "jobs_held")})
        body = render("status.html", node_rows=rows, **values)
        return html_response(request, page(visit.base, "Status", "status", body, visit.user,
                                           visit.csrf, scripts=("live.js",)))

    @page_route(app, "/leaderboard", methods=("GET",))
    async def leaderboard(self, request, visit, _form):
        rows = await self.s.ledger.board(BOARD_ROWS)
        if rows:
            lines = [tag("tr", join([tag("td", i), tag("td", r["user"]),
                                     tag("td", f"{r['donated']:,.1f}", class_="num"),
                                     tag("td", f"{r['consumed']:,.1f}", class_="num")]),
                         class_="me" if r["user"] == visit.user else None)
                     for i, r in enumerate(rows, 1)]
            table = Markup('<div class="scroll"><table class="board"><thead><tr><th>#</th>'
                           '<th>Member</th><th class="num">Donated (CPU-s)</th>'
                           '<th class="num">Consumed (CPU-s)</th></tr></thead><tbody>'
                           + join(lines) + "</tbody></table></div>")
        else:
            table = Markup('<p class="empty">Nobody has rendered anything yet.</p>')
        total = await self.s.ledger.total_exchanged()
        body = render("leaderboard.html", table=table, total=f"{total:,.0f}")
        return html_response(request, page(visit.base, "Leaderboard", "leaderboard", body,
                                           visit.user, visit.csrf))

    async def download_page(self, request, visit, errors=None, new_key=None, status=200):
        errors = errors or {}
        key_shown = "YOUR_AGENT_KEY"
        if visit.user is None:
            box = Markup('<p class="card">To get a key, <a href="login?next=download">log in</a> '
                         'or <a href="join">join</a>: what your agent renders is credited to '
                         'you.</p>')
        else:
            shown = ""
            if new_key is not None:
                key, role = new_key
                if role == "agent":
                    key_shown = key
                shown = join([tag("p", f"Your new {role} key (shown once; keep it secret):",
                                  class_="notice"),
                              tag("pre", tag("code", key, data_field="new-key"))])
            box = render("key_box.html", csrf=visit.csrf, form_error=field_error(errors, "form"),
                         new_key=shown)
        body = render("download.html", api_url=api_url(self, request, visit), key_shown=key_shown,
                      key_box=box)
        return html_response(request, page(visit.base, "Download", "download", body,
                                           visit.user, visit.csrf), status)

    @page_route(app, "/download", methods=("GET",))
    async def download(self, request, visit, _form):
        return await download_page(self, request, visit)

    @page_route(app, "/download/keys", methods=("POST",))
    async def download_keys(self, request, visit, form):
        user = self.require_user(visit, "your keys")
        role = form.get("role")
        if role not in ("agent", "submitter"):
            return await download_page(self, request, visit,
                                       {"form": "Choose an agent or a submitter key."}, status=400)
        if not await self.s.limiter.hit(f"keys:{user}", self.settings.volunteer_keys_per_hour, 3600):
            return await download_page(self, request, visit, {
                "form": "You created many keys this hour; use one of them or wait."}, status=429)
        key, _record = await self.s.keys.create(role, user)
        return await download_page(self, request, visit, new_key=(key, role))

    async def feedback_page(self, request, visit, values=None, errors=None, notice="",
                            status=200):
        values, errors = values or {}, errors or {}
        session = await self.ensure_session(request, visit)
        recent = ""
        if visit.user is not None:
            mine = await self.s.feedback.recent(10, author=visit.user)
            if mine:
                recent = join([tag("h2", "Your messages"),
                               tag("ul", join(tag("li", m["message"], class_="feedback")
                                              for m in mine), class_="feedback-list")])
        body = render("feedback.html", csrf=session.csrf, message=values.get("message", ""),
                      contact=values.get("contact", ""),
                      max_chars=self.settings.max_feedback_chars,
                      notice=tag("p", notice, class_="notice", role="status") if notice else "",
                      recent=recent, **{f"{n}_error": field_error(errors, n)
                                         for n in ("form", "message", "contact")})
        return html_response(request, page(visit.base, "Feedback", "feedback", body,
                                           visit.user, visit.csrf), status)

    @page_route(app, "/feedback", methods=("GET", "POST"))
    async def feedback(self, request, visit, form):
        if form is None:
            return await feedback_page(self, request, visit)
        values = {"message": form.get("message").strip(), "contact": form.get("contact").strip()}
        errors = {}
        if not values["message"]:
            errors["message"] = "Write a message first."
        elif len(values["message"]) > self.settings.max_feedback_chars:
            errors["message"] = f"Keep it under {self.settings.max_feedback_chars} characters."
        if len(values["contact"]) > 254:
            errors["contact"] = "Keep it under 254 characters."
        if errors:
            return await feedback_page(self, request, visit, values, errors, status=400)
        address = client_address(request)
        if not await self.s.limiter.hit(f"feedback:{address}", self.settings.feedback_per_hour, 3600):
            return await feedback_page(self, request, visit, values, {
                "form": "You sent many messages this hour; please wait a little."}, status=429)
        await self.s.feedback.add(visit.session.identity, values["message"], values["contact"])
        return await feedback_page(self, request, visit,
                                   notice="Thank you: your message is stored and will be read.")
