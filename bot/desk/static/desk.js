// Console live updates: the queue and the case page refresh themselves without a full reload, the queue's
// waiting times and re-escalation deadlines count every second, and the page title carries the waiting count.
(function () {
  "use strict";

  // `signature` says what of a fragment matters (the queue's clocks count here, not on the server).
  function poll(el, buildUrl, every, onNew, signature, onFetch) {
    const sign = signature || ((html) => html.trim());
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
        if (onFetch) { onFetch(html); }
        if (last === null) { last = sign(el.innerHTML); }
        if (sign(html) !== last) {
          const before = new Set(Array.from(el.querySelectorAll("[data-case-id]")).map((r) => r.dataset.caseId));
          el.innerHTML = html;
          last = sign(html);
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

  // ---- the queue's clocks (same words as bot/desk/console/queue.py) --------------------------------
  let skew = 0; // server time minus this browser's time, from the last fragment

  function duration(ms) {
    let minutes = Math.floor(ms / 60000);
    if (minutes < 1) { return "dưới 1 phút"; }
    if (minutes < 60) { return minutes + " phút"; }
    let hours = Math.floor(minutes / 60);
    minutes %= 60;
    if (hours < 24) { return minutes ? hours + " giờ " + minutes + " phút" : hours + " giờ"; }
    const days = Math.floor(hours / 24);
    hours %= 24;
    return hours ? days + " ngày " + hours + " giờ" : days + " ngày";
  }

  function clock(ms) {
    const total = Math.max(Math.ceil(ms / 1000), 0);
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const two = (n) => (n < 10 ? "0" : "") + n;
    return h ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
  }

  function updateClocks(root) {
    const now = Date.now() + skew;
    root.querySelectorAll(".clock[data-since]").forEach((el) => {
      el.textContent = duration(now - Number(el.dataset.since));
    });
    root.querySelectorAll(".countdown[data-first]").forEach((el) => {
      const first = Number(el.dataset.first);
      const next = el.dataset.next ? Number(el.dataset.next) : null;
      let text;
      if (now < first) {
        text = "Nhắc lại sau " + clock(first - now);
      } else {
        text = "Quá hạn " + duration(now - first) + (next ? " · nhắc lại sau " + clock(next - now) : " · đã báo giám sát");
      }
      el.textContent = text;
      const over = now >= first;
      el.classList.toggle("overdue", over);
      const row = el.closest("tr");
      if (row) { row.classList.toggle("overdue", over); }
    });
  }

  const attr = (html, name) => { const m = html.match(new RegExp(name + '="([^"]*)"')); return m ? m[1] : ""; };

  function adopt(html) {
    const now = Number(attr(html, "data-now"));
    if (now) { skew = now - Date.now(); }
    const waiting = Number(attr(html, "data-waiting") || 0);
    const rest = document.title.replace(/^\(\d+\) /, "");
    document.title = (waiting ? "(" + waiting + ") " : "") + rest;
  }

  const rows = document.querySelector("[data-live-rows]");
  if (rows) {
    const filters = document.querySelector("[data-live-filters]");
    const formQuery = () => {
      if (!filters) { return ""; }
      const params = new URLSearchParams();
      new FormData(filters).forEach((value, key) => { if (value) { params.set(key, value); } });
      return params.toString();
    };
    adopt(rows.innerHTML);
    updateClocks(rows);
    const tick = poll(rows, () => rows.dataset.src + location.search, 2000, (el, before) => {
      el.querySelectorAll("[data-case-id]").forEach((row) => {
        if (!before.has(row.dataset.caseId)) { row.classList.add("new"); }
      });
      updateClocks(el);
    }, (html) => attr(html, "data-version"), adopt);
    setInterval(() => updateClocks(rows), 1000);
    if (filters) {
      const apply = () => {
        const query = formQuery();
        history.replaceState(null, "", "/cases" + (query ? "?" + query : ""));
        tick();
      };
      let typing = null;
      filters.addEventListener("change", apply);
      filters.addEventListener("input", (event) => {
        if (event.target.name !== "q") { return; }
        clearTimeout(typing);
        typing = setTimeout(apply, 300);
      });
      filters.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
    }
  }

  const live = document.querySelector("[data-live-case]");
  if (live) {
    poll(live, () => live.dataset.src, 3000, null);
  }
})();
