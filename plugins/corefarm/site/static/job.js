// A job's page: poll its progress, fill the preview in tile by tile, and show the download link
// when the image is ready. No reload: only the changed fields and the preview image are replaced.
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
