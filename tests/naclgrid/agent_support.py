"""Helpers for the agent, client and pool unit tests (not a test module)."""

from twisted.internet.defer import Deferred, maybeDeferred

from naclgrid.sandbox.errors import TaskFailure


class FakeSandbox:
    """The sandbox seam: ``echo`` returns its input, ``upper`` upper-cases it,
    ``fail`` fails like a trapping module, ``cat`` returns the job file named
    by its input."""

    def __init__(self):
        self.loaded = []
        self.ran = []

    def load(self, module_bytes):
        self.loaded.append(module_bytes)
        return ("app", module_bytes)

    def run(self, app, entry, data, files=None, limits=None):
        self.ran.append((entry, data))
        if entry == "echo":
            return data
        if entry == "upper":
            return data.upper()
        if entry == "cat":
            content = files(data.decode())
            return b"<none>" if content is None else content
        raise TaskFailure("trap", f"boom in {entry}")


class InlineThreads:
    """``in_thread`` that calls at once; or, with ``manual=True``, holds each
    call until the test releases it (a task that runs for a while)."""

    def __init__(self, manual=False):
        self.manual = manual
        self.pending = []

    def __call__(self, function, *args):
        if not self.manual:
            return maybeDeferred(function, *args)
        d = Deferred()
        self.pending.append((function, args, d))
        return d

    def release(self, count=None):
        """Run the held calls (the first ``count`` of them)."""
        count = len(self.pending) if count is None else count
        batch, self.pending = self.pending[:count], self.pending[count:]
        for function, args, d in batch:
            maybeDeferred(function, *args).chainDeferred(d)
        return len(batch)


# -- real processes: a gridhost server and agents -----------------------------------

SERVER_CONFIG = """
[server]
listen = ["tcp:{port}:interface=127.0.0.1"]
data_dir = "{data}"
store = "{store}"

[app.naclgrid]
{naclgrid}

[[host]]
names = ["*"]
[[host.site]]
path = "/naclgrid"
app = "naclgrid"
"""


def pool_switch(pool):
    """The ``[app.naclgrid.pool]`` table: ``False`` switches the pool off,
    ``True`` keeps its defaults, a dict sets its options."""
    if pool is True:
        return ""
    options = {"enabled": False} if pool is False else dict(pool)
    lines = [f"{key} = {str(value).lower() if isinstance(value, bool) else value}"
             for key, value in options.items()]
    return "\n[app.naclgrid.pool]\n" + "\n".join(lines) + "\n"


class GridServer:
    """``twistd -n gridhost`` on a fixed port (so it can be restarted on it)."""

    def __init__(self, root, store="memory", naclgrid="", pool=False):
        from gridhost.testing import GridhostProcess, free_port

        self.root = root
        self.port = free_port()
        self.config = root / "gridhost.toml"
        self.config.write_text(SERVER_CONFIG.format(
            port=self.port, data=root / "data", store=store, naclgrid=naclgrid)
            + pool_switch(pool))
        self.process = GridhostProcess(self.config, root / "data")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/naclgrid/"

    def start(self, timeout=60):
        self.process.start(timeout=timeout)
        return self

    def key(self, role, user=None):
        """A new key from ``gridhost keys create`` (the store the server uses)."""
        return self.process.create_key(role, user)

    def kill(self):
        self.process.kill()

    def terminate(self, timeout=15):
        return self.process.terminate(timeout=timeout)

    def output(self):
        return self.process.output()


def kill_agents(agents):
    for agent in agents:
        agent.kill()


__all__ = ["FakeSandbox", "GridServer", "InlineThreads", "kill_agents"]
