"""``corefarm render SCENE -o OUT``: render a YafaRay scene on a grid.

Without ``--url`` it starts a private grid in this process (memory store, on a
loopback port), launches ``--agents`` local agent processes and acts as the
naclgrid master: it loads the scene, builds the BVH, splits the image into
tiles, forks them, computes tiles itself while it waits, and writes the image.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from collections import deque

from corefarm.render.tiles import parse_grid

FORMATS = {".png": "png", ".tga": "tga", ".exr": "exr"}
MAX_SCENE_BYTES = 512 * 1024 * 1024


class UsageError(Exception):
    pass


def _size(text):
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like WxH, e.g. 640x480, not {text!r}") from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise argparse.ArgumentTypeError("size: 1..16384 pixels per side")
    return w, h


def _tiles(text):
    try:
        return parse_grid(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _count(low, high, what):
    def parse(text):
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number from {low} to {high}")
        return int(text)
    return parse


def parser():
    p = argparse.ArgumentParser(prog="corefarm", description="The corefarm render farm's tools.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render a YafaRay scene (.xml, .tar.gz or .zip) on a grid")
    r.add_argument("scene", help="the scene: a YafaRay .xml, or a .tar.gz/.zip holding it and its textures")
    r.add_argument("-o", "--output", required=True, help="the image to write: .png, .tga or .exr")
    r.add_argument("--agents", type=_count(0, 256, "--agents"), default=os.cpu_count() or 1,
                   help="local agent processes to start (default: one per core; 0: the master computes alone)")
    r.add_argument("--master-slots", type=_count(0, 256, "--master-slots"), default=1,
                   help="tiles the master computes at once while it waits (default 1; 0: only agents compute)")
    r.add_argument("--tiles", type=_tiles, help="split as CxR tiles (default: tiles of about 1-5 s each)")
    r.add_argument("--samples", type=_count(1, 4096, "--samples"), help="anti-aliasing samples per pixel")
    r.add_argument("--size", type=_size, help="image size WxH (default: the scene's)")
    r.add_argument("--scene-name", help="which .xml of an archive to render (default: the only one)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--warm-up", action="store_true",
                   help="compile the tracer on the agents with a tiny job before the clock starts, "
                        "as a farm that rendered before has (for benchmarks)")
    return p


def read_inputs(args):
    """Check the arguments that the parser cannot; return (files, scene, fmt)."""
    if args.agents == 0 and args.master_slots == 0:
        raise UsageError("with --agents 0 the master must compute: give --master-slots 1 or more")
    out_ext = Path(args.output).suffix.lower()
    if out_ext not in FORMATS:
        raise UsageError(f"{args.output}: the output must end in .png, .tga or .exr")
    if not Path(args.output).resolve().parent.is_dir():
        raise UsageError(f"{args.output}: no such folder {str(Path(args.output).parent)!r}")
    path = Path(args.scene)
    if not path.is_file():
        raise UsageError(f"{args.scene}: no such file")
    if path.stat().st_size > MAX_SCENE_BYTES:
        raise UsageError(f"{args.scene}: larger than {MAX_SCENE_BYTES // (1024 * 1024)} MiB")
    data = path.read_bytes()
    name = path.name
    from corefarm.render.master import _is_archive

    if _is_archive(data):
        from corefarm.render.archive import ArchiveError, find_scene, read_archive

        try:
            scene = find_scene(read_archive(data), args.scene_name)
        except ArchiveError as e:
            raise UsageError(f"{args.scene}: {e}") from None
        return {name: data}, scene, FORMATS[out_ext]
    files = {name: data}
    # Textures next to a bare .xml are sent along (only regular files beside it).
    for sibling in path.parent.iterdir():
        if sibling.is_file() and not sibling.is_symlink() and sibling.suffix.lower() in (
                ".png", ".jpg", ".jpeg", ".tga", ".tif", ".tiff", ".hdr", ".exr", ".bmp"):
            files.setdefault(sibling.name, sibling.read_bytes())
    return files, name, FORMATS[out_ext]


def progress_line(done, total, started, now, width=30):
    filled = int(width * done / total) if total else 0
    rate = done / (now - started) if now > started else 0.0
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tiles  {rate:.1f} tiles/s"


class AgentWatch:
    """The local agents' last lines of output (they reach this process's log
    only), and whether every one of them has exited: a render that only they
    compute could then never finish, and waiting for it would hang."""

    def __init__(self, count, keep=15):
        self.lines = deque(maxlen=keep)
        self.left = count

    def observe(self, event):
        if str(event.get("log_namespace", "")).startswith("naclgrid.pool") and "line" in event:
            self.lines.append(f"{event.get('agent')}: {event['line']}")

    def exited(self, code):
        self.left -= 1
        return code

    @property
    def all_gone(self):
        return self.left <= 0

    def failure(self, what):
        shown = "\n  ".join(self.lines) or "(no output)"
        return UsageError(f"{what}; the agents' last output:\n  {shown}")


async def _agents_ready(reactor, grid, count, out, quiet, watch=None, timeout=60.0):
    """Wait (bounded) until the local agents poll, so the clock measures the
    render rather than Python starting up; a slow agent only costs speed."""
    from twisted.internet.task import deferLater

    deadline = reactor.seconds() + timeout
    while reactor.seconds() < deadline:
        if len(await grid.nodes()) >= count:
            return True
        if watch is not None and watch.all_gone:
            return False
        await deferLater(reactor, 0.1, lambda: None)
    if not quiet:
        out.write(f"warning: not every agent was ready after {timeout:.0f} s; rendering anyway\n")
    return False


async def render(reactor, args, files, scene, fmt, out=sys.stderr):
    from twisted.internet.defer import ensureDeferred
    from twisted.internet.task import LoopingCall
    from twisted.logger import globalLogPublisher

    from corefarm.render.local import tracer_wasm
    from corefarm.render.master import RenderMaster
    from corefarm.render.selfwork import SelfWorker
    from gridhost.core.config import validate
    from gridhost.core.discovery import discover_apps
    from gridhost.core.service import GridHostService
    from naclgrid.pool.launcher import LocalLauncher

    data_dir = tempfile.mkdtemp(prefix="corefarm-render-")
    apps, errors = discover_apps()
    table = {
        "server": {"listen": ["tcp:0:interface=127.0.0.1"], "data_dir": data_dir},
        # --agents decides how many agents run: no local pool of its own.
        "app": {"naclgrid": {"write_admin_key": False, "pool": {"enabled": False}}},
        "host": [{"names": ["*"], "site": [{"path": "/naclgrid", "app": "naclgrid"}]}],
    }
    config, errors = validate(table, apps) if not errors else (None, errors)
    if errors:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise UsageError("cannot start the embedded grid:\n  " + "\n  ".join(errors))
    host = GridHostService.from_config(config, apps, reactor)
    host.privilegedStartService()
    host.startService()
    naclgrid = host.instances["naclgrid"]
    grid = naclgrid.api
    agents = None
    watch = AgentWatch(args.agents)
    globalLogPublisher.addObserver(watch.observe)
    try:
        from corefarm.render.master import APPLICATION

        await grid.applications.register(APPLICATION, tracer_wasm())
        if args.agents:
            key, _ = await naclgrid.keys.create("agent", "corefarm-cli")
            agents = LocalLauncher(reactor, f"http://127.0.0.1:{host.ports[0].getHost().port}/naclgrid/",
                                   1, os.path.join(data_dir, "agents"), node_prefix="corefarm")
            agents.set_key(key)
            for _ in range(args.agents):
                agents.start_agent().exited.addCallback(watch.exited)
            await _agents_ready(reactor, grid, args.agents, out, args.quiet, watch)
            if watch.all_gone and not args.master_slots:
                raise watch.failure("every local agent exited before it was ready")
        if args.warm_up and args.agents:
            from corefarm.render.warmup import warm_up

            await warm_up(grid, "corefarm-cli", APPLICATION, args.agents)
        master = RenderMaster(grid, reactor, calibrate=args.tiles is None)
        options = {"scene": scene, "format": fmt, "samples": args.samples, "tiles": args.tiles}
        if args.size:
            options["width"], options["height"] = args.size
        job_id = await master.submit("corefarm-cli", files, options)
        finished = master.start(job_id)
        worker = SelfWorker(grid, reactor, "corefarm-cli", job_id, tracer_wasm(),
                            slots=args.master_slots)
        if args.master_slots:
            worker.run()
        started = time.monotonic()

        async def show():
            p = await master.progress(job_id, "corefarm-cli")
            if p["tiles_total"] and not args.quiet:
                out.write(progress_line(p["tiles_done"], p["tiles_total"], started, time.monotonic()))
                out.flush()

        # Quiet: no progress polling at all, so the master's process takes
        # no CPU from agents that share its cores.
        bar = None
        if not args.quiet:
            bar = LoopingCall(lambda: ensureDeferred(show()))
            bar.clock = reactor
            bar.start(0.5)
        stranded = {"yes": False}

        def check_agents():
            if args.agents and watch.all_gone and not args.master_slots and not finished.called:
                stranded["yes"] = True
                guard.stop()
                ensureDeferred(grid.stop_job(job_id, "failed")).addErrback(lambda f: None)

        guard = LoopingCall(check_agents)
        guard.clock = reactor
        guard.start(1.0, now=False)
        await finished
        if guard.running:
            guard.stop()
        if stranded["yes"]:
            raise watch.failure("every local agent exited and the master computes no tiles "
                                "(--master-slots 0)")
        if bar is not None:
            bar.stop()
        worker.stop()
        await show()
        progress = await master.progress(job_id, "corefarm-cli")
        if not args.quiet:
            out.write("\n")
        if progress["state"] != "done":
            raise UsageError(f"{args.scene}: the render failed: {progress.get('error') or progress['state']}")
        data, _type, _name = await master.output(job_id, "corefarm-cli")
        Path(args.output).write_bytes(data)
        for warning in progress["warnings"][:20]:
            out.write(f"warning: {warning}\n")
        out.write(f"wrote {args.output} ({progress['width']}x{progress['height']}, "
                  f"{progress['tiles_total']} tiles, {time.monotonic() - started:.2f} s, "
                  f"{worker.done} tiles computed by the master)\n")
    finally:
        globalLogPublisher.removeObserver(watch.observe)
        if agents is not None:
            await agents.stop_all(grace=10)
        await host.stopService()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        files, scene, fmt = read_inputs(args)
    except UsageError as e:
        print(f"corefarm: {e}", file=sys.stderr)
        return 2
    from twisted.internet import reactor
    from twisted.internet.defer import ensureDeferred

    status = {"code": 0}

    def done(_):
        reactor.stop()

    def failed(failure):
        if failure.check(UsageError):
            print(f"\ncorefarm: {failure.value}", file=sys.stderr)
        else:
            print(f"\ncorefarm: unexpected error: {failure.getErrorMessage()}", file=sys.stderr)
            failure.printTraceback(file=sys.stderr)
        status["code"] = 1
        reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(render(reactor, args, files, scene, fmt))
                            .addCallbacks(done, failed))
    reactor.run()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
