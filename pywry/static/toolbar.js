/*
 * pywry toolbar: sends the events of toolbar items and applies `toolbar:set-value`.
 *
 * Classic script, loaded after bridge.js. Every element with `data-pywry-event` is wired by
 * delegation on `document`, so content replaced later keeps working. Elements carry:
 *
 *   id / data-pywry-component   the component id (componentId in every payload)
 *   data-pywry-kind             button select multiselect text textarea search secret number
 *                               date slider range toggle checkbox radio tabs div marquee ticker
 *   data-pywry-event            the `namespace:name` sent to Python
 *   data-pywry-value            JSON value of an option, radio, tab or ticker
 *   data-pywry-data             JSON object merged into a button's payload
 *   data-pywry-debounce         ms of quiet typing before a text/number field sends
 *
 * Payloads: see the docstring of pywry/toolbar/__init__.py. Strings from messages only ever
 * reach the page through textContent, value and setAttribute, never innerHTML.
 */
(function () {
  "use strict";

  if (window.pywryToolbar) return; // loaded twice: the first copy already listens

  var ID_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
  var TYPING_KINDS = { text: true, textarea: true, search: true, number: true };
  var CHANGE_KINDS = {
    select: true, multiselect: true, secret: true, date: true, slider: true, range: true,
    toggle: true, checkbox: true, radio: true
  };
  var OPTION_KINDS = { select: true, multiselect: true, radio: true, tabs: true };

  var timers = new WeakMap();   // element -> pending debounce timer
  var lastSent = new WeakMap(); // element -> JSON of the value Python last heard of

  function warn() {
    if (window.console && console.warn) {
      console.warn.apply(console, ["[pywry toolbar]"].concat(Array.prototype.slice.call(arguments)));
    }
  }

  function send(type, payload) {
    var bridge = window.pywry;
    if (!bridge || typeof bridge.emit !== "function") {
      warn("the pywry bridge is not loaded; dropped", type);
      return;
    }
    try { bridge.emit(type, payload); } catch (e) { warn("could not send", type, e); }
  }

  // ------------------------------------------------------------------ DOM helpers

  function elementOf(node) {
    if (node && node.nodeType !== 1) node = node.parentElement;
    return node && node.nodeType === 1 ? node : null;
  }

  function componentOf(node) {
    var el = elementOf(node);
    return el && el.closest ? el.closest("[data-pywry-event]") : null;
  }

  function idOf(el) { return el.getAttribute("data-pywry-component") || el.id || null; }
  function kindOf(el) { return el.getAttribute("data-pywry-kind") || ""; }
  function itemOf(el) { return el.closest(".pywry-tb-item") || el.parentElement || document; }

  function isDisabled(el) {
    if (el.disabled || el.getAttribute("aria-disabled") === "true") return true;
    var item = el.closest(".pywry-tb-item");
    return !!(item && item.classList.contains("pywry-tb-disabled") && kindOf(el) !== "ticker");
  }

  function jsonOf(value) {
    try { return JSON.stringify(value === undefined ? null : value); } catch (e) { return String(value); }
  }

  /** The JSON value an option, radio, tab or ticker stands for. */
  function readValue(node) {
    var raw = node.getAttribute("data-pywry-value");
    if (raw !== null) {
      try { return JSON.parse(raw); } catch (e) { return raw; }
    }
    if (node.hasAttribute("data-value")) return node.getAttribute("data-value");
    return typeof node.value === "string" ? node.value : null;
  }

  function sameValue(a, b) {
    if (a === b) return true;
    if (a === null || b === null || a === undefined || b === undefined) return false;
    if (typeof a === "object" || typeof b === "object") return jsonOf(a) === jsonOf(b);
    if (typeof a === "boolean" || typeof b === "boolean") return false;
    return String(a) === String(b);
  }

  function numberOf(value) {
    if (value === "" || value === null || value === undefined) return null;
    var n = Number(value);
    return isFinite(n) ? n : null;
  }

  function clearChildren(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === true) node.setAttribute(k, "");
      else if (attrs[k] !== false && attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, String(attrs[k]));
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ reading items

  /** The value a typing field would send now (undefined: nothing to send). */
  function typedValue(el, kind) {
    if (kind === "number") {
      var n = el.value === "" ? null : el.valueAsNumber;
      return (n === null || isNaN(n)) ? undefined : n;
    }
    return el.value;
  }

  function initialTyped(el, kind) {
    if (kind === "number") return numberOf(el.defaultValue);
    return el.defaultValue !== undefined ? el.defaultValue : el.value;
  }

  function checkedValues(el) {
    var out = [];
    el.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      if (box.checked) out.push(readValue(box));
    });
    return out;
  }

  function rangeParts(el) {
    return {
      start: el.querySelector('[data-pywry-part="start"]'),
      end: el.querySelector('[data-pywry-part="end"]')
    };
  }

  // ------------------------------------------------------------------ display refresh

  function refreshSlider(el) {
    itemOf(el).querySelectorAll('[data-pywry-display-for]').forEach(function (out) {
      if (out.getAttribute("data-pywry-display-for") === idOf(el)) out.textContent = el.value;
    });
  }

  function refreshRange(el) {
    var p = rangeParts(el);
    if (!p.start || !p.end) return;
    el.querySelectorAll('[data-pywry-display-for]').forEach(function (out) {
      out.textContent = p.start.value + " \u2013 " + p.end.value;
    });
  }

  function refreshSummary(el) {
    var summary = el.querySelector("[data-pywry-summary]");
    if (!summary) return;
    var labels = [];
    el.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      if (!box.checked) return;
      var text = box.parentElement ? box.parentElement.textContent : "";
      labels.push(text.trim());
    });
    summary.textContent = labels.length ? labels.join(", ") : (el.getAttribute("data-pywry-placeholder") || "");
  }

  function selectTab(el, tab) {
    el.querySelectorAll('[role="tab"]').forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.classList.toggle("pywry-tb-active", on);
    });
  }

  // ------------------------------------------------------------------ sending

  function cancelTimer(el) {
    var t = timers.get(el);
    if (t !== undefined) { clearTimeout(t); timers.delete(el); }
  }

  /** Send a typing field's value unless Python already has exactly that value. */
  function flushTyped(el) {
    cancelTimer(el);
    if (!el.isConnected || isDisabled(el)) return;
    var kind = kindOf(el);
    var value = typedValue(el, kind);
    if (value === undefined) return;
    var key = jsonOf(value);
    var previous = lastSent.has(el) ? lastSent.get(el) : jsonOf(initialTyped(el, kind));
    if (key === previous) return;
    lastSent.set(el, key);
    send(el.getAttribute("data-pywry-event"), { value: value, componentId: idOf(el) });
  }

  function divValue(el, target) {
    var node = elementOf(target);
    while (node && node !== el) {
      if (node.hasAttribute("data-pywry-value") || node.hasAttribute("data-value")) return readValue(node);
      node = node.parentElement;
    }
    return null;
  }

  /** A click (or Enter/Space) on a clickable component. */
  function activate(el, target) {
    var kind = kindOf(el);
    var type = el.getAttribute("data-pywry-event");
    var id = idOf(el);
    if (!type || isDisabled(el)) return;
    if (kind === "button") {
      var payload = {};
      var raw = el.getAttribute("data-pywry-data");
      if (raw) {
        try {
          var data = JSON.parse(raw);
          if (data && typeof data === "object" && !Array.isArray(data)) payload = data;
        } catch (e) { warn("bad data-pywry-data on", id); }
      }
      payload.componentId = id;
      send(type, payload);
    } else if (kind === "tabs") {
      var tab = elementOf(target) && elementOf(target).closest('[role="tab"]');
      if (!tab || !el.contains(tab) || tab.disabled || tab.getAttribute("aria-selected") === "true") return;
      selectTab(el, tab);
      send(type, { value: readValue(tab), componentId: id });
    } else if (kind === "ticker") {
      send(type, { value: readValue(el), componentId: id, marqueeId: el.getAttribute("data-pywry-marquee") });
    } else if (kind === "div") {
      send(type, { componentId: id, value: divValue(el, target) });
    } else if (!kind && !el.matches("input, select, textarea")) {
      // the author's own markup: <button data-pywry-event="app:go" data-value="x">
      var generic = { componentId: id };
      if (el.hasAttribute("data-pywry-value") || el.hasAttribute("data-value")) generic.value = readValue(el);
      send(type, generic);
    }
  }

  function closeMenus(target) {
    document.querySelectorAll("details.pywry-tb-multiselect[open]").forEach(function (menu) {
      if (!target || !menu.contains(target)) menu.open = false;
    });
  }

  function onClick(ev) {
    var target = elementOf(ev.target);
    closeMenus(target);
    var el = componentOf(target);
    if (!el) return;
    var kind = kindOf(el);
    if (kind === "multiselect" && isDisabled(el) && target.closest("summary")) {
      ev.preventDefault();
      return;
    }
    if (TYPING_KINDS[kind] || CHANGE_KINDS[kind]) return;
    activate(el, target);
  }

  function onKeydown(ev) {
    if (ev.key === "Escape") { closeMenus(null); return; }
    if (ev.key !== "Enter" && ev.key !== " ") return;
    var target = elementOf(ev.target);
    var el = componentOf(target);
    // native buttons turn Enter/Space into a click themselves
    if (!el || el !== target || el.matches("button, input, select, textarea, summary, a")) return;
    var kind = kindOf(el);
    if (kind !== "ticker" && kind !== "div" && el.getAttribute("role") !== "button") return;
    ev.preventDefault();
    activate(el, target);
  }

  function onInput(ev) {
    var target = elementOf(ev.target);
    var el = componentOf(target);
    if (!el) return;
    var kind = kindOf(el);
    if (TYPING_KINDS[kind]) {
      cancelTimer(el);
      var wait = parseInt(el.getAttribute("data-pywry-debounce") || "0", 10);
      if (!(wait >= 0)) wait = 0;
      timers.set(el, setTimeout(function () { flushTyped(el); }, wait));
    } else if (kind === "slider") {
      refreshSlider(el);
    } else if (kind === "range") {
      var p = rangeParts(el);
      if (p.start && p.end && Number(p.start.value) > Number(p.end.value)) {
        if (target === p.start) p.start.value = p.end.value; else p.end.value = p.start.value;
      }
      refreshRange(el);
    }
  }

  function onChange(ev) {
    var target = elementOf(ev.target);
    var el = componentOf(target);
    if (!el) return;
    var kind = kindOf(el);
    var type = el.getAttribute("data-pywry-event");
    var id = idOf(el);
    if (TYPING_KINDS[kind]) { flushTyped(el); return; }
    if (isDisabled(el)) return;
    switch (kind) {
      case "select": {
        var opt = el.selectedIndex >= 0 ? el.options[el.selectedIndex] : null;
        send(type, { value: opt ? readValue(opt) : null, componentId: id });
        return;
      }
      case "multiselect":
        refreshSummary(el);
        send(type, { value: checkedValues(el), componentId: id });
        return;
      case "radio":
        if (target && target.type === "radio" && target.checked) send(type, { value: readValue(target), componentId: id });
        return;
      case "secret": {
        var secret = el.value;
        if (!secret) return;
        // posted once; the server keeps it and the page forgets it at once
        send(type, { value: secret, componentId: id, secret: true });
        el.value = "";
        el.setAttribute("data-pywry-has-value", "true");
        el.classList.add("pywry-tb-secret-set");
        return;
      }
      case "date":
        send(type, { value: el.value || null, componentId: id });
        return;
      case "slider":
        refreshSlider(el);
        send(type, { value: numberOf(el.value), componentId: id });
        return;
      case "range": {
        var p = rangeParts(el);
        if (!p.start || !p.end) return;
        refreshRange(el);
        send(type, { start: numberOf(p.start.value), end: numberOf(p.end.value), componentId: id });
        return;
      }
      case "toggle":
      case "checkbox":
        send(type, { value: !!el.checked, componentId: id });
        return;
      default:
        if (!kind && el.matches("input, select, textarea")) {
          var value = el.type === "checkbox" ? !!el.checked : el.value;
          send(type, { value: value, componentId: id });
        }
    }
  }

  // ------------------------------------------------------------------ toolbar:set-value

  function normOption(o) {
    if (o === null || o === undefined) return null;
    if (typeof o !== "object") return { label: String(o), value: o };
    var hasValue = Object.prototype.hasOwnProperty.call(o, "value") && o.value !== null && o.value !== undefined;
    var hasLabel = typeof o.label === "string" && o.label !== "";
    if (!hasValue && !hasLabel) return null;
    var value = hasValue ? o.value : o.label;
    if (typeof value === "object") return null;
    return { label: hasLabel ? o.label : String(value), value: value };
  }

  function optionAttr(value) { return typeof value === "boolean" ? JSON.stringify(value) : String(value); }

  function setOptions(el, kind, options) {
    var id = idOf(el);
    var disabled = isDisabled(el);
    if (kind === "select") {
      var current = el.selectedIndex >= 0 ? readValue(el.options[el.selectedIndex]) : null;
      clearChildren(el);
      options.forEach(function (o) {
        var opt = make("option", { value: optionAttr(o.value), "data-pywry-value": JSON.stringify(o.value) }, o.label);
        if (current !== null && sameValue(o.value, current)) opt.selected = true;
        el.appendChild(opt);
      });
    } else if (kind === "multiselect") {
      var keep = checkedValues(el);
      var menu = el.querySelector(".pywry-tb-multiselect-menu");
      if (!menu) return;
      clearChildren(menu);
      options.forEach(function (o) {
        var label = make("label", { "class": "pywry-tb-check" });
        var box = make("input", { type: "checkbox", value: optionAttr(o.value), "data-pywry-value": JSON.stringify(o.value), disabled: disabled });
        box.checked = keep.some(function (v) { return sameValue(v, o.value); });
        label.appendChild(box);
        label.appendChild(make("span", {}, o.label));
        menu.appendChild(label);
      });
      refreshSummary(el);
    } else if (kind === "radio") {
      var chosen = el.querySelector('input[type="radio"]:checked');
      var was = chosen ? readValue(chosen) : null;
      clearChildren(el);
      options.forEach(function (o) {
        var label = make("label", { "class": "pywry-tb-radio" });
        var radio = make("input", { type: "radio", name: id, value: optionAttr(o.value), "data-pywry-value": JSON.stringify(o.value), disabled: disabled });
        radio.checked = was !== null && sameValue(was, o.value);
        label.appendChild(radio);
        label.appendChild(make("span", {}, o.label));
        el.appendChild(label);
      });
    } else if (kind === "tabs") {
      var active = el.querySelector('[role="tab"][aria-selected="true"]');
      var activeValue = active ? readValue(active) : null;
      clearChildren(el);
      var selectedTab = null;
      options.forEach(function (o) {
        var tab = make("button", { type: "button", role: "tab", "class": "pywry-tb-tab", "aria-selected": "false", "data-pywry-value": JSON.stringify(o.value), disabled: disabled }, o.label);
        if (activeValue !== null && sameValue(activeValue, o.value)) selectedTab = tab;
        el.appendChild(tab);
      });
      selectTab(el, selectedTab || el.querySelector('[role="tab"]'));
    }
  }

  function setValue(el, kind, value) {
    var i;
    switch (kind) {
      case "select": {
        var found = false;
        for (i = 0; i < el.options.length; i++) {
          if (!found && sameValue(readValue(el.options[i]), value)) { el.selectedIndex = i; found = true; }
        }
        if (!found) el.selectedIndex = value === null ? -1 : el.selectedIndex;
        if (!found && value !== null) warn("toolbar:set-value: no option", jsonOf(value), "in", idOf(el));
        return;
      }
      case "multiselect": {
        var list = Array.isArray(value) ? value : (value === null ? [] : [value]);
        el.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
          var v = readValue(box);
          box.checked = list.some(function (x) { return sameValue(x, v); });
        });
        refreshSummary(el);
        return;
      }
      case "radio":
        el.querySelectorAll('input[type="radio"]').forEach(function (r) { r.checked = value !== null && sameValue(readValue(r), value); });
        return;
      case "tabs": {
        var tabs = el.querySelectorAll('[role="tab"]');
        for (i = 0; i < tabs.length; i++) {
          if (sameValue(readValue(tabs[i]), value)) { selectTab(el, tabs[i]); return; }
        }
        return;
      }
      case "text":
      case "textarea":
      case "search":
        el.value = value === null || value === undefined ? "" : String(value);
        lastSent.set(el, jsonOf(el.value));
        return;
      case "number": {
        var n = numberOf(value);
        el.value = n === null ? "" : String(n);
        lastSent.set(el, jsonOf(n));
        return;
      }
      case "date":
        el.value = typeof value === "string" ? value : "";
        return;
      case "slider":
        if (numberOf(value) !== null) el.value = String(numberOf(value));
        refreshSlider(el);
        return;
      case "range": {
        var p = rangeParts(el);
        if (!p.start || !p.end) return;
        var start = Array.isArray(value) ? value[0] : (value && typeof value === "object" ? value.start : undefined);
        var end = Array.isArray(value) ? value[1] : (value && typeof value === "object" ? value.end : undefined);
        if (numberOf(start) !== null) p.start.value = String(numberOf(start));
        if (numberOf(end) !== null) p.end.value = String(numberOf(end));
        refreshRange(el);
        return;
      }
      case "toggle":
      case "checkbox":
        el.checked = !!value;
        return;
      case "ticker":
        el.setAttribute("data-pywry-value", jsonOf(value));
        return;
      case "secret": // a secret never enters the page from the server
      case "button":
      case "div":
      case "marquee":
        return;
      default:
        if (el.matches('input[type="checkbox"], input[type="radio"]')) el.checked = !!value;
        else if (el.matches("input, select, textarea")) el.value = value === null || value === undefined ? "" : String(value);
    }
  }

  function setLabel(el, kind, label) {
    var id = idOf(el);
    if (kind === "button") { el.textContent = label; return; }
    document.querySelectorAll("[data-pywry-label-for]").forEach(function (node) {
      if (node.getAttribute("data-pywry-label-for") !== id) return;
      node.textContent = label;
      node.hidden = !label;
    });
  }

  function setDisabled(el, kind, flag) {
    if ("disabled" in el && el.matches("button, input, select, textarea")) el.disabled = flag;
    if (kind === "multiselect" || kind === "radio" || kind === "tabs" || kind === "range") {
      el.querySelectorAll("input, button, select, textarea").forEach(function (n) { n.disabled = flag; });
    }
    if (!el.matches("button, input, select, textarea")) {
      if (flag) el.setAttribute("aria-disabled", "true"); else el.removeAttribute("aria-disabled");
    }
    if (kind === "multiselect" && flag) el.open = false;
    if (kind === "ticker") {
      el.classList.toggle("pywry-tb-disabled", flag);
      return;
    }
    var item = el.closest(".pywry-tb-item");
    if (item) item.classList.toggle("pywry-tb-disabled", flag);
  }

  function setBounds(el, kind, d, has) {
    var targets = kind === "range" ? el.querySelectorAll('input[type="range"]') : [el];
    ["min", "max", "step"].forEach(function (key) {
      if (!has(key)) return;
      var v = d[key];
      var ok = typeof v === "number" ? isFinite(v) : (typeof v === "string" && kind === "date");
      if (!ok && v !== null) return;
      Array.prototype.forEach.call(targets, function (t) {
        if (v === null) t.removeAttribute(key); else t.setAttribute(key, String(v));
      });
    });
    if (kind === "slider") refreshSlider(el);
    if (kind === "range") refreshRange(el);
  }

  function applySetValue(el, d) {
    var kind = kindOf(el);
    var has = function (k) { return Object.prototype.hasOwnProperty.call(d, k); };
    cancelTimer(el);
    if (has("options") && Array.isArray(d.options) && OPTION_KINDS[kind]) {
      setOptions(el, kind, d.options.map(normOption).filter(Boolean));
    }
    if (has("min") || has("max") || has("step")) setBounds(el, kind, d, has);
    if (has("value")) setValue(el, kind, d.value === undefined ? null : d.value);
    if (has("label") && typeof d.label === "string") setLabel(el, kind, d.label);
    if (has("description") && typeof d.description === "string") {
      if (d.description) el.setAttribute("title", d.description); else el.removeAttribute("title");
    }
    if (has("placeholder") && typeof d.placeholder === "string") {
      if (kind === "multiselect") {
        el.setAttribute("data-pywry-placeholder", d.placeholder);
        refreshSummary(el);
      } else if ("placeholder" in el) {
        el.placeholder = d.placeholder;
      }
    }
    if (has("text") && typeof d.text === "string" && (kind === "div" || kind === "ticker")) el.textContent = d.text;
    if (has("disabled") && typeof d.disabled === "boolean") setDisabled(el, kind, d.disabled);
  }

  /** Handler of the `toolbar:set-value` system event: {componentId, value, options, ...}. */
  function onSetValue(data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) return;
    var id = data.componentId;
    if (typeof id !== "string" || !ID_RE.test(id)) {
      warn("toolbar:set-value without a valid componentId:", id);
      return;
    }
    var nodes = document.querySelectorAll('[data-pywry-component="' + id + '"]');
    if (!nodes.length) return;
    Array.prototype.forEach.call(nodes, function (el) {
      try { applySetValue(el, data); } catch (e) { warn("toolbar:set-value failed for", id, e); }
    });
  }

  // ------------------------------------------------------------------ wiring

  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKeydown);
  document.addEventListener("input", onInput);
  document.addEventListener("change", onChange);

  var registered = false;
  function register() {
    if (registered) return true;
    var bridge = window.pywry;
    if (!bridge || typeof bridge.on !== "function") return false;
    bridge.on("toolbar:set-value", onSetValue);
    registered = true;
    return true;
  }
  if (!register()) {
    var retry = function () { if (!register()) warn("the pywry bridge is not loaded; toolbar:set-value is ignored"); };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", retry, { once: true });
    else setTimeout(retry, 0);
  }

  window.pywryToolbar = { setValue: onSetValue, version: 1 };
})();
