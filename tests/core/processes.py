"""Run ``twistd -n gridhost`` as a real process for black-box tests."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from gridhost.testing import wait_for

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


class GridhostProcess:
    def __init__(self, config_path, data_dir, extra_args=(), env=None):
        self.config_path, self.data_dir = Path(config_path), Path(data_dir)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-twistd.log"
        self.args = [*TWISTD, "-n", "--pidfile=", f"--logfile={self.log_path}", "gridhost",
                     "--config", str(config_path), *extra_args]
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.port = None

    def start(self, timeout=30):
        ports = self.data_dir / "ports"
        if ports.exists():
            ports.unlink()
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

        def bound():
            if self.proc.poll() is not None:
                raise AssertionError(f"twistd exited with {self.proc.returncode}:\n{self.output()}")
            text = ports.read_text() if ports.exists() else ""
            return text.split() and int(text.split()[0])

        self.port = wait_for(bound, timeout, "gridhost to listen")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path, headers=None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def get_json(self, path, headers=None):
        status, body, _ = self.get(path, headers)
        return status, json.loads(body)

    def post_json(self, path, body, content_type="application/x-www-form-urlencoded"):
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def output(self):
        log = self.log_path.read_text() if self.log_path.exists() else ""
        out = self.proc.stdout.read().decode(errors="replace") if self.proc and self.proc.poll() is not None else ""
        return out + log

    def terminate(self, timeout=5):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
