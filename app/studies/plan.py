"""Expanding a study into variants: the base metaformer spec with one axis set to each value, optionally at equal
compute (the width searched so MACs or params are within ±5% of the base's). No database; every measurement
runs in the measuring pool (``app.specs.measuring``), off the request's thread.

A training-fraction study compares *series* (token mixers, each matched like the mixer axis) at each fraction:
the variants are series × fractions, and every series trains the same spec at every fraction.

Any family can be the base of a depth, path or training-fraction study; a numeric field by path, and series of
bases sharing one axis, are planned by ``app.studies.numeric``. The mixer, width, patch-size and norm axes and
compute matching stay MetaFormer-only, and say so (422) for another family."""

from __future__ import annotations

import copy
import math
from typing import Any, get_args

from app.benchmarks.recipes import MIN_TRAIN_FRACTION
from app.benchmarks.registry import Benchmark
from app.core.errors import InputError
from app.specs.measuring import measure_spec
from app.specs.validation import ValidatedSpec, validate_spec
from app.studies.axes import depth_path
from app.studies.numeric import checked_spec, plan_bases, plan_numeric
from app.studies.schemas import StudyIn
from app.studies.variants import MAX_VARIANTS, VariantPlan, relocate, unique_labels, variant_label, variant_name
from app.zoo.limits import check_limits
from app.zoo.measure import Measurement
from app.zoo.spec import Norm, SpecError, canonical_spec, parse_spec

MATCH_TOLERANCE = 0.05
"""A matched variant's MACs (or params) are within ±5% of the base spec's."""
NORMS: tuple[str, ...] = get_args(Norm)


METAFORMER_AXES = ("mixer", "width", "patch_size", "norm")
__all__ = ["MATCH_TOLERANCE", "MAX_VARIANTS", "VariantPlan", "plan_study", "relocate", "variant_label", "variant_name"]


def first_width(spec: dict[str, Any]) -> int | None:
    """The first stage's width of a metaformer spec (None for other families: only metaformers are matched)."""
    if spec.get("family") != "metaformer":
        return None
    return int(spec["stages"][0]["width"])


def with_width(spec: dict[str, Any], width: int) -> dict[str, Any]:
    """The first stage gets ``width``; later stages keep their ratio to it (isotropic: all equal)."""
    out = copy.deepcopy(spec)
    base = int(spec["stages"][0]["width"])
    for stage in out["stages"]:
        stage["width"] = max(1, round(width * stage["width"] / base))
    return out


def apply_axis(base: dict[str, Any], axis: str, value: Any, loc: list[str | int]) -> dict[str, Any]:
    """The base canonical metaformer spec with only ``axis`` set to ``value`` (train_fraction: the spec is
    unchanged; the fraction goes on the submission)."""
    spec = copy.deepcopy(base)
    if axis == "mixer":
        if not isinstance(value, dict | str):
            raise InputError.one(loc, "a mixer value is a token-mixer object such as {'kind': 'attention'}")
        for stage in spec["stages"]:
            stage["mixer"] = copy.deepcopy(value)
        return spec
    if axis == "norm":
        if value not in NORMS:
            raise InputError.one(loc, f"a norm value is one of {', '.join(NORMS)}; got {value!r}")
        spec["norm"] = value
        return spec
    if axis == "train_fraction":
        return spec
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError.one(loc, f"a {axis} value is an integer", "int_type")
    if axis == "depth":
        for stage in spec["stages"]:
            stage["depth"] = value
    elif axis == "width":
        spec = with_width(spec, value)
    else:  # patch_size
        if spec["stem"]["kind"] != "patch":
            raise InputError.one(["body", "base_spec", "stem"], "the patch_size axis needs a 'patch' stem")
        spec["stem"]["patch_size"] = value
    return spec


def train_fraction_of(value: Any, loc: list[str | int]) -> float | None:
    """A train_fraction value as stored on the submission: None for the whole split (1 or 1.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not MIN_TRAIN_FRACTION <= value <= 1.0:
        raise InputError.one(
            loc,
            f"a train_fraction value is a number in [{MIN_TRAIN_FRACTION}, 1] (the share of the train split, "
            f"e.g. 0.1 for 10%); got {value!r}",
        )
    return None if value >= 1.0 else float(value)


def _base(body: StudyIn) -> tuple[Benchmark, dict[str, Any], Measurement, ValidatedSpec]:
    if body.base_spec is None:
        raise InputError.one(["body", "base_spec"], "give base_spec (one base) or bases (several, each a series)")
    checked = checked_spec(body.benchmark, body.base_spec, ["body", "base_spec"], "base spec")
    if checked.family != "metaformer":
        _refuse_for_family(body, checked.family)
    if body.series is not None and body.axis != "train_fraction":
        raise InputError.one(
            ["body", "series"], "series (token mixers compared at each value) are only for the train_fraction axis"
        )
    if body.match is not None and body.axis != "mixer" and body.series is None:
        raise InputError.one(
            ["body", "match"],
            "compute matching adjusts the width of each token mixer: only for the mixer axis, or the "
            "train_fraction axis with series",
        )
    _check_path_field(body)
    return checked.benchmark, checked.canonical, checked.measurement, checked


def _refuse_for_family(body: StudyIn, family: str) -> None:
    """The axes and options that only a metaformer base has, refused with what a ``family`` base can do."""
    if body.axis in METAFORMER_AXES:
        raise InputError.one(
            ["body", "axis"],
            f"the {body.axis} axis changes a metaformer spec; a {family} base can vary its depth, the training "
            f"fraction, or any numeric field by path (axis 'path', e.g. path '{depth_path(family)}')",
        )
    if body.match is not None:
        raise InputError.one(
            ["body", "match"],
            f"compute matching searches a metaformer's width for each token mixer; it does not apply to a {family} "
            "base, whose variants differ in compute (each variant's MACs are listed instead)",
        )
    if body.series is not None:
        raise InputError.one(["body", "series"], f"series of token mixers need a metaformer base, not {family}")


def _check_path_field(body: StudyIn) -> None:
    if body.axis == "path" and body.path is None:
        raise InputError.one(["body", "path"], "the path axis needs 'path': the numeric field to vary, e.g. 'layers.*'")
    if body.axis != "path" and body.path is not None:
        raise InputError.one(["body", "path"], f"'path' is for the path axis only; this study's axis is {body.axis!r}")


def _width_step(spec: dict[str, Any]) -> int:
    """Widths are searched in multiples of lcm(heads, 2): MACs grow about quadratically with width, so at width
    ~50 a step of 4 moves them by ~16% and can miss ±5% (it did for the 32×32 demo studies); a step of 2 moves
    them by ~8%, so the nearest width is always within ~±4%."""
    heads = max(int(stage["mixer"].get("heads", 1)) for stage in spec["stages"])
    return math.lcm(heads, 2)


def _try_measure(benchmark: Benchmark, spec: dict[str, Any]) -> Measurement | None:
    try:
        return measure_spec(parse_spec(spec), benchmark.input_shape, benchmark.num_classes)
    except SpecError:
        return None


def _rel(value: int, target: int) -> float:
    return value / target - 1.0


def match_width(benchmark: Benchmark, spec: dict[str, Any], target: int, key: str) -> tuple[int, Measurement] | str:
    """The width (multiple of the step, within the benchmark's width limit) whose ``key`` (macs or params) is
    closest to ``target``; a reason string when no width lands within ±5% inside the benchmark's limits.

    MACs and params grow with width, so a binary search finds the crossing and its two neighbours decide."""
    step = _width_step(spec)
    widths = list(range(step, benchmark.limits.max_width + 1, step))
    cache: dict[int, Measurement | None] = {}

    def at(i: int) -> Measurement | None:
        if i not in cache:
            cache[i] = _try_measure(benchmark, with_width(spec, widths[i]))
        return cache[i]

    lo, hi = 0, len(widths) - 1
    while lo < hi:  # smallest index whose value reaches the target
        mid = (lo + hi) // 2
        m = at(mid)
        if m is None or getattr(m, key) >= target:
            hi = mid
        else:
            lo = mid + 1
    options = [(i, at(i)) for i in {max(0, lo - 1), lo}]
    found = [(i, m) for i, m in options if m is not None]
    if not found:
        return f"no width in multiples of {step} up to {widths[-1]} gives a valid spec"
    i, best = min(found, key=lambda im: abs(_rel(getattr(im[1], key), target)))
    error = _rel(getattr(best, key), target)
    if abs(error) > MATCH_TOLERANCE:
        return (
            f"the closest width, {widths[i]} (multiples of {step}, at most {benchmark.limits.max_width}), gives "
            f"{key} {error:+.1%} from the base's, outside ±{MATCH_TOLERANCE:.0%}"
        )
    violations = check_limits(parse_spec(with_width(spec, widths[i])), best, benchmark.limits)
    if violations:
        return f"width {widths[i]} matches {key} but " + "; ".join(v["msg"] for v in violations)
    return widths[i], best


def plan_study(body: StudyIn) -> tuple[Benchmark, dict[str, Any], list[VariantPlan]]:
    """Expand a study into one plan per value (per series × value for a study with series). Invalid variants
    raise a 422 naming the variant, the value and the limit; variants whose compute cannot be matched are
    planned with a reason instead of a spec. Returns the base (for a study with several bases:
    ``{"bases": [...]}``) in canonical form."""
    if body.bases is not None:
        return plan_bases(body)
    benchmark, base, base_m, checked = _base(body)
    labels = [variant_label(body.axis, v) for v in body.values]
    unique_labels(labels, ["body", "values"])
    if body.axis == "train_fraction":
        return benchmark, base, _plan_fractions(body, benchmark, base, base_m, labels)
    if body.axis == "path" or checked.family != "metaformer":
        path = body.path or depth_path(checked.family)
        return benchmark, base, plan_numeric(body, benchmark, checked.spec, path, labels)
    plans = []
    for i, (value, label) in enumerate(zip(body.values, labels, strict=True)):
        loc: list[str | int] = ["body", "values", i]
        name = variant_name(body.name, body.axis_label or body.axis, label)
        try:
            spec = apply_axis(base, body.axis, value, loc)
            plan = _plan_variant(benchmark, base, base_m, spec, body.match, label, value)
        except InputError as exc:
            raise InputError([_placed(e, loc, f"variant '{name}'") for e in exc.errors]) from None
        if body.axis == "depth" and isinstance(value, int):
            plan.path, plan.field_value = depth_path("metaformer"), value
        plan.name, plan.axis_label = name, body.axis_label
        plans.append(plan)
    return benchmark, base, plans


def _placed(error: dict[str, Any], loc: list[str | int], who: str) -> dict[str, Any]:
    """An error already placed at the variant's value keeps its place; a spec's error is moved there."""
    if list(error["loc"][: len(loc)]) == loc:
        return {**error, "msg": f"{who}: {error['msg']}"}
    return relocate(error, loc, who)


def _plan_fractions(
    body: StudyIn, benchmark: Benchmark, base: dict[str, Any], base_m: Measurement, labels: list[str]
) -> list[VariantPlan]:
    fractions = [train_fraction_of(v, ["body", "values", i]) for i, v in enumerate(body.values)]
    series: list[Any] = list(body.series) if body.series else [None]
    if len(series) * len(fractions) > MAX_VARIANTS:
        raise InputError.one(
            ["body", "values"],
            f"{len(series)} series × {len(fractions)} fractions = {len(series) * len(fractions)} variants; "
            f"a study has at most {MAX_VARIANTS}",
        )
    series_labels = [variant_label("mixer", m) if m is not None else "" for m in series]
    unique_labels(series_labels, ["body", "series"])
    plans = []
    for j, (mixer, s_label) in enumerate(zip(series, series_labels, strict=True)):
        loc: list[str | int] = ["body", "series", j]
        try:
            spec = apply_axis(base, "mixer", mixer, loc) if mixer is not None else copy.deepcopy(base)
            template = _plan_variant(benchmark, base, base_m, spec, body.match, s_label, mixer)
        except InputError as exc:
            raise InputError([_placed(e, loc, f"series '{s_label}'") for e in exc.errors]) from None
        for value, f_label, fraction in zip(body.values, labels, fractions, strict=True):
            plans.append(
                VariantPlan(
                    label=f"{s_label} @ {f_label}" if s_label else f_label,
                    value=value,
                    spec=template.spec,
                    width=template.width,
                    adjustment=template.adjustment,
                    params=template.params,
                    macs=template.macs,
                    reason=template.reason,
                    series=s_label or None,
                    train_fraction=fraction,
                    family=template.family,
                    mixer=template.mixer,
                )
            )
    return plans


def _plan_variant(
    benchmark: Benchmark,
    base: dict[str, Any],
    base_m: Measurement,
    spec: dict[str, Any],
    match: str | None,
    label: str,
    value: Any,
) -> VariantPlan:
    plan = VariantPlan(label=label, value=value, width=first_width(spec))
    if match is not None:
        try:
            parsed = parse_spec(spec)
        except SpecError as exc:
            raise InputError([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]) from None
        spec = canonical_spec(parsed)  # mixer shorthand ("pooling") → full dict
        m = measure_spec(parsed, benchmark.input_shape, benchmark.num_classes)
        target = getattr(base_m, match)
        if abs(_rel(getattr(m, match), target)) > MATCH_TOLERANCE:
            found = match_width(benchmark, spec, target, match)
            if isinstance(found, str):
                plan.reason = f"not matched: {found}"
                plan.params, plan.macs = m.params, m.macs
                return plan
            width, _ = found
            plan.adjustment = f"width {first_width(base)} → {width}"
            spec = with_width(spec, width)
            plan.width = width
        else:
            plan.adjustment = f"none needed (width {first_width(spec)})"
    checked = validate_spec(benchmark.slug, spec)
    plan.spec = checked.canonical
    plan.params, plan.macs = checked.measurement.params, checked.measurement.macs
    plan.family, plan.mixer = checked.family, checked.mixer
    return plan
