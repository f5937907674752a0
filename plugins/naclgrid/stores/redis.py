"""The shared, durable store: Redis through txredisapi.

Every multi-key change is one Lua script (redis_scripts,
redis_task_scripts), called with EVALSHA and resent with EVAL when Redis
answers NOSCRIPT (after a restart). All state lives in Redis, none only in
this process, so with ``appendonly yes`` a SIGKILL of Redis or of gridhost
loses no accepted task or result. Events are PUBLISHed by the scripts and
received on a dedicated subscriber connection, so every server sharing the
Redis wakes its long polls.
"""

import hashlib
import json

import txredisapi
from twisted.internet.defer import DeferredList, maybeDeferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from naclgrid import errors
from naclgrid.interfaces import IGridStore
from naclgrid.model import (
    ACK_DUPLICATE, ACK_OK, DONE, ERROR_JOB_STOPPED, ERROR_LEASE_EXPIRED, FAILED,
    FINAL_JOB_STATES, LEASED, QUEUED, FileRef, Job, NodeInfo, PopResult, TaskOutcome,
)
from naclgrid.stores import common
from naclgrid.stores import redis_scripts as S
from naclgrid.stores import redis_task_scripts as T
from naclgrid.stores.redis_events import RedisEvents

_ERRORS = {
    "no_such_job": errors.NoSuchJob, "no_such_task": errors.NoSuchTask,
    "job_stopped": errors.JobStopped, "job_not_running": errors.JobNotRunning,
    "stale_lease": errors.StaleLease, "limit_exceeded": errors.LimitExceeded,
    "results_expired": errors.ResultsExpired,
}
_RECORD_STATE = {b"L": LEASED, b"Q": QUEUED, b"D": DONE, b"F": FAILED}


class _Script:
    def __init__(self, body):
        self.source = (S.PRELUDE + body).encode()
        self.sha = hashlib.sha1(self.source).hexdigest()

    def __call__(self, redis, args):
        d = redis.evalsha(self.sha, [], args)

        def resend(failure):
            failure.trap(txredisapi.ScriptDoesNotExist)
            return redis.eval(self.source, [], args)
        return d.addErrback(resend)


_SCRIPTS = {name: _Script(getattr(mod, name)) for mod, names in (
    (S, ("CREATE_JOB", "GET_JOB", "ADD_FILE", "START_JOB", "STOP_JOB", "PURGE_FINISHED",
         "HOLD_JOB", "FORK")),
    (T, ("POP", "HEARTBEAT", "ACK", "REQUEUE_EXPIRED", "FETCH_MANY", "TOUCH_NODE",
         "REFRESH_NODE", "LIST_NODES", "REVOKE_KEY", "REMEMBER_NONCE", "KV_GET", "KV_INCR")),
) for name in names}


def _num(x):
    return repr(float(x))


def _s(b):
    return b.decode() if isinstance(b, bytes) else b


def _check(reply):
    if isinstance(reply, list) and reply and reply[0] == b"!":
        code, message = _s(reply[1]), _s(reply[2])
        raise _ERRORS.get(code, errors.GridError)(message)
    return reply


def _ack_outcome(reply):
    if reply[0] == b"!":
        try:
            _check(reply)
        except errors.GridError as e:
            return e
    return ACK_DUPLICATE if reply[0] == b"dup" else ACK_OK


def _unavailable(failure):
    failure.trap(txredisapi.ConnectionError, ConnectionError, txredisapi.TimeoutError)
    raise errors.StoreUnavailable(f"redis is unavailable: {failure.value}")


def _pairs(flat):
    return {_s(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def _job_from(job_id, fields, files):
    f = _pairs(fields)
    opt = lambda k: float(f[k]) if k in f and f[k] != b"" else None  # noqa: E731
    return Job(
        job_id=job_id, owner=_s(f["owner"]), application=_s(f["app"]),
        state=_s(f["state"]), priority=int(f["prio"]), max_attempts=int(f["maxatt"]),
        lease_seconds=float(f["lease"]), created_at=float(f["created"]),
        started_at=opt("started"), finished_at=opt("finished"),
        input_size=int(f["insize"]), total=int(f["next"]),
        counts={QUEUED: int(f["q"]), LEASED: int(f["l"]), DONE: int(f["d"]),
                FAILED: int(f["f"])},
        files=tuple(sorted((FileRef(name, _s(v).split("|")[0], int(_s(v).split("|")[1]))
                            for name, v in _pairs(files).items()), key=lambda r: r.name)),
        held=None if _s(f["state"]) in FINAL_JOB_STATES else _s(f.get("held")),
        meta=json.loads(f["meta"]),
    )


def _always_deferred(cls):
    """Make argument errors raised before the first Redis call come back as
    failed Deferreds, like every other failure."""
    for name in IGridStore.names():
        method = getattr(cls, name, None)
        if callable(method) and name != "subscribe":
            def wrapper(self, *args, _method=method, **kwargs):
                return maybeDeferred(_method, self, *args, **kwargs)
            wrapper.__name__, wrapper.__doc__ = name, method.__doc__
            setattr(cls, name, wrapper)
    return cls


@implementer(IGridStore)
@_always_deferred
class RedisGridStore(RedisEvents):
    """IGridStore on Redis. ``connection`` is a gridhost StoreConnection of
    kind "redis"; ``clock`` (default: its reactor) paces resubscribing."""

    log = Logger()

    def __init__(self, connection, namespace="ng:", clock=None):
        self.connection = connection
        self.namespace = namespace
        self.clock = clock if clock is not None else connection.reactor
        RedisEvents.__init__(self)

    @property
    def _redis(self):
        return self.connection.redis()

    def _run(self, name, *args):
        d = _SCRIPTS[name](self._redis, [self.namespace, *args])
        return d.addErrback(_unavailable).addCallback(_check)

    def _cmd(self, method, *args):
        try:
            d = getattr(self._redis, method)(*args)
        except (txredisapi.ConnectionError, ConnectionError) as e:
            raise errors.StoreUnavailable(f"redis is unavailable: {e}") from None
        return d.addErrback(_unavailable)

    def _k(self, *parts):
        return self.namespace + "".join(parts)

    # -- plumbing ----------------------------------------------------------------
    def ping(self):
        return self._cmd("ping").addCallback(lambda _: True)

    # -- jobs ------------------------------------------------------------------------
    def create_job(self, owner, application, now, priority=1, max_attempts=3,
                   lease_seconds=60.0, meta=None, max_active=None):
        job_id = common.new_id()
        d = self._run("CREATE_JOB", job_id, owner, application, _num(now), int(priority),
                      int(max_attempts), _num(lease_seconds), json.dumps(meta or {}),
                      "" if max_active is None else int(max_active))
        return d.addCallback(lambda _: self.get_job(job_id))

    def get_job(self, job_id):
        return self._run("GET_JOB", job_id).addCallback(
            lambda r: _job_from(job_id, r[0], r[1]))

    def get_job_input(self, job_id):
        def got(_job):
            return self._cmd("get", self._k("{", job_id, "}:input")).addCallback(
                lambda v: v or b"")
        return self.get_job(job_id).addCallback(got)

    def list_jobs(self, owner=None):
        key = self._k("jobs") if owner is None else self._k("owner:", owner)

        def got(ids):
            ds = [self.get_job(_s(j)) for j in ids]
            return DeferredList(ds, consumeErrors=True).addCallback(
                lambda results: [job for ok, job in results if ok])
        return self._cmd("zrange", key, 0, -1).addCallback(got)

    def add_file(self, job_id, name, sha256, size):
        return self._run("ADD_FILE", job_id, name, f"{sha256}|{int(size)}").addCallback(
            lambda _: FileRef(name, sha256, int(size)))

    def start_job(self, job_id, input, now, meta=None):
        return self._run("START_JOB", job_id, _num(now), bytes(input),
                         json.dumps(meta) if meta else "").addCallback(
            lambda _: self.get_job(job_id))

    def stop_job(self, job_id, state, now):
        common.check_stop_state(state)
        return self._run("STOP_JOB", job_id, state, _num(now)).addCallback(
            lambda _: self.get_job(job_id))

    def purge_finished(self, before, limit=100):
        return self._run("PURGE_FINISHED", _num(before), int(limit)).addCallback(int)

    def hold_job(self, job_id, reason, now):
        return self._run("HOLD_JOB", job_id, str(reason) or "held").addCallback(
            lambda _: self.get_job(job_id))

    def unhold_job(self, job_id, now):
        return self._run("HOLD_JOB", job_id, "").addCallback(lambda _: self.get_job(job_id))

    # -- tasks -------------------------------------------------------------------------
    def fork(self, job_id, tasks, now, max_tasks=None):
        tasks = common.check_tasks(tasks)
        packed = [entry.encode() + b"\n" + data for entry, data in tasks]
        d = self._run("FORK", job_id, "" if max_tasks is None else int(max_tasks), *packed)
        return d.addCallback(lambda r: list(range(int(r[1]), int(r[1]) + len(tasks))))

    def pop(self, node, now, max=1, applications=None, job_id=None):
        apps = list(applications) if applications is not None else []
        if applications is not None and not apps:
            return succeed([])
        leases = [common.new_lease_id() for _ in range(max)]
        d = self._run("POP", node, _num(now), int(max), job_id or "", _num(common.STRIDE),
                      len(apps), *apps, *leases)
        return d.addCallback(self._popped)

    @staticmethod
    def _popped(reply):
        tasks, jobs = reply
        info = {}
        for entry in jobs:
            files = _pairs(entry[2:])
            info[_s(entry[0])] = (_s(entry[1]), tuple(sorted(
                (FileRef(n, _s(v).split("|")[0], int(_s(v).split("|")[1]))
                 for n, v in files.items()), key=lambda r: r.name)))
        out = []
        for j, slot, packed, lease_id, expires, att in tasks:
            job_id = _s(j)
            entry, _, data = packed.partition(b"\n")
            app, files = info[job_id]
            out.append(PopResult(job_id=job_id, slot=int(slot), entry=entry.decode(),
                                 application=app, input=data, lease_id=_s(lease_id),
                                 lease_expires=float(expires), attempt=int(att),
                                 files=files))
        return out

    def heartbeat(self, leases, now):
        args = []
        for lease in leases:
            args += [lease.job_id, str(int(lease.slot)), lease.lease_id]
        if not args:
            return succeed([])
        return self._run("HEARTBEAT", _num(now), *args).addCallback(
            lambda r: [float(x) if x else None for x in r])

    def ack(self, job_id, slot, lease_id, now, result=None, error=None):
        def single(outcomes):
            if isinstance(outcomes[0], Exception):
                raise outcomes[0]
            return outcomes[0]
        return self.ack_many([(job_id, slot, lease_id, result, error)], now).addCallback(single)

    def ack_many(self, acks, now):
        args = []
        for job_id, slot, lease_id, result, error in acks:
            kind, payload = ("e", str(error).encode()) if error is not None else (
                "r", bytes(result or b""))
            args += [job_id, str(slot), lease_id, kind, payload]
        if not args:
            return succeed([])
        return self._run("ACK", _num(now), *args).addCallback(
            lambda replies: [_ack_outcome(r) for r in replies])

    def requeue_expired(self, now, limit=1000):
        return self._run("REQUEUE_EXPIRED", _num(now), int(limit), ERROR_LEASE_EXPIRED)

    def fetch(self, job_id, slot):
        return self.fetch_many(job_id, [slot]).addCallback(lambda r: r[0])

    def fetch_many(self, job_id, slots):
        slots = list(slots)
        for s in slots:
            if isinstance(s, bool) or not isinstance(s, int):
                raise errors.NoSuchTask(f"job {job_id} has no slot {s!r}")
        return self._run("FETCH_MANY", job_id, *[str(s) for s in slots]).addCallback(
            self._fetched, job_id, slots)

    @staticmethod
    def _fetched(reply, job_id, slots):
        stopped = _s(reply[0]) in FINAL_JOB_STATES
        out = []
        for i, slot in enumerate(slots):
            record, payload = reply[1 + 2 * i], reply[2 + 2 * i]
            parts = record.split(b"|") if record else [b"Q", b"0"]
            state, attempts = _RECORD_STATE[parts[0]], int(parts[1])
            if state == DONE:
                out.append(TaskOutcome(job_id, slot, DONE, attempts, result=payload))
            elif state == FAILED:
                out.append(TaskOutcome(job_id, slot, FAILED, attempts, error=payload.decode(
                    "utf-8", "replace")))
            elif stopped:
                out.append(TaskOutcome(job_id, slot, FAILED, attempts, error=ERROR_JOB_STOPPED))
            elif state == LEASED:
                out.append(TaskOutcome(job_id, slot, LEASED, attempts,
                                       lease_expires=float(parts[3])))
            else:
                out.append(TaskOutcome(job_id, slot, QUEUED, attempts))
        return out

    # -- blobs ---------------------------------------------------------------------------
    def put_blob(self, data):
        sha = common.sha256_hex(data)
        return self._cmd("execute_command", "SET", self._k("blob:", sha), bytes(data),
                         "NX").addCallback(lambda _: sha)

    def get_blob(self, sha256):
        def got(value):
            if value is None:
                raise errors.NoSuchFile(f"no file {sha256}")
            return value
        return self._cmd("get", self._k("blob:", sha256)).addCallback(got)

    def has_blob(self, sha256):
        return self._cmd("exists", self._k("blob:", sha256)).addCallback(bool)

    # -- nodes -----------------------------------------------------------------------------
    def touch_node(self, node, user, applications, now, live_until):
        record = json.dumps({"user": user, "applications": None if applications is None
                             else list(applications), "last_seen": now})
        return self._run("TOUCH_NODE", node, record, _num(live_until), _num(now),
                         _num(now - common.NODE_FORGET_SECONDS)).addCallback(lambda _: None)

    def refresh_node(self, node, now, live_until):
        return self._run("REFRESH_NODE", node, _num(now), _num(live_until)).addCallback(
            lambda _: None)

    def list_nodes(self, now):
        def got(reply):
            records, untils, leases = (_pairs(reply[0]), _pairs(reply[1]), _pairs(reply[2]))
            out = []
            for node, raw in records.items():
                until = float(untils.get(node, 0))
                if until + common.NODE_FORGET_SECONDS < now:
                    continue        # forgotten (touch_node deletes it later)
                r = json.loads(raw)
                apps = r["applications"]
                out.append(NodeInfo(node, r["user"], None if apps is None else tuple(apps),
                                    r["last_seen"], until,
                                    int(leases.get(node, 0))))
            return out
        return self._run("LIST_NODES").addCallback(got)

    # -- keys, nonces, kv -------------------------------------------------------------------
    def put_key(self, key_id, record):
        return self._cmd("hset", self._k("keys"), key_id,
                         json.dumps(dict(record, key_id=key_id))).addCallback(lambda _: None)

    def get_key(self, key_id):
        def got(raw):
            record = json.loads(raw) if raw else None
            return None if record is None or record.get("revoked_at") is not None else record
        return self._cmd("hget", self._k("keys"), key_id).addCallback(got)

    def revoke_key(self, key_id, now):
        return self._run("REVOKE_KEY", key_id, _num(now)).addCallback(bool)

    def list_keys(self):
        return self._cmd("hgetall", self._k("keys")).addCallback(
            lambda flat: [json.loads(v) for v in _pairs(_flat(flat)).values()])

    def remember_nonce(self, value, expires_at, now):
        return self._run("REMEMBER_NONCE", value, _num(expires_at), _num(now)).addCallback(bool)

    def kv_get(self, key, now):
        return self._run("KV_GET", key, _num(now))

    def kv_set(self, key, value, now, ttl=None):
        k = self._k("kv:", key)
        fields = ["v", bytes(value)] + ([] if ttl is None else ["exp", _num(now + ttl)])
        d = self._cmd("execute_command", "DEL", k)
        d.addCallback(lambda _: self._cmd("execute_command", "HSET", k, *fields))
        if ttl is not None:
            d.addCallback(lambda _: self._cmd("execute_command", "PEXPIRE", k,
                                              int(ttl * 1000) + 60000))
        return d.addCallback(lambda _: None)

    def kv_delete(self, key):
        return self._cmd("execute_command", "DEL", self._k("kv:", key)).addCallback(
            lambda _: None)

    def kv_incr(self, key, now, amount=1, ttl=None):
        return self._run("KV_INCR", key, _num(now), int(amount),
                         "" if ttl is None else _num(ttl)).addCallback(int)


def _flat(value):
    """txredisapi returns HGETALL as a dict; make it a flat list again."""
    if isinstance(value, dict):
        return [x for kv in value.items() for x in kv]
    return value
