"""The one way an endpoint is declared: route, credentials, role, body.

``@endpoint(app, "fork", roles=JOB_ROLES, limit="input")`` registers a Klein
route at ``/fork`` whose handler receives ``(self, request, principal,
params)``. Before the handler runs, the caller is authenticated (a Bearer key
before the body is parsed at all; a signed request once its parameters are
known) and its role is checked, and the body is parsed under the size limit
named by ``limit`` (a key of ``self.body_limits``, or a dict of one such
key per body kind).
"""

import functools
import re

from naclgrid.api.errors import ApiError
from naclgrid.api.parsing import read_params

SUBMITTER, AGENT, ADMIN = "submitter", "agent", "admin"
JOB_ROLES = (SUBMITTER, ADMIN)
AGENT_ROLES = (AGENT, ADMIN)
_JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
READ_BYTES = 512 * 1024
# id(Klein app) -> {name: (route, methods)} of its endpoints without path
# arguments: what the agent channel (naclgrid.api.channel) can call. Klein
# apps are unhashable, and live as long as the class that holds them.
_NAMED = {}


def endpoint(app, name, roles, methods=("POST",), accept=("form", "multipart"), limit="small",
             path=None):
    """Register ``handler(self, request, principal, params, **route_args)``."""

    def decorate(handler):
        @app.route(path or f"/{name}", methods=list(methods), endpoint=name, strict_slashes=False)
        @functools.wraps(handler)
        async def route(self, request, **route_args):
            transport = getattr(request.channel, "transport", None)
            if getattr(transport, "bufferSize", READ_BYTES) < READ_BYTES:
                # Later requests on this (kept-alive) connection: big batches
                # arrive in 512 KiB reads, not 64 KiB ones (a pass through
                # twisted.web's parser each).
                transport.bufferSize = READ_BYTES
            authorization = request.getHeader(b"authorization")
            principal = None
            if authorization is not None:
                # Refuse bad keys and wrong roles before touching the body.
                principal = await self.authenticator.bearer(authorization)
                check_role(principal, roles)
            if isinstance(limit, dict):  # one limit per body kind
                limits = {kind: self.body_limits[name] for kind, name in limit.items()}
            else:
                limits = self.body_limits[limit]
            params = read_params(request, limits, accept)
            if principal is None:
                principal = await self.authenticator.authenticate(
                    name, None, params.signing_params()
                )
                check_role(principal, roles)
            return await handler(self, request, principal, params, **route_args)

        if path is None:
            _NAMED.setdefault(id(app), {})[name] = (route, tuple(methods))
        return route

    return decorate


def named_endpoints(app):
    """``{name: (route, methods)}`` of the endpoints registered on ``app``
    at ``/<name>``; ``route(api, request)`` runs one as Klein would."""
    return dict(_NAMED.get(id(app), {}))


def check_role(principal, roles):
    if principal.role not in roles:
        raise ApiError(
            "forbidden", f"the {principal.role} role may not call this endpoint", 403
        )


def owner_filter(principal):
    """The ``owner`` argument of Grid calls: admins see every job."""
    return None if principal.is_admin else principal.user


def job_id_of(params, required=True):
    """``job_id`` from the query string (or, leniently, the form)."""
    job_id = params.text("job_id", required=required, max_length=128)
    if job_id is not None and not _JOB_ID_RE.match(job_id):
        raise ApiError("bad_request", "job_id has characters a job id never has")
    return job_id
