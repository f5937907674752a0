"""Elastic scale-out: an autoscaler policy and node providers (local agent
processes, or cloud machines through apache-libcloud).

The naclgrid plugin wires it in three places (see docs/elastic.md)::

    errors += check_elastic_config(section.get("elastic"))          # check_config
    service = build_elastic(section.get("elastic"), grid, keys, reactor,
                            url=LOCAL_API_URL, data_dir=data_dir)   # build; None if off
    install_elastic(app)                  # naclgrid/api/app.py: GET elastic (status.py)
"""

import os

from twisted.application.service import MultiService, Service
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from naclgrid.elastic.config import ElasticSettings, check_elastic_config
from naclgrid.elastic.model import ClusterView, Decision, JobDemand, NodeView, ProviderNode
from naclgrid.elastic.policy import ElasticPolicy
from naclgrid.elastic.service import ElasticService

__all__ = ["ClusterView", "Decision", "ElasticPolicy", "ElasticService", "ElasticSettings",
           "JobDemand", "NodeView", "ProviderNode", "build_elastic", "check_elastic_config"]


class ThreadPoolService(Service):
    """Starts and stops the thread pool blocking libcloud calls run in."""

    def __init__(self, pool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()


def build_elastic(section, grid, keys, reactor, url, data_dir=None, key_factory=None,
                  server_id=None, log=None, environ=None):
    """The autoscaler's IService for a checked ``[app.naclgrid.elastic]``
    table, or None when it is disabled. ``grid`` is the engine's IGrid,
    ``keys`` its KeyService, ``url`` the naclgrid API URL local agents use
    (cloud nodes use ``server_url``). Raises CredentialError when a cloud's
    credentials are missing, so the server refuses to start half-configured."""
    settings = ElasticSettings.from_section(section)
    if not settings.enabled:
        return None
    policy = ElasticPolicy(settings)
    if settings.provider == "local":
        from naclgrid.elastic.local import LocalProvider
        from naclgrid.pool import LocalLauncher, pool_key_factory

        folder = getattr(data_dir, "path", data_dir) or os.path.join(
            os.path.expanduser("~"), ".cache", "naclgrid")
        launcher = LocalLauncher(reactor, url, settings.slots_per_node,
                                 os.path.join(folder, "pool-cache"),
                                 node_prefix=f"gh-{settings.pool}")
        provider = LocalProvider(launcher, key_factory or pool_key_factory(keys, folder))
        return ElasticService(settings, policy, provider, grid, reactor, server_id, log)

    from naclgrid.elastic.cloud import CloudProvider, adapter_for, make_driver

    threads = ThreadPool(minthreads=0, maxthreads=4, name="naclgrid-elastic")
    cloud = dict(settings.cloud)
    provider = CloudProvider(
        make_driver(settings.provider, cloud, environ), adapter_for(settings.provider, cloud),
        keys, settings.pool, settings.server_url or url, settings.slots_per_node,
        lambda f, *a, **kw: deferToThreadPool(reactor, threads, f, *a, **kw),
        install=cloud.get("install", "gridhost"), pip_index_url=cloud.get("pip_index_url", ""))
    top = MultiService()
    ThreadPoolService(threads).setServiceParent(top)
    ElasticService(settings, policy, provider, grid, reactor, server_id, log).setServiceParent(top)
    return top
