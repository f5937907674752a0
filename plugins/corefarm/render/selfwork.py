"""The master computes too: it runs its own job's queued tiles while it waits.

The seed talk names the original design's risk: a master waiting for results
that no agent will compute. Popping from its own job (a submitter may pop its
own job's tasks) and running the tiles in the same sandbox as an agent means
a render always finishes, with zero agents if need be.
"""

from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from naclgrid.errors import GridError


class SelfWorker:
    """``SelfWorker(grid, reactor, owner, job_id, module_bytes, slots=1)``:
    ``run()`` returns a Deferred that fires once the job has ended (the
    master stops it when the image is written) or ``stop()`` was called."""

    log = Logger(namespace="corefarm.selfwork")

    def __init__(self, grid, reactor, owner, job_id, module_bytes, slots=1, node="master"):
        self._grid, self._reactor = grid, reactor
        self._owner, self._job_id = owner, job_id
        self._module_bytes = module_bytes
        self._slots, self._node = slots, node
        self.done = 0
        self._stopped = False

    def stop(self):
        self._stopped = True

    def run(self):
        return ensureDeferred(self._loop())

    async def _loop(self):
        from naclgrid.sandbox import Sandbox

        box = Sandbox()
        app = box.load(self._module_bytes)
        files = {}
        pool = self._reactor.getThreadPool()
        while not self._stopped:
            job = await self._grid.get_job(self._job_id, owner=self._owner)
            if job.state != "running":
                return
            tasks = await self._grid.pop(self._node, self._owner, max=self._slots,
                                         job_id=self._job_id, owner=self._owner, wait=1)
            if not tasks:
                continue  # leased elsewhere; a lost lease comes back to the queue
            for ref in tasks[0].files:
                if ref.name not in files:
                    files[ref.name] = await self._grid.get_file(ref.sha256)
            await gatherResults([ensureDeferred(self._compute(box, app, files, pool, task))
                                 for task in tasks])

    async def _compute(self, box, app, files, pool, task):
        try:
            result = await deferToThreadPool(self._reactor, pool, box.run, app,
                                             task.entry, task.input, files)
            await self._grid.ack(task.job_id, task.slot, task.lease_id, result=result)
        except GridError as e:
            self.log.info("tile {slot} not acked: {e}", slot=task.slot, e=e)
        except Exception as e:  # noqa: BLE001 - a failing tile is reported, not fatal
            await self._grid.ack(task.job_id, task.slot, task.lease_id, error=str(e))
        self.done += 1
