"""The contracts of naclgrid's engine.

:class:`IGridStore` is what both stores (memory, Redis) implement; one
contract test suite runs against both. :class:`IGrid` is the in-process
Python API (``naclgrid.grid.Grid``) that the REST API and other apps
(corefarm) use; it adds limits, ownership checks, waiting reasons and long
polls on top of a store.

Conventions for both:

- Every store method returns a Deferred (except ``subscribe``), even on the
  memory store, so callers are written once.
- Time is never read inside a store: every method that needs it takes
  ``now`` (float unix seconds) from the caller's injected clock. Pass it by
  keyword.
- Failures are :mod:`naclgrid.errors` GridErrors (NoSuchJob, StaleLease,
  JobStopped, ...); records are :mod:`naclgrid.model` dataclasses.
- Inputs, results and blobs are ``bytes`` and binary-safe; names, entries and
  error texts are ``str``.
"""

from zope.interface import Attribute, Interface


class IGridStore(Interface):
    """Durable state of the grid: jobs, tasks, leases, fairness, nodes, keys."""

    namespace = Attribute("Key prefix (Redis) such as 'ng:'.")

    def start():
        """Connect what needs connecting (Redis pub/sub). Deferred."""

    def close():
        """Release connections. Deferred."""

    def ping():
        """Deferred firing True when the store answers; fails otherwise."""

    def subscribe(callback):
        """Call ``callback(event)`` for every event, on every server sharing
        the store. Events: ``("work", application, count)`` when ``count``
        tasks became servable; ``("result", job_id, slot)`` when a task
        finished (``slot`` None: many or all of the job's tasks changed, e.g.
        stop_job); ``("started", job_id, application)`` when a job starts
        (masters living in other apps pick it up); ``("reconnect", None, None)`` when events may have been
        missed (waiters should simply retry). Returns an unsubscribe
        callable. Synchronous."""

    # -- jobs ---------------------------------------------------------------
    def create_job(owner, application, now, priority=1, max_attempts=3,
                   lease_seconds=60.0, meta=None, max_active=None):
        """Create a job in state ``created``; Job. With ``max_active``,
        atomically refuse (LimitExceeded) when the owner already has that
        many created/running jobs."""

    def get_job(job_id):
        """Job snapshot with counts and files; NoSuchJob."""

    def get_job_input(job_id):
        """The bytes given to start_job (b"" before); NoSuchJob."""

    def list_jobs(owner=None):
        """Jobs of ``owner`` (all jobs when None), oldest first; list of Job."""

    def add_file(job_id, name, sha256, size):
        """Attach (or replace) the named file, already stored as a blob;
        FileRef. JobStopped if the job ended."""

    def start_job(job_id, input, now, meta=None):
        """created → running; stores the job input and merges ``meta``.
        Queued tasks become servable. JobNotRunning if not ``created``."""

    def stop_job(job_id, state, now):
        """running/created → ``state`` (stopped | failed | cancelled).
        O(1): queued and leased tasks count as failed "job stopped" from now
        on; leases are fenced. JobNotRunning if already ended. Job."""

    def hold_job(job_id, reason, now):
        """Stop serving the job's tasks (e.g. reason 'insufficient_credit');
        its queued tasks report that reason. Job."""

    def unhold_job(job_id, now):
        """Serve the job again. Job."""

    # -- tasks --------------------------------------------------------------
    def fork(job_id, tasks, now, max_tasks=None):
        """Append tasks ``[(entry: str, input: bytes), ...]`` atomically;
        list of new slots (consecutive, per job from 0). LimitExceeded when
        the job would exceed ``max_tasks``; JobStopped when it ended."""

    def pop(node, now, max=1, applications=None, job_id=None):
        """Lease up to ``max`` queued tasks of running, unheld jobs, choosing
        jobs by stride scheduling weighted by priority (O(log jobs) per task,
        independent of queue lengths). ``applications``: only these apps;
        ``job_id``: only this job. Each lease expires at now +
        job.lease_seconds. list of PopResult (maybe empty)."""

    def heartbeat(leases, now):
        """Extend each live Lease to now + lease_seconds; list with the new
        expiry or None (stale, expired, fenced) per lease, same order."""

    def ack(job_id, slot, lease_id, now, result=None, error=None):
        """Finish a leased task. With ``result``: done. With ``error``:
        requeued, or failed with that text once attempts reach max_attempts.
        Returns ACK_OK, or ACK_DUPLICATE if this very lease was already
        acked (nothing is overwritten). StaleLease if the lease expired, was
        requeued or is someone else's; JobStopped if the job ended;
        NoSuchJob / NoSuchTask."""

    def ack_many(acks, now):
        """Several acks ``[(job_id, slot, lease_id, result, error), ...]``
        in one round trip, each applied exactly as ``ack`` would; a list
        with ACK_OK / ACK_DUPLICATE or the GridError instance (not raised)
        per item, same order."""

    def requeue_expired(now, limit=1000):
        """Requeue tasks whose lease expired (or fail them with "lease
        expired" at max_attempts); at most ``limit``; returns how many
        leases were processed (call again while it returns ``limit``)."""

    def fetch(job_id, slot):
        """TaskOutcome (``reason`` left None: the Grid computes it).
        NoSuchJob / NoSuchTask; ResultsExpired for a done or failed task
        of a purged job."""

    def fetch_many(job_id, slots):
        """List of TaskOutcome for ``slots``; NoSuchTask if any is unknown;
        ResultsExpired if any is a done or failed task of a purged job."""

    def purge_finished(before, limit=100):
        """Drop the task inputs and results of jobs that ended (stop_job) at
        or before ``before``; their records, counts, files and input stay.
        At most ``limit`` jobs; returns how many were purged (call again
        while it returns ``limit``)."""

    # -- blobs (content-addressed files) -------------------------------------
    def put_blob(data):
        """Store bytes; returns their sha256 hex."""

    def get_blob(sha256):
        """The bytes; NoSuchFile."""

    def has_blob(sha256):
        """bool."""

    # -- nodes ----------------------------------------------------------------
    def touch_node(node, user, applications, now, live_until):
        """Record that ``node`` (owned by ``user``) was seen; it counts as
        live until ``live_until``. ``applications`` None = serves all."""

    def refresh_node(node, now, live_until):
        """Extend a known node's liveness (it heartbeats while computing)
        without changing what it serves; unknown nodes are ignored."""

    def list_nodes(now):
        """All known nodes (long-dead ones pruned); list of NodeInfo with
        their current lease counts."""

    # -- keys, nonces, kv (used by the API's auth and rate limits) ----------
    def put_key(key_id, record):
        """Store a JSON-able dict describing an API key (hash, role, user...)."""

    def get_key(key_id):
        """The record dict, or None if unknown or revoked."""

    def revoke_key(key_id, now):
        """Mark revoked (get_key then returns None); True if it existed."""

    def list_keys():
        """All records (revoked ones carry 'revoked_at'), each with 'key_id'."""

    def remember_nonce(value, expires_at, now):
        """True the first time ``value`` is seen (until ``expires_at``),
        False for a replay. Atomic across servers."""

    def kv_get(key, now):
        """bytes or None (missing or expired)."""

    def kv_set(key, value, now, ttl=None):
        """Set bytes, expiring ``ttl`` seconds after ``now`` (None: never)."""

    def kv_delete(key):
        """Remove the key."""

    def kv_incr(key, now, amount=1, ttl=None):
        """Atomically add to an integer counter; returns the new value. A
        missing or expired counter starts at 0 and gets the ``ttl``."""


class IGrid(Interface):
    """The engine's in-process API: ``Grid(store, clock, limits=None,
    log=None, node_ttl=30.0)`` in ``naclgrid.grid``. Methods return Deferreds
    and raise GridErrors. ``owner`` parameters, when not None, restrict the
    call to that user's jobs (another user's job is NoSuchJob); pass None for
    admins and agents. Long polls (``wait``) wake on store events, not on a
    timer, and time out on the injected clock.

    A job whose tasks are all finished stays ``running`` (its master may
    fork more) until ``stop_job``; progress is ``counts`` / ``total``."""

    store = Attribute("The IGridStore (the API uses it for keys/nonces/kv).")
    clock = Attribute("The IReactorTime every timestamp comes from.")
    limits = Attribute("naclgrid.grid.Limits in force.")
    service = Attribute("IService: starts the store and requeues expired "
                        "leases periodically. Parent it under the app service.")

    def new_job(owner, application, priority=1, max_attempts=3,
                lease_seconds=60.0, meta=None):
        """Create a job; Job. BadRequest on bad parameters, LimitExceeded
        over max_active_jobs_per_user."""

    def get_job(job_id, owner=None):
        """Job; NoSuchJob."""

    def job_status(job_id, owner=None):
        """The wire-protocol status dict of a job (counts, progress,
        timings, files, waiting_reason)."""

    def list_jobs(owner=None):
        """Status dicts of the owner's (all, if None) jobs."""

    def waiting_reason(job):
        """Why the job's queued tasks wait: a model REASONS value or None."""

    def drop_file(job_id, name, data, owner=None):
        """Store bytes as a blob and attach it to the job under ``name``
        (basename); FileRef. TooLarge over max_file_bytes."""

    def get_file(sha256):
        """Blob bytes by sha256; NoSuchFile."""

    def start_job(job_id, input=b"", meta=None, owner=None):
        """Job. TooLarge over max_input_bytes; JobNotRunning if started."""

    def fork(job_id, entry, input, owner=None):
        """One task; returns its slot."""

    def fork_many(job_id, tasks, owner=None):
        """[(entry, input), ...] atomically (≤ max_fork_batch); slots."""

    def stop_job(job_id, state="stopped", owner=None):
        """End the job; Job."""

    def hold_job(job_id, reason="insufficient_credit"):
        """Stop serving a job until unhold_job; Job."""

    def unhold_job(job_id):
        """Job."""

    def pop(node, user, max=1, applications=None, job_id=None, wait=0,
            owner=None, park_max=None):
        """Lease up to ``max`` tasks; with ``wait`` > 0, long-poll until at
        least one is available or ``wait`` seconds pass; list of PopResult
        (empty on timeout). Registers the node as live and polling.
        ``owner`` (a submitter popping its own job) requires ``job_id``.
        ``park_max``: a poll that had to wait takes at most this many."""

    def heartbeat(leases, node=None):
        """Extend Leases; list of new expiry or None per lease."""

    def ack(job_id, slot, lease_id, result=None, error=None):
        """ACK_OK / ACK_DUPLICATE; StaleLease, JobStopped, TooLarge..."""

    def ack_many(acks):
        """[(job_id, slot, lease_id, result, error), ...] in one round trip;
        per item ACK_OK / ACK_DUPLICATE or the GridError met (not raised)."""

    def fetch(job_id, slot, wait=0, owner=None):
        """TaskOutcome (with ``reason`` when queued); with ``wait`` > 0,
        long-poll until the task is finished or the wait ends."""

    def wait_for_slots(job_id, slots, wait=0, owner=None):
        """List of TaskOutcome; with ``wait`` > 0 returns as soon as all
        listed slots are finished, or when the wait ends."""

    def nodes():
        """List of NodeInfo (with ``polling`` counts from this server)."""
