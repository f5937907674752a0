"""Seams of the elastic autoscaler.

The pool of issue 4 splits "how many agents" (``IScalingPolicy``) from "how
an agent is started" (``IAgentLauncher``). Renting machines needs more than
that interface carries: which node to stop (never one holding a lease), a
fence before the machine goes, tags to find our machines again after a
restart, a price. :class:`INodeProvider` is that richer launcher, and
:class:`IElasticPolicy` extends the pool's policy with a decision that names
its reason and its victims. ``naclgrid.elastic.local`` adapts the pool's
local launcher to :class:`INodeProvider`, so one service drives both.
"""

from zope.interface import Attribute, Interface

from naclgrid.pool.interfaces import IScalingPolicy


class INodeProvider(Interface):
    """Rents and releases nodes: machines (or processes) running ``gridhost
    agent``, each registering with the grid under its own node id."""

    kind = Attribute("Short name for logs and status: 'local', 'ec2', 'gce', 'dummy'...")
    adopts = Attribute("True when list_nodes finds nodes started by an earlier server.")

    def list_nodes():
        """A Deferred firing with the :class:`~naclgrid.elastic.model.ProviderNode`
        list of this pool's nodes that still exist (tagged as ours), whoever
        started them."""

    def create_node(name):
        """Start a node whose agent registers as node id ``name``. A Deferred
        firing with its ProviderNode once the provider accepted the request
        (the agent joins later). On failure nothing is left behind (no
        machine, no live key)."""

    def fence_node(node):
        """Make the node take no new work: revoke its agent key (a cloud
        node) or ask the agent to drain (a local one). Deferred. The caller
        waits ``drain_grace`` and re-reads the node's leases before
        :meth:`destroy_node`."""

    def destroy_node(node):
        """Release the machine and revoke its key. Deferred firing True when
        the node is gone (or was already)."""


class IElasticPolicy(IScalingPolicy):
    """A scaling policy that explains itself and picks which nodes go."""

    def decide(view, now):
        """Return a :class:`~naclgrid.elastic.model.Decision` for a
        :class:`~naclgrid.elastic.model.ClusterView` at time ``now``: scale
        up by a count, scale down naming the victims (never a node holding
        a lease), or hold; always with a human-readable reason. Keeps the
        cooldown state (the service acts on every decision it gets)."""
