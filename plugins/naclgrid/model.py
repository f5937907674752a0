"""The grid's data model: plain, immutable-ish records the stores return.

Life of a job::

    created --start_job--> running --stop_job--> stopped | failed | cancelled

A job may receive tasks (``fork``) while ``created`` (they wait with reason
``job_not_started``) or ``running``. A running job whose tasks are all done
stays ``running``: its master may still fork more. Only ``stop_job`` ends a
job; stopping drops the queued tasks (they become ``failed`` with error
``"job stopped"``), counts the leased ones as failed too, and fences their
leases so a late ack gets ``JobStopped``.

Life of a task ``(job_id, slot)``::

    queued --pop--> leased --ack(result)--> done
                       |----ack(error) / lease expiry--> queued   (attempts < max)
                       `----ack(error) / lease expiry--> failed   (attempts == max)

``attempts`` counts pops, so the first lease is attempt 1.
"""

from dataclasses import dataclass, field

# Job states.
CREATED, RUNNING, STOPPED, FAILED, CANCELLED = (
    "created", "running", "stopped", "failed", "cancelled")
JOB_STATES = (CREATED, RUNNING, STOPPED, FAILED, CANCELLED)
FINAL_JOB_STATES = frozenset((STOPPED, FAILED, CANCELLED))
ACTIVE_JOB_STATES = frozenset((CREATED, RUNNING))

# Task states.
QUEUED, LEASED, DONE = "queued", "leased", "done"
TASK_STATES = (QUEUED, LEASED, DONE, FAILED)
FINAL_TASK_STATES = frozenset((DONE, FAILED))

# Why a queued task (or a job) is waiting. Machine-readable, stable.
NO_AGENT = "no_agent"                        # no live node serves the application
AGENTS_BUSY = "agents_busy"                  # nodes exist, all busy with other work
JOB_NOT_STARTED = "job_not_started"          # job still `created`
JOB_STOPPED = "job_stopped"                  # job ended; the task will never run
INSUFFICIENT_CREDIT = "insufficient_credit"  # job held (credit exhausted)
REASONS = (NO_AGENT, AGENTS_BUSY, JOB_NOT_STARTED, JOB_STOPPED, INSUFFICIENT_CREDIT)

# Outcomes of an ack.
ACK_OK, ACK_DUPLICATE = "ok", "duplicate"

# Error texts the engine itself writes into failed tasks.
ERROR_JOB_STOPPED = "job stopped"
ERROR_LEASE_EXPIRED = "lease expired"


@dataclass(slots=True, frozen=True)
class FileRef:
    """A file attached to a job, stored content-addressed by sha256."""

    name: str
    sha256: str
    size: int


@dataclass(slots=True)
class Job:
    """A snapshot of a job. ``counts`` maps each task state to its count,
    maintained incrementally by the store (reading it never scans tasks)."""

    job_id: str
    owner: str
    application: str
    state: str
    priority: int
    max_attempts: int
    lease_seconds: float
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    input_size: int = 0
    total: int = 0                  # slots ever forked (= next slot number)
    counts: dict = field(default_factory=lambda: dict.fromkeys(TASK_STATES, 0))
    files: tuple = ()               # FileRef, sorted by name
    held: str | None = None         # hold reason (e.g. "insufficient_credit") or None
    meta: dict = field(default_factory=dict)

    @property
    def finished(self):
        """Number of tasks in a final state."""
        return self.counts[DONE] + self.counts[FAILED]

    @property
    def progress(self):
        return self.finished / self.total if self.total else 0.0

    def file(self, name):
        for f in self.files:
            if f.name == name:
                return f
        return None


@dataclass(slots=True, frozen=True)
class Lease:
    """What an agent holds while computing a task: the fencing token."""

    job_id: str
    slot: int
    lease_id: str


@dataclass(slots=True)
class PopResult:
    """A task handed to an agent under a fresh lease."""

    job_id: str
    slot: int
    entry: str
    application: str
    input: bytes
    lease_id: str
    lease_expires: float
    attempt: int                    # 1-based
    files: tuple = ()               # the job's FileRefs (module resolution, caching)

    @property
    def lease(self):
        return Lease(self.job_id, self.slot, self.lease_id)


@dataclass(slots=True)
class TaskOutcome:
    """What ``fetch`` reports about a task. ``result`` is set when ``done``,
    ``error`` when ``failed``; ``reason`` (computed by the Grid, not the
    store) when ``queued``; ``lease_expires`` when ``leased``."""

    job_id: str
    slot: int
    state: str
    attempts: int = 0
    result: bytes | None = None
    error: str | None = None
    reason: str | None = None
    lease_expires: float | None = None

    @property
    def finished(self):
        return self.state in FINAL_TASK_STATES


@dataclass(slots=True)
class NodeInfo:
    """A node (agent) as last seen by any server sharing the store.
    ``applications`` is None when the node serves every application."""

    node: str
    user: str
    applications: tuple | None
    last_seen: float
    live_until: float
    leases: int = 0
    polling: int = 0                # long polls open on THIS server (filled by Grid)

    def live(self, now):
        return now <= self.live_until

    def serves(self, application):
        return self.applications is None or application in self.applications


MiB = 1024 * 1024


@dataclass(slots=True, frozen=True)
class Limits:
    """Size and count limits the Grid enforces (``[app.naclgrid]`` keys of
    the same names)."""

    max_input_bytes: int = 16 * MiB
    max_result_bytes: int = 16 * MiB
    max_file_bytes: int = 256 * MiB
    max_tasks_per_job: int = 1_000_000
    max_active_jobs_per_user: int = 100
    max_fork_batch: int = 10_000
    max_pop: int = 256
    max_wait: float = 60.0
    max_entry_chars: int = 256
    max_error_chars: int = 64 * 1024     # longer agent error texts are truncated
    max_application_chars: int = 256
    max_file_name_chars: int = 255
    max_meta_bytes: int = 64 * 1024

    @classmethod
    def from_section(cls, section):
        """Build from a config dict, ignoring keys that are not limits."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in section.items() if k in names})


def job_status_json(job, waiting_reason):
    """The wire-protocol JSON of a job status (GET job)."""
    return {
        "job_id": job.job_id,
        "application": job.application,
        "owner": job.owner,
        "state": job.state,
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "lease_seconds": job.lease_seconds,
        "input_size": job.input_size,
        "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in job.files],
        "counts": dict(job.counts),
        "total": job.total,
        "progress": job.progress,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "held": job.held,
        "waiting_reason": waiting_reason,
    }
