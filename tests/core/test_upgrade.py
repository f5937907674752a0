"""gridhost.core.upgrade: switching an HTTP/1.1 connection of a real
twisted.web Site (on 127.0.0.1) to another protocol."""

import datetime
import json

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.web.resource import Resource
from twisted.web.server import Site

from gridhost.core.upgrade import SwitchingResource

TOKEN = "x-test/1"
WAIT = 5  # seconds: every wait on the network is bounded by this


class Bytes(Protocol):
    """Collects what it receives; ``until(reactor, predicate)`` waits (at
    most WAIT seconds) until ``predicate(self.data)`` holds."""

    def __init__(self):
        self.data = b""
        self.lost = Deferred()
        self._waiters = []

    def dataReceived(self, data):
        self.data += data
        self._check()

    def connectionLost(self, reason):
        if not self.lost.called:
            self.lost.callback(None)

    def _check(self):
        for predicate, waiter in list(self._waiters):
            if predicate(self.data):
                self._waiters.remove((predicate, waiter))
                waiter.callback(self.data)

    def until(self, reactor, predicate):
        waiter = Deferred()
        self._waiters.append((predicate, waiter))
        self._check()
        return waiter.addTimeout(WAIT, reactor)


class Echo(Bytes):
    """The switched-to protocol: echoes what it gets, prefixed."""

    made = 0

    def connectionMade(self):
        self.made += 1

    def dataReceived(self, data):
        super().dataReceived(data)
        self.transport.write(b"<" + data + b">")


class Counter(Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.renders = 0

    def render(self, request):
        self.renders += 1
        return b"plain answer"


class RecordingSite(Site):
    """Remembers the (method, path, code) of each request it logs."""

    def __init__(self, resource, **kwargs):
        super().__init__(resource, **kwargs)
        self.logged = []

    def log(self, request):
        self.logged.append((request.method, request.uri, request.code))


@pytest.fixture
def served(reactor):
    """Start a Site whose /up switches to an Echo (``served(timeout, clock)``);
    returns a namespace with the site, port, echoes and the counter at /."""
    ports = []

    def serve(timeout=None, clock=None):
        class Served:
            echoes = []
            counter = Counter()

        def make(request):
            echo = Echo()
            Served.echoes.append(echo)
            return echo

        root = Resource()
        root.putChild(b"plain", Served.counter)
        root.putChild(b"up", SwitchingResource(TOKEN, make, headers=[("X-Extra", "yes")]))
        kwargs = {"timeout": timeout} if timeout is not None else {}
        if clock is not None:
            kwargs["reactor"] = clock
        Served.site = RecordingSite(root, **kwargs)
        Served.port = reactor.listenTCP(0, Served.site, interface="127.0.0.1")
        ports.append(Served.port)
        return Served

    yield serve
    for port in ports:
        pytest_twisted.blockon(port.stopListening())


async def connect(reactor, port):
    client = Bytes()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port,
                                             timeout=WAIT), client)
    return client


def upgrade_request(path=b"/up", method=b"GET", version=b"HTTP/1.1", token=TOKEN.encode()):
    return (method + b" " + path + b" " + version + b"\r\nHost: test\r\n"
            b"Connection: Upgrade\r\nUpgrade: " + token + b"\r\n\r\n")


def response_complete(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    return int(lines[0].split()[1]), headers, body


def head_done(data):
    return b"\r\n\r\n" in data


@pytest_twisted.ensureDeferred
async def test_an_upgrade_is_switched_and_keeps_bytes_sent_right_after_the_request(reactor, served):
    server = served()
    client = await connect(reactor, server.port)
    client.transport.write(upgrade_request() + b"early bytes")
    await client.until(reactor, lambda d: d.endswith(b"<early bytes>"))
    status, headers, rest = parse(client.data)
    assert status == 101
    assert headers["upgrade"] == TOKEN and headers["connection"].lower() == "upgrade"
    assert headers["x-extra"] == "yes"
    assert rest == b"<early bytes>"
    (echo,) = server.echoes
    assert echo.made == 1

    # Later bytes, even a well-formed HTTP request, are the new protocol's.
    later = b"GET /plain HTTP/1.1\r\nHost: test\r\n\r\n"
    client.transport.write(later)
    await client.until(reactor, lambda d: d.endswith(b"<" + later + b">"))
    assert echo.data == b"early bytes" + later
    assert server.counter.renders == 0
    client.transport.loseConnection()
    await echo.lost.addTimeout(WAIT, reactor)


@pytest_twisted.ensureDeferred
async def test_many_bytes_sent_right_after_the_request_all_reach_the_new_protocol(reactor, served):
    # twisted.web stops reading (pauses the transport) once 16 KiB are
    # buffered behind a request it is handling: the switch must resume it.
    server = served()
    client = await connect(reactor, server.port)
    early = bytes(range(256)) * 1024  # 256 KiB
    client.transport.write(upgrade_request() + early)
    await client.until(reactor, head_done)
    (echo,) = server.echoes
    await echo.until(reactor, lambda d: len(d) >= len(early))
    assert echo.data == early
    client.transport.write(b"more")
    await echo.until(reactor, lambda d: d.endswith(b"more"))
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_the_switch_is_logged_as_a_finished_101_request(reactor, served):
    # The access log and the request metrics see a request only when it
    # finishes: a switched one must finish, as a 101 with no body.
    server = served()
    client = await connect(reactor, server.port)
    client.transport.write(upgrade_request())
    await client.until(reactor, head_done)
    assert server.site.logged == [(b"GET", b"/up", 101)]
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_the_old_http_channel_never_times_out_the_switched_connection(reactor, served):
    clock = Clock()
    clock.advance(datetime.datetime(2026, 1, 1).timestamp())
    server = served(timeout=5, clock=clock)
    client = await connect(reactor, server.port)
    client.transport.write(upgrade_request())
    await client.until(reactor, head_done)
    (echo,) = server.echoes
    head = client.data
    for _ in range(10):
        clock.advance(60)  # idle timeout and abort timeout, many times over
    client.transport.write(b"still here")
    await client.until(reactor, lambda d: d.endswith(b"<still here>"))
    assert client.data == head + b"<still here>"  # no 408, nothing else written
    assert not client.lost.called and not echo.lost.called
    client.transport.loseConnection()
    await echo.lost.addTimeout(WAIT, reactor)


@pytest_twisted.ensureDeferred
async def test_a_request_without_upgrade_headers_gets_426_json(reactor, served):
    server = served()
    client = await connect(reactor, server.port)
    client.transport.write(b"GET /up HTTP/1.1\r\nHost: test\r\n\r\n")
    await client.until(reactor, response_complete)
    status, headers, body = parse(client.data)
    assert status == 426
    assert headers["content-type"] == "application/json"
    assert headers["upgrade"] == TOKEN
    assert json.loads(body)["error"] == "upgrade_required"
    assert TOKEN in json.loads(body)["message"]
    assert server.echoes == []
    # The connection is still plain HTTP.
    client.data = b""
    client.transport.write(b"GET /plain HTTP/1.1\r\nHost: test\r\n\r\n")
    await client.until(reactor, response_complete)
    assert parse(client.data)[2] == b"plain answer"
    client.transport.loseConnection()


@pytest.mark.parametrize("request_bytes, reason", [
    (upgrade_request(method=b"POST"), "GET"),
    (upgrade_request(version=b"HTTP/1.0"), "HTTP/1.1"),
    (upgrade_request(token=b"something-else"), TOKEN),
])
@pytest_twisted.ensureDeferred
async def test_a_request_that_cannot_switch_gets_400_json(reactor, served, request_bytes, reason):
    server = served()
    client = await connect(reactor, server.port)
    client.transport.write(request_bytes)
    await client.until(reactor, response_complete)
    status, headers, body = parse(client.data)
    assert status == 400
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["error"] == "bad_upgrade" and reason in answer["message"]
    assert server.echoes == []
    client.transport.loseConnection()


def self_signed_pem():
    """A throwaway key and certificate for 127.0.0.1 (PEM bytes)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


@pytest_twisted.ensureDeferred
async def test_a_tls_connection_switches_and_stays_encrypted(reactor):
    from twisted.internet import ssl
    from twisted.internet.endpoints import SSL4ClientEndpoint

    key_pem, cert_pem = self_signed_pem()
    server_cert = ssl.PrivateCertificate.loadPEM(key_pem + cert_pem)
    echoes = []

    def make(request):
        echoes.append(Echo())
        return echoes[-1]

    root = Resource()
    root.putChild(b"up", SwitchingResource(TOKEN, make))
    port = reactor.listenSSL(0, Site(root), server_cert.options(), interface="127.0.0.1")
    try:
        trust = ssl.Certificate.loadPEM(cert_pem)
        client = Bytes()
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port,
                                      ssl.optionsForClientTLS("127.0.0.1", trustRoot=trust),
                                      timeout=WAIT)
        await connectProtocol(endpoint, client)
        client.transport.write(upgrade_request())
        await client.until(reactor, head_done)
        assert parse(client.data)[0] == 101
        client.transport.write(b"over tls")
        await client.until(reactor, lambda d: d.endswith(b"<over tls>"))
        (echo,) = echoes
        assert echo.data == b"over tls"  # decrypted: the switch kept TLS under it
        client.transport.loseConnection()
        await echo.lost.addTimeout(WAIT, reactor)
    finally:
        await port.stopListening()
