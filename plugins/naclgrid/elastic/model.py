"""Records the elastic service passes between its parts."""

from dataclasses import asdict, dataclass, field

# Phases of a node in the service's books.
BOOTING = "booting"      # rented, its agent has not reached the grid yet
READY = "ready"          # its agent polls the grid
DRAINING = "draining"    # fenced: takes no new work; destroyed once it holds no lease
PHASES = (BOOTING, READY, DRAINING)

# Decision actions.
UP, DOWN, HOLD = "up", "down", "hold"


@dataclass
class ProviderNode:
    """A node as its provider reports it. ``name`` is the grid node id its
    agent uses; ``provider_id`` the cloud's instance id; ``handle`` the
    provider's own object (a libcloud Node, a local process)."""

    name: str
    provider_id: str
    created_at: float | None = None
    key_id: str | None = None
    state: str = "pending"
    handle: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class JobDemand:
    """What one running job asks of the pool: ``slots_requested`` is its
    capacity request in slots (from ``ghz`` or ``slots``), None if it made
    none."""

    job_id: str
    queued: int
    leased: int
    slots_requested: int | None = None

    @property
    def slots_wanted(self):
        work = self.queued + self.leased
        return work if self.slots_requested is None else min(work, self.slots_requested)


@dataclass(frozen=True)
class NodeView:
    """One of our nodes as the policy sees it. ``idle_for`` is how long it
    has held no lease (None while it holds some)."""

    name: str
    phase: str
    leases: int = 0
    idle_for: float | None = None
    age: float = 0.0


@dataclass(frozen=True)
class ClusterView:
    """Everything a decision is made from, read at one instant."""

    jobs: tuple = ()
    nodes: tuple = ()
    foreign_leases: int = 0      # tasks leased by nodes that are not ours (volunteers...)
    spent: float = 0.0           # money spent so far on this pool's nodes

    @property
    def queued(self):
        return sum(j.queued for j in self.jobs)

    @property
    def leased(self):
        return sum(j.leased for j in self.jobs)

    @property
    def active(self):
        return [n for n in self.nodes if n.phase != DRAINING]


@dataclass(frozen=True)
class Decision:
    """What the policy wants and why. ``victims`` are node names (scale down
    only); ``target`` the node count it aims at."""

    action: str
    count: int
    reason: str
    target: int
    victims: tuple = ()
    blocked_by: str | None = None     # "cooldown", "max_nodes", "spend_cap", "budget", "leases"
    details: dict = field(default_factory=dict)

    def to_json(self):
        out = asdict(self)
        out["victims"] = list(self.victims)
        return out
