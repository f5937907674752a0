"""naclgrid: the grid engine (jobs, tasks, leases, REST API, sandbox, agents)."""
