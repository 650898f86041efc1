// The live camera. The rear camera's frames are downscaled here (at most 1280 px, JPEG) and
// sent a few times a second to /api/decode (mode=frame), one request in flight at a time.
// Each NEW code found goes on as a scan (source "camera") through the same path as typed
// scans, and is confirmed by a beep, a vibration and a green flash (red with the reason
// when refused). A code is not sent again until it has been out of view for a few seconds.
(function () {
  "use strict";
  const app = window.serialapp;
  const tools = document.getElementById("scan-tools");
  if (!app || !tools) return;

  const startButton = document.getElementById("camera-start");
  const stopButton = document.getElementById("camera-stop");
  const torchButton = document.getElementById("camera-torch");
  const box = document.getElementById("camera-box");
  const video = document.getElementById("camera-video");
  const overlay = document.getElementById("camera-overlay");
  const note = document.getElementById("camera-note");
  const photoButton = document.getElementById("photo-button");

  const FRAME_EVERY_MS = 250;     // at most 4 frames a second
  const MAX_SIDE = 1280;          // frames are downscaled to this before upload
  const JPEG_QUALITY = 0.8;
  const REPEAT_AFTER_MS = 3000;   // a code out of view this long may be scanned again
  const BOX_KEEP_MS = 700;
  const PREF = "serialapp.camera";

  const frameCanvas = document.createElement("canvas");
  let stream = null;
  let track = null;
  let running = false;
  let loopTimer = null;
  let torchOn = false;
  let resumeWhenVisible = false;
  let lastBoxes = 0;
  const lastSeen = new Map();     // code text -> when it was last in view

  function show(text, kind) {
    note.textContent = text;
    note.className = "note " + (kind || "");
    note.hidden = !text;
  }

  // ------------------------------------------------------------ feedback
  let audio = null;
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
    } catch (e) {
      audio = null;
    }
  }

  function tone(freq, start, length, type) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + length + 0.02);
  }

  // ok: one short high beep; bad: two low buzzes; queued: one soft mid tone.
  function confirm(outcome) {
    const kind = { ok: "ok", bad: "bad", queued: "queued" }[outcome] || "info";
    if (audio && audio.state === "running") {
      const t = audio.currentTime;
      if (kind === "ok") tone(1760, t, 0.12, "sine");
      else if (kind === "bad") { tone(220, t, 0.18, "square"); tone(220, t + 0.25, 0.18, "square"); }
      else tone(880, t, 0.1, "triangle");
    }
    if (navigator.vibrate) {
      try {
        navigator.vibrate(kind === "ok" ? 80 : kind === "bad" ? [120, 80, 120] : 40);
      } catch (e) { /* not allowed before a tap */ }
    }
    document.body.classList.remove("flash-ok", "flash-bad", "flash-queued");
    void document.body.offsetWidth;  // restart the animation
    if (kind !== "info") document.body.classList.add("flash-" + kind);
  }

  // Wedge and photo scans get the same confirmation as camera ones.
  app.confirm = confirm;

  // ------------------------------------------------------------ frames
  function grab() {
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh) return Promise.resolve(null);
    const k = Math.min(1, MAX_SIDE / Math.max(vw, vh));
    const w = Math.round(vw * k);
    const h = Math.round(vh * k);
    frameCanvas.width = w;
    frameCanvas.height = h;
    frameCanvas.getContext("2d").drawImage(video, 0, 0, w, h);
    return new Promise((resolve) => {
      frameCanvas.toBlob((blob) => resolve(blob ? { blob, w, h } : null), "image/jpeg",
                         JPEG_QUALITY);
    });
  }

  async function decode(frame) {
    const data = new FormData();
    data.append("image", frame.blob, "frame.jpg");
    data.append("mode", "frame");
    const response = await fetch("/api/decode", {
      method: "POST", credentials: "same-origin", body: data,
      headers: { "X-CSRFToken": window.serialappOutbox.csrfToken(), "Accept": "application/json" },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const err = new Error(body && body.error ? body.error.message : `answer ${response.status}`);
      err.status = response.status;
      throw err;
    }
    return (body && body.codes) || [];
  }

  // Boxes where codes were found: frame coordinates -> the video as shown (object-fit: cover).
  function drawBoxes(codes, frame) {
    const dpr = window.devicePixelRatio || 1;
    const cw = overlay.clientWidth;
    const ch = overlay.clientHeight;
    overlay.width = Math.round(cw * dpr);
    overlay.height = Math.round(ch * dpr);
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    if (!codes.length) return;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    const s = Math.max(cw / vw, ch / vh);
    const ox = (cw - vw * s) / 2;
    const oy = (ch - vh * s) / 2;
    ctx.lineWidth = 4;
    ctx.font = "bold 15px system-ui, sans-serif";
    codes.forEach((c) => {
      const pos = c.position || {};
      const pts = pos.points || [];
      if (pts.length < 3) return;
      const fw = pos.width || frame.w;
      const fh = pos.height || frame.h;
      const xy = pts.map(([x, y]) => [ox + (x * vw / fw) * s, oy + (y * vh / fh) * s]);
      ctx.strokeStyle = "#00e04b";
      ctx.fillStyle = "rgba(0, 224, 75, 0.18)";
      ctx.beginPath();
      xy.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
      const [lx, ly] = xy.reduce((a, b) => (b[1] < a[1] ? b : a));
      const label = c.text.length > 28 ? c.text.slice(0, 27) + "…" : c.text;
      const tw = ctx.measureText(label).width + 10;
      const tx = Math.min(Math.max(lx, 2), cw - tw - 2);
      const ty = Math.max(ly - 24, 2);
      ctx.fillStyle = "rgba(0, 0, 0, 0.75)";
      ctx.fillRect(tx, ty, tw, 22);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, tx + 5, ty + 16);
    });
    lastBoxes = Date.now();
  }

  function newCodes(codes) {
    const now = Date.now();
    const fresh = [];
    codes.forEach((c) => {
      const last = lastSeen.get(c.text);
      lastSeen.set(c.text, now);
      if (!last || now - last > REPEAT_AFTER_MS) fresh.push(c);
    });
    for (const [text, at] of lastSeen) {
      if (now - at > 60000) lastSeen.delete(text);
    }
    return fresh;
  }

  async function tick() {
    if (!running) return;
    const started = Date.now();
    if (!navigator.onLine) {
      show("Offline: the camera needs the server to read codes. Type or use a scanner; " +
           "those scans are kept and sent later.", "bad");
    } else if (document.visibilityState === "visible") {
      try {
        const frame = await grab();
        if (frame && running) {
          const codes = await decode(frame);
          if (!running) return;
          if (codes.length || Date.now() - lastBoxes > BOX_KEEP_MS) drawBoxes(codes, frame);
          if (note.classList.contains("bad")) show("");
          const fresh = newCodes(codes);
          if (fresh.length) found(fresh);
        }
      } catch (e) {
        if (e.status === 401) {
          show("Your session has ended: log in again to use the camera.", "bad");
          stop();
          return;
        }
        show("Can't read frames right now: " + (e.message || "no connection") + ".", "bad");
      }
    }
    const wait = Math.max(0, FRAME_EVERY_MS - (Date.now() - started));
    loopTimer = setTimeout(tick, wait);
  }

  // Codes new in the same frame go as one scan: a box label's EAN + IMEI together name the
  // product and the serial. Pages without an action (look up, ship) take them as texts.
  function found(codes) {
    let texts = codes.map((c) => c.text);
    if (tools.dataset.handler !== "action") {
      // Look up / ship act on one text: not the product barcode when there is more.
      const serials = codes.filter((c) => c.kind !== "gtin");
      texts = [(serials.length ? serials : codes)[0].text];
    }
    app.scan(texts, "camera").then(confirm);
  }

  // ------------------------------------------------------------ camera on / off
  async function start() {
    unlockAudio();
    if (running) return;
    startButton.disabled = true;
    show("Opening the camera…");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 },
                 height: { ideal: 1080 } },
      });
    } catch (err) {
      startButton.disabled = false;
      const why = {
        NotAllowedError: "Camera access was refused. Allow the camera for this site in the " +
                         "browser's settings, or use Photo.",
        NotFoundError: "This device has no camera we can use. Use Photo or type the code.",
        NotReadableError: "The camera is busy in another app. Close it and try again.",
        OverconstrainedError: "The camera can't give a usable picture. Use Photo instead.",
      }[err.name] || `The camera could not start (${err.name || err}). Use Photo instead.`;
      show(why, "bad");
      return;
    }
    track = stream.getVideoTracks()[0];
    video.srcObject = stream;
    box.hidden = false;
    try {
      await video.play();
    } catch (e) { /* autoplay of a muted inline video is allowed; carry on */ }
    running = true;
    startButton.hidden = true;
    startButton.disabled = false;
    show("");
    setupTorch();
    localStorage.setItem(PREF, "on");
    // Buttons, answer and picture in view together.
    document.getElementById("camera-slot").scrollIntoView({ behavior: "smooth", block: "start" });
    tick();
  }

  function stop(remember) {
    running = false;
    clearTimeout(loopTimer);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    track = null;
    torchOn = false;
    video.srcObject = null;
    box.hidden = true;
    startButton.hidden = false;
    torchButton.hidden = true;
    if (remember) localStorage.setItem(PREF, "off");
  }

  function setupTorch() {
    let caps = {};
    try {
      caps = track && track.getCapabilities ? track.getCapabilities() : {};
    } catch (e) {
      caps = {};
    }
    torchButton.hidden = !caps.torch;
    torchButton.setAttribute("aria-pressed", "false");
  }

  async function toggleTorch() {
    if (!track) return;
    try {
      await track.applyConstraints({ advanced: [{ torch: !torchOn }] });
      torchOn = !torchOn;
      torchButton.setAttribute("aria-pressed", String(torchOn));
      torchButton.textContent = torchOn ? "Torch off" : "Torch";
    } catch (e) {
      torchButton.hidden = true;
    }
  }

  // ------------------------------------------------------------ wiring
  const secure = window.isSecureContext;
  const hasCamera = Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  if (!secure || !hasCamera) {
    startButton.hidden = true;
    photoButton.classList.add("primary-tool");
    show(!secure
      ? "Live camera is off: this page came over plain http, and browsers open the " +
        "camera only on secure (https) pages. Use Photo: it works over http. For the live " +
        "camera, open the app's https address instead."
      : "This browser can't give the page a live camera. Use Photo.", "info");
    return;
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => stop(true));
  torchButton.addEventListener("click", toggleTorch);
  // The first tap anywhere lets the page make sounds (browsers want a gesture first).
  ["pointerdown", "keydown"].forEach((t) => document.addEventListener(t, unlockAudio,
                                                                       { once: true }));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && running) {
      resumeWhenVisible = true;
      stop(false);
    } else if (document.visibilityState === "visible" && resumeWhenVisible) {
      resumeWhenVisible = false;
      start();
    }
  });
  window.addEventListener("pagehide", () => stop(false));
  // Someone who scanned with the camera last time gets it again (permission is remembered).
  if (localStorage.getItem(PREF) === "on" && navigator.permissions) {
    navigator.permissions.query({ name: "camera" }).then((p) => {
      if (p.state === "granted") start();
    }).catch(() => {});
  }

  app.camera = { start, stop: () => stop(true), running: () => running };
})();
