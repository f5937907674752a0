// Refresh the farm's live figures every few seconds; keep the last values on errors.
(function () {
  const error = document.getElementById("figures-error");
  async function refresh() {
    try {
      const response = await fetch("api/figures", { cache: "no-store" });
      if (!response.ok) throw new Error(response.status);
      const figures = await response.json();
      for (const el of document.querySelectorAll("[data-figure]")) {
        el.textContent = figures[el.dataset.figure];
      }
      error.hidden = true;
    } catch (e) {
      error.hidden = false;
    }
  }
  refresh();
  setInterval(refresh, 3000);
})();
