"""Live figures of the farm, from the grid's in-process API and the ledger.

Computed at most once a second per server however many pages poll, and
kept as samples so the throughput is a rate over the last minute.
"""

from collections import deque

from naclgrid.model import INSUFFICIENT_CREDIT

BROWSER_NODE_PREFIX = "web-"
CACHE_SECONDS = 1.0
WINDOW = 60.0


class Figures:
    """``Figures(grid, ledger, clock, applications=("yafaray",))``."""

    def __init__(self, grid, ledger, clock, applications=("yafaray",)):
        self._grid, self._ledger, self._clock = grid, ledger, clock
        self.applications = frozenset(applications)
        self._cached, self._cached_at = None, None
        self._samples = deque()          # (time, tasks finished so far)

    async def current(self):
        now = self._clock.seconds()
        if self._cached is not None and now - self._cached_at < CACHE_SECONDS:
            return self._cached
        jobs = await self._grid.list_jobs(None)
        nodes = [n for n in await self._grid.nodes() if n.live(now)]
        counts = {"queued": 0, "leased": 0, "done": 0, "failed": 0}
        for job in jobs:
            for state in counts:
                counts[state] += int(job.get("counts", {}).get(state, 0))
        renders = [j for j in jobs if j.get("application") in self.applications]
        figures = {
            "jobs": len(renders),
            "jobs_running": sum(1 for j in renders if j.get("state") == "running" and not j.get("held")),
            "jobs_held": sum(1 for j in renders if j.get("held") == INSUFFICIENT_CREDIT),
            "nodes_online": len(nodes),
            "browser_nodes": sum(1 for n in nodes if n.node.startswith(BROWSER_NODE_PREFIX)),
            "tasks_queued": counts["queued"],
            "tasks_running": counts["leased"],
            "tasks_done": counts["done"],
            "tasks_failed": counts["failed"],
            "throughput": self._throughput(now, counts["done"] + counts["failed"]),
            "cpu_seconds": round(await self._ledger.total_exchanged(), 1),
            "nodes": [{"node": n.node, "user": n.user, "leases": n.leases,
                       "seen": round(now - n.last_seen, 1)} for n in nodes[:200]],
        }
        self._cached, self._cached_at = figures, now
        return figures

    def _throughput(self, now, finished):
        samples = self._samples
        samples.append((now, finished))
        while len(samples) > 2 and now - samples[1][0] >= WINDOW:
            samples.popleft()
        then, before = samples[0]
        if now - then <= 0 or finished < before:
            return 0.0
        return round((finished - before) * 60.0 / (now - then), 1)
