"""Real processes for the many-servers, chaos and benchmark runs (not a test
module): ``twistd -n gridhost`` servers sharing one redis-server, and
``gridhost agent`` processes attached to them. bench/ scripts import it too.

Servers listen on fixed loopback ports so a killed one comes back at the
same URL, which is what its agents keep retrying.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from gridhost.testing import api_call, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
KEYS_CLI = [sys.executable, "-c",
            "import sys; from naclgrid.cli_keys import main; sys.exit(main(sys.argv[1:]))"]
AGENT = [sys.executable, "-m", "naclgrid.agent"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server:
    """One ``twistd -n gridhost`` serving naclgrid on a Redis store."""

    def __init__(self, name, folder, redis_url, port=None, naclgrid_options=""):
        self.name = name
        self.folder = Path(folder)
        self.data_dir = self.folder / "data"
        self.port = port or free_port()
        self.config = self.folder / "gridhost.toml"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f'[server]\nlisten = ["tcp:{self.port}:interface=127.0.0.1"]\n'
            f'store = "{redis_url}"\ndata_dir = "{self.data_dir}"\n\n'
            f'[app.naclgrid]\nrequeue_interval = 0.5\n{naclgrid_options}\n'
            # The tests start exactly the agents they count on.
            '[app.naclgrid.pool]\nenabled = false\n\n'
            '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/naclgrid"\napp = "naclgrid"\n')
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/naclgrid/"

    def start(self, wait=True, timeout=60):
        self.starts += 1
        ports = self.data_dir / "ports"
        if ports.exists():
            ports.unlink()
        log = self.folder / f"twistd-{self.starts}.log"
        with open(self.folder / f"twistd-{self.starts}.out", "wb") as out:
            self.proc = subprocess.Popen(
                [*TWISTD, "-n", "--pidfile=", f"--logfile={log}", "gridhost", "--config",
                 str(self.config)], cwd=str(ROOT), env=_env(), stdout=out,
                stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=60):
        def ready():
            assert self.proc.poll() is None, f"{self.name} exited: {self.log_tail()}"
            return self.health().get("ok")
        wait_for(ready, timeout, f"{self.name} to be ready")

    def log_tail(self, lines=40):
        """The end of the latest run's output and log (errors first, not access lines)."""
        text = []
        for suffix in ("out", "log"):
            path = self.folder / f"twistd-{self.starts}.{suffix}"
            if path.exists():
                text += [line for line in path.read_text(errors="replace").splitlines()
                         if "twisted.python.log#info" not in line]
        return "\n".join(text[-lines:])

    def health(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            return {}

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    # -- the REST API, as the SDK would call it -----------------------------------------------
    def call(self, key, endpoint, query=None, form=None, body=None, method="POST", timeout=70):
        return api_call(self.url + endpoint, key, query, form, body, method, timeout)

    def json(self, key, endpoint, **kwargs):
        status, body = self.call(key, endpoint, **kwargs)
        assert status == 200, (self.name, endpoint, status, body[:500])
        return json.loads(body)


class AgentProc:
    """One ``gridhost agent`` process (the real CLI) with its own node id."""

    def __init__(self, name, folder, url, key, slots=1, poll_wait=10):
        self.name, self.folder, self.url, self.key = name, Path(folder), url, key
        self.slots, self.poll_wait = slots, poll_wait
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        env = _env()
        env["NACLGRID_KEY"] = self.key            # never on the command line
        log = open(self.folder / f"{self.name}-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [*AGENT, "--url", self.url, "--slots", str(self.slots), "--node", self.name,
             "--status", "off", "--poll-wait", str(self.poll_wait),
             "--cache-dir", str(self.folder / "cache")],
            cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def create_key(server, role, user):
    """A key made with the real ``gridhost keys`` CLI against the server's config."""
    done = subprocess.run([*KEYS_CLI, "create", "--role", role, "--user", user, "--config",
                           str(server.config)], cwd=str(ROOT), env=_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


def pi_input(slot, count=2000):
    return f"{1_000_003 * slot + 17} {count}".encode()


def submit(server, key, application, entry, inputs, max_attempts=3, lease_seconds=10,
           **start_extras):
    """A started job with ``inputs`` forked (fork_many batches); its id."""
    job_id = server.json(key, "new_job", form={
        "application": application, "lease_seconds": str(lease_seconds),
        "max_attempts": str(max_attempts)})["job_id"]
    server.json(key, "start_job", query={"job_id": job_id}, form={"input": "", **start_extras})
    for start in range(0, len(inputs), 1000):
        batch = [{"entry": entry, "input_b64": b64(data)} for data in inputs[start:start + 1000]]
        server.json(key, "fork_many", query={"job_id": job_id}, body={"tasks": batch})
    return job_id


def gather(servers, key, job_id, total, timeout, wait=20):
    """Every slot's outcome, asking whichever server answers (any may be down)."""
    results = {}
    deadline = time.monotonic() + timeout
    turn = 0
    while len(results) < total:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(results)} of {total} results after {timeout} s")
        server = servers[turn % len(servers)]
        turn += 1
        pending = [s for s in range(total) if s not in results][:5000]
        try:
            status, body = server.call(key, "fetch_many", query={"job_id": job_id},
                                       body={"slots": pending, "wait": wait}, timeout=wait + 15)
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
            continue
        if status != 200:
            time.sleep(0.2)
            continue
        for item in json.loads(body)["results"]:
            if item["state"] == "done":
                results[item["slot"]] = unb64(item["result_b64"])
            elif item["state"] == "failed":
                results[item["slot"]] = ("failed", item.get("error"))
    return [results[s] for s in range(total)]


class EventTap:
    """A plain subscriber on the grid's Redis event channel, in a thread: the
    accepted results, counted per slot, show that no slot was acked twice
    (the ack script publishes ``r|<slot>|<job>`` only when it accepts)."""

    def __init__(self, redis_port, channel="ng:events"):
        self._sock = socket.create_connection(("127.0.0.1", redis_port), timeout=10)
        self._sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n"
                           % (len(channel), channel.encode()))
        self._stream = self._sock.makefile("rb")
        self.messages = []
        self._lock = threading.Lock()
        assert self._read()[0] == b"subscribe"
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read(self):
        """One RESP array of bulk strings and integers."""
        header = self._stream.readline()
        if not header.startswith(b"*"):
            raise EOFError(header)
        items = []
        for _ in range(int(header[1:])):
            line = self._stream.readline()
            if line.startswith(b"$"):
                items.append(self._stream.read(int(line[1:]) + 2)[:-2])
            else:
                items.append(line[1:].strip())
        return items

    def _run(self):
        try:
            while True:
                kind, _channel, payload = self._read()
                if kind == b"message":
                    with self._lock:
                        self.messages.append(payload.decode(errors="replace"))
        except (EOFError, OSError, ValueError):
            pass

    def result_events(self, job_id):
        """How many accepted results each slot of ``job_id`` got."""
        counts = {}
        with self._lock:
            messages = list(self.messages)
        for text in messages:
            parts = text.split("|", 2)
            if len(parts) == 3 and parts[0] == "r" and parts[2] == job_id and parts[1].isdigit():
                counts[int(parts[1])] = counts.get(int(parts[1]), 0) + 1
        return counts

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)
