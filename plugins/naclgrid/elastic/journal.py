"""Every decision with its reason: logged, and kept for the status API."""

from collections import deque

from twisted.logger import Logger

from naclgrid.elastic.model import HOLD

HISTORY = 100


class Journal:
    """Keeps the last decision and the last ``size`` entries. A scale action
    or a lifecycle event is always logged; a hold is logged when its gist
    (what blocks it, the node count) changes, so a quiet pool
    does not fill the log every tick while nothing new is decided."""

    def __init__(self, pool, clock, log=None, size=HISTORY):
        self.pool = pool
        self._clock = clock
        self.log = log or Logger(namespace="naclgrid.elastic")
        self.entries = deque(maxlen=size)
        self.last_decision = None
        self._last_gist = None

    def decision(self, decision):
        now = self._clock.seconds()
        entry = dict(decision.to_json(), at=now, kind="decision")
        self.last_decision = entry
        # The target of a trickle flips every tick; what blocks and what runs is news.
        gist = (decision.action, decision.blocked_by, decision.details.get("active"))
        if decision.action == HOLD and gist == self._last_gist:
            return entry
        self._last_gist = gist
        self.entries.append(entry)
        self.log.info("elastic {pool}: {action}{count}: {reason}", pool=self.pool,
                      action=decision.action,
                      count=f" {decision.count}" if decision.count else "",
                      reason=decision.reason, decision=entry)
        return entry

    def event(self, what, node=None, reason="", warn=False):
        """A lifecycle event: launched, joined, fenced, destroyed, adopted..."""
        entry = {"at": self._clock.seconds(), "kind": "event", "event": what, "node": node,
                 "reason": reason}
        self.entries.append(entry)
        emit = self.log.warn if warn else self.log.info
        emit("elastic {pool}: {event} {node}: {reason}", pool=self.pool, event=what,
             node=node or "-", reason=reason, elastic_event=entry)
        self._last_gist = None      # the next hold is news again
        return entry

    def restore(self, entries):
        """Entries a previous leader published (oldest first)."""
        for entry in entries[-self.entries.maxlen:]:
            if isinstance(entry, dict):
                self.entries.append(entry)
