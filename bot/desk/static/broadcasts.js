// A broadcast's page: the progress panel refreshes itself from /broadcasts/{id}/status.json every few seconds
// while the broadcast is approved or sending. Without JavaScript the page shows the same numbers and a reload link.
(function () {
  "use strict";

  const panel = document.querySelector("[data-progress]");
  if (!panel || panel.dataset.live !== "yes") { return; }
  const states = JSON.parse(panel.dataset.stateLabels || "{}");
  const reasons = JSON.parse(panel.dataset.skipLabels || "{}");
  const finished = ["done", "cancelled"];
  const startState = panel.dataset.state;
  let busy = false;
  let timer = null;

  function set(name, value) {
    const el = panel.querySelector('[data-count="' + name + '"]');
    if (el) { el.textContent = String(value); }
  }

  function skipRow(code) {
    let row = panel.querySelector('[data-skip="' + code + '"]');
    if (!row) {
      const list = panel.querySelector(".bc-skipped");
      row = document.createElement("li");
      row.dataset.skip = code;
      row.append(document.createTextNode((reasons[code] || code) + ": "));
      const count = document.createElement("span");
      count.dataset.skipCount = "";
      row.append(count);
      list.append(row);
    }
    return row.querySelector("[data-skip-count]");
  }

  function show(data) {
    const skipped = data.skipped || {};
    let skippedTotal = 0;
    Object.keys(skipped).forEach((code) => { skippedTotal += Number(skipped[code]) || 0; });
    panel.querySelectorAll("[data-skip]").forEach((row) => {
      if (!(row.dataset.skip in skipped)) { row.querySelector("[data-skip-count]").textContent = "0"; }
    });
    Object.keys(skipped).forEach((code) => { skipRow(code).textContent = String(skipped[code]); });
    const recipients = Number(data.recipients) || 0;
    const done = (Number(data.sent) || 0) + (Number(data.failed) || 0) + skippedTotal;
    const pending = data.pending !== undefined ? Number(data.pending) : Math.max(recipients - done, 0);
    set("recipients", recipients);
    set("sent", data.sent);
    set("failed", data.failed);
    set("skipped", skippedTotal);
    set("pending", pending);
    const bar = panel.querySelector("[data-bar]");
    if (bar) {
      bar.max = Math.max(recipients, 1);
      bar.value = Math.min(done, bar.max);
      bar.textContent = done + " / " + recipients;
    }
    const label = panel.querySelector("[data-state-label]");
    if (label && states[data.state]) { label.textContent = states[data.state]; }
    if (data.state !== startState && finished.indexOf(data.state) >= 0) {
      clearInterval(timer);
      window.location.reload(); // the buttons change with the state
    }
  }

  async function tick() {
    if (busy || document.hidden) { return; }
    busy = true;
    try {
      const resp = await fetch(panel.dataset.src, {
        credentials: "same-origin", cache: "no-store",
        headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
      });
      if (resp.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
      if (resp.ok) { show(await resp.json()); }
    } catch (err) {
      // The desk may be restarting; try again on the next tick.
    } finally {
      busy = false;
    }
  }

  timer = setInterval(tick, Number(panel.dataset.every) || 3000);
  tick();
})();
