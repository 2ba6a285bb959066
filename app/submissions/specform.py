"""The submit form's per-family fields, derived from the spec models (``app.zoo.fields``: every field by path,
each token mixer's own fields marked with ``when``), a starting spec per family (the canonical form of its first
preset), each benchmark's limits and the presets that fit it, and errors turned into plain sentences placed on
the field they concern. Pure: no web, database or queue code."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from functools import cache
from typing import Any

from app.benchmarks.registry import Benchmark, all_benchmarks
from app.zoo.fields import spec_fields
from app.zoo.limits import presets_that_fit
from app.zoo.presets import PRESETS
from app.zoo.spec import FAMILIES, SpecError, canonical_spec, parse_spec

STUDY_DEFAULTS: dict[str, str] = {  # the submit page's study form, before anything is typed
    "name": "",
    "benchmark": "digits",
    "preset": "tiny_vit_digits",
    "axis": "mixer",
    "values": "attention, spatial_mlp, dwconv, pooling, identity",
    "series": "",
    "match": "macs",
    "seeds": "3",
    "path": "",
}
TOP_LABELS = {
    "name": "Name",
    "description": "Description",
    "benchmark": "Benchmark",
    "seeds": "Seeds",
    "token": "API token",
    "quota": "Quota",
    "spec": "Spec",
    "params": "Parameter count",
    "macs": "MACs",
    "depth": "Depth",
    "width": "Width",
    "ops": "Operations",
    "activation_bytes": "Activation memory",
    "train_seconds": "Training time",
    "run_seconds": "Training time",
}
MESSAGES = {
    "Extra inputs are not permitted": "is not a field here (check its spelling; the form lists every field)",
    "Field required": "is required",
}


def _examples() -> dict[str, dict[str, Any]]:
    examples: dict[str, dict[str, Any]] = {}
    for name in sorted(PRESETS, key=lambda n: ("digits" not in n, n)):  # small examples first
        try:
            canonical = canonical_spec(parse_spec({"preset": name}))
        except SpecError:
            continue
        examples.setdefault(str(canonical["family"]), canonical)
    return examples


@cache
def family_forms() -> dict[str, dict[str, Any]]:
    """``{family: {"description", "fields": [SpecField as a dict, ...], "example": canonical spec}}``."""
    examples = _examples()
    forms: dict[str, dict[str, Any]] = {}
    for family, model in FAMILIES.items():
        description = " ".join((model.__doc__ or "").split("\n\n")[0].split())
        fields = [asdict(f) for f in spec_fields(family)]
        forms[family] = {"description": description, "fields": fields, "example": examples.get(family, {})}
    return dict(sorted(forms.items()))


def benchmark_limits(benchmark: Benchmark) -> dict[str, Any]:
    """What the form shows next to the fields: the benchmark's limits on one spec, and its seed maximum."""
    limits = benchmark.limits
    return {
        "max_params": limits.max_params,
        "max_macs": limits.max_macs,
        "max_depth": limits.max_depth,
        "max_width": limits.max_width,
        "max_run_seconds": limits.max_run_seconds,
        "max_seeds": benchmark.max_seeds,
        "image": list(benchmark.input_shape),
    }


@cache
def fitting_presets() -> dict[str, list[str]]:
    """``{benchmark: [presets whose static counts fit its limits]}``: the form offers only these."""
    return {
        b.slug: list(presets_that_fit(b.input_shape, b.num_classes, b.limits, b.recipe.batch_size))
        for b in all_benchmarks()
    }


def field_path(loc: list[Any]) -> str:
    """``["body", "spec", "stages", 0, "width"]`` → ``"stages.0.width"``; a form field keeps its own name."""
    parts = [str(p) for p in loc if p not in ("body",)]
    if parts[:1] == ["spec"] and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


def field_label(path: str) -> str:
    """A field's name in words: ``stages.0.mixer.heads`` → ``Stage 1 mixer heads``."""
    if path in TOP_LABELS:
        return TOP_LABELS[path]
    words: list[str] = []
    for part in path.split("."):
        if part.isdigit() and words:
            words[-1] = f"{words[-1].removesuffix('s')} {int(part) + 1}"
        else:
            words.append(part.replace("_", " "))
    text = " ".join(words) or "Spec"
    return text[0].upper() + text[1:]


def _message(msg: str) -> str:
    msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    msg = MESSAGES.get(msg, msg)
    return msg.rstrip(".")


def plain_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each error as ``{"path", "label", "msg", "sentence"}``: the field it concerns (a spec path, or a form
    field's name) and one plain sentence ("Stage 1 width: is not divisible by the mixer's 4 heads.")."""
    out = []
    for error in errors:
        path = field_path(list(error.get("loc", [])))
        label, msg = field_label(path), _message(str(error.get("msg", "")))
        out.append({"path": path, "label": label, "msg": msg, "sentence": f"{label}: {msg}."})
    return out


def json_error_message(exc: json.JSONDecodeError) -> str:
    """A JSON typo, where it is: ``the spec is not valid JSON: Expecting ',' delimiter at line 3, column 5``."""
    return f"the spec is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
