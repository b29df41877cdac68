/*
 * pywry bridge: the browser side of wire protocol v1, whose messages pywry/core/protocol.py
 * parses and encodes on the server.
 *
 * Loaded as a classic script in <head>, right after the bootstrap JSON, so that
 * `window.pywry` exists before any author script in the body runs. It picks a
 * transport (WebSocket, else an HTTP event stream with POSTs up), keeps the
 * page in step with the widget's sequenced messages, never loses an emitted
 * event, and performs the system actions Python asks for (pywry:*).
 */
(function () {
  "use strict";

  // One widget per page: a second copy of this script must not start a second bridge.
  if (window.pywry && window.pywry.__bridge === true) return;

  var PROTOCOL = 1;
  var SUBPROTOCOL_PREFIX = "pywry.token.";
  var MAX_UNACKED = 1000;          // emitted-but-unacknowledged events kept for resending
  var BACKOFF_BASE_MS = 250;
  var BACKOFF_CAP_MS = 5000;
  var STABLE_OPEN_MS = 5000;       // an open connection this old resets the backoff
  var BANNER_DELAY_MS = 1000;      // blips shorter than this show nothing
  var WS_OPEN_TIMEOUT_MS = 10000;  // a handshake hanging longer counts as a failed open
  var WS_FAILURES_BEFORE_HTTP = 2;
  var STREAM_IDLE_MS = 60000;      // server closes streams after ~25 s; silence past this = dead
  var STREAM_MIN_LIFE_MS = 1000;   // a stream that ends sooner is treated as a failure
  var RELOAD_GUARD_MS = 10000;     // at most one automatic reload per this window
  var SCRIPT_TIMEOUT_MS = 15000;   // an injected <script src> that never settles
  var MAX_TOASTS = 8;
  // Same rule as the server (protocol.EVENT_NAME), so a bad name fails here, loudly.
  var TYPE_RE = /^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z][A-Za-z0-9_.:-]*$/;
  var MAX_TYPE_LENGTH = 200;
  var THEMES = { dark: true, light: true, system: true };
  var TOAST_TYPES = { info: true, success: true, warning: true, error: true };

  // ------------------------------------------------------------------ helpers

  function log(level, args) {
    var c = window.console;
    if (c && typeof c[level] === "function") c[level].apply(c, ["[pywry]"].concat(args));
  }
  function warn() { log("warn", Array.prototype.slice.call(arguments)); }
  function error() { log("error", Array.prototype.slice.call(arguments)); }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function randomHex(bytes) {
    var buf = new Uint8Array(bytes);
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      window.crypto.getRandomValues(buf);
    } else {
      for (var i = 0; i < bytes; i++) buf[i] = Math.floor(Math.random() * 256);
    }
    return Array.prototype.map.call(buf, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  /** Resolve a server-given path against the page and add query parameters. */
  function buildUrl(path, params, websocket) {
    var url = new URL(path, window.location.href);
    if (websocket) {
      if (url.protocol === "https:") url.protocol = "wss:";
      else if (url.protocol === "http:") url.protocol = "ws:";
    }
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, String(params[k])); });
    return url.toString();
  }

  /** Full jitter: a uniformly random wait up to the exponential ceiling. */
  function backoffDelay(attempt) {
    var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, Math.min(attempt, 16)));
    return Math.floor(Math.random() * ceiling);
  }

  /** Run fn once document.body exists (we start in <head>). */
  function whenBody(fn) {
    if (document.body) fn();
    else document.addEventListener("DOMContentLoaded", function () { fn(); }, { once: true });
  }

  function readBootstrap() {
    var el = document.getElementById("pywry-bootstrap");
    if (!el) { error("no #pywry-bootstrap element; the bridge stays offline"); return null; }
    try {
      var boot = JSON.parse(el.textContent || "{}");
      if (!isObject(boot)) throw new Error("not an object");
      return boot;
    } catch (e) {
      error("bad bootstrap JSON:", e);
      return null;
    }
  }

  // ------------------------------------------------------------------ state

  var boot = readBootstrap() || {};
  if (boot.protocol !== undefined && boot.protocol !== PROTOCOL) {
    warn("server speaks protocol", boot.protocol, "but this bridge speaks", PROTOCOL);
  }
  var label = typeof boot.label === "string" ? boot.label : "";
  var token = typeof boot.token === "string" ? boot.token : "";
  var clientId = randomHex(16);
  var maxPayload = typeof boot.maxPayload === "number" && boot.maxPayload > 0 ? boot.maxPayload : 0;
  // Code reload on (development): the server's boot id, compared with /health on reconnect.
  var bootId = typeof boot.boot === "string" && typeof boot.health === "string" ? boot.boot : null;

  var state = "connecting";          // connecting | open | reconnecting | closed
  var transport = null;              // "websocket" | "http" while a transport is up
  var lastSeq = Number.isInteger(boot.seq) && boot.seq >= 0 ? boot.seq : 0;
  // This page's own stream (replies to its events) and its session's, beside the widget's:
  // positions by the field their messages carry. A new page starts its own at 0 and follows
  // its session's from whatever the server is at (null until the first message).
  var streamPos = { cseq: 0, sseq: null };
  var nextId = 1;
  var unacked = [];                  // [{id, text}] in id order
  var handlers = new Map();          // type -> Set(fn)

  var useHttp = !boot.ws;            // no WebSocket route at all -> HTTP stream from the start
  var wsEverOpened = false;
  var wsFailures = 0;                // consecutive WebSocket attempts that never opened
  var everOpened = false;
  var attempt = 0;                   // consecutive reconnect attempts, for backoff
  var connGen = 0;                   // bumped on every (re)connect; stale callbacks compare it
  var socket = null;
  var wsSentUpTo = 0;                // highest event id written to the current socket
  var streamCtrl = null;
  var postedUpTo = 0;                // highest event id POSTed since the transport came up
  var postEpoch = 0;                 // bumped when the transport comes up; late replies can't move postedUpTo
  var posting = false;
  var postTimer = null;
  var postFailures = 0;
  var reconnectTimer = null;
  var stableTimer = null;
  var bannerTimer = null;
  var stopped = !boot.token;         // fatal condition or page left: no more connecting
  var left = false;

  var readyResolve;
  var ready = new Promise(function (resolve) { readyResolve = resolve; });

  // ------------------------------------------------------------------ handlers

  function isEventType(type) {
    return typeof type === "string" && type.length <= MAX_TYPE_LENGTH && TYPE_RE.test(type);
  }

  function on(type, fn) {
    if (type !== "*" && !isEventType(type)) {
      throw new TypeError("pywry.on: event type must be 'namespace:name' or '*', got " + JSON.stringify(type));
    }
    if (typeof fn !== "function") throw new TypeError("pywry.on: handler must be a function");
    if (!handlers.has(type)) handlers.set(type, new Set());
    handlers.get(type).add(fn);
    return function unsubscribe() { off(type, fn); };
  }

  /** off(type, fn) removes one handler; off(type) removes all handlers of type. */
  function off(type, fn) {
    var set = handlers.get(type);
    if (!set) return;
    if (fn === undefined) set.clear(); else set.delete(fn);
    if (set.size === 0) handlers.delete(type);
  }

  function callHandlers(type, set, data, msg) {
    if (!set) return;
    Array.from(set).forEach(function (fn) {
      try { fn(data, msg.type, msg); } catch (e) { error("handler for '" + type + "' threw:", e); }
    });
  }

  /** Server messages go to their type's handlers, then to "*" handlers. */
  function dispatch(msg) {
    callHandlers(msg.type, handlers.get(msg.type), msg.data, msg);
    callHandlers("*", handlers.get("*"), msg.data, msg);
  }

  function setState(next) {
    if (next === state) return;
    var previous = state;
    state = next;
    updateReconnectBanner();
    // Local notification only; "*" handlers see server messages, not this.
    var msg = { type: "pywry:state", data: { state: next, previous: previous, transport: transport } };
    callHandlers("pywry:state", handlers.get("pywry:state"), msg.data, msg);
  }

  // ------------------------------------------------------------------ outbound events

  function emit(type, data) {
    if (!isEventType(type)) {
      throw new TypeError("pywry.emit: event type must be 'namespace:name', got " + JSON.stringify(type));
    }
    var msg = { type: type, data: data === undefined ? {} : data, id: nextId, widgetId: label, ts: Date.now() };
    var text;
    try { text = JSON.stringify(msg); } catch (e) {
      throw new TypeError("pywry.emit: data for '" + type + "' is not JSON-serialisable: " + e.message);
    }
    if (maxPayload && text.length * 3 > maxPayload && new Blob([text]).size > maxPayload) {
      // The server would close the socket (1009) and a resend would do it again.
      throw new RangeError("pywry.emit: '" + type + "' is larger than the server's limit of " + maxPayload + " bytes");
    }
    nextId += 1;
    if (unacked.length >= MAX_UNACKED) {
      var dropped = unacked.shift();
      warn("more than " + MAX_UNACKED + " unacknowledged events; dropping event id " + dropped.id);
    }
    unacked.push({ id: msg.id, text: text });
    flushOutbound();
    return msg.id;
  }

  /** An acknowledged (or definitively refused) event is never resent. */
  function settle(id) {
    for (var i = 0; i < unacked.length; i++) {
      if (unacked[i].id === id) { unacked.splice(i, 1); return; }
      if (unacked[i].id > id) return;
    }
  }

  function settleAckData(data) {
    if (!isObject(data)) return;
    if (typeof data.id === "number") settle(data.id);
    if (Array.isArray(data.ids)) data.ids.forEach(function (id) { if (typeof id === "number") settle(id); });
  }

  function flushOutbound() {
    if (state !== "open") return;   // queued until a transport is up
    if (transport === "websocket") flushSocket();
    else if (transport === "http") pumpPosts();
  }

  function flushSocket() {
    if (!socket || socket.readyState !== 1) return;
    for (var i = 0; i < unacked.length; i++) {
      var m = unacked[i];
      if (m.id <= wsSentUpTo) continue;
      try { socket.send(m.text); } catch (e) { warn("send failed:", e); return; }
      wsSentUpTo = m.id;
    }
  }

  // ------------------------------------------------------------------ inbound messages

  var domReady = document.readyState !== "loading";
  var inbox = [];          // accepted messages waiting for the DOM or a running system action
  var inboxBusy = false;   // a system action (e.g. loading injected scripts) is in progress

  /** Handle one text frame / SSE event / POST reply from connection `gen`. */
  function receiveText(text, gen) {
    var msg;
    try { msg = JSON.parse(text); } catch (e) { warn("ignoring a message that is not JSON"); return; }
    if (isObject(msg) && Array.isArray(msg.events)) {
      for (var i = 0; i < msg.events.length && gen === connGen; i++) accept(msg.events[i], gen);
    } else {
      accept(msg, gen);
    }
  }

  /** De-duplicate and gap-check sequenced messages; queue the rest for delivery in order. */
  function accept(msg, gen) {
    if (gen !== connGen) return;   // connection already torn down (e.g. after a gap)
    if (!isObject(msg) || typeof msg.type !== "string") { warn("ignoring a message without a type"); return; }
    if (msg.type === "pywry:ack") { settleAckData(msg.data); return; }
    // resync means "your position is lost": never gap-check it, or we would loop.
    if (msg.type === "pywry:skip") { skipTo(msg.data); return; }
    if (msg.type === "pywry:position") { startAt(msg.data); return; }
    if (typeof msg.seq === "number" && msg.type !== "pywry:resync") {
      if (msg.seq <= lastSeq) return;                    // already reflected: drop silently
      if (msg.seq > lastSeq + 1) { onGap(msg.seq); return; }
      lastSeq = msg.seq;
    } else if (!inOrder(msg, "cseq") || !inOrder(msg, "sseq")) {
      return;
    }
    inbox.push(msg);
    drainInbox();
  }

  /** Order check for a page or session stream message; false when it must not be shown. */
  function inOrder(msg, field) {
    var n = msg[field];
    if (typeof n !== "number") return true;
    var last = streamPos[field];
    if (last !== null && n <= last) return false;        // seen before a reconnect: drop
    if (last !== null && n > last + 1) { onGap(n); return false; }
    streamPos[field] = n;
    return true;
  }

  /** The server no longer has replies this page missed: continue after them. */
  function skipTo(data) {
    if (isObject(data) && (data.field === "cseq" || data.field === "sseq") &&
        typeof data.seq === "number") {
      warn("some replies to this page were lost while it was away");
      streamPos[data.field] = data.seq;
    }
  }

  /** Where this page starts in a stream it joined "from now" (its session's, on first connect). */
  function startAt(data) {
    if (isObject(data) && (data.field === "cseq" || data.field === "sseq") &&
        typeof data.seq === "number" && streamPos[data.field] === null) {
      streamPos[data.field] = data.seq;
    }
  }

  /** Resume points of the page and session streams, for a reconnect's query string. */
  function resumeParams(params) {
    params.cafter = streamPos.cseq;
    if (streamPos.sseq !== null) params.safter = streamPos.sseq;
    return params;
  }

  function onGap(seq) {
    warn("missed messages " + (lastSeq + 1) + ".." + (seq - 1) + "; reconnecting to replay them");
    teardown(1000, "sequence gap");
    transportDown();
    scheduleReconnect(attempt === 0 ? 0 : undefined);
  }

  /** Deliver queued messages in order; waits for the DOM and for async system actions. */
  function drainInbox() {
    if (inboxBusy || !domReady) return;
    while (inbox.length) {
      var msg = inbox.shift();
      var pending = undefined;
      try { pending = runSystemAction(msg); } catch (e) { error("system action '" + msg.type + "' failed:", e); }
      if (pending && typeof pending.then === "function") {
        inboxBusy = true;
        pending.then(null, function (e) { error("system action '" + msg.type + "' failed:", e); })
          .then(function () { inboxBusy = false; dispatch(msg); drainInbox(); });
        return;
      }
      dispatch(msg);
    }
  }

  if (!domReady) {
    document.addEventListener("DOMContentLoaded", function () { domReady = true; drainInbox(); }, { once: true });
  }

  // ------------------------------------------------------------------ system actions

  var systemActions = {
    "pywry:download": download,
    "pywry:set-content": setContent,
    "pywry:update-html": setContent,
    "pywry:alert": showToast,
    "pywry:navigate": navigate,
    "pywry:inject-css": injectCss,
    "pywry:remove-css": removeCss,
    "pywry:set-style": setStyle,
    "pywry:update-theme": function (d) { if (isObject(d)) applyTheme(d.theme); },
    "pywry:refresh": function () { window.location.reload(); },
    "pywry:resync": function () { reloadPage("resync"); },
    "pywry:error": onServerError
  };

  function runSystemAction(msg) {
    var action = systemActions[msg.type];
    return action ? action(isObject(msg.data) ? msg.data : {}, msg) : undefined;
  }

  function download(d) {
    if (typeof d.clientId === "string" && d.clientId !== clientId) return;   // another page's
    var mime = d.mimeType || (d.encoding === "base64" ? "application/octet-stream" : "text/plain;charset=utf-8");
    var content = d.content;
    var part;
    if (d.encoding === "base64") {
      var bin = window.atob(String(content || ""));
      part = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) part[i] = bin.charCodeAt(i);
    } else {
      part = typeof content === "string" ? content : JSON.stringify(content);
    }
    var url = URL.createObjectURL(new Blob([part], { type: mime }));
    var a = document.createElement("a");
    a.href = url;
    a.download = d.filename || "download";
    a.style.display = "none";
    document.body.appendChild(a);
    a.click();
    a.remove();
    // Revoking at once can cancel the download in some browsers.
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  /** Replace innerHTML and make the new <script> tags run, in document order. */
  function setContent(d) {
    var selector = d.selector || "#pywry-root";
    var target = document.querySelector(selector);
    if (!target) { warn("set-content: no element matches", selector); return; }
    target.innerHTML = typeof d.html === "string" ? d.html : "";
    return runScripts(target);
  }

  /**
   * Scripts inserted through innerHTML never run; replace each with a fresh element.
   * Inline ones run at once; a script with src is awaited before the next one so that
   * inline code after it can use it. Returns a promise only when something is awaited.
   */
  function runScripts(root) {
    var scripts = Array.prototype.slice.call(root.querySelectorAll("script"));
    var i = 0;
    function next() {
      while (i < scripts.length) {
        var loading = activateScript(scripts[i++]);
        if (loading) return loading.then(next);
      }
      return undefined;
    }
    return next();
  }

  function activateScript(old) {
    var s = document.createElement("script");
    Array.prototype.forEach.call(old.attributes, function (attr) { s.setAttribute(attr.name, attr.value); });
    if (!old.src) {
      s.textContent = old.textContent;
      old.replaceWith(s);   // inline scripts run synchronously on insertion
      return undefined;
    }
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, SCRIPT_TIMEOUT_MS);
      function done() { clearTimeout(timer); resolve(); }
      s.async = false;
      s.addEventListener("load", done);
      s.addEventListener("error", function () { warn("script failed to load:", s.src); done(); });
      old.replaceWith(s);
    });
  }

  function toastContainer() {
    var box = document.getElementById("pywry-toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "pywry-toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function showToast(d) {
    var type = TOAST_TYPES[d.type] ? d.type : "info";
    var duration = typeof d.duration === "number" && d.duration >= 0 ? d.duration : 4000;
    var box = toastContainer();
    while (box.children.length >= MAX_TOASTS) box.firstElementChild.remove();
    var toast = document.createElement("div");
    toast.className = "pywry-toast pywry-toast-" + type;
    toast.setAttribute("role", type === "error" ? "alert" : "status");
    toast.textContent = d.message === undefined ? "" : String(d.message);   // never innerHTML
    var timer = null;
    function dismiss() {
      if (timer) clearTimeout(timer);
      toast.classList.add("pywry-toast-leaving");
      setTimeout(function () { toast.remove(); }, 250);   // matches the CSS fade
    }
    toast.addEventListener("click", dismiss);
    if (duration > 0) timer = setTimeout(dismiss, duration);
    box.appendChild(toast);
  }

  /**
   * The absolute form of an http(s) or relative URL, else null. Parsed the way the browser
   * will read it (it drops tabs, newlines and leading control characters), so that no
   * spelling of javascript:, data: or another scheme gets through.
   */
  function webUrl(value) {
    if (typeof value !== "string" || value === "") return null;
    var url;
    try { url = new URL(value, window.location.href); } catch (e) { return null; }
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  }

  function navigate(d) {
    var url = webUrl(d.url);
    if (url === null) {
      warn("navigate: refusing a URL that is not http(s) or relative:", JSON.stringify(String(d.url)).slice(0, 80));
      return;
    }
    if (d.newTab) window.open(url, "_blank", "noopener");
    else window.location.assign(url);
  }

  function injectCss(d) {
    if (!d.id) { warn("inject-css needs an id"); return; }
    var id = "pywry-css-" + d.id;
    var style = document.getElementById(id);
    if (!style) {
      style = document.createElement("style");
      style.id = id;
      (document.head || document.documentElement).appendChild(style);
    }
    style.textContent = String(d.css || "");
  }

  function removeCss(d) {
    var style = document.getElementById("pywry-css-" + d.id);
    if (style) style.remove();
  }

  function setStyle(d) {
    if (!d.selector || !isObject(d.styles)) { warn("set-style needs selector and styles"); return; }
    var els = document.querySelectorAll(d.selector);
    Array.prototype.forEach.call(els, function (el) {
      Object.keys(d.styles).forEach(function (prop) {
        var value = d.styles[prop];
        if (prop.indexOf("-") >= 0) {   // kebab-case and custom properties (--x)
          if (value === null || value === "") el.style.removeProperty(prop);
          else el.style.setProperty(prop, String(value));
        } else {
          el.style[prop] = value === null ? "" : String(value);
        }
      });
    });
  }

  function onServerError(d) {
    warn("server error:", d.code, d.detail || "");
    if (typeof d.id === "number") settle(d.id);   // refused event: resending would not help
    if (d.code === "owner-gone") {
      showBanner("This widget's session has ended.", "Reload", "fatal");
    } else if (d.code === "callback-error") {
      // the person who clicked sees that it did not work, not only the console
      var what = typeof d.event === "string" ? d.event : "this action";
      showToast({ message: "Error in " + what + (d.detail ? ": " + d.detail : ""), type: "error", duration: 8000 });
    }
  }

  // ------------------------------------------------------------------ theme

  var darkQuery = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var requestedTheme = "dark";
  var resolvedTheme = "dark";

  function applyTheme(theme) {
    if (!THEMES[theme]) { warn("unknown theme", theme); return; }
    requestedTheme = theme;
    resolvedTheme = theme === "system" ? (darkQuery && darkQuery.matches ? "dark" : "light") : theme;
    document.documentElement.dataset.pywryTheme = resolvedTheme;
    window.dispatchEvent(new CustomEvent("pywry:theme", { detail: { theme: resolvedTheme, requested: requestedTheme } }));
  }

  if (darkQuery && typeof darkQuery.addEventListener === "function") {
    darkQuery.addEventListener("change", function () { if (requestedTheme === "system") applyTheme("system"); });
  }

  // ------------------------------------------------------------------ banner

  var banner = null;   // {el, kind: "reconnecting"|"fatal"}

  function showBanner(text, buttonText, kind) {
    if (banner && banner.kind === "fatal" && kind !== "fatal") return;   // fatal news wins
    hideBanner();
    var el = document.createElement("div");
    el.id = "pywry-banner";
    el.className = "pywry-banner pywry-banner-" + kind;
    el.setAttribute("role", kind === "fatal" ? "alert" : "status");
    var span = document.createElement("span");
    span.textContent = text;
    el.appendChild(span);
    if (buttonText) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "pywry-banner-button";
      btn.textContent = buttonText;
      btn.addEventListener("click", function () { window.location.reload(); });
      el.appendChild(document.createTextNode(" "));
      el.appendChild(btn);
    }
    banner = { el: el, kind: kind };
    whenBody(function () { if (banner && banner.el === el) document.body.appendChild(el); });
  }

  function hideBanner(kind) {
    if (!banner || (kind && banner.kind !== kind)) return;
    banner.el.remove();
    banner = null;
  }

  /** "Reconnecting…" appears only after a second without a connection. */
  function updateReconnectBanner() {
    if (state === "connecting" || state === "reconnecting") {
      if (!bannerTimer && !(banner && banner.kind === "reconnecting")) {
        bannerTimer = setTimeout(function () {
          bannerTimer = null;
          if (state === "connecting" || state === "reconnecting") {
            showBanner(everOpened ? "Reconnecting\u2026" : "Connecting\u2026", null, "reconnecting");
          }
        }, BANNER_DELAY_MS);
      }
      return;
    }
    clearTimeout(bannerTimer);
    bannerTimer = null;
    hideBanner("reconnecting");
  }

  // ------------------------------------------------------------------ connection lifecycle

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (stopped) return;
    if (useHttp && !(boot.stream && boot.events)) {
      error("no usable transport in the bootstrap (ws, stream, events)");
      stop("This page cannot connect to its server.", "Reload");
      return;
    }
    var gen = ++connGen;
    if (bootId !== null && everOpened) { checkBoot(gen); return; }   // also a routine stream reopen
    if (useHttp) openStream(gen); else openSocket(gen);
  }

  /**
   * Reload on: before every reconnect, ask /health which server answers. Another boot id means
   * it restarted with changed code, so this page (and the widget behind it) is out of date:
   * reload it. The same id (a network blip) reconnects; no answer yet waits and asks again.
   */
  function checkBoot(gen) {
    window.fetch(buildUrl(boot.health, {}, false), { cache: "no-store", credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (health) {
        if (gen !== connGen || stopped) return;
        if (!isObject(health)) { scheduleReconnect(); return; }
        if (typeof health.boot === "string" && health.boot !== bootId) {
          warn("the server restarted with changed code; reloading the page");
          halt("server restarted");
          window.location.reload();
          return;
        }
        if (useHttp) openStream(gen); else openSocket(gen);
      }, function () { if (gen === connGen && !stopped) scheduleReconnect(); });
  }

  function scheduleReconnect(delay) {
    if (stopped || reconnectTimer) return;
    if (delay === undefined) delay = backoffDelay(attempt);
    attempt += 1;
    reconnectTimer = setTimeout(connect, delay);
  }

  /** Forget the current connection; callbacks of the old one see a stale gen and do nothing. */
  function teardown(code, reason) {
    connGen += 1;
    clearTimeout(stableTimer);
    stableTimer = null;
    if (socket) {
      var ws = socket;
      socket = null;
      try { ws.close(code || 1000, reason || ""); } catch (e) { /* already closing */ }
    }
    if (streamCtrl) { streamCtrl.abort(); streamCtrl = null; }
  }

  function transportUp(kind) {
    var wasOpen = state === "open";
    transport = kind;
    if (!wasOpen) {
      // Fresh connection: everything not yet acknowledged goes out again, in order.
      wsSentUpTo = 0;
      postedUpTo = 0;
      postEpoch += 1;
      postFailures = 0;
      clearTimeout(stableTimer);
      stableTimer = setTimeout(function () { attempt = 0; }, STABLE_OPEN_MS);
    }
    everOpened = true;
    setState("open");
    readyResolve(api);
    flushOutbound();
  }

  function transportDown() {
    transport = null;
    clearTimeout(stableTimer);
    stableTimer = null;
    if (!stopped) setState(everOpened ? "reconnecting" : "connecting");
  }

  /** Stop connecting: no reconnect, the transport closed with `reason`, state "closed". */
  function halt(reason) {
    stopped = true;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    teardown(1000, reason);
    transport = null;
    setState("closed");
  }

  /** Fatal condition: stop for good and tell the user. */
  function stop(text, buttonText) {
    halt("stopped");
    if (text) showBanner(text, buttonText, "fatal");
  }

  /** Reload at most once per RELOAD_GUARD_MS (sessionStorage), so a broken server cannot loop us. */
  function reloadPage(reason) {
    var key = "pywry.reload." + label;
    var now = Date.now();
    var allowed = false;
    try {
      var last = Number(window.sessionStorage.getItem(key)) || 0;
      if (now - last >= RELOAD_GUARD_MS) {
        window.sessionStorage.setItem(key, String(now));
        allowed = true;
      }
    } catch (e) { /* no sessionStorage: cannot guard, so do not auto-reload */ }
    stop(allowed ? null : "This page has expired \u2014", "reload");
    if (allowed) {
      warn("reloading the page (" + reason + ")");
      window.location.reload();
    }
  }

  function onStale() { reloadPage("token no longer valid"); }

  function onRefused(code) {
    if (code === 4004 || code === 404) stop("This widget is no longer available.", "Reload");
    else stop("The server refused this page's connection.", "Reload");
  }

  // ------------------------------------------------------------------ WebSocket transport

  function openSocket(gen) {
    var url = buildUrl(boot.ws, resumeParams({ client: clientId, after: lastSeq }), true);
    var ws;
    try {
      ws = new WebSocket(url, [SUBPROTOCOL_PREFIX + token]);
    } catch (e) {
      warn("cannot create WebSocket:", e);
      onSocketClosed(1006, false);
      return;
    }
    socket = ws;
    var opened = false;
    var openTimer = setTimeout(function () {
      if (!opened && gen === connGen) { teardown(1000, "open timeout"); onSocketClosed(1006, false); }
    }, WS_OPEN_TIMEOUT_MS);

    ws.onopen = function () {
      if (gen !== connGen) return;
      opened = true;
      wsEverOpened = true;
      wsFailures = 0;
      clearTimeout(openTimer);
      transportUp("websocket");
    };
    ws.onmessage = function (ev) {
      if (gen !== connGen) return;
      if (typeof ev.data !== "string") { warn("ignoring a binary frame"); return; }
      receiveText(ev.data, gen);
    };
    ws.onerror = function () { /* a close event always follows; handled there */ };
    ws.onclose = function (ev) {
      clearTimeout(openTimer);
      if (gen !== connGen) return;
      socket = null;
      connGen += 1;
      onSocketClosed(ev.code, opened, ev.reason);
    };
  }

  function onSocketClosed(code, opened, reason) {
    if (code === 4001) { onStale(); return; }
    if (code === 4003 || code === 4004) { onRefused(code); return; }
    transportDown();
    if (!opened) {
      wsFailures += 1;
      // A WebSocket that never once opened on this page is not coming: use HTTP for good.
      if (!wsEverOpened && wsFailures >= WS_FAILURES_BEFORE_HTTP && boot.stream && boot.events) {
        warn("WebSocket unavailable; switching to the HTTP event stream");
        useHttp = true;
        attempt = 0;
        scheduleReconnect(0);
        return;
      }
    }
    if (code === 1009) {
      error("server closed the socket: message too big" + (reason ? " (" + reason + ")" : ""));
      dropLargestSent();
    }
    if (code === 1012) { attempt = 0; scheduleReconnect(50 + Math.floor(Math.random() * 250)); return; }
    scheduleReconnect();
  }

  /** After 1009 the offending event would be refused forever; the largest sent one is the culprit. */
  function dropLargestSent() {
    var worst = null;
    unacked.forEach(function (m) {
      if (m.id <= wsSentUpTo && (!worst || m.text.length > worst.text.length)) worst = m;
    });
    if (worst) {
      error("dropping event id " + worst.id + " (" + worst.text.length + " chars): too big for the server");
      settle(worst.id);
    }
  }

  // ------------------------------------------------------------------ HTTP stream transport

  function openStream(gen) {
    var ctrl = new AbortController();
    streamCtrl = ctrl;
    var started = Date.now();
    // fetch, not EventSource: the token goes in a header, never in a URL (access logs keep URLs)
    var url = buildUrl(boot.stream, resumeParams({ client: clientId, after: lastSeq }), false);
    window.fetch(url, {
      headers: {
        "Last-Event-ID": String(lastSeq),
        "Accept": "text/event-stream",
        "X-PyWry-Token": token
      },
      cache: "no-store",
      credentials: "same-origin",
      signal: ctrl.signal
    }).then(function (resp) {
      if (gen !== connGen) return undefined;
      if (!resp.ok) { onHttpStatus(resp.status); return undefined; }
      transportUp("http");
      return readEventStream(resp, gen, ctrl).then(function () {
        if (gen !== connGen) return;
        streamCtrl = null;
        if (Date.now() - started >= STREAM_MIN_LIFE_MS) {
          connect();            // the server's routine ~25 s close: reopen at once, stay "open"
        } else {
          transportDown();      // ending this fast is not routine: back off
          scheduleReconnect();
        }
      });
    }).catch(function (e) {
      if (gen !== connGen) return;
      streamCtrl = null;
      connGen += 1;
      if (e && e.name !== "AbortError") warn("event stream failed:", e.message || e);
      transportDown();
      scheduleReconnect();
    });
  }

  function onHttpStatus(status) {
    if (status === 401) { onStale(); return; }
    if (status === 403 || status === 404) { onRefused(status); return; }
    warn("event stream answered HTTP " + status);
    connGen += 1;
    transportDown();
    scheduleReconnect();
  }

  /** Minimal SSE parser over fetch's body; resolves when the server ends the stream. */
  function readEventStream(resp, gen, ctrl) {
    var reader = resp.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    var dataLines = [];
    var idle = null;
    function armIdle() {
      clearTimeout(idle);
      idle = setTimeout(function () { ctrl.abort(); }, STREAM_IDLE_MS);
    }
    function handleLine(line) {
      if (line === "") {               // blank line ends an event
        if (dataLines.length && gen === connGen) receiveText(dataLines.join("\n"), gen);
        dataLines = [];
        return;
      }
      if (line.charAt(0) === ":") return;   // comment / keep-alive
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") dataLines.push(value);
      // "id" mirrors the JSON seq, which is what we track; "event" and "retry" are unused.
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { clearTimeout(idle); return undefined; }
        armIdle();
        buffer += decoder.decode(chunk.value, { stream: true });
        var m;
        var re = /\r\n|\n|\r(?!$)/g;   // a trailing \r may be half of a \r\n split across chunks
        var start = 0;
        while ((m = re.exec(buffer)) !== null) {
          handleLine(buffer.slice(start, m.index));
          start = m.index + m[0].length;
          if (gen !== connGen) return reader.cancel().catch(function () {});
        }
        buffer = buffer.slice(start);
        return pump();
      }, function (e) { clearTimeout(idle); throw e; });
    }
    armIdle();
    return pump();
  }

  /** POST events one at a time, in id order; the reply carries acks and unsequenced messages. */
  function pumpPosts() {
    if (posting || postTimer || state !== "open" || transport !== "http") return;
    var next = null;
    for (var i = 0; i < unacked.length; i++) {
      if (unacked[i].id > postedUpTo) { next = unacked[i]; break; }
    }
    if (!next) return;
    posting = true;
    postEvent(next, postEpoch).then(function (outcome) {
      posting = false;
      if (outcome === "retry") {
        postTimer = setTimeout(function () { postTimer = null; pumpPosts(); }, backoffDelay(postFailures++));
        return;
      }
      if (outcome === "ok") { postFailures = 0; pumpPosts(); }
    });
  }

  function postEvent(m, epoch) {
    return window.fetch(buildUrl(boot.events, {}, false), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-PyWry-Token": token, "X-PyWry-Client": clientId },
      body: m.text,
      credentials: "same-origin"
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { /* non-JSON reply */ }
        return handlePostReply(m, epoch, resp.status, resp.ok, body);
      });
    }, function () { return "retry"; });   // network error: keep the order, try again later
  }

  function handlePostReply(m, epoch, status, ok, body) {
    if (ok) {
      if (epoch === postEpoch) postedUpTo = Math.max(postedUpTo, m.id);
      if (isObject(body)) {
        if (Array.isArray(body.acks)) body.acks.forEach(function (id) { if (typeof id === "number") settle(id); });
        if (Array.isArray(body.messages)) body.messages.forEach(function (msg) { accept(msg, connGen); });
      }
      return "ok";
    }
    var detail = isObject(body) ? (body.error || "") + (body.detail ? ": " + body.detail : "") : "";
    if (status === 401) { onStale(); return "stop"; }
    if (status === 403 || status === 404) { onRefused(status); return "stop"; }
    if (status === 429 || status === 408 || status >= 500) return "retry";
    // 413 and other 4xx: this event will never be accepted; drop it rather than block the rest.
    error("event id " + m.id + " refused with HTTP " + status + (detail ? " (" + detail + ")" : "") + "; dropping it");
    settle(m.id);
    return "ok";
  }

  // ------------------------------------------------------------------ page lifecycle

  var leftWhileRunning = false;

  function leave() {
    if (left) return;
    left = true;
    leftWhileRunning = !stopped;
    if (token && boot.disconnect) {
      // keepalive outlives the page like sendBeacon, and unlike it can carry the token header
      try {
        window.fetch(buildUrl(boot.disconnect, {}, false), {
          method: "POST",
          keepalive: true,
          credentials: "same-origin",
          headers: { "X-PyWry-Token": token, "X-PyWry-Client": clientId }
        }).catch(function () { /* best effort */ });
      } catch (e) { /* best effort: the server also notices the closed connection */ }
    }
    halt("page left");
  }

  /** The page is still here after all (bfcache restore, cancelled unload, download link). */
  function resume() {
    if (!left) return;
    left = false;
    if (!leftWhileRunning) return;   // it had stopped for a fatal reason: stay stopped
    stopped = false;
    attempt = 0;
    setState(everOpened ? "reconnecting" : "connecting");
    connect();
  }

  window.addEventListener("pagehide", leave);
  window.addEventListener("beforeunload", function () {
    leave();
    // Timers do not run once the page is really gone; if this one fires, we stayed.
    setTimeout(function () { if (document.visibilityState !== "hidden") resume(); }, 3000);
  });
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) resume(); });
  window.addEventListener("online", function () {
    if (reconnectTimer && !stopped) { attempt = 0; connect(); }   // the network is back: skip the wait
  });

  // ------------------------------------------------------------------ public API

  var api = {
    emit: emit,
    on: on,
    off: off,
    ready: ready,
    label: label,
    clientId: clientId,
    protocol: PROTOCOL
  };
  Object.defineProperty(api, "__bridge", { value: true });
  Object.defineProperty(api, "state", { enumerable: true, get: function () { return state; } });
  Object.defineProperty(api, "transport", { enumerable: true, get: function () { return transport; } });
  Object.defineProperty(api, "seq", { enumerable: true, get: function () { return lastSeq; } });
  Object.defineProperty(api, "unacked", { enumerable: true, get: function () { return unacked.length; } });
  Object.defineProperty(api, "theme", { enumerable: true, get: function () { return resolvedTheme; } });
  window.pywry = api;

  // ------------------------------------------------------------------ start

  // No theme chosen (null): dark on a page of its own; inside a host page's frame, the host's
  // (or the system's) preference, which prefers-color-scheme reports there.
  applyTheme(THEMES[boot.theme] ? boot.theme : (window.self !== window.top ? "system" : "dark"));
  // Queued now so that it is always event id 1 and reaches Python before anything else.
  emit("pywry:ready", {
    label: label,
    protocol: PROTOCOL,
    seq: lastSeq,
    url: window.location.href,
    theme: resolvedTheme,
    viewport: { width: window.innerWidth || 0, height: window.innerHeight || 0 }
  });
  if (stopped) {
    if (!token) error("the bootstrap has no token; the bridge stays offline");
    setState("closed");
  } else {
    updateReconnectBanner();
    connect();
  }
})();
