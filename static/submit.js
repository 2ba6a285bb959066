// Live preview of params and MACs from POST /api/v1/specs/validate while the spec is edited.
(function () {
  var spec = document.getElementById("spec"), bench = document.getElementById("benchmark");
  var preset = document.getElementById("preset"), out = document.getElementById("preview"), timer = null;

  function si(v) {
    var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) if (v >= units[i][0]) return (v / units[i][0]).toPrecision(3) + units[i][1];
    return String(v);
  }
  function duration(s) {
    if (s < 9.5) return s.toFixed(1) + " s";
    if (s < 600) return Math.round(s) + " s";
    return s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
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
               si(r[1].macs) + " MACs per image · " + si(r[1].flops) + " FLOPs · projected " +
               duration(r[1].projected_run_seconds) + " of training per seed on the reference CPU", true);
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
  // Family fields: inputs for the scalar fields of the chosen family (limits from the JSON schema); editing one
  // rewrites the JSON box, which triggers the preview. Nested fields stay editable in the JSON box.
  var FORMS = JSON.parse(document.getElementById("family-forms").textContent);
  var family = document.getElementById("family"), box = document.getElementById("family-fields"), current = null;

  function limits(f) {
    var parts = [];
    if (f.min !== null && f.min !== undefined) parts.push(f.min);
    if (f.max !== null && f.max !== undefined) parts.push(f.max);
    return parts.length === 2 ? " (" + parts[0] + "–" + parts[1] + (f.kind === "int_list" ? " each" : "") + ")" : "";
  }
  function write() { spec.value = JSON.stringify(current, null, 2); later(); }

  function input(f) {
    var value = current[f.name] !== undefined ? current[f.name] : f.default, el;
    if (f.kind === "enum" || f.kind === "bool") {
      el = document.createElement("select");
      (f.kind === "bool" ? [true, false] : f.options).forEach(function (o) {
        var opt = document.createElement("option"); opt.value = JSON.stringify(o); opt.textContent = String(o);
        if (o === value) opt.selected = true;
        el.appendChild(opt);
      });
      el.addEventListener("change", function () { current[f.name] = JSON.parse(el.value); write(); });
    } else {
      el = document.createElement("input");
      if (f.kind === "int_list") {
        el.value = Array.isArray(value) ? value.join(", ") : "";
        el.placeholder = "e.g. 2, 2, 2";
      } else {
        el.type = "number"; el.step = f.kind === "int" ? "1" : "any";
        if (f.min !== null && f.min !== undefined) el.min = f.min;
        if (f.max !== null && f.max !== undefined) el.max = f.max;
        el.value = value === null || value === undefined ? "" : value;
      }
      el.addEventListener("input", function () {
        var v = el.value.trim();
        if (v === "") { delete current[f.name]; }
        else if (f.kind === "int_list") { current[f.name] = v.split(/[\s,]+/).filter(Boolean).map(Number); }
        else { current[f.name] = Number(v); }
        write();
      });
    }
    el.id = "field-" + f.name;
    return el;
  }

  function renderFamily() {
    box.querySelectorAll("div, p").forEach(function (n) { n.remove(); });
    if (!family.value) { box.hidden = true; return; }
    var form = FORMS[family.value], nested = [];
    current = JSON.parse(JSON.stringify(form.example));
    var about = document.createElement("p"); about.className = "hint"; about.textContent = form.description; box.appendChild(about);
    form.fields.forEach(function (f) {
      if (f.kind === "json") { nested.push(f.name); return; }
      var row = document.createElement("div"), label = document.createElement("label");
      label.htmlFor = "field-" + f.name; label.textContent = f.title + limits(f);
      if (f.description) label.title = f.description;
      row.appendChild(label); row.appendChild(input(f)); box.appendChild(row);
    });
    if (nested.length) {
      var note = document.createElement("p"); note.className = "hint";
      note.textContent = "Edit in the JSON box: " + nested.join(", ") + ".";
      box.appendChild(note);
    }
    box.hidden = false;
    preset.value = "";
    write();
  }
  family.addEventListener("change", renderFamily);
  preset.addEventListener("change", function () { if (preset.value) { family.value = ""; box.hidden = true; } });
  check();
})();

// The study form: example values for the chosen axis, until the user types their own.
(function () {
  var axis = document.getElementById("study-axis"), values = document.getElementById("study-values");
  var series = document.getElementById("study-series"), match = document.getElementById("study-match");
  if (!axis || !values) return;
  var examples = {
    mixer: "attention, spatial_mlp, dwconv, pooling, identity", depth: "1, 2, 4", width: "32, 48, 64",
    patch_size: "1, 2, 4", norm: "layernorm, batchnorm, groupnorm", train_fraction: "0.1, 0.3, 1"
  };
  var touched = false;
  values.addEventListener("input", function () { touched = true; });
  axis.addEventListener("change", function () {
    if (!touched) values.value = examples[axis.value] || "";
    var fractions = axis.value === "train_fraction";
    if (fractions && !series.value) series.value = "attention, dwconv, spatial_mlp";
    if (!fractions) series.value = "";
    match.value = (axis.value === "mixer" || fractions) ? "macs" : "";
  });
})();
