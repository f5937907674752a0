// The Participate page: lend this browser to the farm.
//
// The page thread does the talking (pop, file downloads, heartbeats, ack through the naclgrid
// REST API, with an agent key issued to this visitor); each Web Worker only runs tiles of the
// ray tracer's wasm, one at a time. One worker per core by default; the user picks the count and
// can pause (the tiles in hand are finished and delivered, then nothing more is taken).
(function () {
  "use strict";
  const root = document.querySelector(".participate");
  if (!root) return;
  const $ = (name) => root.querySelector(`[data-field="${name}"]`);
  const startButton = root.querySelector('[data-action="start"]');
  const pauseButton = root.querySelector('[data-action="pause"]');
  const countInput = $("workers");
  const api = root.dataset.api;                      // e.g. "/naclgrid/"
  const applications = root.dataset.applications || "yafaray";
  const tab = Math.random().toString(16).slice(2, 10);
  const cores = Math.max(1, Math.min(64, navigator.hardwareConcurrency || 2));
  countInput.value = String(cores);

  const state = { key: null, running: false, lanes: [], tiles: 0, seconds: 0, nextId: 1 };
  const fileCache = new Map();                        // sha256 -> Promise<ArrayBuffer>
  const MAX_CACHED_FILES = 16;

  function show(text) { $("state").textContent = text; }
  function showError(text) {
    const el = $("error");
    el.textContent = text || "";
    el.hidden = !text;
  }
  function figures() {
    $("tiles").textContent = String(state.tiles);
    $("seconds").textContent = state.seconds.toFixed(1);
  }

  async function getKey() {
    const response = await fetch("participate/key", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": root.dataset.csrf },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || `key refused (${response.status})`);
    const who = document.querySelector('[data-field="identity"]');
    if (who) who.textContent = body.user;
    return body.key;
  }

  async function call(path, init) {
    const headers = Object.assign({ Authorization: `Bearer ${state.key}` }, init.headers || {});
    const response = await fetch(api + path, Object.assign({}, init, { headers, cache: "no-store" }));
    if (response.status === 401) {
      state.key = await getKey();                     // revoked or expired: one fresh key
      headers.Authorization = `Bearer ${state.key}`;
      return fetch(api + path, Object.assign({}, init, { headers, cache: "no-store" }));
    }
    return response;
  }

  function fileBytes(sha) {
    if (!fileCache.has(sha)) {
      if (fileCache.size >= MAX_CACHED_FILES) fileCache.delete(fileCache.keys().next().value);
      const p = call(`files/${sha}`, { method: "GET" }).then(async (r) => {
        if (!r.ok) throw new Error(`could not download file ${sha.slice(0, 12)} (${r.status})`);
        return r.arrayBuffer();
      });
      p.catch(() => fileCache.delete(sha));
      fileCache.set(sha, p);
    }
    return fileCache.get(sha);
  }

  function b64decode(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  class Lane {
    constructor(index) {
      this.index = index;
      this.node = `web-${tab}-${index}`;
      this.worker = new Worker("static/worker.js", { type: "module" });
      this.sent = new Set();                          // shas this worker already holds
      this.stopping = false;
      this.abort = null;
      this.pending = null;
      this.item = document.createElement("li");
      $("worker-list").append(this.item);
      this.status("starting");
      this.worker.onmessage = (e) => { if (this.pending) this.pending(e.data); };
      this.worker.onerror = (e) => { if (this.pending) this.pending({ ok: false, error: `worker failed: ${e.message}` }); };
      this.loop();
    }

    status(text) { this.item.textContent = `worker ${this.index + 1}: ${text}`; }

    stop() {
      this.stopping = true;
      if (this.abort) this.abort.abort();
    }

    async loop() {
      while (!this.stopping) {
        try {
          const tasks = await this.pop();
          for (const task of tasks) await this.run(task);
        } catch (e) {
          if (this.stopping) break;
          this.status(`waiting (${e.message}); retrying`);
          await new Promise((r) => setTimeout(r, 3000));
        }
      }
      this.worker.terminate();
      this.item.remove();
      state.lanes = state.lanes.filter((l) => l !== this);
      if (!state.lanes.length) settled();
    }

    async pop() {
      this.status("waiting for a tile");
      this.abort = new AbortController();
      const form = new URLSearchParams({ max: "1", wait: "20", node: this.node, applications });
      try {
        const response = await call("pop", { method: "POST", body: form, signal: this.abort.signal });
        const body = await response.json();
        if (!response.ok) throw new Error(body.message || String(response.status));
        return body.tasks || [];
      } catch (e) {
        if (this.stopping) return [];
        throw e;
      } finally {
        this.abort = null;
      }
    }

    async run(task) {
      const where = `job ${task.job_id.slice(0, 8)} tile ${task.slot}`;
      this.status(`downloading ${where}`);
      const lease = { job_id: task.job_id, slot: task.slot, lease_id: task.lease_id };
      const beat = this.heartbeat(lease, task.lease_expires);
      let outcome;
      try {
        const message = { id: state.nextId++, sha: task.module.sha256, entry: task.entry,
                          input: b64decode(task.input_b64), files: {}, limits: task.limits,
                          module: null };
        if (!this.sent.has(task.module.sha256)) message.module = await fileBytes(task.module.sha256);
        for (const f of task.files) {
          if (!this.sent.has(f.sha256)) message.files[f.name] = { sha: f.sha256, bytes: await fileBytes(f.sha256) };
          else message.files[f.name] = { sha: f.sha256, bytes: null };
        }
        this.status(`rendering ${where}`);
        outcome = await new Promise((resolve) => {
          this.pending = resolve;
          this.worker.postMessage(message);
        });
        this.pending = null;
        this.sent.add(task.module.sha256);
        for (const f of task.files) this.sent.add(f.sha256);
      } catch (e) {
        outcome = { ok: false, error: `browser: ${e.message}` };
      } finally {
        clearInterval(beat);
      }
      this.status(`delivering ${where}`);
      await this.ack(task, outcome);
      if (outcome.ok) {
        state.tiles += 1;
        state.seconds += outcome.ms / 1000;
        figures();
      }
      this.status(outcome.ok ? `delivered ${where} (${(outcome.ms / 1000).toFixed(2)} s)` : `${where} failed: ${outcome.error}`);
    }

    heartbeat(lease, expires) {
      const every = Math.max(5, (expires - Date.now() / 1000) / 3) * 1000;
      return setInterval(() => {
        call("heartbeat", { method: "POST", headers: { "Content-Type": "application/json" },
                            body: JSON.stringify({ leases: [lease], node: this.node }) }).catch(() => {});
      }, every);
    }

    async ack(task, outcome) {
      const form = new FormData();
      form.append("slot", String(task.slot));
      form.append("lease_id", task.lease_id);
      if (outcome.ok) form.append("result", new Blob([outcome.result]), "result");
      else form.append("error", String(outcome.error).slice(0, 4000));
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const response = await call(`ack?job_id=${encodeURIComponent(task.job_id)}`, { method: "POST", body: form });
          if (response.ok || response.status === 409 || response.status === 404) return;
        } catch (e) { /* network: retry, the ack is idempotent */ }
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
  }

  function wanted() {
    const n = parseInt(countInput.value, 10);
    return Math.max(1, Math.min(64, Number.isFinite(n) ? n : cores));
  }

  function resize() {
    const live = state.lanes.filter((l) => !l.stopping);
    const n = wanted();
    for (let i = live.length; i < n; i++) {
      const used = new Set(state.lanes.map((l) => l.index));
      let index = 0;
      while (used.has(index)) index++;
      state.lanes.push(new Lane(index));
    }
    live.slice(n).forEach((l) => l.stop());
  }

  function settled() {
    if (!state.running) {
      show("Paused. Press Start to lend your processor.");
      startButton.disabled = false;
    }
  }

  async function start() {
    showError("");
    startButton.disabled = true;
    try {
      if (!state.key) state.key = await getKey();
    } catch (e) {
      showError(e.message);
      startButton.disabled = false;
      return;
    }
    state.running = true;
    pauseButton.disabled = false;
    show(`Working with ${wanted()} worker(s). Thank you!`);
    resize();
  }

  function pause() {
    state.running = false;
    pauseButton.disabled = true;
    show("Pausing: finishing the tiles in hand…");
    state.lanes.forEach((l) => l.stop());
    if (!state.lanes.length) settled();
  }

  async function refreshBalance() {
    try {
      const response = await fetch("api/me", { credentials: "same-origin", cache: "no-store" });
      if (response.ok) $("balance").textContent = Math.round((await response.json()).balance).toLocaleString("en-US");
    } catch (e) { /* keep the last value */ }
  }

  startButton.addEventListener("click", start);
  pauseButton.addEventListener("click", pause);
  countInput.addEventListener("change", () => {
    if (state.running) { resize(); show(`Working with ${wanted()} worker(s). Thank you!`); }
  });
  setInterval(refreshBalance, 10000);
  // Tests and kiosks: ?autostart=1 starts right away.
  if (new URLSearchParams(location.search).get("autostart") === "1") start();
})();
