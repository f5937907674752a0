"""Render scaling: 1 vs 2 agents, and the grid against one process.

Prints, for one 640x480 scene split into the same tiles:
- ``local``: one process renders every tile in a row in the sandbox, one
  fresh instance per tile as an agent does (the baseline, no grid at all),
  timed from loading the scene to the encoded PNG;
- ``grid, 1 agent`` and ``grid, 2 agents``: ``corefarm render`` with an
  embedded grid, real agent processes, and a master that computes nothing
  (``--master-slots 0``), timed from submission to the written image as the
  CLI reports it. As on a standing farm, the agents are already running and
  polling, and have compiled the tracer module (``--warm-up``: a tiny job of
  empty one-pixel tiles before the clock starts) when the job is submitted;
  the job's own scene.bin is still downloaded inside the timed span. The
  local baseline likewise compiles the module before its clock starts.

Speedup = time(1 agent) / time(2 agents) (issue target >= 1.8); distribution
overhead = time(1 agent) / time(local) - 1 (target <= 10 %), from the medians
of ``--runs`` runs; each run's own ratios are printed too. The variants
alternate, in reverse order every other run, so that machine noise and drift
hit every variant alike.

Two agents on a two-core machine have no core to spare: any other process
running meanwhile (a test suite, a build) slows the 2-agent render and, less,
the others, and that is what made earlier single runs range from 1.3x to 2.2x.
So every sample also measures the CPU time spent outside this benchmark's own
processes during it (from /proc/stat, minus the CPU of this process and its
reaped children: the CLI and its agents), printed as "other load" in cores.
A sample during which that exceeds ``--max-other`` cores is run again (up to
``--retries`` times; the least disturbed attempt is kept, and flagged, when
none is quiet). Nothing is discarded silently: retries are printed, the
medians cover every kept sample, and when some are flagged the medians of
the quiet ones alone follow. Two agents saturate both cores, so outside load
costs them nearly one for one: 0.17 cores of it made one 2-agent render 11 %
slower (8.75 s against 7.88 s in the same invocation).

The checkout is shared with engineers who edit it while a benchmark runs;
``--from-head`` measures the committed HEAD instead (``git archive`` into a
temporary folder put first on PYTHONPATH, for this process, the CLI and its
agents alike).

    python bench/render_scaling.py --runs 3 [--from-head]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "tests/corefarm/scenes/cornell.xml"
SNAPSHOT_ENV = "RENDER_SCALING_SNAPSHOT"


def run_from_head(argv):
    """Run this script again from a snapshot of HEAD; return its exit code."""
    import shutil

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="render-scaling-head-")
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [tmp, os.path.join(tmp, "plugins"), *filter(None, [os.environ.get("PYTHONPATH")])]))
        env[SNAPSHOT_ENV] = commit
        args = [a for a in argv if a != "--from-head"]
        return subprocess.run([sys.executable, os.path.join(tmp, "bench", "render_scaling.py"),
                               *args], env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def local_seconds(scene, size, samples, tiles):
    """One process, from the scene file to the encoded PNG, as the grid's
    span is (its master loads the scene, builds the BVH and encodes the
    image inside the clock too: about 0.1 s of the total here)."""
    from corefarm.render.job import RenderJob
    from corefarm.render.local import LocalRunner, render_job, sandbox, tracer_wasm
    from corefarm.scene import load_scene

    sandbox().load(tracer_wasm())  # compiled before the clock starts, as a warm agent's is
    start = time.perf_counter()
    job = RenderJob.prepare(load_scene(scene), size=size, samples=samples)
    image = render_job(job, job.grid(*tiles), LocalRunner(job))
    job.encode(image, "png")
    return time.perf_counter() - start


def grid_seconds(scene, size, samples, tiles, agents):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        done = subprocess.run(
            [sys.executable, "-m", "corefarm.cli", "render", str(scene), "-o", str(out),
             "--agents", str(agents), "--master-slots", "0", "--size", f"{size[0]}x{size[1]}",
             "--samples", str(samples), "--tiles", f"{tiles[0]}x{tiles[1]}", "--quiet",
             "--warm-up"],
            capture_output=True, text=True, timeout=1800)
        timed = re.search(r"tiles, ([0-9.]+) s,", done.stderr)
        if done.returncode != 0 or not timed:
            raise SystemExit(f"corefarm render failed:\n{done.stderr}")
        return float(timed.group(1))


def _busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measured(function, *args):
    """``(seconds, other_load)``: what ``function`` returns, and the CPU spent
    meanwhile by processes other than this one and its reaped children, in
    cores (averaged over the call's wall time)."""
    busy, own, wall = _busy_seconds(), _own_seconds(), time.monotonic()
    seconds = function(*args)
    wall = time.monotonic() - wall
    other = (_busy_seconds() - busy) - (_own_seconds() - own)
    return seconds, max(0.0, other) / wall


def quiet_sample(name, function, args, max_other, retries):
    """Run ``function(*args)`` until a sample sees at most ``max_other`` cores
    of outside load, at most ``1 + retries`` times; keep the least disturbed."""
    best = None
    for attempt in range(1 + retries):
        seconds, other = measured(function, *args)
        if best is None or other < best[1]:
            best = (seconds, other)
        if other <= max_other:
            break
        print(f"  {name}: {seconds:.2f} s with {other:.2f} cores of other load; "
              + ("again" if attempt < retries
                 else f"none quiet: keeping {best[0]:.2f} s ({best[1]:.2f} cores), flagged"),
              flush=True)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=SCENE)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--tiles", default="8x6")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-other", type=float, default=0.05,
                        help="outside CPU load (cores) above which a sample is run again")
    parser.add_argument("--retries", type=int, default=3,
                        help="extra attempts for a sample disturbed by outside load")
    parser.add_argument("--from-head", action="store_true",
                        help="measure the committed HEAD, not the working tree")
    args = parser.parse_args()
    if args.from_head and not os.environ.get(SNAPSHOT_ENV):
        sys.exit(run_from_head(sys.argv[1:]))
    import corefarm
    import naclgrid

    print(f"code: {os.environ.get(SNAPSHOT_ENV) or 'working tree'} "
          f"(naclgrid from {Path(naclgrid.__file__).parent.parent}, "
          f"corefarm from {Path(corefarm.__file__).parent.parent})", flush=True)
    size, tiles = (640, 480), tuple(int(n) for n in args.tiles.split("x"))
    variants = {
        "local": (local_seconds, (args.scene, size, args.samples, tiles)),
        "grid, 1 agent": (grid_seconds, (args.scene, size, args.samples, tiles, 1)),
        "grid, 2 agents": (grid_seconds, (args.scene, size, args.samples, tiles, 2)),
    }
    times = {k: [] for k in variants}
    quiet = {k: [] for k in variants}
    for run in range(args.runs):
        line = {}
        # Every other run in reverse order, so that a drift of the machine's
        # speed within a run (seen: +-10 % over a minute with no visible
        # load: a shared host) does not always favour the same variant.
        order = list(variants) if run % 2 == 0 else list(reversed(variants))
        for name in order:
            function, fargs = variants[name]
            seconds, other = quiet_sample(name, function, fargs, args.max_other, args.retries)
            times[name].append(seconds)
            if other <= args.max_other:
                quiet[name].append(seconds)
            line[name] = (f"{name} {seconds:.2f} s (other load {other:.2f}"
                          + (")" if other <= args.max_other else ", flagged)"))
        one, two, local = (times[k][-1] for k in ("grid, 1 agent", "grid, 2 agents", "local"))
        print(f"run {run + 1}: " + ", ".join(line[k] for k in variants)
              + f"; speedup {one / two:.2f}x, overhead {100 * (one / local - 1):+.1f} %", flush=True)
    flagged = sum(len(times[k]) - len(quiet[k]) for k in variants)
    print(f"\n{args.scene.name} at {size[0]}x{size[1]}, {args.samples} spp, {tiles[0]}x{tiles[1]} tiles,"
          f" medians of {args.runs}" + (f" ({flagged} sample(s) disturbed by other load)" if flagged
                                        else "") + ":")
    report(times)
    if flagged and all(quiet.values()):
        print("quiet samples only (other load <= "
              f"{args.max_other} cores), medians of {', '.join(str(len(v)) for v in quiet.values())}:")
        report(quiet)


def report(times):
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:<15} {v:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in times[k])})")
    print(f"  speedup 2 agents / 1 agent: {med['grid, 1 agent'] / med['grid, 2 agents']:.2f}x (target >= 1.8)")
    print(f"  distribution overhead:      {100 * (med['grid, 1 agent'] / med['local'] - 1):+.1f} % "
          f"(target <= 10 %)")

if __name__ == "__main__":
    main()
