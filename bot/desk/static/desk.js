// Console live updates: the case list and the case page refresh themselves without a full reload.
(function () {
  "use strict";

  function poll(el, buildUrl, every, onNew) {
    let last = null;
    let busy = false;
    async function tick() {
      if (busy || document.hidden) { return; }
      busy = true;
      try {
        const resp = await fetch(buildUrl(), {
          credentials: "same-origin", headers: { "X-Requested-With": "fetch" }, cache: "no-store"
        });
        if (resp.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
        if (!resp.ok) { return; }
        const html = await resp.text();
        if (last === null) { last = el.innerHTML.trim(); }
        if (html.trim() !== last) {
          const before = new Set(Array.from(el.querySelectorAll("[data-case-id]")).map((r) => r.dataset.caseId));
          el.innerHTML = html;
          last = html.trim();
          if (onNew) { onNew(el, before); }
        }
      } catch (err) {
        // The desk may be restarting; try again on the next tick.
      } finally {
        busy = false;
      }
    }
    setInterval(tick, every);
    return tick;
  }

  const rows = document.querySelector("[data-live-rows]");
  if (rows) {
    const filters = document.querySelector("[data-live-filters]");
    const query = () => (filters ? new URLSearchParams(new FormData(filters)).toString() : "");
    const tick = poll(rows, () => rows.dataset.src + "?" + query(), 2000, (el, before) => {
      el.querySelectorAll("[data-case-id]").forEach((row) => {
        if (!before.has(row.dataset.caseId)) { row.classList.add("new"); }
      });
    });
    if (filters) {
      filters.addEventListener("change", () => {
        history.replaceState(null, "", "/cases?" + query());
        tick();
      });
    }
  }

  const live = document.querySelector("[data-live-case]");
  if (live) {
    poll(live, () => live.dataset.src, 3000, null);
  }
})();
