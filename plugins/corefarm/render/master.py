"""The render master: a naclgrid master that turns a scene into an image.

It follows the seed talk's 3D-rendering table: preprocessing and the
acceleration structure on the master, the image split in tiles, the tiles
forked to agents, the results assembled. Everything it needs to resume lives
in the store (the job's files, its input, a small plan in the kv), so a master
that dies mid-job is resumed by whichever server claims the job next, and the
tiles already rendered are not rendered again.

Input follows the original Corefarm client: ``$scene.xml$ N`` names a dropped
file (the scene, or an archive holding it) and the output format,
0 = TGA, 1 = EXR (the original's codes), 2 = PNG.
"""

import json
import re

from twisted.internet.defer import ensureDeferred, maybeDeferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from naclgrid.errors import GridError, NoSuchFile, NoSuchJob
from naclgrid.model import DONE, FAILED

from .archive import ArchiveError, find_scene, read_archive, scene_resources
from .job import ENTRY, SCENE_FILE, RenderJob
from .tiles import Tile, choose_grid

APPLICATION = "yafaray"
FORMAT_CODES = {"0": "tga", "1": "exr", "2": "png"}
CODES = {fmt: code for code, fmt in FORMAT_CODES.items()}
CONTENT_TYPES = {"png": "image/png", "tga": "image/x-tga", "exr": "image/x-exr"}
OUTPUT_NAME = "image.{}"
SITE_META = "render_master"
INPUT = re.compile(rb"^\s*\$([^$/\\\x00]{1,255})\$\s*([0-9])?\s*$")
PLAN_TTL = 30 * 24 * 3600
BATCH = 10_000
# A tile of the calibration probe takes this long on the master's machine;
# agents are assumed comparable (a browser tab is ~0.6-1x).
DEFAULT_SECONDS_PER_PIXEL = 2e-5


class RenderError(GridError):
    def __init__(self, message):
        super().__init__(message, code="render_failed", status=422)


def parse_input(data):
    """``$scene.xml$ 0`` → ``("scene.xml", "tga")``; RenderError otherwise."""
    match = INPUT.match(data or b"")
    if not match:
        raise RenderError("the job input must look like '$scene.xml$ N' (N: 0 TGA, 1 EXR, 2 PNG)")
    name = match.group(1).decode("utf-8", "replace")
    code = (match.group(2) or b"2").decode()
    if code not in FORMAT_CODES:
        raise RenderError(f"unknown output format {code}: use 0 (TGA), 1 (EXR) or 2 (PNG)")
    return name, FORMAT_CODES[code]


def make_input(scene_name, fmt):
    return f"${scene_name}$ {CODES[fmt]}".encode()


class RenderMaster:
    """``RenderMaster(grid, clock, data_dir, log)``; ``clock`` is the reactor
    (an IReactorTime; when it also provides IReactorThreads, scene loading
    and image encoding run off the reactor thread)."""

    log = Logger(namespace="corefarm.master")

    def __init__(self, grid, clock, data_dir=None, log=None, calibrate=True):
        self._grid, self._clock, self._data_dir = grid, clock, data_dir
        if log is not None:
            self.log = log
        self._calibrate = calibrate
        self._running = {}
        self._previews = {}

    # -- helpers ---------------------------------------------------------------------
    def _off_thread(self, function, *args):
        if IReactorThreads.providedBy(self._clock):
            return deferToThreadPool(self._clock, self._clock.getThreadPool(), function, *args)
        return maybeDeferred(function, *args)

    def _kv_key(self, job_id):
        return f"corefarm:plan:{job_id}"

    async def _plan(self, job_id):
        raw = await self._grid.store.kv_get(self._kv_key(job_id), now=self._clock.seconds())
        return json.loads(raw) if raw else None

    async def _save_plan(self, job_id, plan):
        await self._grid.store.kv_set(self._kv_key(job_id), json.dumps(plan).encode(),
                                      now=self._clock.seconds(), ttl=PLAN_TTL)

    # -- submitting ------------------------------------------------------------------
    async def submit(self, owner, files, options):
        """Create a yafaray job from uploaded ``files`` ({name: bytes}) and
        ``options`` (scene, width, height, samples, format), start it, and
        run the master for it. Returns the job id."""
        fmt = options.get("format") or "png"
        if fmt not in CODES:
            raise RenderError(f"unknown output format {fmt!r}")
        meta = {SITE_META: True}
        for key in ("width", "height", "samples"):
            if options.get(key) is not None:
                meta[key] = int(options[key])
        if options.get("tiles"):
            meta["tiles"] = [int(n) for n in options["tiles"]]
        job = await self._grid.new_job(owner, APPLICATION, meta=meta)
        try:
            for name, data in files.items():
                await self._grid.drop_file(job.job_id, name, data, owner=owner)
            await self._grid.start_job(job.job_id, input=make_input(options["scene"], fmt),
                                       owner=owner)
        except Exception:
            await self._grid.stop_job(job.job_id, "failed", owner=owner)
            raise
        self.start(job.job_id)
        return job.job_id

    def start(self, job_id):
        """Run the master for ``job_id`` in the background (once per process)."""
        if job_id in self._running:
            return self._running[job_id]
        d = ensureDeferred(self.run(job_id))
        if d.called:  # finished at once (a failed or cancelled job)
            return d
        self._running[job_id] = d

        def finished(result):
            self._running.pop(job_id, None)
            return result

        d.addBoth(finished)
        d.addErrback(lambda f: self.log.failure("render master crashed on {job_id}", f,
                                                job_id=job_id))
        return d

    # -- the master ------------------------------------------------------------------
    async def run(self, job_id):
        job = await self._grid.get_job(job_id)
        if job.state != "running":
            return
        try:
            plan = await self._plan(job_id) or await self._prepare(job)
            await self._gather(job_id, plan)
        except (GridError, ValueError) as e:
            message = getattr(e, "message", None) or str(e)
            self.log.warn("render {job_id} failed: {message}", job_id=job_id, message=message)
            await self._fail(job_id, message)

    async def _fail(self, job_id, message):
        plan = await self._plan(job_id) or {}
        plan.update(state="failed", error=message)
        await self._save_plan(job_id, plan)
        try:
            await self._grid.stop_job(job_id, "failed")
        except GridError:
            pass  # already ended (cancelled meanwhile)

    async def _inputs(self, job):
        """The scene's name, the output format and every file the scene may
        reference, with archives unpacked (safely: see archive.py)."""
        scene_name, fmt = parse_input(await self._grid.store.get_job_input(job.job_id))
        files = {}
        for ref in job.files:
            if ref.name == SCENE_FILE or ref.name.startswith("image."):
                continue
            data = await self._grid.get_file(ref.sha256)
            if _is_archive(data):
                unpacked = read_archive(data)
                if scene_name not in unpacked:
                    try:
                        scene_name = find_scene(unpacked, None if scene_name == ref.name else scene_name)
                    except ArchiveError as e:
                        raise RenderError(f"{ref.name}: {e}") from None
                files.update(unpacked)
            else:
                files[ref.name] = data
        if scene_name not in files:
            raise RenderError(f"no {scene_name!r} among the job's files or in its archive")
        return scene_name, fmt, scene_resources(files, scene_name)

    async def _prepare(self, job):
        scene_name, fmt, files = await self._inputs(job)
        meta = job.meta
        size = (meta["width"], meta["height"]) if "width" in meta and "height" in meta else None
        samples = meta.get("samples")
        render_job = await self._off_thread(_prepare_render, files, scene_name, size, samples)
        if meta.get("tiles"):
            cols, rows = meta["tiles"]
            spp = 0.0
        else:
            spp = await self._off_thread(_seconds_per_pixel, render_job) if self._calibrate \
                else DEFAULT_SECONDS_PER_PIXEL
            cols, rows = choose_grid(render_job.width, render_job.height, spp)
        tiles = render_job.grid(cols, rows)
        await self._grid.drop_file(job.job_id, SCENE_FILE, render_job.scene_bin)
        tasks = [(task.entry, task.input) for task in render_job.tasks(tiles)]
        slots = []
        for i in range(0, len(tasks), BATCH):
            slots += await self._grid.fork_many(job.job_id, tasks[i:i + BATCH])
        plan = {
            "state": "rendering", "format": fmt, "scene": scene_name,
            "width": render_job.width, "height": render_job.height,
            "samples": render_job.samples, "grid": [cols, rows],
            "tiles": [[t.x0, t.y0, t.w, t.h] for t in tiles], "slots": slots,
            "encoding": [render_job.output_space, render_job.gamma, bool(render_job.alpha)],
            "warnings": [str(w) for w in render_job.warnings][:500],
        }
        await self._save_plan(job.job_id, plan)
        self.log.info("render {job_id}: {w}x{h}, {n} tiles ({cols}x{rows}), {spp:.2e} s/pixel",
                      job_id=job.job_id, w=render_job.width, h=render_job.height, n=len(tiles),
                      cols=cols, rows=rows, spp=spp)
        return plan

    async def _gather(self, job_id, plan):
        from .assemble import Assembler

        tiles = {slot: Tile(*t) for slot, t in zip(plan["slots"], plan["tiles"])}
        assembler = Assembler(plan["width"], plan["height"], list(tiles.values()))
        pending = list(tiles)
        wait = getattr(self._grid.limits, "max_wait", 60.0)
        while pending:
            job = await self._grid.get_job(job_id)
            if job.state != "running":
                return  # cancelled or stopped by its owner
            outcomes = []
            for i in range(0, len(pending), BATCH):
                outcomes += await self._grid.wait_for_slots(job_id, pending[i:i + BATCH], wait=wait)
            for outcome in outcomes:
                if outcome.state == DONE:
                    assembler.add(tiles[outcome.slot], outcome.result)
                elif outcome.state == FAILED:
                    if (await self._grid.get_job(job_id)).state != "running":
                        return  # stopping a job fails its tiles; that is no render error
                    raise RenderError(f"tile {outcome.slot} failed: {outcome.error}")
            pending = [o.slot for o in outcomes if o.state not in (DONE, FAILED)]
        plan = await self._plan(job_id) or plan
        plan["state"] = "assembling"
        await self._save_plan(job_id, plan)
        space, gamma, alpha = plan["encoding"]
        data = await self._off_thread(_encode, assembler.result(), plan["format"], space, gamma, alpha)
        name = OUTPUT_NAME.format(plan["format"])
        await self._grid.drop_file(job_id, name, data)
        plan.update(state="done", output=name)
        await self._save_plan(job_id, plan)
        await self._grid.stop_job(job_id, "stopped")
        self.log.info("render {job_id} done: {name} ({size} bytes)", job_id=job_id, name=name,
                      size=len(data))

    # -- what the site shows -----------------------------------------------------------
    async def progress(self, job_id, owner):
        status = await self._grid.job_status(job_id, owner=owner)
        plan = await self._plan(job_id) or {}
        state = plan.get("state") or ("preparing" if status["state"] == "running" else status["state"])
        if status["state"] in ("cancelled", "failed") and state != "failed":
            state = status["state"]
        if status["state"] == "failed" and not plan.get("error"):
            plan["error"] = "the render failed"
        return {
            "state": state,
            "job_state": status["state"],
            "tiles_total": len(plan.get("slots", ())),
            "tiles_done": status["counts"].get(DONE, 0),
            "waiting_reason": status.get("waiting_reason"),
            "warnings": plan.get("warnings", []),
            "error": plan.get("error"),
            "output": plan.get("output"),
            "width": plan.get("width"),
            "height": plan.get("height"),
            "format": plan.get("format"),
        }

    async def preview_png(self, job_id, owner):
        """A PNG of the tiles rendered so far (the rest transparent)."""
        status = await self._grid.job_status(job_id, owner=owner)
        plan = await self._plan(job_id)
        if not plan or "slots" not in plan:
            raise NoSuchFile("no preview yet")
        done = status["counts"].get(DONE, 0)
        cached = self._previews.get(job_id)
        if cached and cached[0] == done:
            return cached[1]
        from .assemble import Assembler

        tiles = {slot: Tile(*t) for slot, t in zip(plan["slots"], plan["tiles"])}
        assembler = Assembler(plan["width"], plan["height"])
        slots = list(tiles)
        for i in range(0, len(slots), BATCH):
            for outcome in await self._grid.wait_for_slots(job_id, slots[i:i + BATCH], wait=0):
                if outcome.state == DONE:
                    assembler.add(tiles[outcome.slot], outcome.result)
        space, gamma, _alpha = plan["encoding"]
        # Always with alpha: tiles not rendered yet show as transparent.
        data = await self._off_thread(_encode, assembler.image, "png", space, gamma, True)
        if len(self._previews) > 64:
            self._previews.clear()
        self._previews[job_id] = (done, data)
        return data

    async def output(self, job_id, owner):
        job = await self._grid.get_job(job_id, owner=owner)
        plan = await self._plan(job_id) or {}
        name = plan.get("output")
        ref = job.file(name) if name else None
        if ref is None:
            raise NoSuchFile("the image is not ready")
        data = await self._grid.get_file(ref.sha256)
        return data, CONTENT_TYPES[plan["format"]], f"{job_id}.{plan['format']}"


def _is_archive(data):
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06") or data[:2] == b"\x1f\x8b" \
        or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00" \
        or (len(data) > 262 and data[257:262] == b"ustar")


def _prepare_render(files, scene_name, size, samples):
    from corefarm.scene import SceneError, load_scene

    try:
        scene = load_scene(files[scene_name], files=files, name=scene_name)
    except SceneError as e:
        raise RenderError(f"{scene_name}: {e}") from None
    return RenderJob.prepare(scene, size=size, samples=samples)


def _seconds_per_pixel(render_job):
    from .local import seconds_per_pixel

    try:
        return seconds_per_pixel(render_job)
    except Exception:  # noqa: BLE001 - calibration is a hint; never fail a job over it
        return DEFAULT_SECONDS_PER_PIXEL


def _encode(image, fmt, space, gamma, alpha):
    from .writers import encode_image

    return encode_image(image, fmt, space, gamma, alpha=alpha)


__all__ = ["APPLICATION", "RenderMaster", "RenderError", "parse_input", "make_input", "ENTRY",
           "NoSuchJob"]
