"""The async client: one naclgrid server, one key."""

import os
import socket

from twisted.internet.defer import ensureDeferred

from naclgrid.client.api import GridAPI
from naclgrid.client.credentials import credentials_for
from naclgrid.client.job import Job
from naclgrid.client.transport import Transport


def treq_client(reactor, max_connections=8, base_url=None):
    """The default HTTP client (treq's interface) and what closes it: with
    ``base_url`` (the API's root) calls use the agent channel when the
    server has one (naclgrid.client.channel)."""
    from naclgrid.client.http import AgentHTTP

    http = AgentHTTP(reactor, max_connections)
    if base_url is None:
        return http, http
    from naclgrid.client.channel import ChannelHTTP

    channel = ChannelHTTP(reactor, base_url, http, http.endpoints)
    return channel, channel


class Grid:
    """An async naclgrid client.

    ``reactor`` provides time (and the network and threads unless ``http``,
    a treq-like client, is given: tests pass ``treq.testing.StubTreq``).
    ``compute`` lets a master run its own job's tasks while it waits and no
    agent is free; ``local_slots`` is how many at once. ``scheme`` is
    ``"bearer"`` or ``"hmac"`` (the signed-request form).
    """

    def __init__(self, url, key, *, reactor, http=None, scheme="bearer", compute=True,
                 local_slots=1, cache_dir=None, sandbox=None, retries=8, executor=None):
        self.clock = reactor
        self._pool = None
        if http is None:
            http, self._pool = treq_client(reactor, base_url=url)
        self.api = GridAPI(Transport(http, url, credentials_for(key, scheme), reactor,
                                     retries=retries))
        self.compute = compute
        self.local_slots = local_slots
        self._cache_dir = cache_dir
        self._sandbox = sandbox
        self._executor = executor
        self._node = f"master-{socket.gethostname()[:40]}-{os.getpid()}".replace(" ", "_")

    async def new_job(self, application, *, priority=None, max_attempts=None,
                      lease_seconds=None):
        """Create a job; ``application`` is a registered app name or
        ``file:NAME`` for a module the job uploads with ``drop_file``."""
        answer = await self.api.new_job(application, priority=priority,
                                        max_attempts=max_attempts, lease_seconds=lease_seconds)
        return Job(self, answer["job_id"], application)

    def job(self, job_id):
        """A handle on an existing job."""
        return Job(self, job_id)

    async def jobs(self):
        return await self.api.jobs()

    async def nodes(self):
        return await self.api.nodes()

    def local_worker(self, job_id):
        from naclgrid.client.local import LocalWorker

        return LocalWorker(self.api, job_id, self.executor(), self.clock,
                           slots=self.local_slots, node=self._node)

    def executor(self):
        """The sandbox runner a computing master uses (built on first use)."""
        if self._executor is None:
            from naclgrid.client.executor import TaskExecutor, in_threadpool
            from naclgrid.client.filecache import FileCache

            cache_dir = self._cache_dir or os.path.join(
                os.path.expanduser("~"), ".cache", "naclgrid", "files")
            cache = FileCache(cache_dir, self.api.download)
            self._executor = TaskExecutor(
                cache, in_threadpool(self.clock, self.clock.getThreadPool()),
                sandbox=self._sandbox)
        return self._executor

    def close(self):
        """Close idle persistent connections; a Deferred."""
        if self._pool is not None:
            return self._pool.close()
        return ensureDeferred(_nothing())


async def _nothing():
    return None
