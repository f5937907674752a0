"""The agent channel end to end: the SDK (naclgrid.client.channel) against
the real API on a loopback port (naclgrid.testing.serve_loopback), raw
messages against the server (naclgrid.api.channel), and Clock-driven unit
tests of ChannelServer's idle timeout on a StringTransport."""

import json
import struct

import pytest
import pytest_twisted
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import deferLater
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Site

from naclgrid.channel_wire import encode
from naclgrid.client.channel import ChannelClient, ChannelHTTP
from naclgrid.client.errors import GridAPIError, GridUnavailable
from naclgrid.client.grid import Grid
from naclgrid.client.http import AgentHTTP

WAIT = 10  # seconds: the bound of every wait on the network


async def until(reactor, predicate, what, timeout=WAIT):
    """Poll ``predicate()`` (server state has no event to wait on)."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def bounded(d, reactor, timeout=WAIT):
    return ensureDeferred(d).addTimeout(timeout, reactor)


@pytest.fixture
def loopback(reactor):
    from naclgrid.testing import serve_loopback

    served = pytest_twisted.blockon(ensureDeferred(serve_loopback(reactor)))
    site = served.port.factory
    site.seen = []  # (method, path, code) of each request twisted.web finished
    site.log = lambda request: site.seen.append(
        (request.method.decode(), request.path.decode(), request.code))
    served.clients = []
    yield served
    for client in served.clients:
        pytest_twisted.blockon(client.close())
    pytest_twisted.blockon(ensureDeferred(served.stop()))


async def key(loopback, role, user=None):
    return (await loopback.keys.create(role, user))[0]


async def sdk(loopback, reactor, role="submitter", user="alice", http=False, url=None, the_key=None,
              scheme="bearer"):
    """An async SDK client: over the channel, or (``http``) plain HTTP only."""
    transport = AgentHTTP(reactor) if http else None
    grid = Grid(url or loopback.url, the_key or await key(loopback, role, user), reactor=reactor,
                http=transport, compute=False, retries=2, scheme=scheme)
    loopback.clients.append(transport or grid)
    return grid


class Worker:
    """An agent's loop over the SDK: pop, answer ``input[::-1]``, ack."""

    def __init__(self, grid):
        self.grid = grid
        self.running = ensureDeferred(self._run())

    async def _run(self):
        while True:
            for task in await self.grid.api.pop(max=8, wait=5):
                await self.grid.api.ack(task["job_id"], task["slot"], task["lease_id"],
                                        result=task["input"][::-1])

    def stop(self):
        self.running.cancel()
        self.running.addErrback(lambda f: f.trap(CancelledError))


async def tour(grid, worker_grid):
    """The SDK calls a master makes, with their answers (job ids left out)."""
    worker = Worker(worker_grid)
    try:
        job = await grid.new_job("echo")
        seen = {"start": await job.start(b"in")}
        seen["fork"] = await job.fork("echo", b"abc")
        seen["call"] = await bounded(job.call("echo", b"hello"), grid.clock)
        seen["fork_many"] = await job.fork_many("echo", [b"x" * 3000, b"", b"yz"])
        seen["gather"] = await bounded(job.gather(), grid.clock)
        status = await job.status()
        seen["status"] = {k: v for k, v in status.items() if k in ("state", "counts", "total")}
        await job.stop()
        seen["stopped"] = (await job.status())["state"]
        for name in ("start",):
            if isinstance(seen[name], dict):
                seen[name] = {k: v for k, v in seen[name].items() if k != "job_id"}
        return seen
    finally:
        worker.stop()


@pytest_twisted.ensureDeferred
async def test_the_sdk_uses_the_channel_and_gets_the_answers_http_gives(reactor, loopback):
    over_http = await tour(await sdk(loopback, reactor, http=True),
                           await sdk(loopback, reactor, "agent", http=True))
    http_requests = len(loopback.port.factory.seen)
    assert http_requests > 8

    master = await sdk(loopback, reactor)
    over_channel = await tour(master, await sdk(loopback, reactor, "agent"))
    assert over_channel == over_http
    assert over_channel["call"] == b"olleh"
    assert over_channel["gather"] == [b"cba", b"olleh", b"x" * 3000, b"", b"zy"]
    # Two channels (master and worker), and not one HTTP request besides.
    assert loopback.port.factory.seen[http_requests:] == [
        ("GET", "/naclgrid/channel", 101), ("GET", "/naclgrid/channel", 101)]
    assert master.api.transport._http._client.alive


@pytest_twisted.ensureDeferred
async def test_signed_calls_files_batches_and_agent_calls_travel_the_channel_too(reactor, loopback):
    master = await sdk(loopback, reactor, scheme="hmac")
    agent = await sdk(loopback, reactor, "agent", scheme="hmac")
    job = await master.new_job("echo")
    await job.drop_file("data.txt", b"file bytes")
    await job.start()
    slots = await job.fork_many("echo", [b"one", b"two"])
    tasks = await bounded(agent.api.pop(max=2, wait=5), reactor)
    leases = [(t["job_id"], t["slot"], t["lease_id"]) for t in tasks]
    assert [answer["ok"] for answer in await agent.api.heartbeat(leases)] == [True, True]
    acks = [{"job_id": j, "slot": s, "lease_id": lease, "result": b"r%d" % s}
            for j, s, lease in leases]
    assert len(await agent.api.ack_many(acks)) == 2
    results = await master.api.fetch_many(job.job_id, slots)
    assert [r["result"] for r in results] == [b"r0", b"r1"]
    assert [j["job_id"] for j in await master.jobs()] == [job.job_id]
    assert await agent.nodes() is not None
    # Not one of these calls went over plain HTTP.
    assert [s for s in loopback.port.factory.seen if not s[1].endswith("/channel")] == []


async def error_of(d):
    try:
        await d
    except GridAPIError as error:
        return error.status, error.code, error.message
    raise AssertionError("no error")


@pytest_twisted.ensureDeferred
async def test_errors_over_the_channel_keep_their_status_code_and_message(reactor, loopback):
    seen = {}
    for mode in (True, False):
        master = await sdk(loopback, reactor, http=mode)
        agent = await sdk(loopback, reactor, "agent", http=mode)
        stranger = await sdk(loopback, reactor, http=mode, the_key="ngk_" + "0" * 16 + "_" + "1" * 64)
        job = await master.new_job("echo")
        seen[mode] = [
            await error_of(master.job("nope").status()),
            await error_of(master.api.transport.call(
                "fork_many", query=[("job_id", job.job_id)], json={"tasks": "no"})),
            await error_of(stranger.new_job("echo")),
            await error_of(agent.new_job("echo")),
        ]
    assert [e[:2] for e in seen[False]] == [
        (404, "no_such_job"), (400, "bad_request"), (401, "unauthorized"), (403, "forbidden")]
    assert seen[False] == seen[True]
    assert all(code == 101 for method, path, code in loopback.port.factory.seen
               if path.endswith("/channel"))


@pytest_twisted.ensureDeferred
async def test_a_call_the_client_cancels_is_cancelled_on_the_server(reactor, loopback):
    master = await sdk(loopback, reactor)
    job = await master.new_job("echo")
    await job.start()
    assert await job.fork("echo", b"nobody runs this") == 0
    assert loopback.grid.waiting == 0
    fetch = master.api.fetch(job.job_id, 0, wait=30)
    await until(reactor, lambda: loopback.grid.waiting == 1, "the server to park the fetch")
    fetch.cancel()
    with pytest.raises(CancelledError):
        await fetch
    await until(reactor, lambda: loopback.grid.waiting == 0, "the server's waiter to go")
    # The channel is still good for the next call.
    assert (await job.fork("echo", b"after")) == 1
    assert master.api.transport._http._client.alive


@pytest_twisted.ensureDeferred
async def test_a_call_cancelled_while_the_channel_connects_is_never_sent(reactor, loopback):
    agent = await sdk(loopback, reactor, "agent")
    master = await sdk(loopback, reactor)
    job = await master.new_job("echo")
    await job.start()
    pop = agent.api.pop(max=1, wait=0)  # the first call: it waits for the channel
    pop.cancel()
    with pytest.raises(CancelledError):
        await pop
    await job.fork("echo", b"for the next pop")
    tasks = await bounded(agent.api.pop(max=1, wait=5), reactor)
    # Had the cancelled pop reached the server it would hold this lease.
    assert [t["input"] for t in tasks] == [b"for the next pop"]


@pytest_twisted.ensureDeferred
async def test_a_dropped_channel_fails_calls_in_flight_and_the_next_call_reconnects(reactor, loopback):
    master = await sdk(loopback, reactor)
    job = await master.new_job("echo")
    await job.start()
    http = master.api.transport._http
    # fork-and-wait is not idempotent: a dropped channel fails it.
    forked = master.api.fork_wait(job.job_id, "echo", b"a", 30)
    # fetch is: the transport sends it again, on a new channel.
    fetched = master.api.fetch(job.job_id, 0, wait=30)
    await until(reactor, lambda: loopback.grid.waiting == 2, "both calls to wait on the server")
    first = http._client
    first.transport.abortConnection()
    with pytest.raises(GridUnavailable, match="ConnectionLost"):
        await bounded(forked, reactor)
    await until(reactor, lambda: http._client is not first and http._client.alive
                and loopback.grid.waiting == 1, "the fetch to come back on a new channel")
    # The server dropped the waiters of the lost connection's calls.
    worker = Worker(await sdk(loopback, reactor, "agent"))
    try:
        state, value = await bounded(fetched, reactor)
    finally:
        worker.stop()
    assert (state, value) == ("done", b"a")
    channels = [s for s in loopback.port.factory.seen if s[1].endswith("/channel")]
    assert channels[:2] == [("GET", "/naclgrid/channel", 101)] * 2


@pytest_twisted.ensureDeferred
async def test_a_channel_near_the_servers_idle_close_is_replaced_before_a_call(reactor, loopback):
    """A fork sent as the server closes an idle channel would fail and could
    not be sent again: the client retires such a channel first."""
    from naclgrid.client.channel import RETIRE_SECONDS

    master = await sdk(loopback, reactor)
    job = await master.new_job("echo")
    http = master.api.transport._http
    first = http._client
    first.last_sent -= RETIRE_SECONDS - 5  # not yet
    await job.start()
    assert http._client is first
    first.last_sent -= RETIRE_SECONDS  # idle since long enough
    assert await job.fork("echo", b"x") == 0
    second = http._client
    assert second is not first and second.alive
    await until(reactor, lambda: not first.alive, "the retired channel to close")
    channels = [s for s in loopback.port.factory.seen if s[1].endswith("/channel")]
    assert channels == [("GET", "/naclgrid/channel", 101)] * 2


class NoChannel(Resource):
    """The API, except ``/channel`` answers 404 (an older server)."""

    def __init__(self, api_resource):
        super().__init__()
        self._api = api_resource

    def getChildWithDefault(self, name, request):
        if name == b"channel":
            return notFound()
        request.postpath.insert(0, request.prepath.pop())
        return self._api


@pytest_twisted.ensureDeferred
async def test_without_a_channel_the_client_falls_back_to_http_once_and_for_all(reactor, loopback):
    root = Resource()
    root.putChild(b"naclgrid", NoChannel(loopback.port.factory.resource.children[b"naclgrid"]))
    site = Site(root)
    seen = []
    site.log = lambda request: seen.append((request.method.decode(), request.path.decode(),
                                            request.code))
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{port.getHost().port}/naclgrid/"
        master = await sdk(loopback, reactor, url=url)
        job = await master.new_job("echo")
        await job.start()
        assert await job.fork("echo", b"1") == 0
        assert await job.fork_many("echo", [b"2", b"3"]) == [1, 2]
        assert (await job.status())["total"] == 3
        assert isinstance(master.api.transport._http, ChannelHTTP)
        assert master.api.transport._http._refused
        assert seen[0] == ("GET", "/naclgrid/channel", 404)
        assert [s for s in seen if s[1].endswith("/channel")] == [seen[0]]
        assert [s[1] for s in seen[1:]] == ["/naclgrid/new_job", "/naclgrid/start_job",
                                             "/naclgrid/fork", "/naclgrid/fork_many",
                                             "/naclgrid/job"]
    finally:
        await master.close()
        await port.stopListening()


@pytest.mark.integration
def test_an_agent_process_runs_a_job_over_the_channel_of_a_twistd_server(tmp_path):
    from gridhost.testing import wait_for
    from naclgrid.client import connect
    from naclgrid.testing import AgentProcess
    from tests.naclgrid.agent_support import GridServer, kill_agents

    server = GridServer(tmp_path, pool=False).start()
    agent = None
    try:
        agent = AgentProcess(tmp_path, server.url, server.key("agent"), "channeled").start()
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            job = grid.new_job("echo")
            job.start()
            slots = job.fork_many("echo", [b"task %d" % i for i in range(20)])
            assert job.gather(slots, timeout=60) == [b"task %d" % i for i in range(20)]
            job.stop()
        log = tmp_path / "data" / "access.log"
        # Lines are written when a request finishes; the agent's channel did at its 101.
        wait_for(lambda: log.exists() and log.read_text().count("/naclgrid/channel") >= 2,
                 30, "the channel lines in the access log")
        lines = log.read_text().splitlines()
    finally:
        if agent is not None:
            kill_agents([agent])
        server.kill()
    channel_lines = [line for line in lines if '"GET /naclgrid/channel HTTP/1.1" 101' in line]
    assert len(channel_lines) >= 2  # the agent's and the master's
    # Neither the agent's pops and acks nor the master's calls were HTTP requests.
    assert not [line for line in lines
                if any(f"/naclgrid/{name}" in line for name in ("pop", "ack", "fork", "fetch"))]


# -- raw messages against the server ---------------------------------------------------

class Raw(ChannelClient):
    """A channel client that keeps every message, the id -1 ones too."""

    def __init__(self, host, path, ready, clock):
        super().__init__(host, path, ready, clock)
        self.messages = []
        self.closed = Deferred()
        self._wanted = []

    def messageReceived(self, obj, body):
        self.messages.append((obj, body))
        for count, waiter in list(self._wanted):
            if len(self.messages) >= count:
                self._wanted.remove((count, waiter))
                waiter.callback(None)
        super().messageReceived(obj, body)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        self.closed.callback(None)

    async def messages_until(self, reactor, count):
        if len(self.messages) < count:
            waiter = Deferred()
            self._wanted.append((count, waiter))
            await waiter.addTimeout(WAIT, reactor)
        return self.messages[:count]

    def send(self, call_id, name, method="POST", query="", headers=None, body=None):
        self.sendMessage({"id": call_id, "method": method, "name": name, "query": query,
                          "headers": headers or {}}, body)


async def raw_channel(reactor, loopback):
    ready = Deferred()
    port = loopback.port.getHost().port
    client = Raw(b"127.0.0.1:%d" % port, b"/naclgrid/channel", ready, reactor)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=WAIT), client)
    await ready.addTimeout(WAIT, reactor)
    return client


def answer(message):
    obj, body = message
    return obj["id"], obj["status"], json.loads(bytes(body))


@pytest_twisted.ensureDeferred
async def test_a_message_over_the_limit_is_refused_with_413_and_the_channel_closed(reactor, loopback):
    raw = await raw_channel(reactor, loopback)
    assert raw.server_max_bytes > 1024 * 1024
    raw.transport.write(struct.pack(">I", raw.server_max_bytes + 1) + b"\0" * 1000)
    (message,) = await raw.messages_until(reactor, 1)
    call_id, status, body = answer(message)
    assert (call_id, status, body["error"]) == (-1, 413, "too_large")
    assert message[0]["headers"]["content-type"] == "application/json"
    await raw.closed.addTimeout(WAIT, reactor)
    assert len(raw.messages) == 1


@pytest.mark.parametrize("garbage", [
    struct.pack(">I", 12) + b"not a frame!",
    b"".join(encode({"id": "one", "name": "jobs"})),  # id must be an integer
])
@pytest_twisted.ensureDeferred
async def test_a_broken_message_is_refused_with_400_and_the_channel_closed(reactor, loopback,
                                                                         garbage):
    raw = await raw_channel(reactor, loopback)
    raw.transport.write(garbage)
    (message,) = await raw.messages_until(reactor, 1)
    call_id, status, body = answer(message)
    assert (call_id, status, body["error"]) == (-1, 400, "bad_request")
    await raw.closed.addTimeout(WAIT, reactor)


@pytest_twisted.ensureDeferred
async def test_unknown_names_and_wrong_methods_are_answered_and_the_channel_stays(reactor, loopback):
    bearer = {"Authorization": "Bearer " + await key(loopback, "submitter", "alice")}
    raw = await raw_channel(reactor, loopback)
    raw.send(1, "no_such_endpoint", headers=bearer)
    raw.send(2, "fork", method="GET", headers=bearer)
    raw.send(3, "files/" + "0" * 64, method="GET", headers=bearer)  # a path: HTTP only
    raw.send(4, "jobs", method="GET", headers=bearer)
    answers = sorted(answer(m) for m in await raw.messages_until(reactor, 4))
    assert [(a[0], a[1], a[2].get("error")) for a in answers] == [
        (1, 404, "not_found"), (2, 405, "method_not_allowed"), (3, 404, "not_found"),
        (4, 200, None)]
    assert answers[3][2] == {"jobs": []}
    assert raw.alive
    raw.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_calls_over_the_in_flight_limit_get_429_and_a_closed_channel_drops_the_rest(
        reactor, loopback):
    from naclgrid.api.channel import MAX_CALLS_IN_FLIGHT

    bearer = {"Authorization": "Bearer " + await key(loopback, "agent", "farm"),
              "Content-Type": "application/x-www-form-urlencoded"}
    raw = await raw_channel(reactor, loopback)
    for call_id in range(1, MAX_CALLS_IN_FLIGHT + 3):
        raw.send(call_id, "pop", headers=bearer, body=b"max=1&wait=30")
    answers = [answer(m) for m in await raw.messages_until(reactor, 2)]
    assert sorted((a[0], a[1], a[2]["error"]) for a in answers) == [
        (MAX_CALLS_IN_FLIGHT + 1, 429, "limit_exceeded"),
        (MAX_CALLS_IN_FLIGHT + 2, 429, "limit_exceeded")]
    await until(reactor, lambda: loopback.grid.waiting == MAX_CALLS_IN_FLIGHT,
                "the long polls to park")
    raw.transport.loseConnection()
    await until(reactor, lambda: loopback.grid.waiting == 0, "the server to drop the polls")
    assert len(raw.messages) == 2


# -- ChannelServer on a StringTransport and a Clock ------------------------------------

def string_channel(env, idle):
    from twisted.internet.testing import StringTransport

    from naclgrid.api import NaclgridAPI
    from naclgrid.api.channel import ChannelServer

    server = ChannelServer(env.api, NaclgridAPI._channel_routes, b"/naclgrid/", env.clock,
                           1024 * 1024, idle=idle)
    transport = StringTransport()
    server.makeConnection(transport)
    return server, transport


def test_an_idle_channel_is_closed_after_its_idle_time():
    from tests.naclgrid.api_support import ApiEnv

    env = ApiEnv()
    server, transport = string_channel(env, idle=60)
    env.clock.advance(59)
    server.dataReceived(b"".join(encode({"id": 1, "cancel": True})))  # any message is life
    env.clock.advance(59)
    assert not transport.disconnecting
    env.clock.advance(1)
    assert transport.disconnecting


def test_a_channel_with_a_long_poll_in_flight_is_not_idle():
    from tests.naclgrid.api_support import ApiEnv

    env = ApiEnv()
    agent_key = env.client("agent", "farm").key
    server, transport = string_channel(env, idle=25)
    server.dataReceived(b"".join(encode(
        {"id": 7, "method": "POST", "name": "pop", "query": "",
         "headers": {"authorization": "Bearer " + agent_key,
                     "content-type": "application/x-www-form-urlencoded"}},
        b"max=1&wait=60")))
    assert env.grid.waiting == 1 and not transport.value()
    env.clock.advance(25)
    env.clock.advance(25)
    assert not transport.disconnecting
    env.clock.advance(10)  # the poll ends without a task; its answer goes out
    assert b'"id":7,"status":200' in transport.value() and env.grid.waiting == 0
    assert not transport.disconnecting
    env.clock.advance(15)  # idle since the last check that found the poll
    assert transport.disconnecting


def test_answers_waiting_unsent_stop_the_channel_reading_calls():
    """Backpressure: a client that does not read its answers gets no more
    calls run, those already read included, until the answers drain."""
    from tests.naclgrid.api_support import ApiEnv

    env = ApiEnv()
    server, transport = string_channel(env, idle=60)
    assert transport.producer is server and transport.streaming
    calls = b"".join(b"".join(encode({"id": i, "method": "POST", "name": "no_such_call",
                                      "query": "", "headers": {}}))
                     for i in range(1, 4))
    server.pauseProducing()  # as the transport does when its buffer is full
    assert transport.producerState == "paused"
    server.dataReceived(calls)
    env.clock.advance(1)
    assert transport.value() == b""  # read, not run
    server.resumeProducing()
    assert transport.producerState == "producing"
    env.clock.advance(0)
    assert transport.value().count(b'"status":404') == 3


def test_calls_read_while_paused_never_run_once_the_connection_is_lost():
    from twisted.python.failure import Failure
    from twisted.internet.error import ConnectionLost

    from tests.naclgrid.api_support import ApiEnv

    env = ApiEnv()
    alice = env.client("submitter", "alice")
    job_id = alice.started_job()
    server, transport = string_channel(env, idle=60)
    server.pauseProducing()
    server.dataReceived(b"".join(encode(
        {"id": 1, "method": "POST", "name": "fork", "query": f"job_id={job_id}",
         "headers": {"authorization": "Bearer " + alice.key,
                     "content-type": "application/x-www-form-urlencoded"}},
        b"entry=main&input=x")))
    server.connectionLost(Failure(ConnectionLost()))
    server.resumeProducing()
    env.clock.advance(1)
    assert alice.get("job", {"job_id": job_id}).json()["total"] == 0  # never forked
    assert transport.value() == b""


def test_under_tls_backpressure_pauses_the_tcp_connection_beneath():
    from twisted.internet.testing import StringTransport
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    tcp = StringTransport()
    tls = TLSMemoryBIOProtocol.__new__(TLSMemoryBIOProtocol)  # only its transport matters
    tls.transport = tcp
    tls.pauseProducing()
    assert tcp.producerState == "paused"
    tls.resumeProducing()
    assert tcp.producerState == "producing"


class TrustingEndpoints:
    """TLS endpoints that trust one self-signed certificate (the SDK's own
    trust the system's roots)."""

    def __init__(self, reactor, trust):
        self._reactor = reactor
        self._trust = trust

    def endpointForURI(self, uri):
        from twisted.internet import ssl
        from twisted.internet.endpoints import SSL4ClientEndpoint

        host = uri.host.decode("ascii")
        return SSL4ClientEndpoint(self._reactor, host, uri.port,
                                  ssl.optionsForClientTLS(host, trustRoot=self._trust),
                                  timeout=WAIT)


@pytest_twisted.ensureDeferred
async def test_the_channel_carries_big_batches_over_tls(reactor, loopback):
    """Under TLS every byte must go through the TLS layer: a message is never
    written straight to the socket beneath it (the TCP fast path)."""
    from twisted.internet import ssl
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    from tests.core.test_upgrade import self_signed_pem

    key_pem, cert_pem = self_signed_pem()
    port = reactor.listenSSL(0, loopback.port.factory,
                             ssl.PrivateCertificate.loadPEM(key_pem + cert_pem).options(),
                             interface="127.0.0.1")
    url = f"https://127.0.0.1:{port.getHost().port}/naclgrid/"
    endpoints = TrustingEndpoints(reactor, ssl.Certificate.loadPEM(cert_pem))
    clients = []
    try:
        for role, user in (("submitter", "alice"), ("agent", None)):
            http = ChannelHTTP(reactor, url, AgentHTTP(reactor), endpoints)
            clients.append(Grid(url, await key(loopback, role, user), reactor=reactor,
                                http=http, compute=False, retries=2))
        master, agent_grid = clients
        job = await master.new_job("echo")
        await job.start()
        inputs = [bytes([i]) * (600 * 1024) for i in range(12)]  # 7 MiB a batch
        await job.fork_many("echo", inputs)
        worker = Worker(agent_grid)
        try:
            results = await bounded(job.gather(timeout=WAIT), reactor, 2 * WAIT)
        finally:
            worker.stop()
        assert results == [data[::-1] for data in inputs]
        channel = master.api.transport._http._client  # the calls went over the channel
        assert channel is not None and isinstance(channel.transport, TLSMemoryBIOProtocol)
    finally:
        for client in clients:
            await client.close()
        await port.stopListening()
