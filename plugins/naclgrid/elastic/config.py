"""``[app.naclgrid.elastic]``: the autoscaler's options, checked up front.

Every option with its default::

    [app.naclgrid.elastic]
    enabled = false
    pool = "default"             # our nodes carry the tag gridhost-pool = <pool>
    provider = "local"           # local | dummy | ec2 | gce | azure | openstack
    server_url = ""              # the naclgrid API as a cloud node reaches it (cloud: required)
    min_nodes = 0
    max_nodes = 4
    standby = 0                  # warm idle nodes kept beyond the demand
    slots_per_node = 1           # tasks one node runs at once (its agent's --slots)
    ghz_per_node = 2.0           # what a job's `ghz` request is divided by
    price_per_hour = 0.0         # per node, in your currency
    max_hourly_spend = 0.0       # 0: no cap; else at most floor(cap / price) nodes
    budget = 0.0                 # 0: none; else no new node once this much was spent
    interval = 5.0               # seconds between decisions
    scale_up_cooldown = 30.0
    scale_down_cooldown = 120.0  # since the last start or stop
    idle_timeout = 300.0         # a node must hold no lease this long before it may go
    boot_timeout = 600.0         # a node whose agent never polls is replaced
    lost_timeout = 120.0         # a ready node silent this long is replaced
    drain_grace = 75.0           # fence -> destroy; longer than the API's longest long poll
    max_launch_per_tick = 10
    reconcile_interval = 60.0    # how often the provider's node list is re-read
    leader_term = 10.0           # servers sharing a store elect one autoscaler per term

    [app.naclgrid.elastic.cloud]   # provider-specific: see naclgrid.elastic.cloud.config
"""

from dataclasses import dataclass, field, fields

PROVIDERS = ("local", "dummy", "ec2", "gce", "azure", "openstack")

# name -> (kind, low, high)
_NUMBERS = {
    "min_nodes": ("int", 0, 10_000),
    "max_nodes": ("int", 0, 10_000),
    "standby": ("int", 0, 10_000),
    "slots_per_node": ("int", 1, 1024),
    "ghz_per_node": ("number", 0.001, 100_000),
    "price_per_hour": ("number", 0, 1e6),
    "max_hourly_spend": ("number", 0, 1e9),
    "budget": ("number", 0, 1e12),
    "interval": ("number", 0.1, 3600),
    "scale_up_cooldown": ("number", 0, 86400),
    "scale_down_cooldown": ("number", 0, 86400),
    "idle_timeout": ("number", 0, 86400),
    "boot_timeout": ("number", 1, 86400),
    "lost_timeout": ("number", 1, 86400),
    "drain_grace": ("number", 0, 3600),
    "max_launch_per_tick": ("int", 1, 1000),
    "reconcile_interval": ("number", 1, 86400),
    "leader_term": ("number", 1, 3600),
}


@dataclass(frozen=True)
class ElasticSettings:
    enabled: bool = False
    pool: str = "default"
    provider: str = "local"
    server_url: str = ""
    min_nodes: int = 0
    max_nodes: int = 4
    standby: int = 0
    slots_per_node: int = 1
    ghz_per_node: float = 2.0
    price_per_hour: float = 0.0
    max_hourly_spend: float = 0.0
    budget: float = 0.0
    interval: float = 5.0
    scale_up_cooldown: float = 30.0
    scale_down_cooldown: float = 120.0
    idle_timeout: float = 300.0
    boot_timeout: float = 600.0
    lost_timeout: float = 120.0
    drain_grace: float = 75.0
    max_launch_per_tick: int = 10
    reconcile_interval: float = 60.0
    leader_term: float = 10.0
    cloud: dict = field(default_factory=dict)

    @classmethod
    def from_section(cls, section):
        """Settings from an already checked table (missing keys: defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (section or {}).items() if k in known}
        for name, (kind, _low, _high) in _NUMBERS.items():
            if name in values and kind == "number":
                values[name] = float(values[name])
        return cls(**values)

    @property
    def ghz_per_slot(self):
        return self.ghz_per_node / self.slots_per_node


def check_elastic_config(section):
    """``"elastic.key: problem"`` strings for the table; empty when valid."""
    if section is None:
        return []
    if not isinstance(section, dict):
        return ["elastic: must be a table"]
    known = {f.name for f in fields(ElasticSettings)}
    errors = [f"elastic.{key}: unknown option (known: {', '.join(sorted(known))})"
              for key in sorted(section) if key not in known]
    for name, (kind, low, high) in _NUMBERS.items():
        if name not in section:
            continue
        value = section[name]
        ok_type = (int,) if kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type) or not low <= value <= high:
            what = "an integer" if kind == "int" else "a number"
            errors.append(f"elastic.{name}: must be {what} from {low} to {high}, not {value!r}")
    if "enabled" in section and not isinstance(section["enabled"], bool):
        errors.append(f"elastic.enabled: must be true or false, not {section['enabled']!r}")
    pool = section.get("pool", "default")
    if not isinstance(pool, str) or not pool or len(pool) > 40 or not all(
            c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in pool):
        # The pool name goes into tags, labels and node ids: GCE labels are the strictest.
        errors.append("elastic.pool: 1-40 characters of a-z 0-9 -")
    provider = section.get("provider", "local")
    if provider not in PROVIDERS:
        errors.append(f"elastic.provider: one of {', '.join(PROVIDERS)}, not {provider!r}")
    url = section.get("server_url", "")
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        errors.append("elastic.server_url: an http:// or https:// URL of the naclgrid API")
    if provider not in ("local", "dummy") and not url:
        errors.append("elastic.server_url: required for a cloud provider (the URL its "
                      "nodes reach the naclgrid API at)")
    low, high = section.get("min_nodes", 0), section.get("max_nodes", 4)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(f"elastic.min_nodes: {low} is more than max_nodes ({high})")
    cloud = section.get("cloud", {})
    if not isinstance(cloud, dict):
        errors.append("elastic.cloud: must be a table")
    elif provider in PROVIDERS and provider != "local":
        from naclgrid.elastic.cloud.config import check_cloud_config
        errors += check_cloud_config(provider, cloud)
    return errors
