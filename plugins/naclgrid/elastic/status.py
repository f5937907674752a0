"""GET ``elastic``: the autoscaler's state and its reasons, from any server.

The leading server publishes its books to the store every tick
(:meth:`ElasticService.publish`), so this route needs nothing but the store:
it works on every server sharing it, leader or not. The naclgrid API mounts
it with one line in ``naclgrid/api/app.py``::

    from naclgrid.elastic.status import install as install_elastic
    ...
    install_elastic(app)          # next to jobs.install(app) / agents.install(app)

Roles: agent and admin (the same as GET nodes).
"""

import json

from naclgrid.elastic.service import POOLS_KEY, state_key

STALE_TICKS = 3


async def read_status(store, now):
    """``{"enabled": bool, "pools": [status, ...]}``. A pool whose leader has
    not published for a while is marked ``"stale": true`` (no server leads
    it: all stopped, or elastic switched off)."""
    raw = await store.kv_get(POOLS_KEY, now=now)
    names = json.loads(raw) if raw else []
    pools = []
    for name in names:
        body = await store.kv_get(state_key(name), now=now)
        if not body:
            continue
        status = json.loads(body)
        settings = status.get("settings", {})
        horizon = STALE_TICKS * float(settings.get("interval", 5.0)) + 20.0
        status["stale"] = now - float(status.get("updated_at", 0)) > horizon
        pools.append(status)
    return {"enabled": bool(pools), "pools": pools}


def install(app):
    """Register GET ``/elastic`` on the NaclgridAPI Klein app."""
    # Imported here: the API imports this module while its package loads.
    from naclgrid.api.endpoint import AGENT_ROLES, endpoint
    from naclgrid.api.errors import json_response

    @endpoint(app, "elastic", AGENT_ROLES, methods=("GET",))
    async def elastic(self, request, principal, params):
        return json_response(request, await read_status(self.grid.store, self.clock.seconds()))
