"""The Participate page and the volunteer key its browser workers use.

A visitor, logged in or not, gets an naclgrid *agent* key in their own name
(their account, or the anonymous name of their session): the tiles their
tab renders are credited to that name. The key lives in the session, so a
reload reuses it, and issuing keys is rate-limited per address.
"""

from corefarm.site.markup import Markup, page, render
from corefarm.site.web import client_address, html_response, json_error, json_response

DEFAULT_WORKERS = 2
MAX_WORKERS = 64


def install(app, page_route):

    @page_route(app, "/participate", methods=("GET",))
    async def participate(self, request, visit, _form):
        session = await self.ensure_session(request, visit)
        balance = await self.s.ledger.balance(session.identity)
        hint = "" if visit.user else Markup(
            '<a href="join">Join</a> or <a href="login?next=participate">log in</a> to keep the '
            'credit you earn under your name.')
        body = render("participate.html", identity=session.identity, login_hint=hint,
                      api_base=self.settings.naclgrid_path.rstrip("/"), csrf=session.csrf,
                      cores_default=DEFAULT_WORKERS, balance=f"{balance:,.0f}")
        return html_response(request, page(visit.base, "Participate", "participate", body,
                                           visit.user, visit.csrf, scripts=("participate.js",)))

    @app.route("/participate/key", methods=["POST"], endpoint="participate_key")
    async def participate_key(self, request):
        visit = await self.visit(request)
        token = (request.getHeader(b"x-csrf-token") or b"").decode("ascii", "replace")
        if visit.session is None or not visit.session.csrf_ok(token):
            return json_error(request, 403, "forbidden",
                              "reload the page: this request did not come from it")
        session = visit.session
        key = session.data.get("agent_key")
        if key is None or not await self.s.keys.verify_bearer(key).addErrback(lambda _: None):
            if not await self.s.limiter.hit(f"vkeys:{client_address(request)}",
                                            self.settings.volunteer_keys_per_hour, 3600):
                return json_error(request, 429, "limit_exceeded",
                                  "too many volunteer keys from your address this hour")
            key, _record = await self.s.keys.create("agent", session.identity)
            session.data["agent_key"] = key
            await self.s.sessions.save(session)
        return json_response(request, {"key": key, "user": session.identity,
                                       "api": self.settings.naclgrid_path.rstrip("/") + "/",
                                       "max_workers": MAX_WORKERS})

    @app.route("/api/me", methods=["GET"], endpoint="api_me")
    async def api_me(self, request):
        visit = await self.visit(request)
        if visit.session is None:
            return json_error(request, 401, "unauthorized", "no session")
        account = await self.s.ledger.account(visit.session.identity)
        return json_response(request, account)
