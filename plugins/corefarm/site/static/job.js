// A job's page: poll its progress, fill the preview in tile by tile, and show the download link
// when the image is ready. No reload: only the changed fields and the preview image are replaced.
// My jobs: the rows of unfinished jobs follow their progress too.
(function () {
  "use strict";
  const rows = document.querySelectorAll("tr[data-job]:not([data-finished])");
  if (!rows.length) return;
  async function refresh(row) {
    try {
      const response = await fetch(`jobs/${row.dataset.job}/progress`, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) return;
      const p = await response.json();
      row.querySelector('[data-cell="state"]').textContent = p.reason && !p.finished ? `${p.state} (${p.reason})` : p.state;
      row.querySelector("progress").value = p.progress;
      row.querySelector('[data-cell="tiles"]').textContent = `${p.tiles_done}/${p.tiles_total}`;
      if (p.output && !row.querySelector('[data-cell="action"] a')) {
        const link = document.createElement("a");
        link.href = `jobs/${row.dataset.job}/output`;
        link.textContent = "Download";
        row.querySelector('[data-cell="action"]').append(link);
      }
      if (p.finished) row.dataset.finished = "1";
    } catch (e) { /* keep what is shown */ }
  }
  const timer = setInterval(() => {
    const live = document.querySelectorAll("tr[data-job]:not([data-finished])");
    if (!live.length) clearInterval(timer);
    live.forEach(refresh);
  }, 2000);
})();

(function () {
  "use strict";
  const box = document.querySelector("[data-progress]");
  if (!box) return;
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const preview = field("preview");
  let shownTiles = -1;
  let loading = false;
  let timer = null;

  function refreshPreview(tiles) {
    if (loading || tiles === shownTiles) return;
    loading = true;
    const next = new Image();
    next.onload = () => { preview.src = next.src; shownTiles = tiles; loading = false; };
    next.onerror = () => { loading = false; };
    next.src = `${box.dataset.preview}?tiles=${tiles}`;
  }

  function show(p) {
    field("state").textContent = p.state;
    field("reason").textContent = p.reason_text || "";
    field("bar").value = p.progress;
    field("bar").textContent = `${Math.round(p.progress * 100)}%`;
    field("percent").textContent = `${Math.round(p.progress * 100)}%`;
    field("tiles").textContent = `${p.tiles_done}/${p.tiles_total}`;
    field("cpu").textContent = String(p.cpu_seconds);
    if (p.width && p.height) { preview.width = p.width; preview.height = p.height; }
    const download = field("download");
    if (p.output) {
      download.hidden = false;
      download.textContent = `Download ${p.output}`;
    }
    field("cancel").hidden = p.finished;
    const warnings = field("warnings");
    if (p.warnings.length && warnings.children.length !== p.warnings.length) {
      warnings.replaceChildren(...p.warnings.map((w) => {
        const li = document.createElement("li");
        li.textContent = w;
        return li;
      }));
      field("warnings-box").hidden = false;
    }
    const error = field("error");
    error.textContent = p.error;
    error.hidden = !p.error;
    refreshPreview(p.tiles_done);
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.progress, { cache: "no-store", credentials: "same-origin" });
      if (response.ok) {
        const p = await response.json();
        show(p);
        if (p.finished && shownTiles === p.tiles_done) return;   // final preview shown: stop
      }
    } catch (e) {
      // The server is unreachable for a moment: keep what is on screen, try again.
    }
    timer = setTimeout(poll, 500);
  }
  poll();
  addEventListener("pagehide", () => clearTimeout(timer));
})();
