// The scan pages. A scan (a wedge scanner's keystrokes and Enter, a code the live camera
// found, a photo) goes to the JSON API through the outbox (outbox.js): kept on the phone
// with its own Idempotency-Key until the server has answered, so nothing is lost offline
// and nothing is applied twice. Each answer shows at once, big, green or red with the reason.
(function () {
  "use strict";
  const outbox = window.serialappOutbox;
  const form = document.getElementById("scan-form");
  const input = document.getElementById("scan-input");
  const feedback = document.getElementById("feedback");
  const log = document.getElementById("scan-log");
  const tools = document.getElementById("scan-tools");

  function csrf() {
    return document.querySelector('meta[name="csrf-token"]').content;
  }

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

  function say(text, kind, label) {
    if (feedback) {
      feedback.textContent = text;
      feedback.className = "feedback " + kind;
    }
    if (!log) return null;
    const li = document.createElement("li");
    li.textContent = text;
    li.className = kind;
    if (label) li.dataset.label = label;
    log.prepend(li);
    while (log.children.length > 50) log.lastChild.remove();
    return li;
  }

  function describe(result) {
    // Received, but the supplier's list does not vouch for it: into quarantine, in red.
    if (result.ok && result.suspect) {
      const again = result.repeat ? "↺ " : "";
      return [`${again}⚠ ${result.serial} ${result.sku}: SUSPECT. ${result.reason}`, "bad"];
    }
    // Already done (the same label scanned again): neither green nor red, on every page.
    const sku = result.sku ? " " + result.sku : "";
    if (result.ok && result.repeat) return [`↺ ${result.serial}${sku}: ${result.note}`, "info"];
    if (result.ok) {
      const note = result.note ? " · " + result.note : "";
      // Where it went, when the action put it somewhere: "in stock → ASSEMBLY".
      const where = result.location ? ` → ${result.location}` : "";
      // Counted, but not where the records put it (a count's scan): amber, not green.
      const kind = result.expected === false ? "info" : "ok";
      return [`✔ ${result.serial}${sku}: ${result.status.replace("_", " ")}${where}${note}`, kind];
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
    if (Array.isArray(body.decoded)) {
      if (!body.decoded.length) {
        say("✘ No barcode found in the photo. Fill the frame with the label, hold steady, " +
            "and make sure there is light.", "bad");
        return false;
      }
      const n = body.decoded.length;
      say(`Photo: ${n} code${n === 1 ? "" : "s"} in the photo: ` +
          body.decoded.map((c) => c.text).join(", "), "info");
    }
    (body.ignored || []).forEach((item) => {
      say(`• ${item.text}: ${item.message}`, "info");
      const sku = document.getElementById("sku");
      if (item.sku && sku && !sku.value) sku.value = item.sku;
    });
    let allOk = true;
    const cases = body.cases || [];
    const opened = cases.some((c) => !c.confirm);
    if (opened) {
      // A case opened: one entry lists every pack's answer, the feedback says the sum.
      cases.forEach((c) => showCase(c, body.results || []));
      (body.results || []).forEach((r) => { if (!r.ok || r.suspect) allOk = false; });
    } else {
      (body.results || []).forEach((r) => {
        const [text, kind] = describe(r);
        if (!r.ok || r.suspect) allOk = false;
        say(text, kind);
      });
      cases.forEach((c) => showCase(c, null));
    }
    document.dispatchEvent(new CustomEvent("serialapp:outcome", { detail: body }));
    refreshLines();
    return allOk;
  }

  // A scanned case: its packs, and (before it is opened) the button that receives them all.
  // `results`: the answers once it is opened, one per pack.
  function showCase(c, results) {
    if (!log) return;
    const li = document.createElement("li");
    li.className = "case" + (results ? " opened" : "");
    const head = document.createElement("p");
    head.className = "case-head";
    let summary = c.message;
    if (results) {
      const mine = results.filter((r) => c.packs.some((p) => p.serial === r.serial));
      const bad = mine.filter((r) => !r.ok || r.suspect).length;
      summary = c.message + (bad ? ` ${bad} not as listed: see below, in red.` : "");
      if (feedback) {
        feedback.textContent = summary;
        feedback.className = "feedback " + (bad ? "bad" : "ok");
      }
    } else {
      if (feedback) {
        feedback.textContent = summary;
        feedback.className = "feedback info";
      }
    }
    head.textContent = summary;
    li.appendChild(head);
    const list = document.createElement("ol");
    list.className = "case-packs";
    c.packs.forEach((p) => {
      const item = document.createElement("li");
      const answer = results && results.find((r) => r.serial === p.serial);
      if (answer) {
        const [text, kind] = describe(answer);
        item.textContent = text;
        item.className = kind;
      } else {
        item.textContent = `${p.serial} ${p.sku}` + (p.lot ? ` · lot ${p.lot}` : "") +
          (p.expiry ? ` · exp ${p.expiry}` : "");
      }
      list.appendChild(item);
    });
    li.appendChild(list);
    if (!results && c.confirm) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "primary case-confirm";
      button.textContent = `Receive all ${c.count}`;
      button.addEventListener("click", async () => {
        if (button.disabled) return;
        button.disabled = true;
        button.textContent = `Receiving ${c.count}…`;
        const outcome = await send({
          endpoint: endpoint(),
          body: Object.assign(fields(), { purchase_order: c.purchase_order,
                                          serials: [`(00)${c.sscc}`], open_case: true,
                                          source: "wedge" }),
          label: `case ${c.sscc}` });
        if (outcome === "queued") button.textContent = `Case ${c.sscc}: queued`;
        else button.remove();
        confirmed(outcome);
      });
      li.appendChild(button);
    }
    log.prepend(li);
  }

  async function post(endpoint, body, key) {
    const response = await fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(),
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
    const says = select.dataset.locationSays || "Now moving to {code}. Scan the serials.";
    say("➜ " + says.replace("{code}", code), "info");
    return true;
  }

  function queuedText(label, reason) {
    const why = {
      offline: "no connection; queued on this phone, sent when back online",
      login: "queued; your session ended, log in again to send it",
      csrf: "queued; reload the page to send it",
      pending: "queued on this phone; sending now",
    }[reason] || "queued; the server is not answering, retrying";
    return `◷ ${label}: ${why}`;
  }

  // Send one action through the outbox. Resolves "ok", "bad" or "queued".
  async function send(spec) {
    const answer = await outbox.submit(spec);
    if (answer.discarded) return "bad";  // said by the "serialapp:discarded" listener
    if (answer.queued) {
      say(queuedText(spec.label, answer.reason), "queued", spec.label);
      return "queued";
    }
    return showOutcome(answer.status, answer.body) ? "ok" : "bad";
  }

  // Answers to items sent later (after a reconnect, or made before a reload).
  document.addEventListener("serialapp:sent", (ev) => {
    const { item, status, body, waited } = ev.detail;
    if (waited || !log) return;
    // The oldest line still saying "queued" for this scan now says it went.
    const lines = Array.from(log.querySelectorAll("li.queued"))
      .filter((li) => li.dataset.label === item.label);
    if (lines.length) lines[lines.length - 1].classList.replace("queued", "sent");
    if (item.failed) {
      say(`✘ ${item.label}: could not be sent (${item.failed.message}). It is kept in the ` +
          "queue list: try again or discard it there.", "bad");
      return;
    }
    showOutcome(status, body);
  });

  document.addEventListener("serialapp:discarded", (ev) => {
    const { item } = ev.detail;
    if (!log) return;
    const lines = Array.from(log.querySelectorAll("li.queued"))
      .filter((li) => li.dataset.label === item.label);
    if (lines.length) lines[lines.length - 1].classList.replace("queued", "discarded");
    say(`⊘ ${item.label}: discarded, not sent.`, "bad");
  });

  function endpoint() {
    return form ? form.dataset.endpoint : null;
  }

  // One scan: a location code (move page), else an action with the page's fields.
  // The fields are read now, when the scan is made, not when it is finally sent.
  function scan(texts, source) {
    const list = [].concat(texts).map((t) => String(t).trim()).filter(Boolean);
    if (!list.length) return Promise.resolve("info");
    if (list.length === 1 && asLocation(list[0])) return Promise.resolve("info");
    const handler = tools ? tools.dataset.handler : "action";
    if (handler === "lookup") return lookup(list);
    if (handler === "ship") return chooseOrder(list);
    const outcome = send({ endpoint: endpoint(),
                           body: Object.assign(fields(), { serials: list, source: source || "wedge" }),
                           label: list.join(" + ") });
    // The camera confirms its own scans; typed ones get the same beep, buzz and flash.
    return source === "camera" ? outcome : outcome.then(confirmed);
  }

  function confirmed(outcome) {
    if (window.serialapp && window.serialapp.confirm) window.serialapp.confirm(outcome);
    return outcome;
  }

  // Each text its own scan, in the order given (wedge lines, a pasted list).
  function submitTexts(texts, source) {
    const outcomes = texts.map((t) => t.trim()).filter(Boolean).map((t) => scan([t], source));
    return Promise.all(outcomes).then((all) => all.every((x) => x === "ok" || x === "info"));
  }

  // Photos: posted as multipart `image` with the page's fields; the server reads every code.
  function sendPhotos(files) {
    files = Array.from(files || []);
    if (!files.length) return Promise.resolve("info");
    const handler = tools ? tools.dataset.handler : "action";
    if (handler !== "action") return decodePhotos(files);
    const label = files.length === 1 ? "photo" : `${files.length} photos`;
    say(`Reading the ${label}…`, "info");
    return send({ endpoint: endpoint(), label,
                  fields: Object.assign(fields(), { source: "photo" }),
                  files: files.map((f, i) => ({ blob: f, name: f.name || `photo-${i + 1}.jpg` })) })
      .then(confirmed);
  }

  // Pages without an action (look up, ship): read the codes, then act on their texts here.
  async function decodePhotos(files) {
    const codes = [];
    say("Reading the photo…", "info");
    try {
      for (const f of files) {
        const data = new FormData();
        data.append("image", f, f.name || "photo.jpg");
        const response = await fetch("/api/decode", {
          method: "POST", credentials: "same-origin", body: data,
          headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
        });
        const body = await response.json().catch(() => null);
        if (!response.ok || !body) {
          say("✘ " + (body && body.error ? body.error.message : `The server answered ${response.status}.`), "bad");
          return "bad";
        }
        codes.push(...(body.codes || []));
      }
    } catch (e) {
      say("✘ Reading a photo needs the connection to the server. Type the code instead.", "bad");
      return "bad";
    }
    if (!codes.length) {
      say("✘ No barcode found in the photo. Fill the frame with the label and hold steady.", "bad");
      return "bad";
    }
    return scan(pickTexts(codes), "photo");
  }

  // Of several codes on one label, the product code (EAN/UPC) is the least useful to look up.
  function pickTexts(codes) {
    const serials = codes.filter((c) => c.kind !== "gtin");
    return (serials.length ? serials : codes).map((c) => c.text);
  }

  function lookup(texts) {
    const text = texts[0];
    say(`➜ Looking up ${text}…`, "info");
    window.location.assign("/scan/lookup?q=" + encodeURIComponent(text));
    return Promise.resolve("ok");
  }

  // Ship page: a scanned order number brings that order up, ready to ship.
  function chooseOrder(texts) {
    const forms = Array.from(document.querySelectorAll(".ship-form"));
    for (const text of texts) {
      const target = forms.find((f) => f.dataset.order.toUpperCase() === text.toUpperCase());
      if (target) {
        document.querySelectorAll(".ship-order.target").forEach((s) => s.classList.remove("target"));
        const card = target.closest(".ship-order") || target;
        card.classList.add("target");
        card.scrollIntoView({ behavior: "smooth", block: "start" });
        target.querySelector("button").focus({ preventScroll: true });
        say(`➜ Order ${target.dataset.order}: check the lines, then press Ship.`, "info");
        return Promise.resolve("ok");
      }
    }
    say(`✘ ${texts.join(", ")}: no order with picked units by that number. Pick it first, ` +
        "or scan the order number again.", "bad");
    return Promise.resolve("bad");
  }

  async function refreshLines() {
    const table = document.getElementById("order-lines");
    if (!table || !table.dataset.order || !navigator.onLine) return;
    let order;
    try {
      const response = await fetch("/api/sales-orders/" + encodeURIComponent(table.dataset.order),
                                   { credentials: "same-origin" });
      if (!response.ok) return;
      order = await response.json();
    } catch (e) {
      return;
    }
    order.lines.forEach((ln) => {
      const row = table.querySelector(`tr[data-sku="${CSS.escape(ln.sku)}"]`);
      if (!row) return;
      const count = row.querySelector(".progress .count") || row.querySelector(".progress");
      count.textContent = `${ln.picked} of ${ln.qty}`;
      row.classList.toggle("done", ln.picked >= ln.qty);
    });
    const status = document.getElementById("order-status");
    if (status) status.textContent = order.status === "partially_shipped" ? "partly shipped"
      : order.status.replace("_", " ");
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

  const photoInput = document.getElementById("photo-input");
  if (photoInput) {
    photoInput.addEventListener("change", () => {
      const files = Array.from(photoInput.files);
      photoInput.value = "";  // the same photo may be chosen again
      sendPhotos(files);
    });
  }

  // Ship: one tap ships. The button is off while the ship is on its way, so a double tap
  // sends it once; once shipped, the card says so instead of offering Ship again.
  document.querySelectorAll(".ship-form").forEach((shipForm) => {
    shipForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = shipForm.querySelector("button");
      if (button.disabled) return;
      button.disabled = true;
      const body = { order: shipForm.dataset.order, partial: shipForm.partial.checked };
      // Book items: the Form 4473 transaction number goes into the book's disposition.
      const form4473 = shipForm.form_4473 ? shipForm.form_4473.value.trim() : "";
      if (form4473) body.form_4473 = form4473;
      const outcome = await send({ endpoint: "/api/ship", body, label: `ship ${body.order}` });
      if (outcome === "ok") {
        say(`✔ Order ${body.order} shipped.`, "ok");
        const done = document.createElement("p");
        done.className = "feedback ok";
        done.textContent = `✔ Shipped`;
        shipForm.replaceWith(done);
      } else if (outcome === "queued") {
        button.textContent = `Ship ${body.order}: queued`;
      } else {
        button.disabled = false;
      }
      confirmed(outcome);
      // The answer shows at the top; bring it into view from a card further down.
      if (feedback) feedback.scrollIntoView({ behavior: "smooth", block: "center" });
    });
  });

  // After a reload: the scans still waiting on this phone.
  if (log && outbox) {
    outbox.items().then((items) => {
      items.forEach((it) => {  // oldest first, so the newest ends on top
        const li = document.createElement("li");
        li.textContent = queuedText(it.label, navigator.onLine ? "pending" : "offline");
        li.className = "queued";
        li.dataset.label = it.label;
        log.prepend(li);
      });
    }).catch(() => {});
  }

  window.serialapp = { submitTexts, showOutcome, say, fields, post, newKey, scan, sendPhotos };
})();
