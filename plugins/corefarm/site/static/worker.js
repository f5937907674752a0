// One browser volunteer worker: runs tiles of a naclgrid wasm module, one at a time, through the
// naclgrid ABI implemented in naclgrid_abi.js (the same module the Node tests use). The page sends
// each file's bytes once; the worker keeps the compiled module and the files of the current job.
import * as abi from "./naclgrid_abi.js";

const compiled = new Map();          // module sha256 -> WebAssembly.Module
const files = new Map();             // file sha256 -> Uint8Array
const MAX_MODULES = 4;

async function moduleFor(sha, bytes) {
  if (!compiled.has(sha)) {
    if (!bytes) throw new Error("module bytes missing");
    if (compiled.size >= MAX_MODULES) compiled.delete(compiled.keys().next().value);
    compiled.set(sha, await WebAssembly.compile(bytes));
  }
  return compiled.get(sha);
}

function jobFiles(described) {
  const out = new Map();
  const keep = new Set();
  for (const [name, { sha, bytes }] of Object.entries(described)) {
    if (bytes) files.set(sha, new Uint8Array(bytes));
    if (!files.has(sha)) throw new Error(`file ${name} missing`);
    out.set(name, files.get(sha));
    keep.add(sha);
  }
  // Only the current job's files stay: a volunteer's memory is not ours to fill.
  for (const sha of [...files.keys()]) if (!keep.has(sha)) files.delete(sha);
  return out;
}

self.onmessage = async (event) => {
  const task = event.data;
  const started = performance.now();
  try {
    const module = await moduleFor(task.sha, task.module);
    const result = await abi.runTask({
      module, entry: task.entry, input: task.input, files: jobFiles(task.files), limits: task.limits,
    });
    const bytes = result instanceof Uint8Array ? result : new Uint8Array(result);
    self.postMessage({ id: task.id, ok: true, result: bytes, ms: performance.now() - started }, [bytes.buffer]);
  } catch (error) {
    const text = error && error.kind ? `${error.kind}: ${error.message}` : String(error && error.message || error);
    self.postMessage({ id: task.id, ok: false, error: text, ms: performance.now() - started });
  }
};
