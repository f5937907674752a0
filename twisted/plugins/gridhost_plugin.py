"""The twistd drop-in: ``twistd -n gridhost``. Kept to one lazy line so that
scanning twisted.plugins never imports gridhost itself."""

from twisted.application.service import ServiceMaker

gridhost = ServiceMaker(
    "gridhost", "gridhost.core.tap", "Host grid applications (naclgrid, corefarm, ...) from a TOML config.", "gridhost"
)
