// Live preview of params and MACs from POST /api/v1/specs/validate while the spec is edited.
(function () {
  var spec = document.getElementById("spec"), bench = document.getElementById("benchmark");
  var preset = document.getElementById("preset"), out = document.getElementById("preview"), timer = null;

  function si(v) {
    var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) if (v >= units[i][0]) return (v / units[i][0]).toPrecision(3) + units[i][1];
    return String(v);
  }
  function show(text, ok) { out.textContent = text; out.className = "preview " + (ok ? "ok" : "bad"); }

  function check() {
    var parsed;
    try { parsed = JSON.parse(spec.value); } catch (e) { show("Preview needs JSON (YAML is checked on submit).", false); return; }
    fetch("/api/v1/specs/validate", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({benchmark: bench.value, spec: parsed})})
      .then(function (res) { return res.json().then(function (body) { return [res.status, body]; }); })
      .then(function (r) {
        if (r[0] === 200) {
          out.dataset.macs = r[1].macs; out.dataset.params = r[1].params;
          show(r[1].family + (r[1].mixer ? " / " + r[1].mixer : "") + " · " + si(r[1].params) + " params · " +
               si(r[1].macs) + " MACs per image · " + si(r[1].flops) + " FLOPs", true);
        } else if (Array.isArray(r[1].detail)) {
          show(r[1].detail.map(function (e) { return e.loc.slice(1).join(".") + ": " + e.msg; }).join("; "), false);
        } else { show(String(r[1].detail), false); }
      })
      .catch(function () { show("Could not reach the server.", false); });
  }
  function later() { clearTimeout(timer); timer = setTimeout(check, 250); }
  spec.addEventListener("input", later);
  bench.addEventListener("change", later);
  preset.addEventListener("change", function () {
    if (preset.value) { spec.value = JSON.stringify({preset: preset.value, overrides: {}}, null, 2); later(); }
  });
  check();
})();
