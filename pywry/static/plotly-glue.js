/*
 * pywry Plotly glue: draws the figure of a Plotly widget, keeps it in step with Python and
 * forwards chart events to it.
 *
 * Classic script, loaded in <head> after plotly.min.js and bridge.js. The widget's body holds
 *   <div id="pywry-plotly">, <script type="application/json" id="pywry-plotly-figure">
 *   {figure, themeable, config, events} and an inline call to window.pywryPlotly.mount().
 * <head> holds <script type="application/json" id="pywry-plotly-templates"> {dark, light}.
 *
 * Python -> page: plotly:update-figure {figure, themeable} (Plotly.react),
 *                 plotly:update-layout {layout, themeable} (Plotly.relayout).
 * Page -> Python: plotly:click, plotly:hover (throttled), plotly:selected {points: [...]},
 *                 plotly:relayout {changed keys}; only those listed in `events`.
 * Theme: a themeable figure uses the dark/light template and the page's CSS colours, and is
 * redrawn on the "pywry:theme" event (zoom and other UI state are kept through uirevision).
 */
(function () {
  "use strict";

  if (window.pywryPlotly) return;

  var HOVER_THROTTLE_MS = 150;
  var MAX_POINTS = 10000;
  var MAX_DEPTH = 4;
  var MAX_ARRAY = 10000;
  var POINT_FIELDS = [
    "curveNumber", "pointNumber", "pointIndex", "pointNumbers", "x", "y", "z", "customdata",
    "text", "hovertext", "label", "value", "percent", "lat", "lon", "location", "id",
    "binNumber", "r", "theta", "a", "b", "c", "open", "high", "low", "close", "parent", "root",
    "currentPath", "entry"
  ];
  var SIZE_ONLY = { autosize: true, width: true, height: true };

  var gd = null;            // the graph div
  var layoutSource = {};    // the figure's layout as Python sent it (plus update-layout merges)
  var themeable = true;
  var config = {};
  var forwarded = {};       // event type -> true
  var revision = 0;         // bumped per figure from Python, so a new figure resets the zoom
  var quiet = 0;            // >0 while we relayout ourselves: not a user action
  var hoverTimer = null;
  var hoverPending = null;
  var hoverLast = 0;
  var listening = false;
  var resizeObserver = null;

  function warn() {
    if (window.console && console.warn) {
      console.warn.apply(console, ["[pywry plotly]"].concat(Array.prototype.slice.call(arguments)));
    }
  }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent || "null"); } catch (e) { warn("bad JSON in #" + id, e); return null; }
  }

  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }

  function cssVar(name) {
    try { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); } catch (e) { return ""; }
  }

  function currentTheme() {
    var t = (window.pywry && window.pywry.theme) || document.documentElement.getAttribute("data-pywry-theme");
    return t === "light" ? "light" : "dark";
  }

  var templates = null;
  function templateFor(theme) {
    if (templates === null) templates = readJson("pywry-plotly-templates") || {};
    var t = isObject(templates[theme]) ? clone(templates[theme]) : {};
    t.layout = isObject(t.layout) ? t.layout : {};
    var bg = cssVar("--pywry-bg");
    var fg = cssVar("--pywry-fg");
    if (bg) { t.layout.paper_bgcolor = bg; t.layout.plot_bgcolor = bg; }
    if (fg) t.layout.font = Object.assign({}, isObject(t.layout.font) ? t.layout.font : {}, { color: fg });
    return t;
  }

  /** The layout handed to Plotly: the source plus the page theme's template and a uirevision. */
  function drawnLayout() {
    var layout = clone(layoutSource) || {};
    if (themeable) layout.template = templateFor(currentTheme());
    if (layout.uirevision === undefined) layout.uirevision = "pywry-" + revision;
    return layout;
  }

  /** Set a dotted relayout key ("xaxis.range", "title.text") in a nested object. */
  function setPath(target, path, value) {
    var parts = String(path).split(".");
    var node = target;
    for (var i = 0; i < parts.length - 1; i++) {
      if (!isObject(node[parts[i]])) node[parts[i]] = {};
      node = node[parts[i]];
    }
    if (value === null || value === undefined) delete node[parts[parts.length - 1]];
    else node[parts[parts.length - 1]] = value;
  }

  // ------------------------------------------------------------------ typed arrays

  var TYPED = {
    i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray, i2: Int16Array, u2: Uint16Array,
    i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array
  };

  /** plotly.py sends numpy arrays as {dtype, bdata, shape}; turn them into typed arrays. */
  function decodeSpec(spec) {
    var Ctor = TYPED[spec.dtype];
    if (!Ctor) return spec;   // leave anything unknown to plotly.js
    var bin = window.atob(spec.bdata);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var flat = new Ctor(bytes.buffer, 0, Math.floor(bytes.length / Ctor.BYTES_PER_ELEMENT));
    var shape = String(spec.shape || "").split(",").map(Number).filter(function (n) { return n > 0; });
    if (shape.length !== 2) return flat;
    var out = [];
    for (var r = 0; r < shape[0]; r++) out.push(flat.subarray(r * shape[1], (r + 1) * shape[1]));
    return out;
  }

  function decodeTyped(value, depth) {
    if (depth > 12 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
      for (var i = 0; i < value.length; i++) value[i] = decodeTyped(value[i], depth + 1);
      return value;
    }
    if (typeof value.dtype === "string" && typeof value.bdata === "string") {
      try { return decodeSpec(value); } catch (e) { return value; }
    }
    Object.keys(value).forEach(function (k) { value[k] = decodeTyped(value[k], depth + 1); });
    return value;
  }

  // ------------------------------------------------------------------ events to Python

  /** Copy of v keeping only JSON-safe values (finite numbers, strings, booleans, null). */
  function safe(v, depth) {
    depth = depth || 0;
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return isFinite(v) ? v : null;
    if (v instanceof Date) return isNaN(v.getTime()) ? null : v.toISOString();
    if (depth >= MAX_DEPTH) return undefined;
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      var out = [];
      var n = Math.min(v.length, MAX_ARRAY);
      for (var i = 0; i < n; i++) {
        var s = safe(v[i], depth + 1);
        out.push(s === undefined ? null : s);
      }
      return out;
    }
    if (isObject(v) && Object.getPrototypeOf(v) === Object.prototype) {
      var obj = {};
      Object.keys(v).forEach(function (k) {
        var s = safe(v[k], depth + 1);
        if (s !== undefined) obj[k] = s;
      });
      return obj;
    }
    return undefined;   // DOM nodes, trace objects, functions: never sent
  }

  function pointsOf(ev) {
    var points = ev && Array.isArray(ev.points) ? ev.points : [];
    return points.slice(0, MAX_POINTS).map(function (p) {
      var out = {};
      POINT_FIELDS.forEach(function (k) {
        if (p[k] === undefined) return;
        var s = safe(p[k], 1);
        if (s !== undefined) out[k] = s;
      });
      return out;
    });
  }

  function send(type, data) {
    if (!forwarded[type] || !window.pywry || typeof window.pywry.emit !== "function") return;
    try { window.pywry.emit(type, data); } catch (e) { warn("could not send", type, e); }
  }

  function onHover(ev) {
    hoverPending = { points: pointsOf(ev) };
    var wait = HOVER_THROTTLE_MS - (Date.now() - hoverLast);
    if (wait <= 0) { flushHover(); return; }
    if (!hoverTimer) hoverTimer = setTimeout(flushHover, wait);
  }

  function flushHover() {
    clearTimeout(hoverTimer);
    hoverTimer = null;
    if (!hoverPending) return;
    hoverLast = Date.now();
    var data = hoverPending;
    hoverPending = null;
    send("plotly:hover", data);
  }

  function listen() {
    if (listening || typeof gd.on !== "function") return;
    listening = true;
    gd.on("plotly_click", function (ev) { send("plotly:click", { points: pointsOf(ev) }); });
    gd.on("plotly_hover", onHover);
    gd.on("plotly_selected", function (ev) {
      var data = { points: pointsOf(ev) };
      if (ev && ev.points && ev.points.length > MAX_POINTS) data.truncated = true;
      if (ev && ev.range) data.range = safe(ev.range, 1);
      if (ev && ev.lassoPoints) data.lassoPoints = safe(ev.lassoPoints, 1);
      send("plotly:selected", data);
    });
    gd.on("plotly_deselect", function () { send("plotly:selected", { points: [] }); });
    gd.on("plotly_relayout", function (ev) {
      if (quiet > 0 || !isObject(ev)) return;
      var keys = Object.keys(ev);
      if (!keys.length || keys.every(function (k) { return SIZE_ONLY[k]; })) return;
      var data = safe(ev, 0);
      if (isObject(data)) send("plotly:relayout", data);
    });
  }

  // ------------------------------------------------------------------ drawing

  function hush(promise) {
    quiet += 1;
    function done() { quiet = Math.max(0, quiet - 1); }
    return Promise.resolve(promise).then(done, function (e) { done(); warn("Plotly call failed:", e); });
  }

  function showError(text) {
    var el = document.getElementById("pywry-plotly");
    if (!el) return;
    var p = document.createElement("p");
    p.className = "pywry-plotly-error";
    p.textContent = text;
    el.replaceChildren(p);
  }

  function draw(figure, opts) {
    var data = Array.isArray(figure.data) ? decodeTyped(figure.data, 0) : [];
    var frames = Array.isArray(figure.frames) ? decodeTyped(figure.frames, 0) : undefined;
    var args = { data: data, layout: drawnLayout(), config: config };
    if (frames) args.frames = frames;
    var call = opts && opts.fresh ? window.Plotly.newPlot(gd, args) : window.Plotly.react(gd, args);
    return hush(call).then(function () { listen(); });
  }

  function applyFigure(figure, isThemeable) {
    layoutSource = isObject(figure.layout) ? clone(figure.layout) : {};
    themeable = isThemeable !== false;
    revision += 1;
    return draw(figure, null);
  }

  /** Draw the figure found in the page (called by the widget body; safe to call again). */
  function mount() {
    var el = document.getElementById("pywry-plotly");
    var boot = readJson("pywry-plotly-figure");
    if (!el || !isObject(boot)) return;
    if (!window.Plotly) { showError("Plotly could not be loaded."); return; }
    if (gd && gd !== el) { try { window.Plotly.purge(gd); } catch (e) { /* gone */ } }
    if (gd !== el) listening = false;
    gd = el;
    var figure = isObject(boot.figure) ? boot.figure : { data: [], layout: {} };
    layoutSource = isObject(figure.layout) ? figure.layout : {};
    themeable = boot.themeable !== false;
    config = Object.assign({ responsive: true }, isObject(boot.config) ? boot.config : {});
    forwarded = {};
    (Array.isArray(boot.events) ? boot.events : []).forEach(function (t) { forwarded[t] = true; });
    revision += 1;
    draw(figure, { fresh: true });
    if (typeof ResizeObserver === "function") {
      if (resizeObserver) resizeObserver.disconnect();
      var pending = false;
      resizeObserver = new ResizeObserver(function () {
        if (pending) return;
        pending = true;
        window.requestAnimationFrame(function () {
          pending = false;
          if (gd && gd.isConnected && gd._fullLayout) hush(window.Plotly.Plots.resize(gd));
        });
      });
      resizeObserver.observe(gd);
    }
  }

  function onThemeChange() {
    if (!gd || !gd._fullLayout || !themeable) return;
    hush(window.Plotly.relayout(gd, { template: templateFor(currentTheme()) }));
  }

  function onUpdateFigure(d) {
    if (!gd || !isObject(d) || !isObject(d.figure)) return;
    applyFigure(d.figure, d.themeable);
  }

  function onUpdateLayout(d) {
    if (!gd || !isObject(d) || !isObject(d.layout)) return;
    var changes = {};
    Object.keys(d.layout).forEach(function (key) {
      setPath(layoutSource, key, clone(d.layout[key]));
      changes[key] = d.layout[key];
    });
    if (d.themeable === false && themeable) themeable = false;
    hush(window.Plotly.relayout(gd, changes));
  }

  window.addEventListener("pywry:theme", onThemeChange);
  if (window.pywry && typeof window.pywry.on === "function") {
    window.pywry.on("plotly:update-figure", onUpdateFigure);
    window.pywry.on("plotly:update-layout", onUpdateLayout);
  } else {
    warn("the pywry bridge is not loaded; the chart will not update");
  }

  window.pywryPlotly = {
    mount: mount,
    get graph() { return gd; },
    get themeable() { return themeable; }
  };
})();
