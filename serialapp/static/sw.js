// serialapp's service worker: the app shell (CSS, scripts, icons) comes from a cache so the
// scan pages open with no connection; pages are network-first with the last copy as the
// fallback. The API and every POST go straight to the network: scans made offline wait in
// the page's IndexedDB outbox (outbox.js), never here.
"use strict";

const VERSION = "__SHELL_VERSION__";   // the server fills in a digest of the static files
const SHELL = "serialapp-shell-" + VERSION;
const PAGES = "serialapp-pages";
const MAX_PAGES = 60;
const PAGE_TIMEOUT_MS = 8000;
const SHELL_FILES = [
  "/static/app.css",
  "/static/outbox.js",
  "/static/pwa.js",
  "/static/scan.js",
  "/static/camera.js",
  "/static/stocktake.js",
  "/static/offline.html",
  "/static/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/static/icons/maskable-512.png",
  "/static/icons/apple-touch-icon.png",
];
const OFFLINE_PAGE = "/static/offline.html";

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(SHELL_FILES.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("serialapp-shell-") && n !== SHELL)
      .map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;                      // POSTs: never touched
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(shellFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(pageNetworkFirst(request));
  }
});

async function shellFirst(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
  return hit || fetch(request);
}

function isCacheablePage(response) {
  return response.ok && response.type === "basic" && !response.redirected &&
    (response.headers.get("Content-Type") || "").startsWith("text/html");
}

async function fetchWithTimeout(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(request, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

async function remember(cache, key, response) {
  await cache.put(key, response);
  const keys = await cache.keys();
  for (const old of keys.slice(0, Math.max(0, keys.length - MAX_PAGES))) await cache.delete(old);
}

async function pageNetworkFirst(request) {
  const cache = await caches.open(PAGES);
  try {
    const response = await fetchWithTimeout(request, PAGE_TIMEOUT_MS);
    if (isCacheablePage(response)) {
      await remember(cache, request.url, response.clone());
    }
    return response;
  } catch (err) {
    const hit = await cache.match(request.url, { ignoreVary: true });
    if (hit) return hit;
    const offline = await caches.match(OFFLINE_PAGE, { ignoreVary: true });
    return offline || Response.error();
  }
}

// Pages ask us to keep copies of the pages they link to (the scan pages, open orders), so
// those open offline even if this phone has not visited them yet; and to forget every page
// on logout, so the next person on this phone never sees the last one's pages.
self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type === "warm" && Array.isArray(msg.urls)) {
    event.waitUntil(warm(msg.urls));
  } else if (msg.type === "forget-pages") {
    event.waitUntil(caches.delete(PAGES));
  }
});

async function warm(urls) {
  const cache = await caches.open(PAGES);
  for (const path of urls.slice(0, 40)) {
    const url = new URL(path, self.location.origin);
    if (url.origin !== self.location.origin) continue;
    if (await cache.match(url.href, { ignoreVary: true })) continue;
    try {
      const response = await fetchWithTimeout(new Request(url.href, { credentials: "same-origin" }),
                                               PAGE_TIMEOUT_MS);
      if (isCacheablePage(response)) await remember(cache, url.href, response);
    } catch (err) {
      return;  // offline again: try next time
    }
  }
}
