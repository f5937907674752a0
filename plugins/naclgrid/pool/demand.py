"""How busy the grid is, read through the engine's in-process API."""

from dataclasses import dataclass

from twisted.internet.defer import ensureDeferred
from zope.interface import implementer

from naclgrid.pool.interfaces import IDemand

_ACTIVE = ("running",)


@implementer(IDemand)
@dataclass(frozen=True)
class Demand:
    queued: int = 0
    leased: int = 0


def grid_demand(grid):
    """A callable returning a Deferred of the :class:`Demand` of ``grid``
    (an ``IGrid``): queued tasks of running jobs that are not held, and all
    leased tasks."""
    async def demand():
        queued = leased = 0
        for status in await grid.list_jobs(owner=None):
            counts = status.get("counts", {})
            leased += counts.get("leased", 0)
            if status.get("state") in _ACTIVE and status.get("waiting_reason") in (
                    None, "no_agent", "agents_busy"):
                queued += counts.get("queued", 0)
        return Demand(queued, leased)
    return lambda: ensureDeferred(demand())
