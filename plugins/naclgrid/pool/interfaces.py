"""Seams of the local elastic pool (to be merged into naclgrid.interfaces).

The pool splits "how many agents" (:class:`IScalingPolicy`) from "how an agent
is started and stopped" (:class:`IAgentLauncher`): local subprocesses today,
cloud machines later, with the same policy or a provider's own.
"""

from zope.interface import Attribute, Interface


class IDemand(Interface):
    """What the grid asks of its agents right now."""

    queued = Attribute("Tasks waiting in running jobs (int).")
    leased = Attribute("Tasks some agent is running (int).")


class IScalingPolicy(Interface):
    """Decides how many agents should run."""

    def desired(demand, running, now):
        """Return how many agents should run, given an :class:`IDemand`, the
        number of agents running (not draining) and the time ``now``
        (seconds). Called on every pool tick; may keep state (e.g. when the
        grid was last busy, for an idle timeout)."""


class IAgentLauncher(Interface):
    """Starts and stops agents."""

    def set_key(key):
        """The API key new agents authenticate with."""

    def running():
        """Number of agents alive and not asked to drain."""

    def start_agent():
        """Start one more agent (its readiness is not awaited)."""

    def drain_agent():
        """Ask one agent to stop taking work and exit once what it holds is
        finished and delivered (never kill an agent that holds a lease)."""

    def stop_all(grace):
        """Stop every agent: drain, and kill what has not exited after
        ``grace`` seconds (used when the server itself stops). Returns a
        Deferred that fires once all have exited."""
