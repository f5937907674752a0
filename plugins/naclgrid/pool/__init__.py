"""The local elastic pool: ``twistd -n gridhost`` computes out of the box.

The naclgrid plugin calls two functions::

    errors = check_pool_config(section.get("pool", {}))        # in check_config
    service = build_pool(section.get("pool", {}), grid, reactor,
                         url="http://127.0.0.1:8080/naclgrid/",
                         key_factory=pool_key_factory(keys, data_dir),
                         data_dir=data_dir)                      # in build; None if disabled

``[app.naclgrid.pool]`` options: ``enabled`` (default true), ``max_agents``
(default: one per core; 0 also disables), ``slots_per_agent`` (default 1),
``idle_timeout`` (seconds without queued or leased tasks before the agents
stop, default 60), ``interval`` (seconds between scaling decisions, default 1).
"""

import os

from naclgrid.pool.demand import Demand, grid_demand
from naclgrid.pool.keys import pool_key_factory
from naclgrid.pool.launcher import LocalLauncher
from naclgrid.pool.policy import QueuePolicy
from naclgrid.pool.service import PoolService

__all__ = ["Demand", "LocalLauncher", "PoolService", "QueuePolicy", "build_pool",
           "check_pool_config", "pool_key_factory", "pool_options"]

_DEFAULTS = {"enabled": True, "max_agents": None, "slots_per_agent": 1, "idle_timeout": 60.0,
             "interval": 1.0}


def check_pool_config(section):
    """``"pool.key: problem"`` strings for the ``[app.naclgrid.pool]`` table;
    empty when it is valid. No side effects."""
    if section is None:
        return []
    if not isinstance(section, dict):
        return ["pool: must be a table"]
    errors = [f"pool.{key}: unknown option (known: {', '.join(_DEFAULTS)})"
              for key in section if key not in _DEFAULTS]

    def integer(name, low, high):
        value = section.get(name)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(f"pool.{name}: must be an integer from {low} to {high}, not {value!r}")

    def number(name, low, high):
        value = section.get(name)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not low <= value <= high:
            errors.append(f"pool.{name}: must be a number from {low} to {high}, not {value!r}")

    if "enabled" in section and not isinstance(section["enabled"], bool):
        errors.append(f"pool.enabled: must be true or false, not {section['enabled']!r}")
    integer("max_agents", 0, 256)
    integer("slots_per_agent", 1, 256)
    number("idle_timeout", 1, 86400)
    number("interval", 0.1, 60)
    return errors


def pool_options(section):
    """The checked options with defaults filled in."""
    options = dict(_DEFAULTS)
    options.update(section or {})
    if options["max_agents"] is None:
        options["max_agents"] = os.cpu_count() or 1
    return options


def build_pool(section, grid, reactor, url, key_factory, data_dir=None):
    """The pool's IService for an already checked section, or None when the
    pool is disabled. ``grid`` is the engine's in-process ``IGrid``; ``url``
    the naclgrid API base URL the agents use; ``key_factory()`` returns a
    Deferred of an agent key (see :func:`pool_key_factory`)."""
    options = pool_options(section)
    if not options["enabled"] or options["max_agents"] == 0:
        return None
    folder = getattr(data_dir, "path", data_dir) or os.path.join(
        os.path.expanduser("~"), ".cache", "naclgrid")
    launcher = LocalLauncher(reactor, url, options["slots_per_agent"],
                             os.path.join(folder, "pool-cache"))
    policy = QueuePolicy(options["max_agents"], options["slots_per_agent"],
                         options["idle_timeout"])
    return PoolService(policy, launcher, grid_demand(grid), key_factory, reactor,
                       interval=options["interval"])
