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
          if (window.archarenaShowErrors) window.archarenaShowErrors([]);
          out.dataset.macs = r[1].macs; out.dataset.params = r[1].params;
          show(r[1].family + (r[1].mixer ? " / " + r[1].mixer : "") + " · " + si(r[1].params) + " params · " +
               si(r[1].macs) + " MACs per image · " + si(r[1].flops) + " FLOPs · projected " +
               duration(r[1].projected_run_seconds) + " of training per seed on the reference CPU", true);
        } else if (Array.isArray(r[1].detail)) {
          var errs = r[1].detail.map(function (e) {
            return {path: e.loc.slice(2).join("."), msg: String(e.msg).replace(/^(Value|Assertion) error, /, "")};
          });
          show(errs.map(function (e) { return (e.path || "spec") + ": " + e.msg; }).join("; "), false);
          if (window.archarenaShowErrors) window.archarenaShowErrors(errs);
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
  // Family fields, generated from the spec models (every field by path; a token mixer's or stem's own fields
  // carry "when": they exist only for that kind). Editing one rewrites the JSON box, which triggers the preview;
  // errors (the failed submit's, then the preview's) are shown beside the field they concern.
  var FORMS = JSON.parse(document.getElementById("family-forms").textContent);
  var INFO = JSON.parse(document.getElementById("bench-info").textContent);
  var fieldErrors = JSON.parse(document.getElementById("field-errors").textContent);
  var family = document.getElementById("family"), box = document.getElementById("family-fields"), current = null;

  var NAMES = {mixer: "Token mixer", kind: "Type", mlp_ratio: "MLP ratio", qkv_bias: "QKV bias", rel_pos_bias: "Relative position bias"};
  function words(name) { if (NAMES[name]) return NAMES[name]; return name.replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); }); }
  function concrete(pattern, idx) { var i = 0; return pattern.replace(/\*/g, function () { return idx[i++]; }); }
  function getPath(obj, path) {
    return path.split(".").reduce(function (o, k) { return o === undefined || o === null ? undefined : o[k]; }, obj);
  }
  function setPath(obj, path, value) {
    var keys = path.split("."), last = keys.pop();
    keys.forEach(function (k) { if (obj[k] === undefined || obj[k] === null) obj[k] = {}; obj = obj[k]; });
    if (value === undefined) delete obj[last]; else obj[last] = value;
  }
  function domId(path) { return "field-" + path.replace(/\./g, "-"); }
  function children(fields, prefix) {
    return fields.filter(function (f) {
      var rest = f.path.slice(prefix.length);
      return f.path.indexOf(prefix) === 0 && rest.length && rest.indexOf(".") < 0 && rest !== "*";
    });
  }
  function holds(f, idx) {
    return Object.keys(f.when).every(function (k) { return getPath(current, concrete(k, idx)) === f.when[k]; });
  }
  function isTag(fields, f) {
    return fields.some(function (g) { return Object.prototype.hasOwnProperty.call(g.when, f.path); });
  }
  function range(f) {
    if (f.min === null || f.max === null) return "";
    return (f.exclusive_min ? "above " : "") + f.min + "–" + f.max + (f.odd ? ", odd" : "");
  }
  function benchHint(name) {
    var lim = INFO.limits[bench.value];
    if (!lim) return "";
    if (/(^|_)widths?$/.test(name)) return "this benchmark: width at most " + lim.max_width;
    if (name === "depth" || name === "layers" || name === "blocks") return "this benchmark: total depth at most " + lim.max_depth;
    if (name === "patch_size") return "must divide the " + lim.image[1] + "×" + lim.image[2] + " image";
    return "";
  }

  function control(form, f, path) {
    var value = getPath(current, path), el;
    if (value === undefined) value = f.default;
    if (f.type === "choice" || f.type === "bool") {
      el = document.createElement("select");
      var options = f.type === "bool" ? [true, false] : (f.nullable ? [null] : []).concat(f.choices);
      options.forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = JSON.stringify(o); opt.textContent = o === null ? "none" : String(o);
        if (o === value) opt.selected = true;
        el.appendChild(opt);
      });
      el.addEventListener("change", function () {
        var v = JSON.parse(el.value);
        if (isTag(form.fields, f)) { setPath(current, path.replace(/\.[^.]+$/, ""), {kind: v}); render(); }
        else setPath(current, path, v);
        write();
      });
    } else {
      el = document.createElement("input");
      if (f.type === "list") {
        el.value = Array.isArray(value) ? value.join(", ") : ""; el.placeholder = "e.g. 2, 2, 2";
      } else {
        el.type = "number"; el.step = f.type === "int" ? "1" : "any";
        if (f.min !== null) el.min = f.min;
        if (f.max !== null) el.max = f.max;
        el.value = value === null || value === undefined ? "" : value;
      }
      el.addEventListener("input", function () {
        var v = el.value.trim();
        if (v === "") setPath(current, path, f.nullable ? null : undefined);
        else if (f.type === "list") setPath(current, path, v.split(/[\s,]+/).filter(Boolean).map(Number));
        else setPath(current, path, Number(v));
        write();
      });
    }
    el.id = domId(path); el.dataset.path = path;
    return el;
  }

  function row(form, f, path, name, item) {
    var div = document.createElement("div"), label = document.createElement("label"), hint = document.createElement("small");
    var lim = f.type === "list" && item ? range(item) + " each" : range(f);
    label.htmlFor = domId(path); label.textContent = words(name) + (lim ? " (" + lim + ")" : "");
    hint.className = "hint"; hint.id = domId(path) + "-hint";
    hint.textContent = [f.description, benchHint(name)].filter(Boolean).join(" · ");
    var el = control(form, f, path);
    el.setAttribute("aria-describedby", hint.id);
    div.className = "field"; div.appendChild(label); div.appendChild(el); div.appendChild(hint);
    return div;
  }

  function button(text, action) {
    var b = document.createElement("button"); b.type = "button"; b.className = "small"; b.textContent = text;
    b.addEventListener("click", function () { action(); render(); write(); });
    return b;
  }

  function listOf(form, f, path, name, idx, into) {
    var items = children(form.fields, f.path + ".*.");
    if (!items.length) {  // a list of numbers: one text field
      var item = form.fields.filter(function (g) { return g.path === f.path + ".*"; })[0];
      into.appendChild(row(form, f, path, name, item)); return;
    }
    var list = getPath(current, path) || [];
    list.forEach(function (_, i) {
      var set = document.createElement("fieldset"), legend = document.createElement("legend");
      set.className = "group"; set.id = domId(path + "." + i); legend.textContent = words(name.replace(/s$/, "")) + " " + (i + 1);
      set.appendChild(legend);
      level(form, f.path + ".*.", idx.concat([i]), set);
      if (list.length > (f.min_items || 1)) set.appendChild(button("Remove " + legend.textContent.toLowerCase(), function () { list.splice(i, 1); }));
      into.appendChild(set);
    });
    if (list.length < (f.max_items || 6) && list.length) {
      into.appendChild(button("Add a " + name.replace(/s$/, ""), function () { list.push(JSON.parse(JSON.stringify(list[list.length - 1]))); }));
    }
  }

  function level(form, prefix, idx, into) {
    children(form.fields, prefix).forEach(function (f) {
      if (!holds(f, idx)) return;
      var name = f.path.slice(prefix.length), path = concrete(f.path, idx);
      if (f.type === "object") {
        var set = document.createElement("fieldset"), legend = document.createElement("legend");
        set.className = "group"; set.id = domId(path); legend.textContent = words(name); legend.title = f.description;
        set.appendChild(legend); level(form, f.path + ".", idx, set); into.appendChild(set);
      } else if (f.type === "list") listOf(form, f, path, name, idx, into);
      else into.appendChild(row(form, f, path, name));
    });
  }

  function markErrors() {
    box.querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
    fieldErrors.forEach(function (e) {
      var el = document.getElementById(domId(e.path));
      if (!el || !box.contains(el)) return;
      var msg = document.createElement("span"); msg.className = "field-error"; msg.textContent = e.msg;
      if (el.tagName === "FIELDSET") { el.insertBefore(msg, el.querySelector("legend").nextSibling); return; }
      el.setAttribute("aria-invalid", "true"); el.parentNode.insertBefore(msg, el.nextSibling);
    });
  }

  function render() {
    box.querySelectorAll(":scope > :not(legend)").forEach(function (n) { n.remove(); });
    if (!family.value) { box.hidden = true; return; }
    var form = FORMS[family.value], about = document.createElement("p");
    about.className = "hint"; about.textContent = form.description; box.appendChild(about);
    level(form, "", [], box);
    box.hidden = false;
    markErrors();
  }
  function write() { spec.value = JSON.stringify(current, null, 2); later(); }
  function fromBox() {
    try { var parsed = JSON.parse(spec.value); } catch (e) { return null; }
    return parsed && parsed.family === family.value ? parsed : null;
  }

  family.addEventListener("change", function () {
    fieldErrors = [];
    if (!family.value) { render(); return; }
    current = JSON.parse(JSON.stringify(FORMS[family.value].example));
    preset.value = ""; render(); write();
  });
  preset.addEventListener("change", function () { if (preset.value) { family.value = ""; render(); } });
  spec.addEventListener("input", function () {  // typed into the JSON box: the fields follow
    var parsed = family.value ? fromBox() : null;
    if (parsed) { current = parsed; render(); }
  });
  bench.addEventListener("change", function () {  // only the presets that fit the chosen benchmark
    var keep = preset.value;
    while (preset.options.length > 1) preset.remove(1);
    (INFO.presets[bench.value] || []).forEach(function (p) { preset.add(new Option(p, p, false, p === keep)); });
    if (family.value) render();
  });
  window.archarenaShowErrors = function (errors) { fieldErrors = errors; if (family.value) markErrors(); };
  if (family.value) { current = fromBox() || JSON.parse(JSON.stringify(FORMS[family.value].example)); render(); }
  check();
})();

// The study form: example values for the chosen axis, until the user types their own.
(function () {
  var axis = document.getElementById("study-axis"), values = document.getElementById("study-values");
  var series = document.getElementById("study-series"), match = document.getElementById("study-match");
  if (!axis || !values) return;
  var examples = {
    mixer: "attention, spatial_mlp, dwconv, pooling, identity", depth: "1, 2, 4", width: "32, 48, 64",
    patch_size: "1, 2, 4", norm: "layernorm, batchnorm, groupnorm", train_fraction: "0.1, 0.3, 1", path: "1, 2, 4"
  };
  var path = document.getElementById("study-path"), studyBench = document.getElementById("study-benchmark");
  var studyPreset = document.getElementById("study-preset");
  var INFO = JSON.parse(document.getElementById("bench-info").textContent);
  studyBench.addEventListener("change", function () {  // only the presets that fit the chosen benchmark
    var keep = studyPreset.value;
    while (studyPreset.options.length) studyPreset.remove(0);
    (INFO.presets[studyBench.value] || []).forEach(function (p) { studyPreset.add(new Option(p, p, false, p === keep)); });
  });
  var touched = values.value !== examples[axis.value];
  values.addEventListener("input", function () { touched = true; });
  axis.addEventListener("change", function () {
    if (!touched) values.value = examples[axis.value] || "";
    var fractions = axis.value === "train_fraction";
    if (fractions && !series.value) series.value = "attention, dwconv, spatial_mlp";
    if (!fractions) series.value = "";
    if (axis.value === "path" && !path.value) path.value = "stages.*.depth";
    if (axis.value !== "path") path.value = "";
    match.value = (axis.value === "mixer" || fractions) ? "macs" : "";
  });
})();
