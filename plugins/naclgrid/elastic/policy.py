"""The autoscaler's policy: how many nodes, which ones go, and why.

Demand is counted in agent slots. Each running, unheld job wants one slot
per queued or leased task, capped by its capacity request (``ghz`` or
``slots`` given to start_job): a job asking for 8 slots never rents more
than 8 however long its queue. Leases held by nodes that are not ours
(volunteers, the local pool) are work already covered. Nodes wanted =
ceil(slots / slots_per_node) + the warm standby, kept within
[min_nodes, max_nodes] and under the spending cap.

Scaling down is decided by demand and lease state, never by a per-node
idle timer that any activity resets (Ray's ray#60546): the pool shrinks to
the highest target of the last ``idle_timeout`` seconds, and the nodes that
go are ones holding no lease right now: nodes still booting first (they
cost and do nothing, ray#45195), then the longest idle. A node holding a
lease is never a victim, whatever the surplus or the budget says.
"""

import math
from collections import deque

from zope.interface import implementer

from naclgrid.elastic.interfaces import IElasticPolicy
from naclgrid.elastic.model import (BOOTING, DOWN, HOLD, READY, UP, ClusterView, Decision,
                                    JobDemand, NodeView)


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


@implementer(IElasticPolicy)
class ElasticPolicy:
    """``settings`` is a :class:`naclgrid.elastic.config.ElasticSettings`."""

    def __init__(self, settings):
        self.settings = settings
        self.last_up = None          # when nodes were last started
        self.last_change = None      # when nodes were last started or stopped
        self._idle_since = None      # for desired(): when the grid last had no work
        self._window = deque()       # (time, target) of the last idle_timeout seconds
        self._watch_start = None

    # -- the capacity ceiling ---------------------------------------------------------------
    def ceiling(self, spent):
        """``(nodes, blocked_by, why)``: the most nodes allowed right now."""
        s = self.settings
        cap, kind, why = s.max_nodes, "max_nodes", f"max_nodes is {s.max_nodes}"
        if s.price_per_hour > 0 and s.max_hourly_spend > 0:
            afford = math.floor(s.max_hourly_spend / s.price_per_hour + 1e-9)
            if afford < cap:
                cap, kind = afford, "spend_cap"
                why = (f"the spend cap of {s.max_hourly_spend:g}/h buys "
                       f"{_plural(afford, 'node')} at {s.price_per_hour:g}/h")
        if s.budget > 0 and spent >= s.budget:
            cap, kind = 0, "budget"
            why = f"the budget is spent ({spent:.2f} of {s.budget:g})"
        return cap, kind, why

    def _stable_target(self, target, have, now):
        """The highest target of the last ``idle_timeout`` seconds: scale up at
        once, scale down only to what demand has stayed under for a whole
        window (a trickle of short tasks keeps every node briefly busy, so a
        per-node idle timer would never fire; ray#60546). Until the policy
        has watched a whole window, the nodes it found count as wanted: a
        restarted server does not shrink the pool on its first look."""
        window = self._window
        if self._watch_start is None:
            self._watch_start = now
        window.append((now, target))
        horizon = now - self.settings.idle_timeout
        while window and window[0][0] < horizon:
            window.popleft()
        stable = max(t for _, t in window)
        if self._watch_start > horizon:
            stable = max(stable, have)
        return stable

    # -- the decision ----------------------------------------------------------------------
    def decide(self, view, now):
        s = self.settings
        jobs = view.jobs
        wanted_slots = max(0, sum(j.slots_wanted for j in jobs) - view.foreign_leases)
        needed = math.ceil(wanted_slots / s.slots_per_node)
        active = view.active
        if view.queued == 0:
            # Everything already runs (some agents prefetch): more nodes would idle.
            needed = min(needed, sum(1 for n in active if n.leases > 0))
        raw = max(needed + s.standby, s.min_nodes)
        cap, cap_kind, cap_why = self.ceiling(view.spent)
        target = min(raw, cap)
        have = len(active)
        leased = f" + {view.leased} running" if view.leased else ""
        demand = (f"{_plural(view.queued, 'queued task')}{leased} in "
                  f"{_plural(len(jobs), 'job')} want {_plural(wanted_slots, 'slot')}")
        if view.foreign_leases:
            demand += f" beyond {view.foreign_leases} leased by other nodes"
        demand += f" = {_plural(needed, 'node')}"
        if s.standby:
            demand += f" + {s.standby} standby"
        if raw > needed + s.standby:
            demand += f" (min_nodes {s.min_nodes})"
        capped = f"; capped at {target}: {cap_why}" if raw > cap else ""
        details = {"queued": view.queued, "jobs": len(jobs), "wanted_slots": wanted_slots,
                   "needed_nodes": needed, "standby": s.standby, "ceiling": cap,
                   "active": have, "draining": len(view.nodes) - have, "target": target,
                   "spent": round(view.spent, 4)}

        stable = self._stable_target(target, have, now)
        details["stable_target"] = stable

        def hold(reason, blocked_by=None):
            return Decision(HOLD, 0, reason, target, blocked_by=blocked_by, details=details)

        if target > have:
            if self.last_up is not None and now - self.last_up < s.scale_up_cooldown:
                wait = s.scale_up_cooldown - (now - self.last_up)
                return hold(f"{demand}; have {have}{capped}; scale-up cooldown for "
                            f"{wait:.0f} s more", "cooldown")
            count = min(target - have, s.max_launch_per_tick)
            self.last_up = self.last_change = now
            more = f" (at most {s.max_launch_per_tick} per tick)" if count < target - have else ""
            return Decision(UP, count, f"{demand}; have {have}{capped}: start {count}{more}",
                            target, blocked_by=cap_kind if capped else None, details=details)

        if target < have:
            if stable >= have:
                return hold(f"{demand}; have {have}{capped}: {have - target} too many now, but "
                            f"demand reached {_plural(stable, 'node')} within the last "
                            f"{s.idle_timeout:g} s",
                            "idle_timeout")
            if self.last_change is not None and now - self.last_change < s.scale_down_cooldown:
                wait = s.scale_down_cooldown - (now - self.last_change)
                return hold(f"{demand}; have {have}{capped}: {have - stable} too many, but the "
                            f"scale-down cooldown lasts {wait:.1f} s more", "cooldown")
            surplus = have - stable
            booting = sorted((n for n in active if n.phase == BOOTING and n.leases == 0),
                             key=lambda n: n.age)
            free = sorted((n for n in active if n.phase == READY and n.leases == 0),
                          key=lambda n: -(n.idle_for or 0.0))
            busy = [n for n in active if n.leases > 0]
            victims = tuple(n.name for n in (booting + free)[:surplus])
            kept = f"; kept {_plural(len(busy), 'node')} holding leases" if busy else ""
            if not victims:
                return hold(f"{demand}; have {have}{capped}: {surplus} too many, but all "
                            f"{len(busy)} hold leases", "leases")
            self.last_change = now
            return Decision(DOWN, len(victims),
                            f"{demand}; have {have}{capped}, at most {stable} wanted in the "
                            f"last {s.idle_timeout:g} s: stop {len(victims)} holding no lease "
                            f"({', '.join(victims)}){kept}",
                            target, victims=victims, details=details)

        return hold(f"{demand}; have {have}{capped}: at target")

    # -- the pool's IScalingPolicy ---------------------------------------------------------
    def desired(self, demand, running, now):
        """The pool's interface: an IDemand carries totals only, so the
        agents count as busy while any task is leased and as idle since the
        grid last had work. The pool's launcher drains an agent gracefully,
        so this never costs a lease either."""
        work = demand.queued or demand.leased
        if work:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        idle_for = None if work else now - self._idle_since
        nodes = tuple(NodeView(f"agent-{i}", READY, 1 if demand.leased else 0,
                               None if demand.leased else idle_for) for i in range(running))
        view = ClusterView(jobs=(JobDemand("*", demand.queued, demand.leased),), nodes=nodes)
        decision = self.decide(view, now)
        if decision.action == UP:
            return running + decision.count
        if decision.action == DOWN:
            return running - decision.count
        return running
