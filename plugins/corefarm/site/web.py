"""Request plumbing shared by the page modules: who is asking (session
cookie), where the site is mounted, responses and error pages."""

import json
from dataclasses import dataclass

from klein.interfaces import IKleinRequest

from corefarm.site.markup import page, render

SESSION_COOKIE = b"cf_session"
# Pages may run scripts and wasm from this origin only; nothing from a CDN.
CSP = (b"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
       b"img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
       b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class PageError(Exception):
    """Ends a request with an HTML error page (status, heading, message)."""

    def __init__(self, status, heading, message, back="", back_label="Back to the home page"):
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message
        self.back, self.back_label = back, back_label


def not_found(what="page"):
    return PageError(404, "Not found", f"There is no such {what} here.")


@dataclass
class Visit:
    """One request's view of the visitor."""

    request: object
    base: str               # mount path of the site, without a trailing slash ("" at /)
    session: object         # accounts.Session or None

    @property
    def user(self):
        return self.session.user if self.session is not None else None

    @property
    def csrf(self):
        return self.session.csrf if self.session is not None else ""

    def url(self, path=""):
        return f"{self.base}/{path}"


def mount_base(request):
    mapper = IKleinRequest(request).mapper
    return (getattr(mapper, "script_name", "") or "").rstrip("/")


def client_address(request):
    peer = request.getClientAddress()
    return getattr(peer, "host", None) or "unknown"


def html_response(request, body, status=200):
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"content-security-policy", CSP)
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"referrer-policy", b"same-origin")
    return body


def json_response(request, value, status=200):
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(value, separators=(",", ":")).encode()


def json_error(request, status, code, message):
    return json_response(request, {"error": code, "message": message}, status)


def redirect(request, visit, path):
    request.setResponseCode(303)
    request.setHeader(b"location", visit.url(path).encode("utf-8"))
    request.setHeader(b"cache-control", b"no-store")
    return b""


def set_session_cookie(request, session):
    value = session.token.encode("ascii") if session is not None else b""
    request.addCookie(SESSION_COOKIE, value, path=b"/", httpOnly=True, sameSite="lax",
                      secure=request.isSecure(),
                      max_age=None if session is not None else b"0")


def error_page(request, visit, error):
    body = render("error.html", heading=error.heading, message=error.message,
                  back=error.back or ".", back_label=error.back_label)
    return html_response(request, page(visit.base, error.heading, None, body, visit.user,
                                       visit.csrf), error.status)


def check_csrf(visit, token):
    """PageError 403 unless ``token`` is the visitor's session CSRF token."""
    if visit.session is None or not visit.session.csrf_ok(token):
        raise PageError(403, "Form expired",
                        "This form was not sent by a page of this site, or it has expired "
                        "(for example after you logged out). Reload the page and try again.")
