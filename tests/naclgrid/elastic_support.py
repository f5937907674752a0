"""Real processes for the many-servers, chaos and benchmark runs (not a test
module): ``twistd -n gridhost`` servers sharing one redis-server, and
``gridhost agent`` processes attached to them. bench/ scripts import it too.

Servers listen on fixed loopback ports so a killed one comes back at the
same URL, which is what its agents keep retrying.
"""

import base64
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from gridhost.testing import GridhostProcess, free_port
from naclgrid.testing import AgentProcess

ROOT = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server(GridhostProcess):
    """One ``twistd -n gridhost`` serving naclgrid on a Redis store."""

    def __init__(self, name, folder, redis_url, port=None, naclgrid_options=""):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "gridhost.toml"
        super().__init__(config, folder / "data", env=_env(), name=name, cwd=str(ROOT))
        self.port = port or free_port()
        config.write_text(
            f'[server]\nlisten = ["tcp:{self.port}:interface=127.0.0.1"]\n'
            f'store = "{redis_url}"\ndata_dir = "{self.data_dir}"\n\n'
            f'[app.naclgrid]\nrequeue_interval = 0.5\n{naclgrid_options}\n'
            # The tests start exactly the agents they count on.
            '[app.naclgrid.pool]\nenabled = false\n\n'
            '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/naclgrid"\napp = "naclgrid"\n')

    @property
    def config(self):
        return self.config_path

    @property
    def api_url(self):
        return f"{self.url}/naclgrid/"

    def start(self, wait=True, timeout=60):
        """Spawn; with ``wait``, return once healthy. The port is fixed by the
        config, so a restarted server answers at the URL its agents retry."""
        return super().start(wait=wait, timeout=timeout, ready=wait)


def agent_process(name, folder, url, key, slots=1, poll_wait=10):
    """One agent process for the many-servers and chaos runs (status line off)."""
    return AgentProcess(folder, url, key, name, slots=slots, poll_wait=poll_wait, status="off",
                        env=_env(), cwd=str(ROOT))


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
