// A count's page. While the count is open: live progress ("38 of 41 found", per location),
// from the progress each scan's answer carries and from the count's JSON every few seconds
// (other people are counting too); a photo's answer says how many serials it added. Closing
// asks first; a fix's form sends once however often it is tapped.
(function () {
  "use strict";
  const box = document.getElementById("count-progress");
  const POLL_MS = 4000;

  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function render(p) {
    if (!box || !p) return;
    text("count-found", p.found);
    text("count-expected", p.expected);
    const bar = document.getElementById("count-bar");
    if (bar) {
      bar.max = Math.max(p.expected, 1);
      bar.value = p.found;
    }
    text("count-extra", `${p.unexpected} not expected · ${p.scanned} scanned`);
    const table = document.getElementById("count-locations");
    if (!table) return;
    const body = table.tBodies[0];
    (p.by_location || []).forEach((row) => {
      let tr = body.querySelector(`tr[data-location="${CSS.escape(row.location || "")}"]`);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.location = row.location || "";
        const where = document.createElement("td");
        where.textContent = row.location || "(no location)";
        const count = document.createElement("td");
        count.className = "progress";
        const span = document.createElement("span");
        span.className = "count";
        count.append(span);
        tr.append(where, count);
        body.append(tr);
      }
      tr.querySelector(".count").textContent = `${row.found} of ${row.expected}`;
      tr.classList.toggle("done", row.found >= row.expected);
    });
  }

  let closedSaid = false;
  async function poll() {
    if (!box || box.dataset.open !== "1") return;
    if (!navigator.onLine || document.visibilityState !== "visible") return;
    let body;
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin",
                                                       headers: { Accept: "application/json" } });
      if (!response.ok) return;
      body = await response.json();
    } catch (e) {
      return;  // offline or the server is away: the next poll tries again
    }
    render(body.progress);
    const who = document.getElementById("counted-by");
    if (who && (body.counted_by || []).length) {
      who.textContent = "Counting: " + body.counted_by.map((c) => `${c.user} ${c.scans}`).join(", ");
    }
    if (body.status === "closed" && !closedSaid) {
      closedSaid = true;
      const note = document.getElementById("count-closed-note");
      if (note) note.hidden = false;
    }
  }

  if (box && box.dataset.open === "1") {
    setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", poll);
    window.addEventListener("online", poll);
    // Each scan's answer (now, or when a queued one is finally sent) brings the progress.
    document.addEventListener("serialapp:outcome", (ev) => {
      const body = ev.detail || {};
      render(body.progress);
      if (Array.isArray(body.decoded) && body.decoded.length && window.serialapp) {
        const n = body.added || 0;
        window.serialapp.say(`+${n} from this photo`, n ? "ok" : "info");
      }
    });
  }

  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });

  // One tap, one request: the buttons go off once the form is on its way (after the
  // browser has taken the tapped button's value).
  document.querySelectorAll("form.once").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (ev.defaultPrevented) return;
      if (form.dataset.sent) {
        ev.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
    });
  });
})();
