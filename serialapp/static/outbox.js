// The outbox. Every action a page sends (a typed or camera scan, a photo, a ship) is first
// written to IndexedDB with its own Idempotency-Key, made when the scan is made, and then
// sent, one at a time, oldest first. An item leaves the outbox only on a definitive answer
// from the server; a retry re-uses its key. So a scan survives a lost connection, a reload
// or a closed tab, and the server applies it exactly once.
//
// What is retried: only what the server did not decide. A network failure, a 5xx, or an
// answer carrying Retry-After (busy, still in progress, rate limited) is sent again, after
// the delay the server asked for. Every other answer is final: a refusal (order closed,
// not fully picked...) is shown with its reason and the queue moves on to the next scan.
// A scan the server keeps failing on (5xx, several times) is set aside, not dropped: it
// stays listed, with "Try again" and "Discard", and no longer holds up the scans after it.
//
// window.serialappOutbox = { submit, flush, items, discard, retry, count, state, newKey,
//                            csrfToken }
// Events on document: "serialapp:outbox" {pending, failed, stalled, online, retryIn}
// whenever that changes; "serialapp:sent" {item, status, body, waited} for each item
// answered; "serialapp:discarded" {item} when a person discards one.
(function () {
  "use strict";
  const DB_NAME = "serialapp";
  const STORE = "outbox";
  const LOCK = "serialapp-outbox";
  const TIMEOUT_JSON_MS = 20000;
  const TIMEOUT_UPLOAD_MS = 120000;
  const MAX_SERVER_ERRORS = 5;     // a scan the server fails on 5 times is set aside
  const RETRY_AFTER_MAX_S = 300;
  // Tests shorten the wait between tries (window.serialappOutboxRetryMs, set before load).
  const RETRY_MIN_MS = window.serialappOutboxRetryMs || 3000;
  const RETRY_MAX_MS = 60000;
  const SAFETY_POLL_MS = 20000;

  const userMeta = document.querySelector('meta[name="serialapp-user"]');
  const user = userMeta ? userMeta.content : null;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  function newKey() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // ------------------------------------------------------------------ storage
  // IndexedDB when the browser has it; otherwise (some private modes) a list in memory, so
  // scanning still works, only without surviving a reload.
  const memory = { seq: 0, items: new Map() };
  let dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve) => {
        let req;
        try {
          req = window.indexedDB && indexedDB.open(DB_NAME, 1);
        } catch (e) {
          req = null;
        }
        if (!req) return resolve(null);
        req.onupgradeneeded = () => {
          req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
        };
        req.onsuccess = () => {
          const db = req.result;
          db.onversionchange = () => db.close();
          resolve(db);
        };
        req.onerror = () => resolve(null);
      });
    }
    return dbPromise;
  }

  function settle(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function committed(tx) {
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = tx.onerror = () => reject(tx.error || new Error("IndexedDB transaction failed"));
    });
  }

  async function dbAdd(item) {
    const db = await openDb();
    if (!db) {
      item.seq = ++memory.seq;
      memory.items.set(item.seq, item);
      return item.seq;
    }
    // "strict": the scan is on disk before we count it as made.
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    const seq = await settle(tx.objectStore(STORE).add(item));
    await committed(tx);
    item.seq = seq;
    return seq;
  }

  async function dbAll() {
    const db = await openDb();
    if (!db) return Array.from(memory.items.values()).sort((a, b) => a.seq - b.seq);
    const tx = db.transaction(STORE, "readonly");
    return settle(tx.objectStore(STORE).getAll());  // keyPath order: oldest first
  }

  async function dbPut(item) {
    const db = await openDb();
    if (!db) {
      memory.items.set(item.seq, item);
      return;
    }
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(item);
    await committed(tx);
  }

  async function dbDelete(seq) {
    const db = await openDb();
    if (!db) {
      memory.items.delete(seq);
      return;
    }
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    tx.objectStore(STORE).delete(seq);
    await committed(tx);
  }

  // ------------------------------------------------------------------ sending
  async function send(item) {
    const headers = { "Idempotency-Key": item.key, "X-CSRFToken": csrfToken(),
                      "Accept": "application/json" };
    let body;
    if (item.files) {
      body = new FormData();
      Object.entries(item.fields || {}).forEach(([name, value]) => body.append(name, value));
      item.files.forEach((f) => body.append("image", f.blob, f.name || "photo.jpg"));
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(),
                             item.files ? TIMEOUT_UPLOAD_MS : TIMEOUT_JSON_MS);
    try {
      const response = await fetch(item.endpoint, {
        method: "POST", credentials: "same-origin", redirect: "manual", headers, body,
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      const after = parseFloat(response.headers.get("Retry-After"));
      return { status: response.status, body: data,
               retryAfter: Number.isFinite(after) ? Math.min(Math.max(after, 0), RETRY_AFTER_MAX_S)
                                                  : null };
    } finally {
      clearTimeout(timer);
    }
  }

  // What an answer means for the queued item:
  // "done": final, the item leaves the outbox (success, or a refusal with its reason);
  // "retry": nothing was decided (network, 5xx, an answer with Retry-After, or a proxy or
  // captive portal answering instead of our API); "login": the session ended;
  // "csrf": the page's security token is stale.
  function verdict(res) {
    const status = res.status;
    const body = res.body && typeof res.body === "object" ? res.body : null;
    const code = body && body.error ? body.error.code : null;
    if (status === 401) return "login";
    if (status === 400 && code === "csrf_failed") return "csrf";
    if (res.retryAfter !== null && res.retryAfter !== undefined) return "retry";
    if (status >= 500) return "retry";
    if (!body) return "retry";  // not an answer from our API
    if (status >= 200 && status < 300) return "done";
    if (status >= 400 && body.error) return "done";  // a refusal: final, shown with its reason
    return "retry";
  }

  // A fresh CSRF token from any page of ours (the session may have been renewed).
  async function refreshCsrf() {
    try {
      const response = await fetch("/", { credentials: "same-origin", cache: "no-store" });
      const html = await response.text();
      const m = html.match(/<meta name="csrf-token" content="([^"]+)"/);
      if (!m) return false;
      const meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) meta.content = m[1];
      return true;
    } catch (e) {
      return false;
    }
  }

  // ------------------------------------------------------------------ the queue
  const waiters = new Map();      // key -> resolve, for items made in this tab awaiting an answer
  let stalled = null;             // {reason, at} while the head of the queue cannot be sent
  let retryDelay = RETRY_MIN_MS;
  let retryTimer = null;
  let flushing = null;
  let again = false;
  let pending = 0;

  let retryAt = null;             // when the next try is due, while stalled
  let inFlight = null;            // the key of the item being sent right now

  function mine(items) {
    return items.filter((it) => it.user === user);
  }

  function waiting(items) {
    return mine(items).filter((it) => !it.failed);
  }

  async function announce() {
    let items = [];
    try {
      items = await dbAll();
    } catch (e) {
      items = [];
    }
    const own = mine(items);
    pending = own.filter((it) => !it.failed).length;
    document.dispatchEvent(new CustomEvent("serialapp:outbox", { detail: {
      pending, failed: own.length - pending, others: items.length - own.length,
      stalled: stalled ? stalled.reason : null, online: navigator.onLine,
      retryIn: retryAt ? Math.max(0, Math.round((retryAt - Date.now()) / 1000)) : null,
    } }));
  }

  function stall(reason, detail) {
    stalled = { reason, at: Date.now(), detail: detail || null };
    // Everyone waiting in this tab hears "queued" now; the real answer comes later as an event.
    waiters.forEach((resolve) => resolve({ queued: true, reason }));
    waiters.clear();
    clearTimeout(retryTimer);
    retryAt = null;
    if (reason !== "offline") {
      // The server's own "come back in n seconds" wins over our backoff.
      const asked = detail && detail.retryAfter !== null && detail.retryAfter !== undefined;
      const delay = asked ? Math.max(detail.retryAfter * 1000, 250) : retryDelay;
      if (!asked) retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      retryAt = Date.now() + delay;
      retryTimer = setTimeout(flush, delay);
    }
  }

  function answered(item, res) {
    const resolve = waiters.get(item.key);
    waiters.delete(item.key);
    if (resolve) resolve({ queued: false, status: res.status, body: res.body });
    document.dispatchEvent(new CustomEvent("serialapp:sent", { detail: {
      item, status: res.status, body: res.body, waited: Boolean(resolve),
    } }));
  }

  async function drain() {
    stalled = null;
    retryAt = null;
    for (;;) {
      if (!navigator.onLine) {
        stall("offline");
        return;
      }
      const items = waiting(await dbAll());
      if (!items.length) {
        retryDelay = RETRY_MIN_MS;
        return;
      }
      const item = items[0];
      let res;
      inFlight = item.key;
      try {
        res = await send(item);
      } catch (e) {
        stall("network");
        return;
      } finally {
        inFlight = null;
      }
      let v = verdict(res);
      if (v === "csrf" && await refreshCsrf()) {
        try {
          res = await send(item);
        } catch (e) {
          stall("network");
          return;
        }
        v = verdict(res);
      }
      if (v === "retry" && res.status >= 500 && res.retryAfter === null) {
        // A scan the server keeps failing on must not hold up every scan after it: after a
        // few tries it is set aside, still listed, for a person to try again or discard.
        item.attempts = (item.attempts || 0) + 1;
        if (item.attempts >= MAX_SERVER_ERRORS) {
          item.failed = { status: res.status, at: new Date().toISOString(),
                          message: res.body && res.body.error ? res.body.error.message
                                   : `The server failed on it (${res.status}).` };
          await dbPut(item);
          answered(item, res);
          await announce();
          continue;
        }
        await dbPut(item);
      }
      if (v !== "done") {
        stall(v === "retry" && res.retryAfter !== null ? "busy" : v, res);
        return;
      }
      await dbDelete(item.seq);
      retryDelay = RETRY_MIN_MS;
      answered(item, res);
      await announce();
    }
  }

  // A person discards a queued scan: it is never sent. Not the one being sent right now
  // (the server may already be applying it); its answer comes in a moment anyway.
  async function discard(seq) {
    const item = mine(await dbAll()).find((it) => it.seq === seq);
    if (!item) return false;
    if (item.key === inFlight) return false;
    await dbDelete(seq);
    const resolve = waiters.get(item.key);
    waiters.delete(item.key);
    if (resolve) resolve({ queued: false, discarded: true });
    document.dispatchEvent(new CustomEvent("serialapp:discarded", { detail: { item } }));
    await announce();
    flush();
    return true;
  }

  // "Try again" on a scan that was set aside: back into the queue, at its old place.
  async function retry(seq) {
    const item = mine(await dbAll()).find((it) => it.seq === seq);
    if (!item) return false;
    delete item.failed;
    item.attempts = 0;
    await dbPut(item);
    retryDelay = RETRY_MIN_MS;
    await announce();
    flush();
    return true;
  }

  function withLock(fn) {
    // Two tabs must not send the same item at once (the server would refuse the second with
    // "in progress" anyway; the lock just saves the round trip). Locks need a secure context.
    if (navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK, fn);
    return fn();
  }

  function flush() {
    if (!user) return Promise.resolve();
    if (flushing) {
      again = true;
      return flushing;
    }
    clearTimeout(retryTimer);
    flushing = (async () => {
      do {
        again = false;
        try {
          await withLock(drain);
        } catch (e) {
          stall("storage");
        }
        // Asked again mid-way: go on, unless the queue is waiting for a timer. A try that
        // found the phone offline does not wait if it is online now: the "online" event
        // may have come while that try was finishing, and its flush() only set `again`.
      } while (again && (!stalled || (stalled.reason === "offline" && navigator.onLine)));
      await announce();
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  }

  // Queue one action and send it. Resolves with {queued: false, status, body} once the server
  // answered, or {queued: true, reason} when it has to wait (it is then sent later, and its
  // answer comes as a "serialapp:sent" event).
  async function submit(spec) {
    const item = Object.assign({ key: newKey(), user, made: new Date().toISOString(),
                                 attempts: 0 }, spec);
    const answer = new Promise((resolve) => waiters.set(item.key, resolve));
    try {
      await dbAdd(item);
    } catch (e) {
      // Storage refused (quota, private mode): still send it, just without the safety net.
      item.seq = ++memory.seq;
      memory.items.set(item.seq, item);
    }
    const waitingForRetry = stalled && stalled.reason !== "offline";
    if (!navigator.onLine) {
      stall("offline");
    } else if (waitingForRetry) {
      waiters.get(item.key)({ queued: true, reason: stalled.reason });
      waiters.delete(item.key);
    } else {
      flush();
    }
    announce();
    return answer;
  }

  async function items() {
    return mine(await dbAll());
  }

  window.addEventListener("online", () => {
    retryDelay = RETRY_MIN_MS;
    flush();
  });
  window.addEventListener("offline", () => {
    stalled = { reason: "offline", at: Date.now() };
    announce();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && pending) flush();
  });
  setInterval(() => {
    if (pending && !flushing && navigator.onLine) flush();
  }, SAFETY_POLL_MS);

  window.serialappOutbox = {
    submit, flush, items, discard, retry, newKey, csrfToken,
    inFlight: () => inFlight,
    count: () => pending,
    state: () => ({ pending, stalled: stalled ? stalled.reason : null, online: navigator.onLine }),
  };

  // On page load: show what is waiting, and send it.
  if (user) {
    announce().then(() => {
      if (pending) flush();
    });
  }
})();
