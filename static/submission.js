// Keeps a submission page current while its runs train: polls the JSON API, redraws the runs and curves.
(function () {
  var data = JSON.parse(document.getElementById("submission-data").textContent);
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(2) + "%"; }
  function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function statusBadge(td, status) { td.textContent = ""; var s = document.createElement("span"); s.className = "status status-" + status; s.textContent = status; td.appendChild(s); }

  function drawRuns(sub) {
    var body = document.querySelector("#runs tbody");
    body.textContent = "";
    sub.runs.forEach(function (r) {
      var tr = document.createElement("tr"); tr.dataset.seed = r.seed;
      cell(tr, r.seed); statusBadge(cell(tr, ""), r.status);
      cell(tr, r.epochs_total ? "epoch " + r.epochs_done + " of " + r.epochs_total : "—");
      cell(tr, pct(r.train_acc), "num"); cell(tr, pct(r.val_acc), "num"); cell(tr, pct(r.test_acc), "num");
      cell(tr, pct(r.test2_acc), "num"); cell(tr, r.wall_seconds ? r.wall_seconds.toFixed(1) + " s" : "—", "num");
      cell(tr, r.device || "—"); cell(tr, r.error_kind ? r.error_kind + ": " + r.error_message : "");
      body.appendChild(tr);
    });
    statusBadge(document.getElementById("status"), sub.status);
    document.getElementById("seeds").textContent = sub.seeds_finished + "/" + sub.seeds_requested;
    document.getElementById("acc").textContent = sub.test_acc_mean === null ? "—" : pct(sub.test_acc_mean) + " ± " + pct(sub.test_acc_std);
  }

  function drawCurves(sub) {
    var traces = [];
    sub.runs.forEach(function (r, i) {
      var c = COLORS[i % COLORS.length], x = r.epochs.map(function (e) { return e.epoch; });
      var g = "seed " + r.seed;
      traces.push({x: x, y: r.epochs.map(function (e) { return e.train_loss; }), name: g + " train loss", legendgroup: g, line: {color: c, dash: "dot"}});
      traces.push({x: x, y: r.epochs.map(function (e) { return e.val_loss; }), name: g + " val loss", legendgroup: g, line: {color: c}});
      traces.push({x: x, y: r.epochs.map(function (e) { return e.val_acc; }), name: g + " val acc", legendgroup: g, yaxis: "y2", line: {color: c, dash: "dash"}});
    });
    var layout = {xaxis: {title: {text: "epoch"}}, yaxis: {title: {text: "loss"}},
      yaxis2: {title: {text: "val accuracy"}, overlaying: "y", side: "right", tickformat: ".0%"},
      margin: {l: 60, r: 60, t: 20, b: 50}, legend: {orientation: "h", y: -0.25}, height: 380, template: "plotly_white"};
    var el = document.getElementById("curves");
    Plotly.react(el, traces, layout, {responsive: true, displaylogo: false}).then(function () { el.dataset.rendered = "true"; });
  }

  function refresh() {
    fetch("/api/v1/submissions/" + data.id, {headers: {Accept: "application/json"}})
      .then(function (res) { return res.ok ? res.json() : Promise.reject(res.status); })
      .then(function (sub) { data = sub; drawRuns(sub); drawCurves(sub); schedule(); })
      .catch(function () { setTimeout(refresh, 5000); });
  }
  function schedule() { if (data.status === "queued" || data.status === "running") setTimeout(refresh, 1500); }

  drawCurves(data);
  schedule();
})();
