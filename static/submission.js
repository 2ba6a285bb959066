// Keeps a submission page current while its runs train: polls the JSON API, redraws the runs and curves.
(function () {
  var data = JSON.parse(document.getElementById("submission-data").textContent);
  var COLORS = JSON.parse(document.body.dataset.palette || "[\"#1f77b4\"]");  // app.web.figures.PALETTE

  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(2) + "%"; }
  function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function statusBadge(td, status) { td.textContent = ""; var s = document.createElement("span"); s.className = "status status-" + status; s.textContent = status; td.appendChild(s); }

  function duration(s) {
    if (!isFinite(s) || s < 0) return "—";
    if (s < 60) return Math.round(s) + " s";
    return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  }
  // Remaining training time of a running seed from the time its finished epochs took (elapsed_s is cumulative).
  function eta(r) {
    if (r.status !== "running" || !r.epochs_total || !r.epochs.length) return null;
    var last = r.epochs[r.epochs.length - 1], done = r.epochs_done || r.epochs.length;
    if (!done || !last.elapsed_s) return null;
    return (r.epochs_total - done) * last.elapsed_s / done;
  }
  function progress(r) {
    if (!r.epochs_total) return "—";
    var text = "epoch " + r.epochs_done + " of " + r.epochs_total, left = eta(r);
    return left === null ? text : text + " · about " + duration(left) + " left";
  }
  function clock(iso) { return iso ? new Date(iso).toISOString().slice(11, 19) : "—"; }

  function drawTimeline(sub) {
    var body = document.querySelector("#timeline tbody");
    body.textContent = "";
    sub.runs.forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, r.seed); cell(tr, clock(r.queued_at)); cell(tr, clock(r.started_at)); cell(tr, clock(r.finished_at));
      cell(tr, r.attempts, "num");
      var out = cell(tr, "");
      if (r.error_kind) { var b = document.createElement("b"); b.textContent = r.error_kind; out.appendChild(b); out.appendChild(document.createTextNode(": " + (r.error_message || ""))); }
      else out.textContent = r.status;
      body.appendChild(tr);
    });
  }

  function drawRuns(sub) {
    var body = document.querySelector("#runs tbody");
    body.textContent = "";
    sub.runs.forEach(function (r) {
      var tr = document.createElement("tr"); tr.dataset.seed = r.seed;
      cell(tr, r.seed); statusBadge(cell(tr, ""), r.status);
      cell(tr, progress(r));
      cell(tr, pct(r.train_acc), "num"); cell(tr, pct(r.val_acc), "num"); cell(tr, pct(r.test_acc), "num");
      cell(tr, pct(r.test2_acc), "num"); cell(tr, r.wall_seconds ? r.wall_seconds.toFixed(1) + " s" : "—", "num");
      cell(tr, r.device || "—"); cell(tr, r.error_kind ? r.error_kind + ": " + r.error_message : "");
      body.appendChild(tr);
    });
    var st = document.getElementById("status");
    st.textContent = sub.status; st.className = "status status-" + sub.status;
    document.getElementById("seeds").textContent = sub.seeds_finished + "/" + sub.seeds_requested;
    document.getElementById("acc").textContent = sub.test_acc_mean === null ? "—" : pct(sub.test_acc_mean) + " ± " + pct(sub.test_acc_std);
  }

  function meanBand(sub) {
    // The server's mean curve (app.entries.curves): one aggregation for every page.
    var c = sub.val_acc_curve || {epochs: [], mean: [], std: []};
    return {x: c.epochs, mean: c.mean,
      lo: c.mean.map(function (m, i) { return m - c.std[i]; }), hi: c.mean.map(function (m, i) { return m + c.std[i]; })};
  }

  function drawCurves(sub) {
    var el = document.getElementById("curves"), empty = document.getElementById("curves-empty");
    var trained = sub.runs.some(function (r) { return r.epochs.length > 0; });
    el.hidden = !trained; if (empty) empty.hidden = trained;
    if (!trained) { el.dataset.empty = "true"; return; }  // no axes with made-up ranges: the page says why
    delete el.dataset.empty;
    var traces = [], last = 1;
    sub.runs.forEach(function (r, i) {
      var c = COLORS[i % COLORS.length], x = r.epochs.map(function (e) { return e.epoch; });
      var g = "seed " + r.seed;
      last = Math.max(last, r.epochs_total || 0, Math.max.apply(null, x.concat([1])));
      traces.push({x: x, y: r.epochs.map(function (e) { return e.train_loss; }), name: g + " train loss", legendgroup: g, line: {color: c, dash: "dot"}});
      traces.push({x: x, y: r.epochs.map(function (e) { return e.val_loss; }), name: g + " val loss", legendgroup: g, line: {color: c}});
      traces.push({x: x, y: r.epochs.map(function (e) { return e.val_acc; }), name: g + " val acc", legendgroup: g, yaxis: "y2", line: {color: c, dash: "dash"}});
    });
    var band = meanBand(sub), kind = el.dataset.color || "#3451b2", c = sub.val_acc_curve || {std: [], n: []};
    if (band.x.length) {
      traces.push({x: band.x.concat(band.x.slice().reverse()), y: band.hi.concat(band.lo.slice().reverse()), yaxis: "y2",
        fill: "toself", fillcolor: kind, opacity: 0.15, line: {width: 0}, hoverinfo: "skip", name: "val acc ± std", legendgroup: "mean"});
      traces.push({x: band.x, y: band.mean, yaxis: "y2", name: "val acc mean", legendgroup: "mean", line: {color: kind, width: 3},
        customdata: band.x.map(function (_, i) { return [c.std[i] || 0, (c.n && c.n[i]) || 1]; }),
        hovertemplate: "epoch %{x}: val acc %{y:.2%} ± %{customdata[0]:.2%} (std over %{customdata[1]} seeds)<extra>mean</extra>"});
    }
    var layout = {xaxis: {title: {text: "epoch"}, tickformat: "d", dtick: 1, range: [0.5, last + 0.5]},
      yaxis: {title: {text: "loss"}, rangemode: "tozero"},
      yaxis2: {title: {text: "val accuracy"}, overlaying: "y", side: "right", tickformat: ".0%", range: [0, 1.02]},
      margin: {l: 60, r: 60, t: 20, b: 50}, legend: {orientation: "h", y: -0.3, yanchor: "top"}, height: 420,
      paper_bgcolor: "#fff", plot_bgcolor: "#fff"};
    Plotly.react(el, traces, layout, {responsive: true, displaylogo: false}).then(function () { el.dataset.rendered = "true"; });
  }

  function refresh() {
    fetch("/api/v1/submissions/" + data.id, {headers: {Accept: "application/json"}})
      .then(function (res) { return res.ok ? res.json() : Promise.reject(res.status); })
      .then(function (sub) { data = sub; drawRuns(sub); drawTimeline(sub); drawCurves(sub); schedule(); })
      .catch(function () { setTimeout(refresh, 5000); });
  }
  function schedule() { if (data.status === "queued" || data.status === "running") setTimeout(refresh, 1500); }

  var copy = document.getElementById("copy-curl");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(document.getElementById("curl").textContent).then(function () { copy.textContent = "Copied"; },
        function () { copy.textContent = "Select and copy the text"; });
    });
  }
  drawRuns(data);
  drawCurves(data);
  schedule();
})();
