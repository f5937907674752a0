"""The corefarm site: one Klein app class built around its services.

Page routes live in :mod:`~corefarm.site.pages_account`,
:mod:`~corefarm.site.pages_jobs`, :mod:`~corefarm.site.pages_info` and
:mod:`~corefarm.site.pages_volunteer`; each registers on this class's Klein
app with :func:`page_route`, which loads the visitor's session, reads and
CSRF-checks form posts, and turns :class:`PageError` into an HTML page.
"""

import functools
from dataclasses import dataclass

from klein import Klein
from twisted.logger import Logger
from werkzeug.exceptions import MethodNotAllowed, NotFound

from corefarm.site import pages_account, pages_info, pages_jobs, pages_volunteer, static_files
from corefarm.site.forms import FormError, FormTooLarge, read_form
from corefarm.site.settings import SiteSettings
from corefarm.site.web import (
    SESSION_COOKIE, PageError, Visit, check_csrf, error_page, mount_base, set_session_cookie,
)

SMALL_FORM_BYTES = 64 * 1024


@dataclass
class Services:
    """Everything the pages use, built by the plugin (or a test)."""

    grid: object            # naclgrid IGrid (unmetered: the site's own calls)
    master: object          # corefarm RenderMaster
    accounts: object        # accounts.Accounts
    sessions: object        # accounts.SessionStore
    limiter: object         # accounts.RateLimiter
    ledger: object          # credit.Ledger
    gate: object            # credit.CreditGate
    keys: object            # naclgrid.auth.KeyService
    feedback: object        # site.feedback.FeedbackBox
    figures: object         # site.figures.Figures
    clock: object
    settings: SiteSettings = SiteSettings()


def page_route(app, path, methods=("GET",), form=True, csrf=True):
    """Register ``handler(self, request, visit, form, **route_args)``.

    POST bodies are read as forms under a 64 KiB limit (``form=False``: the
    handler reads the body itself) and must carry the session's CSRF token.
    """

    def decorate(handler):
        @app.route(path, methods=list(methods), endpoint=handler.__name__)
        @functools.wraps(handler)
        async def view(self, request, **route_args):
            visit = await self.visit(request)
            try:
                data = None
                if request.method == b"POST" and form:
                    data = read_posted_form(request, SMALL_FORM_BYTES)
                    if csrf:
                        check_csrf(visit, data.get("csrf"))
                return await handler(self, request, visit, data, **route_args)
            except PageError as error:
                return error_page(request, visit, error)

        return view

    return decorate


def read_posted_form(request, limit):
    try:
        return read_form(request, limit)
    except FormTooLarge as e:
        raise PageError(413, "Too large", str(e)) from None
    except FormError as e:
        raise PageError(400, "Bad form", str(e)) from None


class CorefarmSite:
    """``CorefarmSite(services, log=None)``; :meth:`resource` is mounted by the host."""

    app = Klein()
    log = Logger(namespace="corefarm.site")

    pages_info.install(app, page_route)
    pages_account.install(app, page_route)
    pages_jobs.install(app, page_route)
    pages_volunteer.install(app, page_route)
    static_files.install(app)

    def __init__(self, services, log=None):
        self.s = services
        self.settings = services.settings
        if log is not None:
            self.log = log

    def resource(self):
        return self.app.resource()

    # -- visitors -------------------------------------------------------------------
    async def visit(self, request):
        token = request.getCookie(SESSION_COOKIE)
        session = None
        if token:
            session = await self.s.sessions.load(token.decode("ascii", "replace"))
        return Visit(request, mount_base(request), session)

    async def ensure_session(self, request, visit):
        """Give an anonymous visitor a session (forms need its CSRF token)."""
        if visit.session is None:
            visit.session = await self.s.sessions.create()
            set_session_cookie(request, visit.session)
        return visit.session

    def require_user(self, visit, what="this page"):
        if visit.user is None:
            raise PageError(401, "Please log in", f"Log in or join to see {what}.",
                            back="login", back_label="Log in")
        return visit.user

    # -- errors Klein itself raises -----------------------------------------------------
    @app.handle_errors(NotFound)
    async def not_found(self, request, failure):
        visit = await self.visit(request)
        return error_page(request, visit, PageError(404, "Not found", "There is no such page here."))

    @app.handle_errors(MethodNotAllowed)
    async def not_allowed(self, request, failure):
        visit = await self.visit(request)
        return error_page(request, visit, PageError(405, "Not allowed",
                                                    "This address does not accept that method."))

    @app.handle_errors(Exception)
    async def internal(self, request, failure):
        self.log.failure("corefarm page failed: {uri}", failure, uri=request.uri)
        visit = Visit(request, mount_base(request), None)
        return error_page(request, visit, PageError(
            500, "Something went wrong", "The farm could not answer this request. "
            "It has been logged; please try again in a moment."))
