// Every page: the service worker (app shell and page copies for offline use), the
// "offline" banner and the "queued (n)" badge, and a logout that forgets this user's pages.
(function () {
  "use strict";
  const outbox = window.serialappOutbox;
  const badge = document.getElementById("queue-badge");
  const banner = document.getElementById("net-banner");
  const loggedIn = Boolean(document.querySelector('meta[name="serialapp-user"]'));
  const BADGE_DELAY_MS = 1200;   // a scan on its normal way out is not "queued"

  // ------------------------------------------------------------ service worker
  // Service workers need a secure context (https, or http on localhost).
  const canUseSw = "serviceWorker" in navigator && window.isSecureContext;
  if (canUseSw) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => {
      if (loggedIn) warm();
    }).catch(() => { /* no offline copies; everything else still works */ });
  }

  // Ask the service worker to keep copies of the pages this one links to (the scan pages,
  // the open orders), so they open offline even before this phone has visited them.
  function warm() {
    if (!navigator.onLine) return;
    const urls = new Set(["/"]);
    document.querySelectorAll("nav.tiles a, ul.choices a").forEach((a) => {
      const href = a.getAttribute("href");
      if (href && /^\/(scan\/|products$)/.test(href) && !href.includes("?")) urls.add(href);
    });
    navigator.serviceWorker.ready.then((reg) => {
      if (reg.active) reg.active.postMessage({ type: "warm", urls: Array.from(urls) });
    });
  }

  // ------------------------------------------------------------ badge and banner
  let state = { pending: 0, others: 0, stalled: null, online: navigator.onLine };
  let badgeTimer = null;

  function badgeText() {
    const parts = [];
    if (state.pending) parts.push(`queued (${state.pending})`);
    if (state.failed) parts.push(`${state.failed} set aside`);
    return parts.join(" · ");
  }

  function render() {
    const offline = !navigator.onLine;
    const n = state.pending;
    if (badge) {
      clearTimeout(badgeTimer);
      const show = () => {
        badge.textContent = badgeText();
        badge.hidden = !state.pending && !state.failed;
      };
      if (n === 0 && !state.failed) {
        badge.hidden = true;
      } else if (offline || state.stalled || state.failed || !badge.hidden) {
        show();
      } else {
        badgeTimer = setTimeout(show, BADGE_DELAY_MS);
      }
    }
    if (!banner) return;
    let text = "";
    let action = null;
    if (offline) {
      text = "Offline. Scans are kept on this phone and sent when the connection returns.";
    } else if (n && state.stalled === "login") {
      text = `Your session has ended: log in again to send ${n} queued scan${n === 1 ? "" : "s"}.`;
      action = ["Log in", "/login?next=" + encodeURIComponent(location.pathname)];
    } else if (n && state.stalled === "csrf") {
      text = `Reload the page to send ${n} queued scan${n === 1 ? "" : "s"}.`;
      action = ["Reload", location.href];
    } else if (n && state.stalled === "busy") {
      text = `The server is busy. ${n} scan${n === 1 ? " is" : "s are"} queued and will be ` +
             `sent ${state.retryIn ? `in ${state.retryIn} s` : "shortly"}.`;
    } else if (n && state.stalled) {
      text = `The server is not answering. ${n} scan${n === 1 ? " is" : "s are"} queued; ` +
             "retrying.";
    } else if (state.failed) {
      text = `${state.failed} scan${state.failed === 1 ? "" : "s"} could not be sent. ` +
             "Open the list to try again or discard.";
    } else if (state.others && !n) {
      text = `${state.others} scan${state.others === 1 ? " is" : "s are"} queued on this ` +
             "phone for another user; they go when that user logs in here.";
    }
    banner.textContent = text;
    if (action) {
      const a = document.createElement("a");
      a.textContent = action[0];
      a.href = action[1];
      banner.append(" ", a);
    }
    banner.hidden = !text;
    banner.classList.toggle("offline", offline);
    // Scrolling something into view keeps it clear of the sticky header and banner.
    const chrome = banner.parentElement;
    if (chrome) document.documentElement.style.scrollPaddingTop = `${chrome.offsetHeight + 8}px`;
  }

  document.addEventListener("serialapp:outbox", (ev) => {
    state = ev.detail;
    render();
    if (panel && !panel.hidden) fillPanel();
  });

  // ------------------------------------------------------------ the queue, item by item
  // Tapping the badge lists every scan waiting on this phone, with Discard (and Try again
  // for one set aside). A discard is said on the page; nothing leaves the queue unseen.
  const panel = document.getElementById("queue-panel");
  const list = document.getElementById("queue-list");

  function actionName(endpoint) {
    const name = String(endpoint || "").replace(/^\/api\//, "");
    return { receive: "Receive", move: "Move", pick: "Pick", unpick: "Unpick", ship: "Ship",
             return: "Return", quarantine: "Quarantine", release: "Release",
             scrap: "Scrap" }[name] || name;
  }

  async function fillPanel() {
    if (!outbox || !list) return;
    let items = [];
    try {
      items = await outbox.items();
    } catch (e) {
      items = [];
    }
    list.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = "Nothing is waiting: every scan has been sent.";
      list.append(li);
    }
    items.forEach((item) => {
      const li = document.createElement("li");
      li.className = item.failed ? "failed" : "waiting";
      const what = document.createElement("span");
      what.className = "what";
      const made = item.made ? new Date(item.made).toLocaleTimeString() : "";
      what.textContent = `${actionName(item.endpoint)}: ${item.label}`;
      const state_ = document.createElement("span");
      state_.className = "state";
      state_.textContent = item.key === outbox.inFlight() ? `${made} · sending now`
        : item.failed ? `${made} · set aside: ${item.failed.message}`
        : `${made} · waiting`;
      li.append(what, state_);
      if (item.failed) {
        const again = document.createElement("button");
        again.type = "button";
        again.textContent = "Try again";
        again.addEventListener("click", () => outbox.retry(item.seq));
        li.append(again);
      }
      if (item.key !== outbox.inFlight()) {
        const drop = document.createElement("button");
        drop.type = "button";
        drop.className = "danger";
        drop.textContent = "Discard";
        drop.addEventListener("click", async () => {
          if (!window.confirm(`Discard "${actionName(item.endpoint)}: ${item.label}"? ` +
                              "It will never be sent.")) return;
          await outbox.discard(item.seq);
          fillPanel();
        });
        li.append(drop);
      }
      list.append(li);
    });
  }

  function togglePanel(open) {
    if (!panel || !badge) return;
    panel.hidden = !open;
    badge.setAttribute("aria-expanded", String(open));
    if (open) fillPanel();
  }

  if (badge && panel) {
    badge.addEventListener("click", () => togglePanel(panel.hidden));
    const close = document.getElementById("queue-close");
    if (close) close.addEventListener("click", () => togglePanel(false));
  }

  // A discard, said where the person is looking (a scan page's log says it itself).
  document.addEventListener("serialapp:discarded", (ev) => {
    if (document.getElementById("scan-log") || !banner) return;
    const { item } = ev.detail;
    const main = document.querySelector("main");
    const p = document.createElement("p");
    p.className = "flash error";
    p.textContent = `Discarded, not sent: ${actionName(item.endpoint)} ${item.label}.`;
    if (main) main.prepend(p);
  });
  window.addEventListener("online", () => {
    render();
    if (canUseSw && loggedIn) warm();
  });
  window.addEventListener("offline", render);
  render();

  // Queued scans answered while on a page with no scan log (the start page, a serial's
  // page): list their outcomes at the top, so a refusal and its reason are not missed.
  document.addEventListener("serialapp:sent", (ev) => {
    if (document.getElementById("scan-log") || ev.detail.waited) return;
    const main = document.querySelector("main");
    if (!main) return;
    let report = document.getElementById("sent-report");
    if (!report) {
      report = document.createElement("section");
      report.id = "sent-report";
      report.className = "card";
      report.setAttribute("role", "status");
      const title = document.createElement("h2");
      title.textContent = "Queued scans sent";
      const list = document.createElement("ol");
      list.className = "log";
      report.append(title, list);
      main.prepend(report);
    }
    const { item, status, body } = ev.detail;
    const lines = [];
    if (body && Array.isArray(body.results)) {
      body.results.forEach((r) => lines.push(r.ok && r.repeat
        ? [`↺ ${r.serial} ${r.sku}: ${r.note}`, "info"]
        : r.ok ? [`✔ ${r.serial} ${r.sku}: ${String(r.status).replace("_", " ")}`, "ok"]
        : [`✘ ${r.serial}: ${r.error.message}`, "bad"]));
    }
    if (!lines.length) {
      const msg = body && body.error ? body.error.message : `the server answered ${status}`;
      lines.push([`${status < 300 ? "✔" : "✘"} ${item.label}: ${msg}`, status < 300 ? "ok" : "bad"]);
    }
    lines.forEach(([text, kind]) => {
      const li = document.createElement("li");
      li.textContent = text;
      li.className = kind;
      report.querySelector("ol").append(li);
    });
  });

  // The login page, fetched online, means nobody is logged in here: forget page copies.
  if (!loggedIn && navigator.onLine && location.pathname === "/login" && window.caches) {
    caches.delete("serialapp-pages").catch(() => {});
  }

  // ------------------------------------------------------------ print buttons
  // Wired here, not with onclick=: the Content-Security-Policy runs no inline script.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // ------------------------------------------------------------ copy buttons
  // <button data-copy="#id">: copies that field's text (an API token shown once).
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = document.querySelector(button.dataset.copy);
      if (!field) return;
      field.focus();
      field.select();
      let done = false;
      try {
        await navigator.clipboard.writeText(field.value);
        done = true;
      } catch (e) {
        try {
          done = document.execCommand("copy");
        } catch (e2) {
          done = false;
        }
      }
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      button.textContent = done ? (button.dataset.copied || "Copied") :
        "Selected: copy it with your phone's menu";
    });
  });

  // ------------------------------------------------------------ logout
  // Queued scans belong to the user who made them: warn before leaving them behind, and
  // forget this user's page copies so the next person on this phone never sees them.
  const logout = document.getElementById("logout-form");
  if (logout) {
    logout.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const n = outbox ? outbox.count() : 0;
      if (n && !window.confirm(`${n} scan${n === 1 ? " is" : "s are"} not sent yet. They stay ` +
                               "on this phone and go when you log in again. Log out now?")) {
        return;
      }
      try {
        if (canUseSw && navigator.serviceWorker.controller) {
          navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
        }
        if (window.caches) await caches.delete("serialapp-pages");
      } catch (e) { /* nothing cached */ }
      logout.submit();
    });
  }
})();
