"""The naclgrid REST API: a Klein app class built around a Grid.

Routes live in :mod:`naclgrid.api.jobs` (submitters) and
:mod:`naclgrid.api.agents` (agents); both register on this class's Klein
app. The error edge is :mod:`naclgrid.api.errors`.
"""

from dataclasses import dataclass, field
from importlib import resources

from klein import Klein
from twisted.logger import Logger

from gridhost.core.upgrade import SwitchingResource
from naclgrid.api import agents, jobs
from naclgrid.api.channel import TOKEN, ChannelServer, channel_headers
from naclgrid.api.endpoint import named_endpoints
from naclgrid.elastic.status import install as install_elastic
from naclgrid.api.errors import install_error_handlers, json_response

KIB, MIB = 1024, 1024 * 1024
# Room for multipart framing and the other small fields around a big one.
_FRAMING = 64 * KIB


@dataclass(frozen=True)
class ApiSettings:
    """Knobs of the HTTP layer (the engine's own limits live in Grid.limits).

    ``applications`` maps a registered application name to the FileRef of
    its wasm module (an :class:`ApplicationRegistry` or a dict);
    ``task_limits`` is sent with every task as ``limits``; the defaults apply
    to new jobs that do not choose.
    """

    max_batch_bytes: int = 64 * MIB
    max_batch_items: int = 10_000
    max_small_body_bytes: int = 64 * KIB
    max_list_body_bytes: int = 1 * MIB
    max_error_bytes: int = 64 * KIB
    default_max_attempts: int = 3
    default_lease_seconds: float = 60.0
    applications: dict = field(default_factory=dict)
    task_limits: dict = field(
        default_factory=lambda: {"memory_bytes": 256 * MIB, "fuel": None, "seconds": 300.0}
    )


def _limit(limits, name, default):
    return int(getattr(limits, name, default))


def load_openapi():
    """The OpenAPI document shipped with the package, as bytes."""
    return resources.files("naclgrid").joinpath("openapi.json").read_bytes()


class NaclgridAPI(agents.AgentHelpers):
    """Serves the wire protocol for one Grid.

    ``grid`` is an :class:`naclgrid.interfaces.IGrid`, ``authenticator`` a
    :class:`naclgrid.auth.Authenticator`, ``clock`` an IReactorTime.
    """

    app = Klein()
    log = Logger(namespace="naclgrid.api")

    install_error_handlers(app)
    jobs.install(app)
    agents.install(app)
    install_elastic(app)
    # What the agent channel may call (``self.app`` is a per-instance copy).
    _channel_routes = named_endpoints(app)

    def __init__(self, grid, authenticator, clock, settings=None, log=None):
        self.grid = grid
        self.authenticator = authenticator
        self.clock = clock
        self.settings = settings or ApiSettings()
        if log is not None:
            self.log = log
        limits = getattr(grid, "limits", None)
        self.max_input_bytes = _limit(limits, "max_input_bytes", 16 * MIB)
        self.max_result_bytes = _limit(limits, "max_result_bytes", 16 * MIB)
        self.max_file_bytes = _limit(limits, "max_file_bytes", 256 * MIB)
        self.max_batch_items = min(
            self.settings.max_batch_items, _limit(limits, "max_fork_batch", 10_000)
        )
        self.body_limits = {
            "small": self.settings.max_small_body_bytes,
            "list": self.settings.max_list_body_bytes,
            "input": self.max_input_bytes + _FRAMING,
            "result": self.max_result_bytes + _FRAMING,
            "file": self.max_file_bytes + _FRAMING,
            "batch": self.settings.max_batch_bytes,
        }
        self._openapi = load_openapi()

    def resource(self):
        """The twisted.web resource to mount at the site path."""
        return self.app.resource()

    @app.route("/channel", methods=["GET"], endpoint="channel")
    def channel(self, request):
        """Switch this connection to the agent channel (naclgrid.api.channel)."""
        base = b"/" + b"/".join(request.prepath[:-1]) + b"/" if len(request.prepath) > 1 else b"/"
        max_bytes = self.body_limits["batch"] + 64 * KIB
        return SwitchingResource(TOKEN, lambda _: ChannelServer(
            self, self._channel_routes, base, self.clock, max_bytes),
            channel_headers(max_bytes))

    @app.route("/openapi.json", methods=["GET"], endpoint="openapi")
    def openapi(self, request):
        request.setHeader(b"content-type", b"application/json")
        return self._openapi
