// Runs one naclgrid task under Node through plugins/corefarm/web/naclgrid_abi.js (the same ABI
// module the browser worker uses):  node node_run_tile.mjs MODULE.wasm ENTRY INPUT OUT [NAME=FILE...]
// Writes the result bytes to OUT; on failure prints "KIND: MESSAGE" and exits 3.
import { readFileSync, writeFileSync } from "node:fs";
import { runTask } from "../../plugins/corefarm/web/naclgrid_abi.js";

const [modulePath, entry, inputPath, outPath, ...named] = process.argv.slice(2);
const files = new Map();
for (const spec of named) {
  const eq = spec.indexOf("=");
  files.set(spec.slice(0, eq), new Uint8Array(readFileSync(spec.slice(eq + 1))));
}
try {
  const result = await runTask({
    module: new Uint8Array(readFileSync(modulePath)),
    entry,
    input: new Uint8Array(readFileSync(inputPath)),
    files,
    log: (line) => process.stderr.write(`log: ${line}\n`),
  });
  writeFileSync(outPath, result);
} catch (error) {
  process.stdout.write(`${error.kind || "error"}: ${error.message}\n`);
  process.exit(3);
}
