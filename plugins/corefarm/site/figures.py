"""Live figures of the farm, computed from the grid engine's in-process API."""


async def farm_figures(grid):
    jobs = await grid.list_jobs(None)
    nodes = await grid.nodes()
    counts = {"queued": 0, "leased": 0, "done": 0, "failed": 0}
    for job in jobs:
        for state in counts:
            counts[state] += int(job.get("counts", {}).get(state, 0))
    return {
        "jobs": len(jobs),
        "jobs_running": sum(1 for j in jobs if j.get("state") == "running"),
        "nodes_online": len(nodes),
        "tasks_queued": counts["queued"],
        "tasks_running": counts["leased"],
        "tasks_done": counts["done"],
        "tasks_failed": counts["failed"],
    }
