"""The default scaling policy: enough agents for the queue, none when idle."""

import math

from zope.interface import implementer

from naclgrid.pool.interfaces import IScalingPolicy


@implementer(IScalingPolicy)
class QueuePolicy:
    """Scale up at once to ``ceil((queued + leased) / slots_per_agent)`` agents
    (at most ``max_agents``); scale down to zero only after the grid has had
    neither queued nor leased tasks for ``idle_timeout`` seconds.

    Scaling down while work remains would gain nothing on one machine (an
    idle agent costs one parked long poll) and would risk draining an agent
    just before the next burst, so partial scale-down is left to policies of
    providers that pay per machine.
    """

    def __init__(self, max_agents, slots_per_agent, idle_timeout):
        self.max_agents = max_agents
        self.slots_per_agent = slots_per_agent
        self.idle_timeout = idle_timeout
        self._last_busy = None

    def desired(self, demand, running, now):
        if demand.queued or demand.leased:
            self._last_busy = now
        if demand.queued:
            wanted = math.ceil((demand.queued + demand.leased) / self.slots_per_agent)
            return max(running, min(self.max_agents, wanted))
        if demand.leased:
            return running
        if self._last_busy is None or now - self._last_busy >= self.idle_timeout:
            return 0
        return running
