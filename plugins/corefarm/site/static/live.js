// Live figures: any element with data-live="URL" holds [data-figure=NAME] children that are
// refreshed every two seconds; the last values stay on screen when the server is unreachable.
(function () {
  "use strict";
  const boxes = document.querySelectorAll("[data-live]");
  if (!boxes.length) return;
  const nodesBody = document.querySelector("[data-live-nodes]");

  function format(name, value) {
    if (typeof value !== "number") return String(value);
    if (name === "cpu_seconds") return Math.round(value).toLocaleString("en-US");
    return String(value);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  async function refresh() {
    for (const box of boxes) {
      const error = box.parentElement.querySelector(".live-error");
      try {
        const response = await fetch(box.dataset.live, { cache: "no-store", credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const figures = await response.json();
        for (const el of box.querySelectorAll("[data-figure]")) {
          if (el.dataset.figure in figures) el.textContent = format(el.dataset.figure, figures[el.dataset.figure]);
        }
        if (nodesBody && Array.isArray(figures.nodes)) {
          nodesBody.replaceChildren(...figures.nodes.map((n) => {
            const tr = document.createElement("tr");
            tr.append(cell(n.node), cell(n.user), cell(String(n.leases)), cell(n.seen + " s ago"));
            return tr;
          }));
          if (!figures.nodes.length) {
            const tr = document.createElement("tr");
            const td = cell("No node is online.");
            td.colSpan = 4;
            tr.append(td);
            nodesBody.replaceChildren(tr);
          }
        }
        if (error) error.hidden = true;
      } catch (e) {
        if (error) error.hidden = false;
      }
    }
  }
  setInterval(refresh, 2000);
})();
