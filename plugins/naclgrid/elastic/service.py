"""The elastic service: every ``interval``, read the grid, ask the policy,
rent or release nodes, and publish what it did and why.

A node's life in the service's books::

    booting --agent polls--> ready --policy picks it (no lease)--> draining
       |                                                              |
       `--boot_timeout / policy (no lease)--> draining     fence; wait drain_grace;
                                                           leases still 0? destroy

Fencing revokes a cloud node's key, so after ``drain_grace`` (longer than
any long poll it had parked before) it cannot hold a lease it did not hold
when we looked: a node is destroyed only when it provably holds none. A
lease won in the race expires and requeues; the node waits for that.

Only the leader (see :mod:`naclgrid.elastic.leader`) acts; it keeps its
books (nodes, money spent, history) in the store, so the next leader or a
restarted server carries on, and any server's status endpoint shows them.
"""

import json
import secrets
from dataclasses import dataclass

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from naclgrid.elastic.demand import job_demands
from naclgrid.elastic.journal import Journal
from naclgrid.elastic.leader import LeaderTerms
from naclgrid.elastic.model import (BOOTING, DOWN, DRAINING, READY, UP, ClusterView, Decision,
                                    HOLD, NodeView)

MAX_LAUNCH_BACKOFF = 600.0
KICK_DELAY = 0.05           # new work -> a decision this soon (events come in bursts)
MIN_KICK_SPACING = 0.25     # ... but never more often than this between decisions
BOOTING_GRACE = 5.0         # fence -> destroy for a node whose agent never reached the grid


def state_key(pool):
    return f"elastic:{pool}"


POOLS_KEY = "elastic:pools"


@dataclass
class NodeRecord:
    name: str
    phase: str
    launched_at: float
    provider_id: str | None = None
    key_id: str | None = None
    joined_at: float | None = None
    last_live: float | None = None
    idle_since: float | None = None
    fenced_at: float | None = None
    grace: float = 0.0
    leases: int = 0
    seen_after_fence: bool = False
    handle: object = None
    warned: bool = False
    boot_started: float | None = None     # boot_timeout counts from here (adoption resets it)

    def __post_init__(self):
        if self.boot_started is None:
            self.boot_started = self.launched_at

    def to_json(self, now):
        return {"name": self.name, "provider_id": self.provider_id, "phase": self.phase,
                "leases": self.leases, "launched_at": self.launched_at,
                "joined_at": self.joined_at, "last_live": self.last_live,
                "idle_for": None if self.idle_since is None else round(now - self.idle_since, 3),
                "fenced_at": self.fenced_at, "key_id": self.key_id}


class ElasticService(Service):
    """``grid`` is the engine's IGrid (its ``store`` keeps the books),
    ``provider`` an INodeProvider, ``policy`` an IElasticPolicy."""

    name = "naclgrid-elastic"

    def __init__(self, settings, policy, provider, grid, clock, server_id=None, log=None):
        self.settings = settings
        self.policy = policy
        self.provider = provider
        self.grid = grid
        self.store = grid.store
        self.clock = clock
        self.server_id = server_id or secrets.token_hex(4)
        self.log = log or Logger(namespace="naclgrid.elastic")
        self.journal = Journal(settings.pool, clock, self.log)
        self.leader = LeaderTerms(self.store, clock, settings.pool, settings.leader_term)
        self.nodes = {}
        self.spent = 0.0
        self.is_leader = False
        self.view = None
        self._loop = None
        self._last_tick = None
        self._last_reconcile = None
        self._launch_backoff = 0.0
        self._launch_blocked_until = None
        self._launch_error = None
        self._pending = []
        self._running = None            # the Deferred of the tick in progress
        self._kick = None
        self._unsubscribe = None
        self._last_round = None

    # -- lifecycle --------------------------------------------------------------------------
    def startService(self):
        super().startService()
        # Work arriving wakes a decision at once instead of at the next interval,
        # so a burst is answered in milliseconds, not interval / 2 on average.
        self._unsubscribe = self.store.subscribe(self._on_event)
        self._loop = LoopingCall(self.tick)
        self._loop.clock = self.clock
        self._loop.start(self.settings.interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._kick is not None and self._kick.active():
            self._kick.cancel()
        self._kick = None
        # Rented machines outlive the server on purpose: the next one adopts them.
        # Local agents are children of this process and stop with it.
        shutdown = getattr(self.provider, "shutdown", None)
        if shutdown is not None:
            return shutdown()

    def tick(self):
        """One round; never fails (a failure would end the LoopingCall).
        Rounds never overlap: a tick asked for during one joins it."""
        if self._running is not None:
            return self._running
        self._last_round = self.clock.seconds()
        d = self._running = ensureDeferred(self._guarded())

        def done(_):
            self._running = None
        d.addBoth(done)
        return d

    def _on_event(self, event):
        if event[0] != "work" or not self.running or not self.is_leader:
            return
        if self._kick is not None and self._kick.active():
            return
        since = self.clock.seconds() - (self._last_round or 0.0)
        self._kick = self.clock.callLater(max(KICK_DELAY, MIN_KICK_SPACING - since), self.tick)

    async def _guarded(self):
        try:
            await self._tick()
        except Exception:
            self.log.failure("elastic {pool}: tick failed; trying again next tick",
                             pool=self.settings.pool)

    # -- one round --------------------------------------------------------------------------
    async def _tick(self):
        now = self.clock.seconds()
        leading = await self.leader.check()
        if not leading:
            if self.is_leader:
                self.journal.event("lost_leadership", reason="another server leads this term")
                self.nodes.clear()
            self.is_leader = False
            self._last_tick = None
            return
        if not self.is_leader:
            self.is_leader = True
            await self._load_books(now)
            await self.reconcile(now)
        elif now - self._last_reconcile >= self.settings.reconcile_interval:
            await self.reconcile(now)

        jobs = await self.store.list_jobs(None)
        grid_nodes = {n.node: n for n in await self.grid.nodes()}
        self._account(now)
        self._observe(grid_nodes, now)
        foreign = sum(n.leases for name, n in grid_nodes.items() if name not in self.nodes)
        view = ClusterView(jobs=job_demands(jobs, self.settings.ghz_per_slot),
                           nodes=tuple(self._node_view(r, now) for r in self.nodes.values()),
                           foreign_leases=foreign, spent=self.spent)
        self.view = view
        await self._housekeeping(now)
        decision = self.policy.decide(view, now)
        if decision.action == UP and self._launch_blocked_until is not None \
                and now < self._launch_blocked_until:
            decision = Decision(
                HOLD, 0, f"{decision.reason.split(': start')[0]}; the provider failed to start "
                f"a node ({self._launch_error}); retrying in "
                f"{self._launch_blocked_until - now:.0f} s", decision.target,
                blocked_by="provider", details=decision.details)
        self.journal.decision(decision)
        if decision.action == UP:
            self._launch(decision.count, now)
        elif decision.action == DOWN:
            for name in decision.victims:
                await self._fence(self.nodes[name], now, "chosen by the policy: " + decision.reason)
        await self.publish(now)

    def _account(self, now):
        if self._last_tick is not None and self.settings.price_per_hour > 0:
            self.spent += (self.settings.price_per_hour * len(self.nodes)
                           * max(0.0, now - self._last_tick) / 3600.0)
        self._last_tick = now

    def _observe(self, grid_nodes, now):
        for record in self.nodes.values():
            info = grid_nodes.get(record.name)
            live = info is not None and info.live(now)
            record.leases = info.leases if info is not None else 0
            if live:
                record.last_live = now
                if record.phase == DRAINING and info.last_seen >= (record.fenced_at or 0):
                    record.seen_after_fence = True
                if record.phase == BOOTING:
                    record.phase, record.joined_at = READY, now
                    self.journal.event("joined", record.name,
                                       f"its agent polls, {now - record.launched_at:.0f} s "
                                       "after launch")
            if record.leases > 0:
                record.idle_since = None
            elif record.idle_since is None:
                record.idle_since = now

    @staticmethod
    def _node_view(record, now):
        return NodeView(record.name, record.phase, record.leases,
                        None if record.idle_since is None else now - record.idle_since,
                        now - record.launched_at)

    async def _housekeeping(self, now):
        """Replace broken nodes and destroy drained ones (never with a lease)."""
        s = self.settings
        for record in list(self.nodes.values()):
            if record.provider_id is None:
                continue                        # its create call has not returned yet
            if record.phase == BOOTING and now - record.boot_started > s.boot_timeout:
                await self._fence(record, now, f"its agent did not reach the grid within "
                                               f"boot_timeout ({s.boot_timeout:g} s)")
            elif record.phase == READY and record.last_live is not None \
                    and now - record.last_live > s.lost_timeout:
                await self._fence(record, now, f"its agent has been silent for "
                                               f"{now - record.last_live:.0f} s")
            elif record.phase == DRAINING:
                grace = s.drain_grace if record.seen_after_fence else record.grace
                if now - record.fenced_at < grace:
                    continue
                if record.leases > 0:
                    if not record.warned:
                        record.warned = True
                        self.journal.event("kept", record.name,
                                           f"fenced but still holds {record.leases} lease(s); "
                                           "it goes once they are acked or expire", warn=True)
                    continue
                await self._destroy(record, "fenced and holds no lease")

    # -- acting ---------------------------------------------------------------------------
    def _new_name(self):
        while True:
            name = f"gh-{self.settings.pool}-{secrets.token_hex(4)}"
            if name not in self.nodes:
                return name

    def _launch(self, count, now):
        calls = []
        for _ in range(count):
            record = NodeRecord(self._new_name(), BOOTING, launched_at=now)
            self.nodes[record.name] = record
            calls.append(ensureDeferred(self._create(record)))
        # Launches run in the background: a slow cloud API must not stall the ticks.
        d = gatherResults(calls)
        self._pending.append(d)
        d.addBoth(lambda _: self._pending.remove(d))

    async def _create(self, record):
        try:
            node = await self.provider.create_node(record.name)
        except Exception as exc:  # noqa: BLE001 - any provider error is logged and backed off
            self.nodes.pop(record.name, None)
            self._launch_backoff = min(MAX_LAUNCH_BACKOFF,
                                       max(self.settings.interval * 2, self._launch_backoff * 2))
            self._launch_blocked_until = self.clock.seconds() + self._launch_backoff
            self._launch_error = _short(exc)
            self.journal.event("launch_failed", record.name,
                               f"{self._launch_error}; no launch for {self._launch_backoff:.0f} s",
                               warn=True)
            return
        self._launch_backoff, self._launch_blocked_until, self._launch_error = 0.0, None, None
        if node.name != record.name and self.nodes.get(record.name) is record:
            # The provider chose the node id (the local launcher names its agents).
            del self.nodes[record.name]
            record.name = node.name
            self.nodes[record.name] = record
        record.provider_id, record.key_id, record.handle = node.provider_id, node.key_id, node.handle
        self.journal.event("launched", record.name,
                           f"{self.provider.kind} node {node.provider_id}")

    async def _fence(self, record, now, reason):
        try:
            await self.provider.fence_node(self._provider_node(record))
        except Exception as exc:  # noqa: BLE001
            self.journal.event("fence_failed", record.name, _short(exc), warn=True)
            return
        unseen = record.phase == BOOTING and record.last_live is None
        record.phase, record.fenced_at = DRAINING, now
        record.grace = min(BOOTING_GRACE, self.settings.drain_grace) if unseen \
            else self.settings.drain_grace
        record.seen_after_fence = False
        self.journal.event("fenced", record.name, reason)

    async def _destroy(self, record, reason):
        try:
            await self.provider.destroy_node(self._provider_node(record))
        except Exception as exc:  # noqa: BLE001
            self.journal.event("destroy_failed", record.name, _short(exc), warn=True)
            return
        self.nodes.pop(record.name, None)
        self.journal.event("destroyed", record.name, reason)

    def _provider_node(self, record):
        from naclgrid.elastic.model import ProviderNode
        return ProviderNode(record.name, record.provider_id, record.launched_at, record.key_id,
                            handle=record.handle)

    # -- adoption --------------------------------------------------------------------------
    async def reconcile(self, now):
        """Match our books with the provider's list: adopt tagged nodes we do
        not know (started by an earlier server), forget ones that vanished."""
        self._last_reconcile = now
        listed = {n.name: n for n in await self.provider.list_nodes()}
        for name, node in listed.items():
            record = self.nodes.get(name)
            if record is None:
                launched = node.created_at if node.created_at is not None else now
                # Its agent may still be reconnecting to a restarted server: give it
                # a whole boot_timeout from now before calling it broken.
                self.nodes[name] = NodeRecord(name, BOOTING, launched_at=launched,
                                              provider_id=node.provider_id, key_id=node.key_id,
                                              handle=node.handle, boot_started=now)
                self.journal.event("adopted", name, f"{self.provider.kind} node "
                                   f"{node.provider_id} carries our pool tag")
            else:
                record.handle = node.handle
                record.provider_id = record.provider_id or node.provider_id
                record.key_id = record.key_id or node.key_id
        for name, record in list(self.nodes.items()):
            if name not in listed and record.provider_id is not None:
                self.nodes.pop(name)
                try:
                    await self.provider.destroy_node(self._provider_node(record))
                except Exception as exc:  # noqa: BLE001
                    self.log.warn("elastic: could not clean up {node}: {e}", node=name, e=exc)
                self.journal.event("vanished", name, "no longer listed by the provider "
                                   "(terminated elsewhere?); its key is revoked", warn=True)

    async def _load_books(self, now):
        raw = await self.store.kv_get(state_key(self.settings.pool), now=now)
        if not raw:
            return
        try:
            books = json.loads(raw)
        except ValueError:
            return
        self.spent = float(books.get("spent", 0.0))
        self.journal.restore(books.get("history", []))
        if not self.provider.adopts:
            return          # local agents were the previous leader's children, not ours
        for item in books.get("nodes", []):
            if not isinstance(item, dict) or "name" not in item:
                continue
            phase = item.get("phase") if item.get("phase") in (BOOTING, READY, DRAINING) else BOOTING
            record = NodeRecord(item["name"], phase, launched_at=item.get("launched_at") or now,
                                provider_id=item.get("provider_id"), key_id=item.get("key_id"),
                                joined_at=item.get("joined_at"), fenced_at=item.get("fenced_at"))
            record.boot_started = now
            if phase == READY:
                record.last_live = now
            if phase == DRAINING:
                record.fenced_at = record.fenced_at or now
                record.grace = self.settings.drain_grace
            if record.provider_id is not None:
                self.nodes[record.name] = record

    # -- status -----------------------------------------------------------------------------
    def status(self, now=None):
        now = self.clock.seconds() if now is None else now
        s = self.settings
        return {
            "pool": s.pool,
            "provider": self.provider.kind,
            "leader": self.server_id,
            "updated_at": now,
            "settings": {k: getattr(s, k) for k in (
                "min_nodes", "max_nodes", "standby", "slots_per_node", "ghz_per_node",
                "price_per_hour", "max_hourly_spend", "budget", "scale_up_cooldown",
                "scale_down_cooldown", "idle_timeout", "boot_timeout", "drain_grace",
                "interval")},
            "spent": round(self.spent, 6),
            "spend_rate_per_hour": s.price_per_hour * len(self.nodes),
            "nodes": [r.to_json(now) for r in sorted(self.nodes.values(), key=lambda r: r.name)],
            "last_decision": self.journal.last_decision,
            "history": list(self.journal.entries),
        }

    async def publish(self, now):
        """Write the books and status where every server's API can read them."""
        body = self.status(now)
        await self.store.kv_set(state_key(self.settings.pool), json.dumps(body).encode(), now=now)
        raw = await self.store.kv_get(POOLS_KEY, now=now)
        pools = json.loads(raw) if raw else []
        if self.settings.pool not in pools:
            await self.store.kv_set(POOLS_KEY, json.dumps(sorted(pools + [self.settings.pool]))
                                    .encode(), now=now)


def _short(exc):
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
