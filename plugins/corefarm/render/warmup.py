"""Warming agents up: what a standing farm has already done before a render.

An agent compiles the tracer module the first time a task needs it (about
0.06 s alone, 0.12-0.15 s for two agents compiling at once on two cores) and
keeps it for every later job. A farm that has rendered before pays that once;
a freshly started ``corefarm render`` pays it inside the first tiles. Timing a
render on warm agents (``corefarm render --warm-up``) measures the farm, not
its first start: a tiny job of one-pixel tiles of an empty scene runs before
the clock starts. The real job still downloads its own scene.bin.
"""

from .job import SCENE_FILE, RenderJob

EMPTY_SCENE = b'<scene type="triangle"></scene>'
# Each agent pops up to two tasks at a time (one running, one queued): enough
# tiles that every ready agent gets some.
TASKS_PER_AGENT = 4


async def warm_up(grid, owner, application, agents, wait=30.0):
    """Run a throwaway job of ``TASKS_PER_AGENT * agents`` tiny tiles on the
    grid and wait (at most ``wait`` seconds) for them. Returns how many
    finished. Best effort: a render after a partial warm-up is only slower."""
    from corefarm.scene import load_scene

    render_job = RenderJob.prepare(load_scene(EMPTY_SCENE), size=(1, 1), samples=1)
    job = await grid.new_job(owner, application, meta={"warm_up": True})
    try:
        await grid.drop_file(job.job_id, SCENE_FILE, render_job.scene_bin, owner=owner)
        await grid.start_job(job.job_id, owner=owner)
        (task,) = render_job.tasks(render_job.grid(1, 1))
        slots = await grid.fork_many(job.job_id, [(task.entry, task.input)]
                                     * (TASKS_PER_AGENT * max(1, agents)), owner=owner)
        wait = min(wait, getattr(grid.limits, "max_wait", wait))
        outcomes = await grid.wait_for_slots(job.job_id, slots, wait=wait, owner=owner)
        return sum(1 for o in outcomes if o.finished)
    finally:
        await grid.stop_job(job.job_id, "stopped", owner=owner)
