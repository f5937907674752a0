"""Tracer speed: the wasm build under wasmtime against the gcc build of the
same C, on the same scene and tile.

Both builds count the rays they trace (camera, shadow, reflection, AO...)
and do identical work, so rays/s compare directly. wasm runs once without
fuel metering (plain wasmtime, an instance kept for the ``stats`` entry)
and once through the naclgrid sandbox exactly as an agent runs a tile
(fresh instance, fuel on). One thread each: per-core numbers. Medians of
RUNS runs. Target: wasm >= 0.75x native.

    python bench/tracer_wasm_vs_native.py [--scene FILE] [--size 320x240] [--samples 2] [--runs 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402

from corefarm.render.job import RenderJob  # noqa: E402
from corefarm.render.local import LocalRunner, tracer_wasm  # noqa: E402
from corefarm.render.tiles import Tile  # noqa: E402
from corefarm.scene import load_scene  # noqa: E402

TRACER = ROOT / "plugins" / "corefarm" / "tracer"
DEFAULT_SCENE = ROOT / "tests" / "corefarm" / "scenes" / "features.xml"


class PlainHost:
    """The naclgrid ABI on plain wasmtime (no fuel, no limits), keeping one
    instance so the ``stats`` entry can report the rays it traced."""

    def __init__(self, module_bytes, files):
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, module_bytes)
        self.files = files
        self.result = b""

    def _instance(self):
        store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        mem = {}

        def name(ptr, n):
            return bytes(mem["m"].read(store, ptr, ptr + n)).decode()

        def file_size(ptr, n):
            data = self.files.get(name(ptr, n))
            return -1 if data is None else len(data)

        def file_read(ptr, n, off, dst, dlen):
            data = self.files.get(name(ptr, n))
            if data is None:
                return -1
            chunk = data[off:off + dlen]
            mem["m"].write(store, chunk, dst)
            return len(chunk)

        def set_result(ptr, n):
            self.result = bytes(mem["m"].read(store, ptr, ptr + n))

        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        linker.define_func("naclgrid", "log", wasmtime.FuncType([i32, i32], []), lambda p, n: None)
        linker.define_func("naclgrid", "file_size", wasmtime.FuncType([i32, i32], [i64]), file_size)
        linker.define_func("naclgrid", "file_read",
                           wasmtime.FuncType([i32, i32, i64, i32, i32], [i32]), file_read)
        linker.define_func("naclgrid", "set_result", wasmtime.FuncType([i32, i32], []), set_result)
        linker.define_func("naclgrid", "set_error", wasmtime.FuncType([i32, i32], []),
                           lambda p, n: None)
        inst = linker.instantiate(store, self.module)
        mem["m"] = inst.exports(store)["memory"]
        return store, inst

    def call(self, store, inst, entry, data):
        ex = inst.exports(store)
        ptr = ex["ng_alloc"](store, len(data))
        ex["memory"].write(store, data, ptr)
        rc = ex[entry](store, ptr, len(data))
        if rc != 0:
            raise RuntimeError(f"{entry} returned {rc}")
        return self.result

    def render(self, request):
        store, inst = self._instance()
        start = time.perf_counter()
        self.call(store, inst, "render_tile", request)
        seconds = time.perf_counter() - start
        rays = int.from_bytes(self.call(store, inst, "stats", b""), "little")
        return rays, seconds


def native_build(tmp):
    for path in TRACER.iterdir():
        if path.suffix in (".c", ".h") or path.name == "Makefile":
            (tmp / path.name).write_bytes(path.read_bytes())
    subprocess.run(["make", "-s", "-C", str(tmp), "native"], check=True)
    return tmp / "tracer_native"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(DEFAULT_SCENE))
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    job = RenderJob.prepare(load_scene(args.scene), size=(w, h), samples=args.samples)
    tile = Tile(0, 0, w, h)
    request = job.request(tile)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        native = native_build(tmp)
        (tmp / "scene.bin").write_bytes(job.scene_bin)
        native_rps, native_rays = [], 0
        for _ in range(args.runs):
            out = subprocess.run([str(native), str(tmp / "scene.bin"), "-s", f"{w}x{h}",
                                  "-n", str(args.samples)], check=True, capture_output=True,
                                 text=True).stdout.split()
            native_rays = int(out[1])
            native_rps.append(native_rays / float(out[3]))

    host = PlainHost(tracer_wasm(), job.files)
    wasm_rps, wasm_rays = [], 0
    for _ in range(args.runs):
        rays, seconds = host.render(request)
        wasm_rays = rays
        wasm_rps.append(rays / seconds)

    runner = LocalRunner(job)
    (task,) = job.tasks([tile])
    sandbox_s = []
    for _ in range(args.runs):
        start = time.perf_counter()
        runner.run(task)
        sandbox_s.append(time.perf_counter() - start)
    sandbox_rps = [wasm_rays / s for s in sandbox_s]

    n, wm, sb = (statistics.median(native_rps), statistics.median(wasm_rps),
                 statistics.median(sandbox_rps))
    print(f"scene {Path(args.scene).name} {w}x{h} {args.samples} spp, {args.runs} runs, medians")
    print(f"rays per tile: native {native_rays}, wasm {wasm_rays}")
    print(f"native (gcc -O2)          {n / 1e6:8.3f} Mrays/s")
    print(f"wasm (wasmtime, no fuel)  {wm / 1e6:8.3f} Mrays/s   ratio {wm / n:.2f}")
    print(f"wasm (naclgrid sandbox)   {sb / 1e6:8.3f} Mrays/s   ratio {sb / n:.2f}")
    print(f"target: wasm >= 0.75x native -> {'met' if wm / n >= 0.75 else 'NOT met'}")


if __name__ == "__main__":
    main()
