// naclgrid_abi.js - the naclgrid WebAssembly ABI (version 1, docs/wasm-abi.md) for JavaScript
// hosts: Node (the tests) and the browser volunteer's Web Worker. An ES module with no
// dependencies and no Node- or DOM-specific API, so the same file runs in both.
//
//   import { runTask } from "./naclgrid_abi.js";
//   const out = await runTask({ module, entry: "render_tile", input, files });   // Uint8Array
//
// Like the native sandbox, every task gets a fresh instance; a failure throws a TaskFailure
// whose `kind` is one of the sandbox's stable kinds (trap, app_error, memory_limit, ...).

export const ABI_VERSION = 1;

export const IMPORTS = Object.freeze({
  log: "(i32, i32) -> ()",
  file_size: "(i32, i32) -> i64",
  file_read: "(i32, i32, i64, i32, i32) -> i32",
  set_result: "(i32, i32) -> ()",
  set_error: "(i32, i32) -> ()",
});

export const DEFAULT_LIMITS = Object.freeze({
  memory_bytes: 256 * 1024 * 1024,
  max_result_bytes: 64 * 1024 * 1024,
  max_log_line_bytes: 4096,
  max_log_lines: 1000,
  max_log_bytes: 256 * 1024,
});

const MAX_NAME_BYTES = 4096;
const NOT_ENTRIES = new Set(["ng_alloc", "_initialize", "_start"]);

export class TaskFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.name = "TaskFailure";
    this.kind = kind;
  }
  toString() {
    return `${this.kind}: ${this.message}`;
  }
}

/** Compile bytes (or pass through a compiled module) and check it against the ABI. */
export async function compile(moduleOrBytes) {
  let module = moduleOrBytes;
  if (!(module instanceof WebAssembly.Module)) {
    const bytes = toBytes(module);
    if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      throw new TaskFailure("bad_module", "not a wasm binary (it must start with \\0asm)");
    }
    try {
      module = await WebAssembly.compile(bytes);
    } catch (error) {
      throw new TaskFailure("bad_module", `not a valid wasm module: ${error.message}`);
    }
  }
  checkModule(module);
  return module;
}

/** The entries a module exports; throws TaskFailure(forbidden_import | bad_module). */
export function checkModule(module) {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "naclgrid" || !(imp.name in IMPORTS)) {
      throw new TaskFailure("forbidden_import", `forbidden import ${imp.module}.${imp.name}`);
    }
    if (imp.kind !== "function") {
      throw new TaskFailure("bad_module", `import naclgrid.${imp.name} must be a function`);
    }
  }
  const exports = WebAssembly.Module.exports(module);
  const names = new Set(exports.map((e) => e.name));
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new TaskFailure("bad_module", "the module does not export its memory as 'memory'");
  }
  if (!exports.some((e) => e.name === "ng_alloc" && e.kind === "function")) {
    throw new TaskFailure("bad_module", "the module does not export ng_alloc");
  }
  const entries = exports.filter((e) => e.kind === "function" && !NOT_ENTRIES.has(e.name)).map((e) => e.name);
  if (!entries.length) throw new TaskFailure("bad_module", "the module exports no entry");
  return { entries, reactor: names.has("_initialize") };
}

/**
 * Run one task. `files` maps names to bytes (a Map, a plain object, or a function name ->
 * bytes|null). `log(line)` receives log lines. Returns the result bytes (a fresh Uint8Array).
 */
export async function runTask({ module, entry, input, files, limits, log }) {
  const lim = { ...DEFAULT_LIMITS, ...(limits || {}) };
  const compiled = await compile(module);
  const shape = checkModule(compiled);
  if (!shape.entries.includes(entry)) {
    throw new TaskFailure("no_such_entry",
      `no such entry '${entry}'; the module exports ${shape.entries.slice().sort().join(", ")}`);
  }
  const data = toBytes(input || new Uint8Array(0));
  if (data.length >= lim.memory_bytes) {
    throw new TaskFailure("memory_limit",
      `memory limit: an input of ${data.length} bytes cannot fit the ${lim.memory_bytes}-byte memory limit`);
  }
  const task = new Task(fileSource(files), lim, log);
  const instance = await WebAssembly.instantiate(compiled, { naclgrid: task.imports() });
  const ex = instance.exports;
  task.memory = ex.memory;
  let rc;
  try {
    if (shape.reactor) ex._initialize();
    task.checkMemory();
    const ptr = ex.ng_alloc(data.length) >>> 0;
    if (data.length && !ptr) {
      throw new TaskFailure("memory_limit", `memory limit: ng_alloc could not allocate the ${data.length}-byte input`);
    }
    if (data.length) {
      if (ptr + data.length > task.memory.buffer.byteLength) {
        throw new TaskFailure("app_error", `ng_alloc returned ${ptr}, outside linear memory`);
      }
      new Uint8Array(task.memory.buffer, ptr, data.length).set(data);
    }
    rc = ex[entry](ptr, data.length);
  } catch (error) {
    if (error instanceof TaskFailure) throw error;
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
      let text = String(error.message || error);
      if (task.error !== null) text += ` (set_error: ${task.error})`;
      if (task.nearMemoryCap()) throw task.memoryFailure(text);
      throw new TaskFailure("trap", text);
    }
    throw new TaskFailure("trap", String(error && error.message || error));
  } finally {
    task.finishLog();
  }
  if (task.fault !== null) throw new TaskFailure("app_error", task.fault);
  if (task.memory.buffer.byteLength > lim.memory_bytes) {
    throw task.memoryFailure(`linear memory grew to ${task.memory.buffer.byteLength} bytes`);
  }
  if (rc !== 0) {
    const message = task.error !== null ? task.error : `entry ${entry} returned ${rc}`;
    if (task.nearMemoryCap()) throw task.memoryFailure(message);
    throw new TaskFailure("app_error", message);
  }
  return task.result;
}

class Task {
  constructor(files, limits, log) {
    this.files = files;
    this.limits = limits;
    this.logSink = typeof log === "function" ? log : null;
    this.memory = null;
    this.result = new Uint8Array(0);
    this.error = null;
    this.fault = null;
    this.logLines = 0;
    this.logBytes = 0;
    this.logDropped = 0;
    this.utf8 = new TextDecoder("utf-8", { fatal: false });
    this.utf8Strict = new TextDecoder("utf-8", { fatal: true });
  }

  imports() {
    return {
      log: (ptr, len) => this.guard(() => this.log(ptr, len)),
      file_size: (ptr, len) => this.guard(() => this.fileSize(ptr, len), -1n),
      file_read: (ptr, len, offset, dst, dstLen) => this.guard(() => this.fileRead(ptr, len, offset, dst, dstLen), -1),
      set_result: (ptr, len) => this.guard(() => this.setResult(ptr, len)),
      set_error: (ptr, len) => this.guard(() => this.setError(ptr, len)),
    };
  }

  // Host functions never trap: a misuse is recorded and fails the task when the entry returns.
  guard(fn, fallback) {
    try {
      return fn();
    } catch (error) {
      this.addFault(String(error && error.message || error));
      return fallback;
    }
  }

  addFault(message) {
    if (this.fault === null) this.fault = message;
  }

  span(ptr, len, what) {
    ptr >>>= 0;
    if (len < 0 || ptr + len > this.memory.buffer.byteLength) {
      this.addFault(`${what}: bytes ${ptr}..${ptr + len} are outside linear memory`);
      return null;
    }
    return new Uint8Array(this.memory.buffer, ptr, len);
  }

  name(ptr, len, what) {
    if (len > MAX_NAME_BYTES) return null;
    const bytes = this.span(ptr, len, what);
    if (bytes === null) return null;
    try {
      return this.utf8Strict.decode(bytes);
    } catch (error) {
      return null;        // not UTF-8: names no file
    }
  }

  file(name) {
    if (name === null) return null;
    const data = this.files(name);
    return data ? toBytes(data) : null;
  }

  log(ptr, len) {
    const bytes = this.span(ptr, len, "log");
    if (bytes === null) return;
    const lim = this.limits;
    if (this.logLines >= lim.max_log_lines || this.logBytes >= lim.max_log_bytes) {
      this.logDropped++;
      return;
    }
    let text = this.utf8.decode(bytes.slice(0, lim.max_log_line_bytes));
    if (text.endsWith("\n")) text = text.slice(0, -1);
    this.logLines++;
    this.logBytes += bytes.length;
    if (this.logSink) this.logSink(text);
  }

  finishLog() {
    if (this.logDropped && this.logSink) this.logSink(`(${this.logDropped} more log lines dropped)`);
  }

  fileSize(ptr, len) {
    const data = this.file(this.name(ptr, len, "file_size"));
    return data === null ? -1n : BigInt(data.length);
  }

  fileRead(ptr, len, offset, dst, dstLen) {
    const data = this.file(this.name(ptr, len, "file_read"));
    if (data === null || offset < 0n) return -1;
    const out = this.span(dst, dstLen, "file_read");
    if (out === null) return -1;
    if (offset >= BigInt(data.length)) return 0;
    const start = Number(offset);
    const n = Math.min(dstLen, data.length - start);
    out.set(data.subarray(start, start + n));
    return n;
  }

  setResult(ptr, len) {
    if (len > this.limits.max_result_bytes) {
      this.addFault(`result limit: ${len} bytes is over the ${this.limits.max_result_bytes}-byte cap`);
      return;
    }
    const bytes = this.span(ptr, len, "set_result");
    if (bytes !== null) this.result = bytes.slice();
  }

  setError(ptr, len) {
    const bytes = this.span(ptr, len, "set_error");
    if (bytes !== null) this.error = this.utf8.decode(bytes.slice(0, this.limits.max_log_line_bytes));
  }

  checkMemory() {
    if (this.memory.buffer.byteLength > this.limits.memory_bytes) {
      throw this.memoryFailure(`memory limit of ${this.limits.memory_bytes} bytes exceeded at instantiation`);
    }
  }

  nearMemoryCap() {
    const limit = this.limits.memory_bytes;
    const headroom = Math.min(Math.max(1 << 20, limit / 8), limit / 4);
    return this.memory !== null && this.memory.buffer.byteLength + headroom >= limit;
  }

  memoryFailure(cause) {
    const used = this.memory ? this.memory.buffer.byteLength : 0;
    return new TaskFailure("memory_limit",
      `memory limit: ${used} of ${this.limits.memory_bytes} bytes in use when the task failed: ${cause}`);
  }
}

function fileSource(files) {
  if (!files) return () => null;
  if (typeof files === "function") return files;
  if (files instanceof Map) return (name) => (files.has(name) ? files.get(name) : null);
  return (name) => (Object.prototype.hasOwnProperty.call(files, name) ? files[name] : null);
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === "string") return new TextEncoder().encode(data);
  throw new TaskFailure("app_error", "bytes expected");
}
