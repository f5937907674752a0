"""Read what the grid asks of the pool: jobs with their capacity requests,
and nodes with their lease counts."""

import math

from naclgrid.elastic.model import JobDemand
from naclgrid.model import LEASED, QUEUED, RUNNING

MAX_REQUEST_SLOTS = 1_000_000


def capacity_request(meta, ghz_per_slot):
    """Slots a job asked for through start_job extras, or None: ``slots``
    (an integer) wins over ``ghz`` (a number, divided by ``ghz_per_slot``).
    Values arrive as text from the wire; anything unparsable or non-positive
    counts as no request."""
    meta = meta or {}
    raw = meta.get("slots")
    if raw is not None:
        try:
            slots = int(str(raw).strip())
        except ValueError:
            slots = 0
        if slots > 0:
            return min(slots, MAX_REQUEST_SLOTS)
    raw = meta.get("ghz")
    if raw is not None:
        try:
            ghz = float(str(raw).strip())
        except ValueError:
            ghz = 0.0
        if math.isfinite(ghz) and ghz > 0:
            return min(max(1, math.ceil(ghz / ghz_per_slot - 1e-9)), MAX_REQUEST_SLOTS)
    return None


def job_demands(jobs, ghz_per_slot):
    """JobDemand for each running, unheld job with work (``jobs`` are
    :class:`naclgrid.model.Job`). A held job waits for credit, not nodes."""
    out = []
    for job in jobs:
        if job.state != RUNNING or job.held is not None:
            continue
        queued, leased = job.counts.get(QUEUED, 0), job.counts.get(LEASED, 0)
        if queued or leased:
            out.append(JobDemand(job.job_id, queued, leased,
                                 capacity_request(job.meta, ghz_per_slot)))
    return tuple(out)
