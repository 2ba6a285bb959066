// Leaderboard: filters, sorting and column toggles for the table, the frontier explorer's variants, and the
// charts following the filters. The state lives in the query string so a view can be shared and survives reload.
(function () {
  var FIGS = JSON.parse(document.getElementById("frontier-data").textContent);
  var table = document.getElementById("leaderboard");
  var entries = Array.prototype.slice.call(table.querySelectorAll("tbody.entry"));
  var form = document.getElementById("filters");
  var FIELDS = {q: "f-q", family: "f-family", mixer: "f-mixer", pmin: "f-pmin", pmax: "f-pmax",
                color: "c-color", x: "c-x", y: "c-y"};
  var DEFAULTS = {color: "family", x: "macs", y: "test"};
  var state = {sort: "", dir: "", hide: []};
  var CONFIG = {responsive: true, displaylogo: false};

  function $(id) { return document.getElementById(id); }

  function parseCount(text) {
    var m = /^\s*([0-9.]+(?:e[0-9]+)?)\s*([kKmMgGtT]?)\s*$/.exec(text || "");
    if (!m) return null;
    var mult = {"": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12}[m[2].toLowerCase()];
    var v = parseFloat(m[1]) * mult;
    return isNaN(v) ? null : v;
  }

  function readUrl() {
    var p = new URLSearchParams(window.location.search);
    Object.keys(FIELDS).forEach(function (k) {
      var el = $(FIELDS[k]), v = p.get(k);
      if (v === null) v = DEFAULTS[k] || "";
      if (el.tagName === "SELECT" && !Array.prototype.some.call(el.options, function (o) { return o.value === v; })) return;
      el.value = v;
    });
    state.sort = p.get("sort") || "";
    state.dir = p.get("dir") === "asc" ? "asc" : (p.get("dir") === "desc" ? "desc" : "");
    state.hide = (p.get("hide") || "").split(",").filter(Boolean);
  }

  function writeUrl() {
    var p = new URLSearchParams();
    Object.keys(FIELDS).forEach(function (k) {
      var v = $(FIELDS[k]).value.trim();
      if (v && v !== (DEFAULTS[k] || "")) p.set(k, v);
    });
    if (state.sort) { p.set("sort", state.sort); p.set("dir", state.dir || "desc"); }
    if (state.hide.length) p.set("hide", state.hide.join(","));
    var qs = p.toString();
    history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
    var csv = new URLSearchParams();
    ["family", "mixer"].forEach(function (k) { if (p.get(k)) csv.set(k, p.get(k)); });
    var link = $("csv-link");
    link.href = link.pathname + (csv.toString() ? "?" + csv.toString() : "");
  }

  function visibleIds() {
    var q = $("f-q").value.trim().toLowerCase(), fam = $("f-family").value, mix = $("f-mixer").value;
    var lo = parseCount($("f-pmin").value), hi = parseCount($("f-pmax").value), ids = {}, n = 0;
    entries.forEach(function (tb) {
      var params = Number(tb.dataset.params);
      var ok = (!fam || tb.dataset.family === fam) && (!mix || tb.dataset.mixer === mix) &&
               (lo === null || params >= lo) && (hi === null || params <= hi) &&
               (!q || tb.textContent.toLowerCase().indexOf(q) >= 0);
      tb.hidden = !ok;
      if (ok) { ids[tb.dataset.id] = true; n += 1; }
    });
    $("no-match").hidden = n > 0 || entries.length === 0;
    $("f-count").textContent = n + " of " + entries.length + " entries shown";
    table.dataset.shown = String(n);
    return ids;
  }

  function sortRows() {
    var ths = table.querySelectorAll("thead th[data-col]");
    Array.prototype.forEach.call(ths, function (th) {
      if (th.dataset.col === state.sort) th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    if (!state.sort) return;
    var th = table.querySelector('thead th[data-col="' + state.sort + '"]');
    if (!th) return;
    var numeric = th.dataset.type === "num", sign = state.dir === "asc" ? 1 : -1;
    function key(tb) {
      var cell = tb.querySelector('[data-col="' + state.sort + '"]');
      var v = cell ? (cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim()) : "";
      return numeric ? (v === "" ? null : Number(v)) : v.toLowerCase();
    }
    var sorted = entries.slice().sort(function (a, b) {
      var ka = key(a), kb = key(b);
      if (ka === kb) return 0;
      if (ka === null) return 1;  // missing numbers last in both directions
      if (kb === null) return -1;
      return (ka < kb ? -1 : 1) * sign;
    });
    var anchor = $("no-match");
    sorted.forEach(function (tb) { table.insertBefore(tb, anchor); });
  }

  function applyColumns() {
    Array.prototype.forEach.call(table.querySelectorAll("[data-col]"), function (cell) {
      cell.hidden = state.hide.indexOf(cell.dataset.col) >= 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("#columns input"), function (box) {
      box.checked = state.hide.indexOf(box.value) < 0;
    });
  }

  function frontierOf(points) {
    var sorted = points.slice().sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; }), out = [], best = -Infinity;
    sorted.forEach(function (p) { if (p[1] > best) { out.push(p); best = p[1]; } });
    return out;
  }

  function filtered(fig, ids) {
    var points = [], data = [];
    fig.data.forEach(function (t) {
      if (t.meta === "frontier") return;
      if (!t.customdata) { data.push(t); return; }
      var keep = t.customdata.map(function (c) { return !!ids[String(c[6])]; });
      var copy = Object.assign({}, t);
      ["x", "y", "customdata", "text"].forEach(function (k) {
        if (Array.isArray(t[k])) copy[k] = t[k].filter(function (_, i) { return keep[i]; });
      });
      if (t.error_y && t.error_y.array) {
        copy.error_y = Object.assign({}, t.error_y, {
          array: t.error_y.array.filter(function (_, i) { return keep[i]; }),
          arrayminus: t.error_y.arrayminus.filter(function (_, i) { return keep[i]; })});
      }
      copy.x.forEach(function (x, i) { points.push([x, copy.y[i]]); });
      data.push(copy);
    });
    var front = fig.data.filter(function (t) { return t.meta === "frontier"; })[0];
    if (front) {
      var f = frontierOf(points);
      if (f.length) data.push(Object.assign({}, front, {x: f.map(function (p) { return p[0]; }), y: f.map(function (p) { return p[1]; })}));
    }
    return data;
  }

  function draw(el, fig, ids) {
    Plotly.react(el, filtered(fig, ids), fig.layout, CONFIG).then(function () { el.dataset.rendered = "true"; });
    if (!el.dataset.clickable) {
      el.dataset.clickable = "true";
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p && p.customdata && p.customdata[0]) window.location.href = p.customdata[0];
      });
    }
  }

  function drawCharts(ids) {
    var key = $("c-color").value + "|" + $("c-x").value + "|" + $("c-y").value;
    var fr = $("frontier");
    fr.setAttribute("aria-label", ($("c-y").value === "test2" ? "Second test" : "Test") + " accuracy against " +
                    ({params: "parameters", train_seconds: "projected training seconds"}[$("c-x").value] || "MACs"));
    fr.dataset.variant = key;
    draw(fr, FIGS.explorer[key], ids);
    draw($("test2-chart"), FIGS.test2, ids);
    draw($("timeline-chart"), FIGS.timeline, ids);
  }

  function apply() {
    var ids = visibleIds();
    sortRows();
    applyColumns();
    writeUrl();
    drawCharts(ids);
  }

  function buildColumnToggles() {
    var box = $("columns");
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-col]"), function (th) {
      if (th.dataset.col === "select" || th.dataset.col === "name") return;
      var label = document.createElement("label"), input = document.createElement("input");
      input.type = "checkbox"; input.value = th.dataset.col; input.checked = true;
      input.addEventListener("change", function () {
        state.hide = state.hide.filter(function (c) { return c !== input.value; });
        if (!input.checked) state.hide.push(input.value);
        apply();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + th.textContent.trim()));
      box.appendChild(label);
    });
  }

  function makeSortable() {
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-col]"), function (th) {
      if (th.dataset.col === "select") return;
      var button = document.createElement("button");
      button.type = "button"; button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        if (state.sort === th.dataset.col) state.dir = state.dir === "asc" ? "desc" : "asc";
        else { state.sort = th.dataset.col; state.dir = th.dataset.type === "num" ? "desc" : "asc"; }
        apply();
      });
    });
  }

  function wireCompare() {
    var cform = $("compare-form"), button = $("compare-button");
    function picked() { return Array.prototype.map.call(table.querySelectorAll("input.pick:checked"), function (b) { return b.value; }); }
    function update() { var n = picked().length; button.disabled = n < 2 || n > 4; }
    table.addEventListener("change", function (ev) { if (ev.target.classList.contains("pick")) update(); });
    cform.addEventListener("submit", function (ev) {
      ev.preventDefault();
      window.location.href = "/compare?ids=" + picked().join(",");
    });
    update();
  }

  document.documentElement.classList.add("js");
  readUrl();
  buildColumnToggles();
  makeSortable();
  wireCompare();
  form.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });
  var timer = null;
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  form.addEventListener("change", apply);
  ["c-color", "c-x", "c-y"].forEach(function (id) { $(id).addEventListener("change", apply); });
  apply();
})();
