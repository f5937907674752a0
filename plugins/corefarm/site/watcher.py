"""Rendering jobs that arrive through the REST API.

The original Corefarm client creates a ``yafaray`` job, drops its archive
and calls ``start_job(input="$scene.xml$ 0")`` against naclgrid directly;
nothing in the site sees it. This watcher looks for such jobs (running, no
task forked yet, not created by the site) and hands each to the render
master exactly once across all servers sharing the store.
"""

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from naclgrid.errors import GridError

# The kv claim outlives any job that could still be waiting for a master.
CLAIM_TTL = 7 * 24 * 3600
SITE_META = "render_master"     # set in a job's meta by RenderMaster.submit


class StartedJobWatcher:
    """``StartedJobWatcher(grid, master, keyspace, applications=("yafaray",))``."""

    log = Logger(namespace="corefarm.watcher")

    def __init__(self, grid, master, keyspace, applications=("yafaray",), log=None):
        self._grid, self._master, self._kv = grid, master, keyspace
        self.applications = frozenset(applications)
        self._seen = set()
        self.running = {}               # job_id -> Deferred of master.run
        if log is not None:
            self.log = log

    async def claim(self, job_id):
        """True once per job across servers: whoever claims runs the master."""
        self._seen.add(job_id)
        return await self._kv.claim("master:" + job_id, ttl=CLAIM_TTL)

    def on_event(self, event):
        """Store events: a started render job is picked up at once (the
        periodic ``look`` is only the safety net for missed events)."""
        kind, job_id, application = event
        if kind == "started" and application in self.applications and job_id not in self._seen:
            d = ensureDeferred(self._consider(job_id))
            d.addErrback(lambda f: self.log.failure("watching {job_id} failed", f, job_id=job_id))
        elif kind == "reconnect":
            d = ensureDeferred(self.look())
            d.addErrback(lambda f: self.log.failure("watcher pass failed", f))

    async def _consider(self, job_id):
        try:
            job = await self._grid.get_job(job_id)
        except GridError:
            return False
        if job.meta.get(SITE_META) or not await self.claim(job_id):
            self._seen.add(job_id)
            return False
        self.log.info("rendering API job {job_id} of {owner}", job_id=job_id, owner=job.owner)
        self._start(job_id)
        return True

    async def look(self):
        """One pass; returns the job ids handed to the master."""
        handed = []
        for status in await self._grid.list_jobs(None):
            job_id = status["job_id"]
            if (job_id in self._seen or status.get("application") not in self.applications
                    or status.get("state") != "running" or status.get("total")):
                continue
            if await self._consider(job_id):
                handed.append(job_id)
        if len(self._seen) > 100_000:
            self._seen.clear()
        return handed

    def _start(self, job_id):
        # RenderMaster.start runs the master in the background, once per process.
        launch = getattr(self._master, "start", None) or self._master.run
        d = ensureDeferred(_maybe_async(launch, job_id))
        self.running[job_id] = d

        def done(result):
            self.running.pop(job_id, None)
            return result

        d.addBoth(done)
        d.addErrback(lambda f: self.log.failure("render master failed on {job_id}", f,
                                                job_id=job_id))


async def _maybe_async(function, *args):
    result = function(*args)
    if hasattr(result, "__await__") or hasattr(result, "addCallback"):
        result = await result
    return result


class Periodic(Service):
    """Run ``work()`` (a coroutine function) every ``interval`` seconds on
    ``clock``; a failure is logged and the next round still runs."""

    def __init__(self, name, interval, work, clock, log):
        self.name, self.interval, self.work = name, interval, work
        self.clock, self.log = clock, log
        self._loop = None

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self._round)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _round(self):
        d = ensureDeferred(self.work())
        d.addErrback(lambda f: self.log.failure("{name} failed", f, name=self.name))
        return d
