"""Holding the jobs their owners cannot pay for.

A running render job is held (naclgrid ``hold_job``, reason
``insufficient_credit``) when its owner's balance would not cover the tiles
still to render, and served again once it does: the owner's own agent or
browser tab earned the difference, or the job got cheaper. A tile's price is
estimated from the job's own tiles booked so far, or ``tile_estimate``
seconds before the first lands.
"""

from zope.interface import implementer

from naclgrid.errors import GridError
from naclgrid.model import INSUFFICIENT_CREDIT, LEASED, QUEUED, RUNNING

from corefarm.credit.interfaces import ICreditGate



@implementer(ICreditGate)
class CreditGate:
    """``CreditGate(grid, ledger, applications=("yafaray",), tile_estimate=2.0)``."""

    def __init__(self, grid, ledger, applications=("yafaray",), tile_estimate=2.0, log=None):
        self._grid, self._ledger = grid, ledger
        self.applications = frozenset(applications)
        self.tile_estimate = float(tile_estimate)
        self._log = log

    async def remaining_cost(self, status):
        """Estimated CPU-seconds of the job's tiles not yet delivered."""
        counts = status.get("counts", {})
        left = int(counts.get(QUEUED, 0)) + int(counts.get(LEASED, 0))
        if not left:
            return 0.0
        spent, tiles = await self._ledger.job_cost(status["job_id"])
        per_tile = spent / tiles if tiles else self.tile_estimate
        return left * per_tile

    async def check(self, status):
        """Hold or release one job (a wire-protocol status dict); returns
        the job's hold reason afterwards (None when served)."""
        if status.get("application") not in self.applications or status.get("state") != RUNNING:
            return status.get("held")
        held = status.get("held")
        if held not in (None, INSUFFICIENT_CREDIT):
            return held                      # someone else's hold: not ours to lift
        need = await self.remaining_cost(status)
        balance = await self._ledger.balance(status["owner"])
        try:
            if held is None and need > 0 and balance < need:
                await self._grid.hold_job(status["job_id"], INSUFFICIENT_CREDIT)
                return INSUFFICIENT_CREDIT
            if held == INSUFFICIENT_CREDIT and (need == 0 or balance >= need):
                await self._grid.unhold_job(status["job_id"])
                return None
        except GridError:
            pass                             # the job ended meanwhile
        return held

    async def check_owner(self, owner):
        """Re-check every job of ``owner`` (after a booking changed the balance)."""
        for status in await self._grid.list_jobs(owner):
            await self.check(status)

    async def reconcile(self):
        """Re-check every running render job; returns how many are held."""
        held = 0
        for status in await self._grid.list_jobs(None):
            if await self.check(status) == INSUFFICIENT_CREDIT:
                held += 1
        return held
