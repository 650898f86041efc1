// The scan pages: a wedge scanner (or a person) types a code and Enter; each scan goes
// to the JSON API and its answer shows at once, big, green or red with the reason.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("scan-form");
  const input = document.getElementById("scan-input");
  const feedback = document.getElementById("feedback");
  const log = document.getElementById("scan-log");

  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  function newKey() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function fields() {
    const out = {};
    document.querySelectorAll("[data-field]").forEach((el) => {
      if (el.value) out[el.dataset.field] = el.value;
    });
    return out;
  }

  function say(text, kind) {
    feedback.textContent = text;
    feedback.className = "feedback " + kind;
    const li = document.createElement("li");
    li.textContent = text;
    li.className = kind;
    log.prepend(li);
    while (log.children.length > 50) log.lastChild.remove();
  }

  function describe(result) {
    if (result.ok) {
      const note = result.note ? " · " + result.note : "";
      return [`✔ ${result.serial} ${result.sku}: ${result.status.replace("_", " ")}${note}`, "ok"];
    }
    return [`✘ ${result.serial}: ${result.error.message}`, "bad"];
  }

  // Show an action's answer; returns true when every serial went through.
  function showOutcome(status, body) {
    if (!body || status >= 400 && !body.results) {
      const msg = body && body.error ? body.error.message : `The server answered ${status}.`;
      say("✘ " + msg, "bad");
      return false;
    }
    (body.ignored || []).forEach((item) => {
      say(`• ${item.text}: ${item.message}`, "info");
      const sku = document.getElementById("sku");
      if (item.sku && sku && !sku.value) sku.value = item.sku;
    });
    let allOk = true;
    (body.results || []).forEach((r) => {
      const [text, kind] = describe(r);
      if (!r.ok) allOk = false;
      say(text, kind);
    });
    document.dispatchEvent(new CustomEvent("serialapp:outcome", { detail: body }));
    refreshLines();
    return allOk;
  }

  async function post(endpoint, body, key) {
    const response = await fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf,
                 "Idempotency-Key": key || newKey() },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return [response.status, data];
  }

  // On the move page a scanned location code switches the target location.
  function asLocation(text) {
    const select = document.getElementById("location");
    if (!select || !select.dataset.locationCodes) return false;
    const codes = select.dataset.locationCodes.split("\n");
    const code = codes.find((c) => c.toUpperCase() === text.toUpperCase());
    if (!code) return false;
    select.value = code;
    say(`➜ Now moving to ${code}. Scan the serials.`, "info");
    return true;
  }

  async function sendText(text, source) {
    if (asLocation(text)) return true;
    try {
      const [status, body] = await post(form.dataset.endpoint,
        Object.assign(fields(), { serials: [text], source: source || "wedge" }));
      return showOutcome(status, body);
    } catch (e) {
      say(`✘ ${text}: no connection to the server. Scan it again when you are back online.`, "bad");
      return false;
    }
  }

  // Scans go one at a time, in the order they were made.
  let chain = Promise.resolve();
  function submitTexts(texts, source) {
    texts.map((t) => t.trim()).filter(Boolean).forEach((t) => {
      chain = chain.then(() => sendText(t, source));
    });
    return chain;
  }

  async function refreshLines() {
    const table = document.getElementById("order-lines");
    if (!table || !table.dataset.order) return;
    const response = await fetch("/api/sales-orders/" + encodeURIComponent(table.dataset.order),
                                 { credentials: "same-origin" });
    if (!response.ok) return;
    const order = await response.json();
    order.lines.forEach((ln) => {
      const row = table.querySelector(`tr[data-sku="${CSS.escape(ln.sku)}"]`);
      if (!row) return;
      row.querySelector(".progress").textContent = `${ln.picked} of ${ln.qty}`;
      row.classList.toggle("done", ln.picked >= ln.qty);
    });
    const status = document.getElementById("order-status");
    if (status) status.textContent = order.status.replace("_", " ");
  }

  if (form) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value;
      input.value = "";
      input.focus();
      submitTexts(text.split(/\r?\n/));
    });
    // Pasting several lines submits each line.
    input.addEventListener("paste", (ev) => {
      const text = (ev.clipboardData || window.clipboardData).getData("text");
      if (!/\r?\n/.test(text.trim())) return;
      ev.preventDefault();
      submitTexts(text.split(/\r?\n/), "wedge");
    });
  }

  document.querySelectorAll(".ship-form").forEach((shipForm) => {
    shipForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { order: shipForm.dataset.order, partial: shipForm.partial.checked };
      try {
        const [status, data] = await post("/api/ship", body);
        if (showOutcome(status, data) && status === 200) {
          say(`✔ Order ${body.order} shipped.`, "ok");
        }
      } catch (e) {
        say("✘ No connection to the server; try again.", "bad");
      }
    });
  });

  window.serialapp = { submitTexts, showOutcome, say, fields, post, newKey };
})();
