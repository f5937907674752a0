"""The elastic demo: the local pool grows and shrinks with load.

A naclgrid server runs in this process (memory store, the real REST API on a
loopback port), with the elastic service driving *real* local agent
processes (``provider = "local"``). A load script forks waves of ``spin``
tasks (about 20 ms of CPU each); every quarter second the script records
queued tasks and the pool's nodes. The result is drawn with Pillow:

    python bench/elastic_plot.py [--out docs/images/elastic.png] [--max-nodes 4]

It prints the decisions the autoscaler logged, with their reasons, and a
summary (peak nodes, time to the first node, time back to zero).
"""

import argparse
from collections import deque
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Bursts: (seconds after start, tasks, ms of CPU per task, start_job extras).
BURSTS = ((2.0, 300, 20, {}),
          (20.0, 300, 30, {"slots": "2"}))        # a capacity request: at most 2 slots
# A master trickling work: (from, until, every seconds, ms per task).
TRICKLE = (40.0, 72.0, 0.5, 100)
DURATION = 95.0
SAMPLE = 0.25


def elastic_options(max_nodes):
    return {"enabled": True, "provider": "local", "max_nodes": max_nodes, "slots_per_node": 1,
            "interval": 1.0, "scale_up_cooldown": 2.0, "scale_down_cooldown": 4.0,
            "idle_timeout": 6.0, "drain_grace": 2.0, "boot_timeout": 30.0,
            "lost_timeout": 15.0}


async def demo(reactor, folder, max_nodes, log):
    from twisted.internet.task import deferLater

    from naclgrid.elastic import build_elastic
    from naclgrid.model import QUEUED, LEASED
    from naclgrid.testing import serve_loopback

    loopback = await serve_loopback(reactor)
    grid, store, keys, url = loopback.grid, loopback.store, loopback.keys, loopback.url
    elastic = build_elastic(elastic_options(max_nodes), grid, keys, reactor, url,
                            data_dir=str(folder))
    elastic.journal.entries = deque(maxlen=100_000)     # keep the whole run for the print-out
    elastic.startService()

    samples, start = [], reactor.seconds()
    bursts = list(BURSTS)
    trickle_job, next_trickle = None, TRICKLE[0]
    while reactor.seconds() - start < DURATION:
        now = reactor.seconds() - start
        while bursts and now >= bursts[0][0]:
            _, count, ms, extras = bursts.pop(0)
            job = await grid.new_job("demo", "echo")
            await grid.start_job(job.job_id, b"", meta=extras or None)
            await grid.fork_many(job.job_id, [("spin", str(ms).encode())] * count)
            log(f"t={now:5.1f} s  load: {count} tasks of {ms} ms {extras or ''}")
        if TRICKLE[0] <= now < TRICKLE[1] and now >= next_trickle:
            if trickle_job is None:
                trickle_job = (await grid.new_job("demo", "echo")).job_id
                await grid.start_job(trickle_job, b"")
                log(f"t={now:5.1f} s  load: one {TRICKLE[3]} ms task every {TRICKLE[2]:g} s "
                    f"until t={TRICKLE[1]:g} s")
            await grid.fork(trickle_job, "spin", str(TRICKLE[3]).encode())
            next_trickle += TRICKLE[2]
        jobs = await store.list_jobs(None)
        phases = [r.phase for r in elastic.nodes.values()]
        samples.append({"t": round(now, 3),
                        "queued": sum(j.counts[QUEUED] for j in jobs),
                        "leased": sum(j.counts[LEASED] for j in jobs),
                        "booting": phases.count("booting"), "ready": phases.count("ready"),
                        "draining": phases.count("draining"),
                        "agents": len(elastic.provider.launcher.agents)})
        await deferLater(reactor, SAMPLE, lambda: None)
    await elastic.stopService()
    await loopback.stop()
    decisions = [e for e in elastic.journal.entries if e.get("kind") == "decision"]
    for entry in decisions:
        entry["t"] = round(entry["at"] - start, 2)
    return samples, decisions


# -- drawing --------------------------------------------------------------------------------
def draw(samples, decisions, path, max_nodes):
    from PIL import Image, ImageDraw, ImageFont

    width, height = 1000, 520
    left, right, top, bottom = 70, 70, 50, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    image = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=14)
        small = ImageFont.load_default(size=12)
    except TypeError:                       # Pillow without FreeType sizes
        font = small = ImageFont.load_default()
    t_max = max(s["t"] for s in samples)
    q_max = max(max(s["queued"] + s["leased"] for s in samples), 1)
    q_top = _nice(q_max)
    n_top = max_nodes + 1

    def x(t):
        return left + t / t_max * plot_w

    def yq(value):
        return top + plot_h - value / q_top * plot_h

    def yn(value):
        return top + plot_h - value / n_top * plot_h

    # Grid and axes.
    for i in range(6):
        value = q_top * i / 5
        y = yq(value)
        d.line([(left, y), (left + plot_w, y)], fill=(232, 232, 232))
        d.text((left - 8, y), f"{value:.0f}", fill=(70, 110, 170), font=small, anchor="rm")
    for n in range(n_top + 1):
        d.text((left + plot_w + 8, yn(n)), str(n), fill=(200, 90, 30), font=small, anchor="lm")
    for t in range(0, int(t_max) + 1, 10):
        d.line([(x(t), top + plot_h), (x(t), top + plot_h + 5)], fill="black")
        d.text((x(t), top + plot_h + 8), f"{t}", fill="black", font=small, anchor="mt")
    d.rectangle([left, top, left + plot_w, top + plot_h], outline="black")

    # Work: queued (filled) with leased stacked on top.
    for a, b in zip(samples, samples[1:]):
        xa, xb = x(a["t"]), x(b["t"])
        d.rectangle([xa, yq(a["queued"]), xb, yq(0)], fill=(170, 200, 235))
        d.rectangle([xa, yq(a["queued"] + a["leased"]), xb, yq(a["queued"])],
                    fill=(210, 225, 245))
    # Nodes: step lines for active (booting + ready) and agents alive.
    def steps(key, colour, widthpx):
        points = []
        for a, b in zip(samples, samples[1:]):
            points += [(x(a["t"]), yn(key(a))), (x(b["t"]), yn(key(a)))]
        d.line(points, fill=colour, width=widthpx)

    steps(lambda s: s["agents"], (240, 170, 120), 2)
    steps(lambda s: s["booting"] + s["ready"], (200, 70, 20), 3)
    # Decisions: triangles up / down at the top.
    for entry in decisions:
        if entry["action"] not in ("up", "down"):
            continue
        cx = x(entry["t"])
        if entry["action"] == "up":
            d.polygon([(cx - 5, top + 14), (cx + 5, top + 14), (cx, top + 4)], fill=(30, 140, 60))
        else:
            d.polygon([(cx - 5, top + 4), (cx + 5, top + 4), (cx, top + 14)], fill=(180, 30, 30))

    d.text((left, 14), "naclgrid elastic pool (local agents): nodes against queued work",
           fill="black", font=font)
    d.text((width / 2, height - 22), "seconds", fill="black", font=small, anchor="mm")
    d.text((12, top + plot_h / 2), "tasks", fill=(70, 110, 170), font=small, anchor="lm")
    d.text((width - 12, top + plot_h / 2), "nodes", fill=(200, 90, 30), font=small, anchor="rm")
    legend = [((170, 200, 235), "queued tasks"), ((210, 225, 245), "running tasks"),
              ((200, 70, 20), "nodes wanted (booting + ready)"),
              ((240, 170, 120), "agent processes alive"),
              ((30, 140, 60), "scale-up decision"), ((180, 30, 30), "scale-down decision")]
    lx = left
    for colour, text in legend:
        d.rectangle([lx, height - 48, lx + 12, height - 36], fill=colour)
        d.text((lx + 16, height - 42), text, fill="black", font=small, anchor="lm")
        lx += 18 + d.textlength(text, font=small) + 14
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


def _nice(value):
    for step in (10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 5:
            return step * 5
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "elastic.png"))
    parser.add_argument("--max-nodes", type=int, default=4)
    parser.add_argument("--data", help="also write the samples and decisions as JSON here")
    args = parser.parse_args(argv)

    from twisted.internet import reactor
    from twisted.internet.defer import ensureDeferred

    outcome = {}
    with tempfile.TemporaryDirectory(prefix="gridhost-elastic-") as folder:
        def run():
            d = ensureDeferred(demo(reactor, Path(folder), args.max_nodes, print))
            d.addCallback(outcome.update and (lambda r: outcome.update(result=r)))
            d.addErrback(lambda f: (f.printTraceback(), outcome.update(failed=True)))
            d.addBoth(lambda _: reactor.stop())
        reactor.callWhenRunning(run)
        reactor.run()
    if "result" not in outcome:
        return 1
    samples, decisions = outcome["result"]
    holds = sum(1 for entry in decisions if entry["action"] == "hold")
    print(f"{len(decisions) - holds} scaling decisions ({holds} holds with a new reason "
          "not shown):")
    for entry in decisions:
        if entry["action"] != "hold":
            print(f"t={entry['t']:5.1f} s  {entry['action']:<4} {entry['reason']}")
    active = [s["booting"] + s["ready"] for s in samples]
    first = next(s["t"] for s in samples if s["booting"] + s["ready"] > 0)
    last_busy = max(s["t"] for s in samples if s["queued"] + s["leased"] > 0)
    back = next((s["t"] for s in samples if s["t"] > last_busy and s["agents"] == 0), None)
    print(f"peak nodes {max(active)} (max {args.max_nodes}); first node at t={first:.1f} s "
          f"(first burst at t={BURSTS[0][0]:.0f} s); last work at t={last_busy:.1f} s; "
          f"no agent left at t={back if back is None else round(back, 1)} s")
    draw(samples, decisions, Path(args.out), args.max_nodes)
    print(f"wrote {args.out}")
    if args.data:
        Path(args.data).write_text(json.dumps({"samples": samples, "decisions": decisions}))
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"({time.time() - started:.0f} s)")
    sys.exit(code)
