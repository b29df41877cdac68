/*
 * pywry grid: a table whose paging, sorting and filtering happen on the server.
 *
 * Classic script, loaded in <head> after bridge.js. The widget body holds <div id="pywry-grid">,
 * <script type="application/json" id="pywry-grid-data"> {columns, first, pageSize, filename,
 * columnFilters, selectable, cellClick} and an inline call to window.pywryGrid.mount().
 *
 * Page -> Python: grid:request-page {requestId, page, pageSize, sort, filter}
 *                 grid:export {requestId, clientId, sort, filter}
 *                 grid:cell-click {rowIndex, column, value}   (when Python listens)
 *                 grid:row-select {rowIndexes: [...]}          (when Python listens)
 * Python -> page: grid:page {requestId, rows, index, page, pages, pageSize, total, totalRows}
 *                 grid:reset {columns, totalRows}, grid:export-error {requestId, error}
 * Answers carry the request id; every page ignores answers to requests it did not make.
 * Values reach the DOM only through textContent and setAttribute, never innerHTML.
 */
(function () {
  "use strict";

  if (window.pywryGrid) return;

  var PAGE_SIZES = [25, 50, 100, 250, 500, 1000];
  var FILTER_DEBOUNCE_MS = 250;
  var numberFormat = typeof Intl !== "undefined" ? new Intl.NumberFormat() : null;

  var root = null;
  var boot = null;
  var columns = [];          // [{name, kind}]
  var view = { page: 1, pageSize: 100, pages: 1, total: 0, totalRows: 0, sort: [], text: "", columnFilters: {} };
  var rows = [];
  var index = [];
  var selected = new Set();  // row positions (server-side), kept across pages
  var counter = 0;
  var latest = null;         // id of the page request whose answer we wait for
  var exportId = null;
  var filterTimer = null;
  var els = {};
  var subscribed = false;

  function warn() {
    if (window.console && console.warn) {
      console.warn.apply(console, ["[pywry grid]"].concat(Array.prototype.slice.call(arguments)));
    }
  }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === true) node.setAttribute(k, "");
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, String(v));
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(n) { return numberFormat ? numberFormat.format(n) : String(n); }

  function bridge() { return window.pywry && typeof window.pywry.emit === "function" ? window.pywry : null; }

  function send(type, data) {
    var b = bridge();
    if (!b) { warn("the pywry bridge is not loaded; dropped", type); return false; }
    try { b.emit(type, data); return true; } catch (e) { warn("could not send", type, e); return false; }
  }

  function nextId() {
    var b = bridge();
    counter += 1;
    return (b && b.clientId ? b.clientId : "page") + ":" + counter;
  }

  function filterPayload() {
    var cols = {};
    Object.keys(view.columnFilters).forEach(function (k) {
      if (view.columnFilters[k]) cols[k] = view.columnFilters[k];
    });
    if (!Object.keys(cols).length) return view.text;
    return { text: view.text, columns: cols };
  }

  // ------------------------------------------------------------------ requests

  function request(page) {
    latest = nextId();
    setBusy(true);
    var ok = send("grid:request-page", {
      requestId: latest,
      page: page,
      pageSize: view.pageSize,
      sort: view.sort.slice(),
      filter: filterPayload()
    });
    if (!ok) setBusy(false);
  }

  function setBusy(on) {
    if (!root) return;
    root.setAttribute("aria-busy", on ? "true" : "false");
    root.setAttribute("data-state", on ? "loading" : "ready");
  }

  function onPage(d) {
    if (!root || !isObject(d) || d.requestId !== latest) return;   // someone else's answer
    latest = null;
    setBusy(false);
    if (d.error) { status("Error: " + d.error, true); return; }
    render(d);
  }

  function onReset(d) {
    if (!root || !isObject(d) || !Array.isArray(d.columns)) return;
    columns = d.columns;
    var names = {};
    columns.forEach(function (c) { names[c.name] = true; });
    view.sort = view.sort.filter(function (s) { return names[s.column]; });
    Object.keys(view.columnFilters).forEach(function (k) { if (!names[k]) delete view.columnFilters[k]; });
    selected.clear();
    buildHead();
    request(1);
  }

  function onExportError(d) {
    if (!isObject(d) || d.requestId !== exportId) return;
    exportId = null;
    status("Export failed: " + (d.error || "unknown error"), true);
  }

  // ------------------------------------------------------------------ building

  function buildHead() {
    var head = els.thead;
    while (head.firstChild) head.removeChild(head.firstChild);
    var tr = make("tr", { "class": "pywry-grid-header" });
    if (boot.selectable) {
      var th = make("th", { "class": "pywry-grid-select", scope: "col" });
      els.selectAll = make("input", { type: "checkbox", "aria-label": "Select all rows on this page" });
      th.appendChild(els.selectAll);
      tr.appendChild(th);
    }
    columns.forEach(function (col, i) {
      var th = make("th", { scope: "col", "class": "pywry-grid-th pywry-grid-" + col.kind, "data-col": i });
      var btn = make("button", { type: "button", "class": "pywry-grid-sort", "data-col": i, title: "Sort by " + col.name + " (shift-click adds a column)" });
      btn.appendChild(make("span", { "class": "pywry-grid-colname" }, col.name));
      btn.appendChild(make("span", { "class": "pywry-grid-arrow", "aria-hidden": "true" }));
      th.appendChild(btn);
      tr.appendChild(th);
    });
    head.appendChild(tr);
    if (boot.columnFilters) {
      var fr = make("tr", { "class": "pywry-grid-filters" });
      if (boot.selectable) fr.appendChild(make("th", { "class": "pywry-grid-select" }));
      columns.forEach(function (col, i) {
        var th = make("th", {});
        var input = make("input", {
          type: "search",
          "class": "pywry-grid-colfilter",
          "data-col": i,
          placeholder: col.kind === "number" ? "> 0, = 5, text" : "filter",
          "aria-label": "Filter " + col.name
        });
        input.value = view.columnFilters[col.name] || "";
        th.appendChild(input);
        fr.appendChild(th);
      });
      head.appendChild(fr);
    }
    updateSortMarks();
  }

  function build() {
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute("role", "region");
    root.setAttribute("aria-label", "Table");

    var bar = make("div", { "class": "pywry-grid-bar" });
    els.filter = make("input", { type: "search", "class": "pywry-grid-filter", placeholder: "Filter all columns\u2026", "aria-label": "Filter all columns" });
    els.filter.value = view.text;
    els.status = make("span", { "class": "pywry-grid-status", role: "status" });
    els.exportBtn = make("button", { type: "button", "class": "pywry-grid-export" }, "Export CSV");
    bar.appendChild(els.filter);
    bar.appendChild(els.status);
    bar.appendChild(els.exportBtn);

    var scroll = make("div", { "class": "pywry-grid-scroll" });
    var table = make("table", { "class": "pywry-grid-table" });
    els.thead = make("thead", {});
    els.tbody = make("tbody", {});
    table.appendChild(els.thead);
    table.appendChild(els.tbody);
    scroll.appendChild(table);
    els.scroll = scroll;

    var pager = make("div", { "class": "pywry-grid-pager" });
    els.first = make("button", { type: "button", "class": "pywry-grid-first", "aria-label": "First page" }, "\u00ab");
    els.prev = make("button", { type: "button", "class": "pywry-grid-prev", "aria-label": "Previous page" }, "\u2039");
    els.pageInput = make("input", { type: "number", "class": "pywry-grid-page", min: 1, step: 1, "aria-label": "Page" });
    els.pages = make("span", { "class": "pywry-grid-pages" });
    els.next = make("button", { type: "button", "class": "pywry-grid-next", "aria-label": "Next page" }, "\u203a");
    els.last = make("button", { type: "button", "class": "pywry-grid-last", "aria-label": "Last page" }, "\u00bb");
    els.size = make("select", { "class": "pywry-grid-size", "aria-label": "Rows per page" });
    var sizes = PAGE_SIZES.slice();
    if (sizes.indexOf(view.pageSize) < 0) { sizes.push(view.pageSize); sizes.sort(function (a, b) { return a - b; }); }
    sizes.forEach(function (n) {
      var opt = make("option", { value: n }, n + " / page");
      if (n === view.pageSize) opt.selected = true;
      els.size.appendChild(opt);
    });
    [els.first, els.prev, make("span", {}, "Page"), els.pageInput, els.pages, els.next, els.last, els.size]
      .forEach(function (n) { pager.appendChild(n); });

    root.appendChild(bar);
    root.appendChild(scroll);
    root.appendChild(pager);
    buildHead();
    wire();
  }

  // ------------------------------------------------------------------ rendering

  function cellText(value, kind) {
    if (value === null || value === undefined) return "";
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number" && kind === "number") return String(value);
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function render(d) {
    rows = Array.isArray(d.rows) ? d.rows : [];
    index = Array.isArray(d.index) ? d.index : [];
    view.page = d.page || 1;
    view.pages = d.pages || 1;
    view.pageSize = d.pageSize || view.pageSize;
    view.total = typeof d.total === "number" ? d.total : rows.length;
    view.totalRows = typeof d.totalRows === "number" ? d.totalRows : view.total;

    var frag = document.createDocumentFragment();
    rows.forEach(function (row, r) {
      var pos = index[r];
      var tr = make("tr", { "data-row": pos });
      if (boot.selectable) {
        var td = make("td", { "class": "pywry-grid-select" });
        var box = make("input", { type: "checkbox", "class": "pywry-grid-check", "aria-label": "Select row " + (pos + 1) });
        box.checked = selected.has(pos);
        if (box.checked) tr.classList.add("pywry-grid-selected");
        td.appendChild(box);
        tr.appendChild(td);
      }
      columns.forEach(function (col, c) {
        var text = cellText(row[c], col.kind);
        var cell = make("td", { "class": "pywry-grid-" + col.kind + (row[c] === null ? " pywry-grid-null" : ""), "data-col": c }, text);
        if (text.length > 40) cell.setAttribute("title", text);
        tr.appendChild(cell);
      });
      frag.appendChild(tr);
    });
    els.tbody.replaceChildren(frag);
    if (els.scroll) els.scroll.scrollTop = 0;

    status(summary(), false);
    els.pageInput.value = String(view.page);
    els.pageInput.max = String(view.pages);
    els.pages.textContent = "of " + fmt(view.pages);
    els.first.disabled = els.prev.disabled = view.page <= 1;
    els.next.disabled = els.last.disabled = view.page >= view.pages;
    Array.prototype.forEach.call(els.size.options, function (o) { o.selected = Number(o.value) === view.pageSize; });
    root.setAttribute("data-page", String(view.page));
    root.setAttribute("data-total", String(view.total));
    updateSelectAll();
    updateSortMarks();
  }

  /** "Rows 201–300 of 1,000,000 (filtered from …) · 3 selected" */
  function summary() {
    var start = view.total ? (view.page - 1) * view.pageSize + 1 : 0;
    var stop = Math.min(view.page * view.pageSize, view.total);
    var text = "Rows " + fmt(start) + "\u2013" + fmt(stop) + " of " + fmt(view.total);
    if (view.total !== view.totalRows) text += " (filtered from " + fmt(view.totalRows) + ")";
    if (selected.size) text += " \u00b7 " + fmt(selected.size) + " selected";
    return text;
  }

  function status(text, isError) {
    els.status.textContent = text;
    els.status.classList.toggle("pywry-grid-error", !!isError);
  }

  function updateSortMarks() {
    var ths = els.thead.querySelectorAll("th.pywry-grid-th");
    Array.prototype.forEach.call(ths, function (th) {
      var col = columns[Number(th.getAttribute("data-col"))];
      var at = -1;
      view.sort.forEach(function (s, i) { if (col && s.column === col.name) at = i; });
      var arrow = th.querySelector(".pywry-grid-arrow");
      if (at < 0) {
        th.setAttribute("aria-sort", "none");
        arrow.textContent = "";
      } else {
        var desc = view.sort[at].dir === "desc";
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        arrow.textContent = (desc ? "\u25bc" : "\u25b2") + (view.sort.length > 1 ? String(at + 1) : "");
      }
    });
  }

  function updateSelectAll() {
    if (!els.selectAll) return;
    var onPage = index.filter(function (i) { return selected.has(i); }).length;
    els.selectAll.checked = index.length > 0 && onPage === index.length;
    els.selectAll.indeterminate = onPage > 0 && onPage < index.length;
  }

  // ------------------------------------------------------------------ interaction

  function toggleSort(name, add) {
    var at = -1;
    view.sort.forEach(function (s, i) { if (s.column === name) at = i; });
    if (!add) {
      if (at < 0 || view.sort.length > 1) view.sort = [{ column: name, dir: at >= 0 && view.sort[at].dir === "asc" ? "desc" : "asc" }];
      else if (view.sort[at].dir === "asc") view.sort = [{ column: name, dir: "desc" }];
      else view.sort = [];
    } else if (at < 0) {
      view.sort.push({ column: name, dir: "asc" });
    } else if (view.sort[at].dir === "asc") {
      view.sort[at] = { column: name, dir: "desc" };
    } else {
      view.sort.splice(at, 1);
    }
    updateSortMarks();
    request(1);
  }

  function goTo(page) {
    var p = Math.max(1, Math.min(view.pages, Math.floor(Number(page)) || 1));
    request(p);
  }

  function sendSelection() {
    status(summary(), false);
    send("grid:row-select", { rowIndexes: Array.from(selected) });
  }

  function scheduleFilter() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () { filterTimer = null; request(1); }, FILTER_DEBOUNCE_MS);
  }

  function wire() {
    els.thead.addEventListener("click", function (ev) {
      var btn = ev.target.closest && ev.target.closest("button.pywry-grid-sort");
      if (btn) { toggleSort(columns[Number(btn.getAttribute("data-col"))].name, ev.shiftKey); return; }
      if (ev.target === els.selectAll) {
        index.forEach(function (i) { if (els.selectAll.checked) selected.add(i); else selected.delete(i); });
        Array.prototype.forEach.call(els.tbody.querySelectorAll("tr"), function (tr) {
          var box = tr.querySelector(".pywry-grid-check");
          if (box) box.checked = els.selectAll.checked;
          tr.classList.toggle("pywry-grid-selected", els.selectAll.checked);
        });
        sendSelection();
      }
    });
    els.thead.addEventListener("input", function (ev) {
      var input = ev.target;
      if (!input.classList || !input.classList.contains("pywry-grid-colfilter")) return;
      view.columnFilters[columns[Number(input.getAttribute("data-col"))].name] = input.value.trim();
      scheduleFilter();
    });
    els.filter.addEventListener("input", function () { view.text = els.filter.value.trim(); scheduleFilter(); });
    els.tbody.addEventListener("click", function (ev) {
      var target = ev.target;
      var tr = target.closest && target.closest("tr[data-row]");
      if (!tr) return;
      var pos = Number(tr.getAttribute("data-row"));
      if (target.classList.contains("pywry-grid-check")) {
        if (target.checked) selected.add(pos); else selected.delete(pos);
        tr.classList.toggle("pywry-grid-selected", target.checked);
        updateSelectAll();
        sendSelection();
        return;
      }
      var td = target.closest("td[data-col]");
      if (!td || !boot.cellClick) return;
      var c = Number(td.getAttribute("data-col"));
      var r = index.indexOf(pos);
      send("grid:cell-click", { rowIndex: pos, column: columns[c].name, value: r >= 0 ? rows[r][c] : null });
    });
    els.first.addEventListener("click", function () { goTo(1); });
    els.prev.addEventListener("click", function () { goTo(view.page - 1); });
    els.next.addEventListener("click", function () { goTo(view.page + 1); });
    els.last.addEventListener("click", function () { goTo(view.pages); });
    els.pageInput.addEventListener("change", function () { goTo(els.pageInput.value); });
    els.size.addEventListener("change", function () {
      var first = (view.page - 1) * view.pageSize;
      view.pageSize = Number(els.size.value) || view.pageSize;
      request(Math.floor(first / view.pageSize) + 1);
    });
    els.exportBtn.addEventListener("click", function () {
      var b = bridge();
      exportId = nextId();
      status("Exporting\u2026", false);
      send("grid:export", { requestId: exportId, clientId: b ? b.clientId : null, sort: view.sort.slice(), filter: filterPayload() });
    });
  }

  function subscribe() {
    if (subscribed) return;
    var b = window.pywry;
    if (!b || typeof b.on !== "function") { warn("the pywry bridge is not loaded; the grid cannot page"); return; }
    subscribed = true;
    b.on("grid:page", onPage);
    b.on("grid:reset", onReset);
    b.on("grid:export-error", onExportError);
    b.on("pywry:download", function (d) {
      if (!exportId || (isObject(d) && d.clientId && d.clientId !== b.clientId)) return;
      exportId = null;
      status(summary(), false);
    });
  }

  /** Build the grid from the page's embedded data (called by the widget body; safe to repeat). */
  function mount() {
    var el = document.getElementById("pywry-grid");
    var data = document.getElementById("pywry-grid-data");
    if (!el || !data) return;
    try { boot = JSON.parse(data.textContent || "{}"); } catch (e) { warn("bad grid data", e); return; }
    if (!isObject(boot) || !Array.isArray(boot.columns)) { warn("grid data has no columns"); return; }
    root = el;
    columns = boot.columns;
    view = { page: 1, pageSize: boot.pageSize || 100, pages: 1, total: 0, totalRows: 0, sort: [], text: "", columnFilters: {} };
    selected.clear();
    latest = null;
    subscribe();
    build();
    render(isObject(boot.first) ? boot.first : { rows: [], index: [] });
    setBusy(false);
  }

  window.pywryGrid = {
    mount: mount,
    goTo: goTo,
    get view() { return JSON.parse(JSON.stringify(view)); },
    get selected() { return Array.from(selected); }
  };
})();
