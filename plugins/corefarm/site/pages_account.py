"""Join, log in, log out."""

from corefarm.accounts import AccountError
from corefarm.site.markup import field_error, page, render
from corefarm.site.web import client_address, html_response, redirect, set_session_cookie


def _errors_markup(errors, names):
    return {f"{n}_error": field_error(errors, n) for n in names}


def _safe_next(value):
    # Only paths of this site: never an open redirect.
    value = value or ""
    if not value or value.startswith(("/", "\\")) or ":" in value or "//" in value:
        return "jobs"
    return value[:200]


def install(app, page_route):

    @page_route(app, "/join", methods=("GET", "POST"))
    async def join(self, request, visit, form):
        session = await self.ensure_session(request, visit)
        values, errors = {"name": "", "email": ""}, {}
        if form is not None:
            values = {"name": form.get("name").strip(), "email": form.get("email").strip()}
            password = form.get("password")
            if password != form.get("password2"):
                errors["password2"] = "The two passwords differ."
            else:
                try:
                    name = await self.s.accounts.sign_up(values["name"], password, values["email"])
                except AccountError as e:
                    errors[e.field] = e.message
                else:
                    fresh = await self.s.sessions.rotate(session, name)
                    set_session_cookie(request, fresh)
                    return redirect(request, visit, "jobs")
        body = render("join.html", csrf=session.csrf, grant=f"{self.settings.starting_grant:g}",
                      form_error=field_error(errors, "form"), **values,
                      **_errors_markup(errors, ("name", "email", "password", "password2")))
        return html_response(request, page(visit.base, "Join", "join", body, visit.user,
                                           visit.csrf), 400 if errors else 200)

    @page_route(app, "/login", methods=("GET", "POST"))
    async def login(self, request, visit, form):
        session = await self.ensure_session(request, visit)
        name, errors, status = "", {}, 200
        nxt = _safe_next(request.args.get(b"next", [b""])[0].decode("utf-8", "replace"))
        if form is not None:
            name = form.get("name").strip()
            nxt = _safe_next(form.get("next"))
            if not name:
                errors["name"] = "Enter your name."
            else:
                try:
                    user = await self.s.accounts.log_in(name, form.get("password"),
                                                        client_address(request))
                except AccountError as e:
                    errors[e.field] = e.message
                    status = 429 if "Too many" in e.message else 400
                else:
                    fresh = await self.s.sessions.rotate(session, user)
                    set_session_cookie(request, fresh)
                    return redirect(request, visit, nxt)
            status = status if status != 200 else 400
        body = render("login.html", csrf=session.csrf, name=name, next=nxt,
                      form_error=field_error(errors, "form"),
                      **_errors_markup(errors, ("name", "password")))
        return html_response(request, page(visit.base, "Log in", "login", body, visit.user,
                                           visit.csrf), status)

    @page_route(app, "/logout", methods=("POST",))
    async def logout(self, request, visit, form):
        if visit.session is not None:
            await self.s.sessions.delete(visit.session)
        set_session_cookie(request, None)
        return redirect(request, visit, "")
