// Leaderboard: the server filters, sorts and pages the table (the state lives in the query string, so a view can be
// shared and survives a reload); this script submits the filters as they change, toggles columns, and fetches each
// chart's figure JSON when it is about to be seen, for the filters on the page.
(function () {
  var table = document.getElementById("leaderboard");
  var form = document.getElementById("filters");
  var slug = form.getAttribute("action").split("/").pop();
  var CHART = {color: "c-color", x: "c-x", y: "c-y"};
  var DEFAULTS = {color: "family", x: "macs", y: "test"};
  var FILTERS = ["q", "family", "mixer", "pmin", "pmax"];
  var CONFIG = {responsive: true, displaylogo: false};
  var hide = [];

  function $(id) { return document.getElementById(id); }

  function params() { return new URLSearchParams(window.location.search); }

  function readUrl() {
    var p = params();
    Object.keys(CHART).forEach(function (k) {
      var el = $(CHART[k]), v = p.get(k) || DEFAULTS[k];
      if (Array.prototype.some.call(el.options, function (o) { return o.value === v; })) el.value = v;
    });
    hide = (p.get("hide") || "").split(",").filter(Boolean);
  }

  function writeUrl() {
    var p = params();
    Object.keys(CHART).forEach(function (k) {
      var v = $(CHART[k]).value;
      if (v !== DEFAULTS[k]) p.set(k, v); else p.delete(k);
    });
    if (hide.length) p.set("hide", hide.join(",")); else p.delete("hide");
    var qs = p.toString();
    history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
  }

  function figureUrl(kind) {
    var p = params(), q = new URLSearchParams();
    FILTERS.forEach(function (k) { if (p.get(k)) q.set(k, p.get(k)); });
    if (kind === "explorer" || kind === "timeline") q.set("color", $("c-color").value);
    if (kind === "explorer") { q.set("x", $("c-x").value); q.set("y", $("c-y").value); }
    return "/benchmarks/" + slug + "/figures/" + kind + "?" + q.toString();
  }

  function draw(el, fig) {
    return Plotly.react(el, fig.data, fig.layout, CONFIG).then(function () {
      el.dataset.rendered = "true";
      if (!el.dataset.clickable) {
        el.dataset.clickable = "true";
        el.on("plotly_click", function (ev) {
          var p = ev.points && ev.points[0];
          if (p && p.customdata && p.customdata[0]) window.location.href = p.customdata[0];
        });
      }
    });
  }

  function load(el) {
    var kind = el.dataset.figure, variant = [$("c-color").value, $("c-x").value, $("c-y").value].join("|");
    el.setAttribute("aria-busy", "true");
    return fetch(figureUrl(kind), {headers: {Accept: "application/json"}})
      .then(function (res) { if (!res.ok) throw new Error("figure " + kind + ": HTTP " + res.status); return res.json(); })
      .then(function (fig) { return draw(el, fig); })
      .then(function () { el.removeAttribute("aria-busy"); if (kind === "explorer") el.dataset.variant = variant; })
      .catch(function (err) {
        el.removeAttribute("aria-busy");
        el.dataset.failed = "true";
        el.textContent = "This chart could not be loaded (" + err.message + "); reload the page to try again.";
      });
  }

  function lazyCharts() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
    var first = charts.filter(function (el) { return el.dataset.figure === "explorer"; });
    first.forEach(load);
    var rest = charts.filter(function (el) { return el.dataset.figure !== "explorer"; });
    if (!("IntersectionObserver" in window)) { rest.forEach(load); return; }
    var seen = new IntersectionObserver(function (items) {
      items.forEach(function (item) {
        if (item.isIntersecting) { seen.unobserve(item.target); load(item.target); }
      });
    }, {rootMargin: "400px"});
    rest.forEach(function (el) { seen.observe(el); });
  }

  function explorerChanged() {
    var fr = $("frontier");
    fr.setAttribute("aria-label", ($("c-y").value === "test2" ? "Second test" : "Test") + " accuracy against " +
                    ({params: "parameters", train_seconds: "projected training seconds"}[$("c-x").value] || "MACs"));
    writeUrl();
    load(fr);
    var timeline = $("timeline-chart");
    if (timeline && timeline.dataset.rendered) load(timeline);
  }

  function applyColumns() {
    Array.prototype.forEach.call(table.querySelectorAll("[data-col]"), function (cell) {
      cell.hidden = hide.indexOf(cell.dataset.col) >= 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("#columns input"), function (box) {
      box.checked = hide.indexOf(box.value) < 0;
    });
  }

  function buildColumnToggles() {
    var box = $("columns");
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-col]"), function (th) {
      if (th.dataset.col === "select" || th.dataset.col === "name") return;
      var label = document.createElement("label"), input = document.createElement("input");
      input.type = "checkbox"; input.value = th.dataset.col; input.checked = true;
      input.addEventListener("change", function () {
        hide = hide.filter(function (c) { return c !== input.value; });
        if (!input.checked) hide.push(input.value);
        applyColumns();
        writeUrl();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + th.textContent.trim()));
      box.appendChild(label);
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

  function wireFilters() {
    // The chart's variant and the hidden columns travel with the filters; empty fields stay out of the URL.
    form.addEventListener("submit", function () {
      var p = params();
      ["color", "x", "y", "hide"].forEach(function (k) {
        if (!p.get(k)) return;
        var input = document.createElement("input");
        input.type = "hidden"; input.name = k; input.value = p.get(k);
        form.appendChild(input);
      });
      Array.prototype.forEach.call(form.querySelectorAll("input, select"), function (el) {
        if (el.name && !el.value) el.disabled = true;
      });
    });
    ["f-family", "f-mixer"].forEach(function (id) {
      $(id).addEventListener("change", function () { form.requestSubmit(); });
    });
  }

  // The board refreshes itself: every 15 s while the tab is visible it asks for the stored board's version (one
  // row, a 304 when nothing changed); a newer board reloads the page, which keeps the view in its query string —
  // unless the reader is busy (rows ticked for comparing, or typing in a filter), who gets a link instead.
  var POLL_MS = 15000;
  function busy() {
    return document.querySelector("input.pick:checked") !== null || (document.activeElement && form.contains(document.activeElement));
  }
  function newer() {
    var note = $("board-newer");
    if (busy()) {
      if (!note) {
        note = document.createElement("a");
        note.id = "board-newer";
        note.href = window.location.href;
        note.textContent = " · newer results are in: show them";
        $("board-updated").appendChild(note);
      }
      setTimeout(poll, POLL_MS);
    } else {
      window.location.reload();
    }
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, POLL_MS); return; }
    fetch("/api/v1/benchmarks/" + slug + "/leaderboard?per_page=1", {headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (b && String(b.board_version) !== $("board-updated").dataset.version) newer();
        else setTimeout(poll, POLL_MS);
      })
      .catch(function () { setTimeout(poll, 4 * POLL_MS); });
  }

  document.documentElement.classList.add("js");
  setTimeout(poll, POLL_MS);
  readUrl();
  buildColumnToggles();
  applyColumns();
  wireCompare();
  wireFilters();
  ["c-color", "c-x", "c-y"].forEach(function (id) { $(id).addEventListener("change", explorerChanged); });
  lazyCharts();
})();
