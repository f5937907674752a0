"""The naclgrid client SDK.

Async (on treq)::

    grid = Grid("http://127.0.0.1:8080/naclgrid/", key, reactor=reactor)
    async with await grid.new_job("echo") as job:
        await job.start()
        slots = await job.fork_many("echo", [b"a", b"b"])
        results = await job.gather(slots)

Blocking, for scripts::

    with connect("http://127.0.0.1:8080/naclgrid/", key) as grid:
        with grid.new_job("echo") as job:
            job.start()
            job.fork_many("echo", [b"a", b"b"])
            print(job.gather())
"""

from naclgrid.client.backoff import Backoff
from naclgrid.client.blocking import BlockingGrid, BlockingJob, connect
from naclgrid.client.errors import GridAPIError, GridError, GridUnavailable, TaskFailed
from naclgrid.client.grid import Grid
from naclgrid.client.job import Job

__all__ = [
    "Backoff", "BlockingGrid", "BlockingJob", "Grid", "GridAPIError", "GridError",
    "GridUnavailable", "Job", "TaskFailed", "connect",
]
