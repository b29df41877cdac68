// Self-check of pywry/static/bridge.js in a fake browser (node:vm), no npm packages.
// Run: node tests/js/bridge_selfcheck.mjs   (exit code 0 = all checks passed)
// The real behaviour is tested in Chromium against the Python server; this only
// pins down the protocol logic: seq de-dup, gap detection, queue-before-open,
// acks/resend, transport fallback, SSE parsing, close codes and system actions.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import vm from "node:vm";
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";

const here = path.dirname(fileURLToPath(import.meta.url));
const BRIDGE = readFileSync(path.join(here, "..", "..", "pywry", "static", "bridge.js"), "utf8");

// ---------------------------------------------------------------- fake clock

function makeClock() {
  let now = 1_700_000_000_000;
  let seq = 0;
  const timers = new Map();
  return {
    now: () => now,
    setTimeout(fn, ms = 0) { const id = ++seq; timers.set(id, { at: now + Math.max(0, ms), fn }); return id; },
    clearTimeout(id) { timers.delete(id); },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await flush();
        let next = null;
        for (const [id, t] of timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
      await flush();
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

// ---------------------------------------------------------------- fake DOM (just enough)

class FakeEvents {
  constructor() { this._l = {}; }
  addEventListener(type, fn) { (this._l[type] ||= []).push(fn); }
  removeEventListener(type, fn) { this._l[type] = (this._l[type] || []).filter((f) => f !== fn); }
  dispatchEvent(ev) { for (const fn of [...(this._l[ev.type] || [])]) fn(ev); return true; }
  fire(type, extra = {}) { this.dispatchEvent({ type, ...extra }); }
}

class FakeElement extends FakeEvents {
  constructor(tag, doc) {
    super();
    this.tagName = tag.toUpperCase();
    this.ownerDocument = doc;
    this.children = [];
    this.parentNode = null;
    this.attributes = [];
    this.dataset = {};
    this.id = "";
    this.className = "";
    this._text = "";
    this._html = "";
    const style = {};
    style.setProperty = (k, v) => { style[k] = v; };
    style.removeProperty = (k) => { delete style[k]; };
    this.style = style;
    const self = this;
    this.classList = {
      add(c) { if (!self.className.split(" ").includes(c)) self.className = (self.className + " " + c).trim(); },
      contains(c) { return self.className.split(" ").includes(c); },
    };
  }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  set textContent(v) { this._text = String(v); this.children = []; }
  // innerHTML "parses" only <script> tags, which is all the bridge cares about.
  get innerHTML() { return this._html; }
  set innerHTML(html) {
    this._html = html;
    this.children = [];
    for (const m of html.matchAll(/<script(?: src="([^"]*)")?>([\s\S]*?)<\/script>/g)) {
      const s = this.appendChild(new FakeElement("script", this.ownerDocument));
      if (m[1]) { s.setAttribute("src", m[1]); s.src = m[1]; }
      s._text = m[2];
    }
  }
  // Inserting a script created by createElement "executes" it (recorded on the document).
  replaceWith(n) {
    const p = this.parentNode;
    if (!p) return;
    p.children[p.children.indexOf(this)] = n;
    n.parentNode = p;
    this.parentNode = null;
    if (n.tagName === "SCRIPT") {
      const src = n.getAttribute("src");
      if (src) setTimeout(() => { this.ownerDocument.executed.push(src); n.fire("load"); }, 5);
      else this.ownerDocument.executed.push(n.textContent);
    }
  }
  get firstElementChild() { return this.children[0] || null; }
  setAttribute(k, v) { this.attributes.push({ name: k, value: String(v) }); if (k === "id") this.id = v; }
  getAttribute(k) { const a = this.attributes.find((x) => x.name === k); return a ? a.value : null; }
  appendChild(c) { c.remove?.(); c.parentNode = this; this.children.push(c); return c; }
  removeChild(c) { this.children = this.children.filter((x) => x !== c); c.parentNode = null; return c; }
  remove() { if (this.parentNode) this.parentNode.removeChild(this); }
  click() { this.fire("click"); }
  all() { return this.children.flatMap((c) => (c instanceof FakeElement ? [c, ...c.all()] : [])); }
  querySelectorAll(sel) {
    if (sel.startsWith("#")) return this.all().filter((e) => e.id === sel.slice(1));
    if (sel.startsWith(".")) return this.all().filter((e) => e.classList.contains(sel.slice(1)));
    return this.all().filter((e) => e.tagName === sel.toUpperCase());
  }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}

function makeDocument(bootstrap, readyState) {
  const doc = new FakeEvents();
  doc.readyState = readyState;
  doc.visibilityState = "visible";
  doc.executed = [];
  doc.createElement = (tag) => new FakeElement(tag, doc);
  doc.createTextNode = (text) => ({ textContent: text, remove() {} });
  doc.documentElement = new FakeElement("html", doc);
  doc.head = doc.documentElement.appendChild(new FakeElement("head", doc));
  const boot = doc.head.appendChild(new FakeElement("script", doc));
  boot.id = "pywry-bootstrap";
  boot.textContent = JSON.stringify(bootstrap);
  doc.body = null;
  doc.getElementById = (id) => doc.documentElement.querySelector("#" + id);
  doc.querySelector = (s) => doc.documentElement.querySelector(s);
  doc.querySelectorAll = (s) => doc.documentElement.querySelectorAll(s);
  doc.addBody = () => {
    doc.body = doc.documentElement.appendChild(new FakeElement("body", doc));
    const root = doc.body.appendChild(new FakeElement("div", doc));
    root.id = "pywry-root";
    doc.readyState = "interactive";
    doc.fire("DOMContentLoaded");
  };
  return doc;
}

// ---------------------------------------------------------------- fake network

class FakeWebSocket {
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeWebSocket.all.push(this);
  }
  send(text) { if (this.readyState !== 1) throw new Error("not open"); this.sent.push(JSON.parse(text)); }
  close(code, reason) { this.closedWith = code; this.readyState = 3; }
  // test-side helpers
  open() { this.readyState = 1; this.onopen?.({}); }
  recv(obj) { this.onmessage?.({ data: typeof obj === "string" ? obj : JSON.stringify(obj) }); }
  serverClose(code, reason = "") { this.readyState = 3; this.onclose?.({ code, reason }); }
  get last() { return FakeWebSocket.all[FakeWebSocket.all.length - 1]; }
}

function sseStream() {
  let ctrl;
  const body = new ReadableStream({ start(c) { ctrl = c; } });
  const enc = new TextEncoder();
  return {
    body,
    push(text) { ctrl.enqueue(enc.encode(text)); },
    end() { ctrl.close(); },
  };
}

// ---------------------------------------------------------------- sandbox

function boot(options = {}) {
  const bootstrap = {
    label: "chart", token: "tok-EN_123", ws: "/pywry/ws/chart", stream: "/pywry/sse/chart",
    events: "/pywry/events/chart", disconnect: "/pywry/disconnect/chart", seq: 5,
    reconnectTimeout: 30, theme: "dark", protocol: 1, ...options.bootstrap,
  };
  const clock = makeClock();
  const doc = makeDocument(bootstrap, options.readyState || "loading");
  const logs = { warn: [], error: [], info: [], log: [] };
  const storage = new Map();
  FakeWebSocket.all = [];
  const fetches = [];
  const win = new FakeEvents();
  const RealDate = Date;
  Object.assign(win, {
    document: doc,
    console: Object.fromEntries(Object.keys(logs).map((k) => [k, (...a) => logs[k].push(a.join(" "))])),
    location: {
      href: "http://example.test/pywry/widget/chart",
      reloads: 0, assigned: [],
      reload() { this.reloads++; }, assign(u) { this.assigned.push(u); },
    },
    sessionStorage: { getItem: (k) => (storage.has(k) ? storage.get(k) : null), setItem: (k, v) => storage.set(k, String(v)) },
    navigator: { beacons: [], sendBeacon(u) { this.beacons.push(u); return true; } },
    crypto: webcrypto,
    WebSocket: FakeWebSocket,
    fetch: (url, init = {}) => {
      const entry = { url, init };
      const p = new Promise((resolve, reject) => { entry.resolve = resolve; entry.reject = reject; });
      fetches.push(entry);
      init.signal?.addEventListener("abort", () => { const e = new Error("aborted"); e.name = "AbortError"; entry.reject(e); });
      return p;
    },
    setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    Date: class extends RealDate { static now() { return clock.now(); } },
    CustomEvent: class { constructor(type, init = {}) { this.type = type; this.detail = init.detail; } },
    matchMedia: () => ({ matches: true, addEventListener() {} }),
    innerWidth: 800, innerHeight: 600,
    URL, URLSearchParams, TextDecoder, TextEncoder, AbortController, Blob, Promise, Uint8Array, Math, JSON,
    atob, Map, Set, Array, Object, Number, String, Error, TypeError,
  });
  win.window = win;
  const context = vm.createContext(win);
  vm.runInContext(BRIDGE, context, { filename: "bridge.js" });
  return { win, doc, clock, logs, fetches, pywry: win.pywry, ws: () => FakeWebSocket.all[FakeWebSocket.all.length - 1], sockets: FakeWebSocket.all };
}

function respond(entry, status, body) {
  const text = typeof body === "string" ? body : JSON.stringify(body ?? {});
  entry.resolve({
    ok: status >= 200 && status < 300, status, text: async () => text, json: async () => JSON.parse(text), body: null,
  });
}

// ---------------------------------------------------------------- checks

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check("window.pywry exists at once; double load does not re-init", async () => {
  const t = boot();
  assert.equal(t.pywry.label, "chart");
  assert.match(t.pywry.clientId, /^[0-9a-f]{32}$/);
  assert.equal(t.pywry.state, "connecting");
  assert.equal(t.doc.documentElement.dataset.pywryTheme, "dark");
  vm.runInContext(BRIDGE, vm.createContext(t.win));
  assert.equal(t.win.pywry, t.pywry);
  assert.equal(t.sockets.length, 1);
});

check("websocket URL, subprotocol and query", async () => {
  const t = boot();
  const ws = t.ws();
  const u = new URL(ws.url);
  assert.equal(u.protocol, "ws:");
  assert.equal(u.pathname, "/pywry/ws/chart");
  assert.equal(u.searchParams.get("client"), t.pywry.clientId);
  assert.equal(u.searchParams.get("after"), "5");
  assert.deepEqual([...ws.protocols], ["pywry.token.tok-EN_123"]);
});

check("emit validates type and data", async () => {
  const t = boot();
  for (const bad of ["click", "", ":x", "a:", 7, null, "a b:c"]) assert.throws(() => t.pywry.emit(bad, {}), TypeError);
  const cyclic = {}; cyclic.self = cyclic;
  assert.throws(() => t.pywry.emit("app:x", cyclic), TypeError);
  assert.throws(() => t.pywry.on("nope", () => {}), TypeError);
});

check("events queue before open, go out in order with ids from 1 (pywry:ready first)", async () => {
  const t = boot();
  t.pywry.emit("app:a", { n: 1 });
  t.pywry.emit("app:b", { n: 2 });
  const ws = t.ws();
  assert.equal(ws.sent.length, 0);
  let readyResolved = false;
  t.pywry.ready.then(() => { readyResolved = true; });
  ws.open();
  await flush();
  assert.ok(readyResolved);
  assert.equal(t.pywry.state, "open");
  assert.deepEqual(ws.sent.map((m) => [m.id, m.type]), [[1, "pywry:ready"], [2, "app:a"], [3, "app:b"]]);
  assert.equal(ws.sent[1].widgetId, "chart");
  assert.equal(typeof ws.sent[1].ts, "number");
  t.pywry.emit("app:c");
  assert.deepEqual(ws.sent[3].data, {});
  assert.equal(ws.sent[3].id, 4);
});

check("acks remove events; unacked ones are resent after reconnect", async () => {
  const t = boot();
  t.ws().open();
  t.pywry.emit("app:a", {});
  t.pywry.emit("app:b", {});
  t.ws().recv({ type: "pywry:ack", data: { id: 1 } });
  t.ws().recv({ events: [{ type: "pywry:ack", data: { id: 3 } }] });
  assert.equal(t.pywry.unacked, 1);
  t.ws().serverClose(1006);
  assert.equal(t.pywry.state, "reconnecting");
  await t.clock.advance(300);
  assert.equal(t.sockets.length, 2);
  t.ws().open();
  assert.deepEqual(t.ws().sent.map((m) => m.id), [2]);
});

check("seq de-dup, in-order delivery, batches and lastSeq", async () => {
  const t = boot({ readyState: "complete" });
  const seen = [];
  t.pywry.on("app:x", (data, type, msg) => seen.push(msg.seq));
  const all = [];
  t.pywry.on("*", (data, type) => all.push(type));
  t.ws().open();
  t.ws().recv({ type: "app:x", data: {}, seq: 4 });
  t.ws().recv({ type: "app:x", data: {}, seq: 5 });
  t.ws().recv({ type: "app:x", data: {}, seq: 6 });
  t.ws().recv({ type: "app:x", data: {}, seq: 6 });
  t.ws().recv({ events: [{ type: "app:x", data: {}, seq: 7 }, { type: "app:x", data: {}, seq: 8 }] });
  t.ws().recv({ type: "app:y", data: {} });   // unsequenced: always delivered
  assert.deepEqual(seen, [6, 7, 8]);
  assert.equal(t.pywry.seq, 8);
  assert.deepEqual(all, ["app:x", "app:x", "app:x", "app:y"]);
});

check("a gap closes the socket and reconnects asking after=lastSeq", async () => {
  const t = boot({ readyState: "complete" });
  const seen = [];
  t.pywry.on("app:x", (d, ty, msg) => seen.push(msg.seq));
  const first = t.ws();
  first.open();
  first.recv({ events: [{ type: "app:x", seq: 6 }, { type: "app:x", seq: 8 }, { type: "app:x", seq: 9 }] });
  assert.deepEqual(seen, [6]);
  assert.equal(first.closedWith, 1000);
  await t.clock.advance(300);
  const second = t.ws();
  assert.notEqual(second, first);
  assert.equal(new URL(second.url).searchParams.get("after"), "6");
  first.recv({ type: "app:x", seq: 7 });   // late frames of the old socket are ignored
  second.open();
  second.recv({ events: [{ type: "app:x", seq: 7 }, { type: "app:x", seq: 8 }] });
  assert.deepEqual(seen, [6, 7, 8]);
});

check("page and session streams: positions, order, and where a reconnect resumes", async () => {
  const t = boot({ readyState: "complete" });
  const seen = [];
  t.pywry.on("*", (d, type, msg) => seen.push(type + ":" + (msg.cseq ?? msg.sseq ?? "-")));
  const first = t.ws();
  assert.equal(new URL(first.url).searchParams.get("cafter"), "0");
  assert.equal(new URL(first.url).searchParams.get("safter"), null);   // not known yet
  first.open();
  first.recv({ type: "pywry:position", data: { field: "sseq", seq: 41 } });
  first.recv({ type: "app:mine", data: {}, cseq: 1 });
  first.recv({ type: "app:tabs", data: {}, sseq: 42 });
  first.recv({ type: "app:tabs", data: {}, sseq: 42 });                  // a repeat: dropped
  first.recv({ type: "pywry:position", data: { field: "sseq", seq: 7 } }); // known: ignored
  assert.deepEqual(seen, ["app:mine:1", "app:tabs:42"]);
  first.serverClose(1006);
  await t.clock.advance(300);
  const again = new URL(t.ws().url).searchParams;
  assert.equal(again.get("cafter"), "1");
  assert.equal(again.get("safter"), "42");
  // a page that got no session message yet still resumes where it joined, not "from now"
  const quiet = boot({ readyState: "complete" });
  quiet.ws().open();
  quiet.ws().recv({ type: "pywry:position", data: { field: "sseq", seq: 41 } });
  quiet.ws().serverClose(1006);
  await quiet.clock.advance(300);
  assert.equal(new URL(quiet.ws().url).searchParams.get("safter"), "41");
});

check("handlers wait for DOMContentLoaded; a throwing handler is contained", async () => {
  const t = boot();
  const seen = [];
  t.pywry.on("app:x", () => { throw new Error("boom"); });
  t.pywry.on("app:x", (d) => seen.push(d.v));
  t.ws().open();
  t.ws().recv({ type: "app:x", data: { v: 1 }, seq: 6 });
  assert.deepEqual(seen, []);
  assert.equal(t.pywry.seq, 6);
  t.doc.addBody();
  assert.deepEqual(seen, [1]);
  assert.ok(t.logs.error.some((l) => l.includes("boom")));
});

check("pywry:state notifications and reconnect banner after 1 s", async () => {
  const t = boot({ readyState: "complete" });
  t.doc.addBody();
  const states = [];
  t.pywry.on("pywry:state", (d) => states.push(d.state));
  t.ws().open();
  t.ws().serverClose(1006);
  await t.clock.advance(1001);
  // the reconnect attempt happened (<= 250 ms) and is still pending
  const banner = t.doc.getElementById("pywry-banner");
  assert.ok(banner && banner.className.includes("pywry-banner"));
  assert.equal(banner.textContent, "Reconnecting\u2026");
  t.ws().open();
  assert.equal(t.doc.getElementById("pywry-banner"), null);
  assert.deepEqual(states, ["open", "reconnecting", "open"]);
});

check("WebSocket that never opens twice -> HTTP stream with SSE parsing and POSTs", async () => {
  const t = boot({ readyState: "complete" });
  t.ws().serverClose(1006);
  await t.clock.advance(300);
  t.ws().serverClose(1006);
  await t.clock.advance(10);
  assert.equal(t.sockets.length, 2);
  const s = t.fetches.find((f) => f.url.includes("/sse/"));
  assert.ok(s, "stream fetch");
  const u = new URL(s.url);
  assert.equal(u.searchParams.get("token"), null);   // never in a URL: access logs keep URLs
  assert.equal(s.init.headers["X-PyWry-Token"], "tok-EN_123");
  assert.equal(u.searchParams.get("after"), "5");
  assert.equal(s.init.headers["Last-Event-ID"], "5");
  const stream = sseStream();
  s.resolve({ ok: true, status: 200, body: stream.body });
  await flush();
  assert.equal(t.pywry.state, "open");
  assert.equal(t.pywry.transport, "http");
  const seen = [];
  t.pywry.on("app:x", (d) => seen.push(d.v));
  stream.push(": keepalive\n\nid: 6\ndata: {\"type\":\"app:x\",\"data\":{\"v\":6},\"seq\":6}\r");
  stream.push("\n\r\nid: 7\ndata: {\"type\":\"app:x\",\n");
  stream.push("data: \"data\":{\"v\":7},\"seq\":7}\n\n");
  await flush(); await flush();
  assert.deepEqual(seen, [6, 7]);
  // POSTs: one at a time, in order
  const posts = () => t.fetches.filter((f) => f.init.method === "POST");
  assert.equal(posts().length, 1);
  assert.equal(JSON.parse(posts()[0].init.body).type, "pywry:ready");
  assert.equal(posts()[0].init.headers["X-PyWry-Token"], "tok-EN_123");
  assert.equal(posts()[0].init.headers["X-PyWry-Client"], t.pywry.clientId);
  t.pywry.emit("app:click", { a: 1 });
  assert.equal(posts().length, 1);
  respond(posts()[0], 200, { acks: [1], messages: [{ type: "pywry:error", data: { code: "x", detail: "y" } }] });
  await flush(); await flush();
  assert.equal(posts().length, 2);
  assert.equal(JSON.parse(posts()[1].init.body).id, 2);
  assert.ok(t.logs.warn.some((l) => l.includes("server error")));
  respond(posts()[1], 200, { acks: [2] });
  await flush(); await flush();
  assert.equal(t.pywry.unacked, 0);
  // routine end of stream (> 1 s): reopened at once, state stays open
  await t.clock.advance(25000);
  stream.end();
  await flush(); await flush();
  const streams = t.fetches.filter((f) => f.url.includes("/sse/"));
  assert.equal(streams.length, 2);
  assert.equal(new URL(streams[1].url).searchParams.get("after"), "7");
  assert.equal(t.pywry.state, "open");
});

check("ws null -> HTTP from the start; 401 reloads once, then shows the expired banner", async () => {
  const t = boot({ readyState: "complete", bootstrap: { ws: null } });
  t.doc.addBody();
  assert.equal(t.sockets.length, 0);
  respond(t.fetches[0], 401, { error: "bad-token", detail: "" });
  await flush();
  assert.equal(t.win.location.reloads, 1);
  assert.equal(t.pywry.state, "closed");
  // same tab, new page load within 10 s: no second reload
  const again = (() => {
    const storage = t.win.sessionStorage;
    const t2 = boot({ readyState: "complete" });
    t2.win.sessionStorage = storage;
    return t2;
  })();
  again.doc.addBody();
  again.ws().open();
  again.ws().serverClose(4001);
  assert.equal(again.win.location.reloads, 0);
  const banner = again.doc.getElementById("pywry-banner");
  assert.ok(banner.textContent.includes("expired"));
  assert.equal(again.pywry.state, "closed");
});

check("4004 stops with a Reload banner; 1012 reconnects fast", async () => {
  const t = boot({ readyState: "complete" });
  t.doc.addBody();
  t.ws().open();
  t.ws().serverClose(1012);
  await t.clock.advance(301);
  assert.equal(t.sockets.length, 2);
  t.ws().serverClose(4004);
  await t.clock.advance(10000);
  assert.equal(t.sockets.length, 2);
  assert.equal(t.pywry.state, "closed");
  const banner = t.doc.getElementById("pywry-banner");
  assert.ok(banner.querySelector("button"));
});

check("reload on: reconnecting asks /health; another boot id reloads the page", async () => {
  const t = boot({ readyState: "complete", bootstrap: { boot: "boot-1", health: "/pywry/health" } });
  const health = () => t.fetches.filter((f) => f.url.endsWith("/pywry/health"));
  t.ws().open();
  assert.equal(health().length, 0);                   // the first connect asks nothing
  t.ws().serverClose(1012);
  await t.clock.advance(301);
  assert.equal(t.sockets.length, 1);                  // no socket before the answer
  health()[0].reject(new TypeError("connection refused"));  // the server is restarting
  await t.clock.advance(6000);
  assert.equal(health().length, 2);                   // asked again after a backoff
  respond(health()[1], 200, { status: "ok", boot: "boot-1" });  // the same server: a blip
  await t.clock.advance(0);
  assert.equal(t.sockets.length, 2);
  assert.equal(t.win.location.reloads, 0);
  t.ws().open();
  t.ws().serverClose(1012);
  await t.clock.advance(301);
  respond(health()[2], 200, { status: "ok", boot: "boot-2" });  // restarted with new code
  await t.clock.advance(10000);
  assert.equal(t.win.location.reloads, 1);
  assert.equal(t.sockets.length, 2);
  assert.equal(t.pywry.state, "closed");
});

check("reload on, HTTP stream: the routine reopen asks /health too (a restart ends it cleanly)", async () => {
  const t = boot({ readyState: "complete", bootstrap: { ws: null, boot: "boot-1", health: "/pywry/health" } });
  const stream = sseStream();
  t.fetches[0].resolve({ ok: true, status: 200, body: stream.body });
  await flush();
  await t.clock.advance(2000);
  stream.end();                                       // the old server closed it at shutdown
  await flush(); await flush();
  const health = t.fetches.filter((f) => f.url.endsWith("/pywry/health"));
  assert.equal(health.length, 1);
  assert.equal(t.fetches.filter((f) => f.url.includes("/sse/")).length, 1);
  respond(health[0], 200, { status: "ok", boot: "boot-2" });
  await t.clock.advance(0);
  assert.equal(t.win.location.reloads, 1);
  assert.equal(t.fetches.filter((f) => f.url.includes("/sse/")).length, 1);
});

check("reload off: reconnecting never asks /health", async () => {
  const t = boot({ readyState: "complete" });
  t.ws().open();
  t.ws().serverClose(1012);
  await t.clock.advance(301);
  assert.equal(t.sockets.length, 2);
  assert.equal(t.fetches.filter((f) => f.url.includes("/health")).length, 0);
});

check("unacked buffer is bounded", async () => {
  const t = boot();
  for (let i = 0; i < 1005; i++) t.pywry.emit("app:n", { i });
  assert.equal(t.pywry.unacked, 1000);
  assert.ok(t.logs.warn.length >= 6);
  t.ws().open();
  assert.equal(t.ws().sent[0].id, 7);
});

check("system actions: alert, set-content scripts, css, style, theme, navigate, resync, pagehide", async () => {
  const t = boot({ readyState: "complete" });
  t.doc.addBody();
  t.ws().open();
  const ws = t.ws();
  ws.recv({ type: "pywry:alert", data: { message: "<b>hi</b>", type: "success", duration: 100 }, seq: 6 });
  const toast = t.doc.getElementById("pywry-toasts").children[0];
  assert.equal(toast.className, "pywry-toast pywry-toast-success");
  assert.equal(toast.textContent, "<b>hi</b>");
  await t.clock.advance(400);
  assert.equal(t.doc.getElementById("pywry-toasts").children.length, 0);

  ws.recv({ type: "pywry:inject-css", data: { id: "a", css: "p{}" }, seq: 7 });
  ws.recv({ type: "pywry:inject-css", data: { id: "a", css: "q{}" }, seq: 8 });
  assert.equal(t.doc.querySelectorAll("#pywry-css-a").length, 1);
  assert.equal(t.doc.getElementById("pywry-css-a").textContent, "q{}");
  ws.recv({ type: "pywry:remove-css", data: { id: "a" }, seq: 9 });
  assert.equal(t.doc.getElementById("pywry-css-a"), null);

  ws.recv({ type: "pywry:set-style", data: { selector: "#pywry-root", styles: { backgroundColor: "red", "--x": "1" } }, seq: 10 });
  const root = t.doc.getElementById("pywry-root");
  assert.equal(root.style.backgroundColor, "red");
  assert.equal(root.style["--x"], "1");

  const themes = [];
  t.win.addEventListener("pywry:theme", (e) => themes.push(e.detail.theme));
  ws.recv({ type: "pywry:update-theme", data: { theme: "light" }, seq: 11 });
  assert.equal(t.doc.documentElement.dataset.pywryTheme, "light");
  assert.deepEqual(themes, ["light"]);

  ws.recv({ type: "pywry:navigate", data: { url: "/next" }, seq: 12 });
  assert.deepEqual(t.win.location.assigned, ["http://example.test/next"]);

  // set-content: inline scripts run at once; a src script is awaited before the next one,
  // and later messages (and the handlers of this one) wait for it.
  const seen = [];
  t.pywry.on("pywry:set-content", (d) => seen.push(["handler", t.doc.executed.length]));
  t.pywry.on("app:after", () => seen.push(["after", t.doc.executed.length]));
  ws.recv({ type: "pywry:set-content", data: { html: "<p>new</p><script>one()</script><script src=\"/lib.js\"></script><script>two()</script>" }, seq: 13 });
  ws.recv({ type: "app:after", data: {}, seq: 14 });
  assert.deepEqual(t.doc.executed, ["one()"]);
  assert.deepEqual(seen, []);
  await new Promise((r) => setTimeout(r, 20));
  await flush();
  assert.deepEqual(t.doc.executed, ["one()", "/lib.js", "two()"]);
  assert.deepEqual(seen, [["handler", 3], ["after", 3]]);
  ws.recv({ type: "pywry:update-html", data: { html: "<i>x</i>", selector: "#pywry-root" }, seq: 15 });
  assert.equal(root.innerHTML, "<i>x</i>");

  ws.recv({ type: "pywry:resync", data: {}, seq: 99 });
  assert.equal(t.win.location.reloads, 1);

  const t2 = boot({ readyState: "complete" });
  t2.ws().open();
  t2.win.fire("pagehide");
  assert.equal(t2.ws().closedWith, 1000);
  assert.equal(t2.win.navigator.beacons.length, 0);
  const gone = t2.fetches.filter((f) => f.url.includes("/disconnect/"));
  assert.equal(gone.length, 1);
  const b = new URL(gone[0].url);
  assert.equal(b.pathname, "/pywry/disconnect/chart");
  assert.equal(b.search, "");   // token and client travel in headers
  assert.equal(gone[0].init.keepalive, true);
  assert.equal(gone[0].init.headers["X-PyWry-Token"], "tok-EN_123");
  assert.equal(gone[0].init.headers["X-PyWry-Client"], t2.pywry.clientId);
  assert.equal(t2.pywry.state, "closed");
  t2.win.fire("pageshow", { persisted: true });
  assert.equal(t2.sockets.length, 2);
});

check("1009 drops the oversized event; maxPayload refuses it up front; owner-gone banner", async () => {
  const t = boot({ readyState: "complete", bootstrap: { maxPayload: 1000 } });
  t.doc.addBody();
  assert.throws(() => t.pywry.emit("app:big", { s: "x".repeat(2000) }), { name: "RangeError" });
  t.ws().open();
  t.pywry.emit("app:small", { s: "x" });
  t.pywry.emit("app:mid", { s: "x".repeat(300) });
  t.ws().serverClose(1009);
  assert.equal(t.pywry.unacked, 2);   // pywry:ready + app:small
  assert.ok(t.logs.error.some((l) => l.includes("too big")));
  await t.clock.advance(300);
  t.ws().open();
  assert.deepEqual(t.ws().sent.map((m) => m.type), ["pywry:ready", "app:small"]);
  t.ws().recv({ type: "pywry:error", data: { code: "owner-gone", detail: "worker died", id: 3 } });
  assert.ok(t.doc.getElementById("pywry-banner").querySelector("button"));
  assert.equal(t.pywry.state, "open");
});

check("HTTP: 413 drops one event and the rest go on; gap in the stream reopens it", async () => {
  const t = boot({ readyState: "complete", bootstrap: { ws: null } });
  const stream = sseStream();
  t.fetches[0].resolve({ ok: true, status: 200, body: stream.body });
  await flush();
  const posts = () => t.fetches.filter((f) => f.init.method === "POST");
  t.pywry.emit("app:a", {});
  respond(posts()[0], 200, { acks: [1] });
  await flush(); await flush();
  respond(posts()[1], 413, { error: "too-big", detail: "limit" });
  t.pywry.emit("app:b", {});
  await flush(); await flush();
  assert.equal(JSON.parse(posts()[2].init.body).type, "app:b");
  assert.equal(t.pywry.unacked, 1);
  stream.push('data: {"type":"app:x","seq":6}\n\ndata: {"type":"app:x","seq":9}\n\n');
  await flush(); await flush();
  assert.equal(t.pywry.seq, 6);
  await t.clock.advance(300);
  const streams = t.fetches.filter((f) => f.url.includes("/sse/"));
  assert.equal(streams.length, 2);
  assert.equal(new URL(streams[1].url).searchParams.get("after"), "6");
});

check("download decodes base64 into a Blob and clicks a temporary link", async () => {
  const t = boot({ readyState: "complete" });
  t.doc.addBody();
  const clicked = [];
  const origCreate = t.doc.createElement;
  t.doc.createElement = (tag) => {
    const el = origCreate(tag);
    if (tag === "a") el.addEventListener("click", () => clicked.push({ href: el.href, name: el.download }));
    return el;
  };
  t.ws().open();
  t.ws().recv({ type: "pywry:download", data: { filename: "x.bin", content: "aGVsbG8=", encoding: "base64" }, seq: 6 });
  assert.equal(clicked.length, 1);
  assert.equal(clicked[0].name, "x.bin");
  assert.ok(clicked[0].href.startsWith("blob:"));
  assert.equal(t.doc.body.querySelectorAll("a").length, 0);
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log("ok   " + name);
  } catch (e) {
    failed++;
    console.log("FAIL " + name + "\n     " + (e.stack || e).toString().split("\n").slice(0, 4).join("\n     "));
  }
}
console.log(`${checks.length - failed}/${checks.length} checks passed`);
process.exit(failed ? 1 : 0);
