"""Expanding a study into variants: the base metaformer spec with one axis set to each value, optionally at equal
compute (the width searched so MACs or params are within ±5% of the base's). No database; every measurement
runs in the measuring pool (``app.specs.measuring``), off the request's thread.

A training-fraction study compares *series* (token mixers, each matched like the mixer axis) at each fraction:
the variants are series × fractions, and every series trains the same spec at every fraction."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, get_args

from app.benchmarks.recipes import MIN_TRAIN_FRACTION, fraction_label
from app.benchmarks.registry import Benchmark
from app.core.errors import InputError
from app.specs.measuring import measure_spec
from app.specs.validation import validate_spec
from app.studies.schemas import StudyIn
from app.zoo.limits import check_limits
from app.zoo.measure import Measurement
from app.zoo.spec import Norm, SpecError, canonical_spec, parse_spec

MATCH_TOLERANCE = 0.05
"""A matched variant's MACs (or params) are within ±5% of the base spec's."""
MAX_VARIANTS = 16
"""Variants (series × values for a training-fraction study) one study may create."""
NORMS: tuple[str, ...] = get_args(Norm)


@dataclass
class VariantPlan:
    label: str
    value: Any
    spec: dict[str, Any] | None = None
    width: int | None = None
    adjustment: str | None = None
    params: int | None = None
    macs: int | None = None
    reason: str | None = None
    submission_id: int | None = None
    series: str | None = None  # training-fraction studies: the mixer this variant belongs to
    train_fraction: float | None = None  # None: the whole train split

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "width": self.width,
            "adjustment": self.adjustment,
            "params": self.params,
            "macs": self.macs,
            "reason": self.reason,
            "submission_id": self.submission_id,
            "series": self.series,
            "train_fraction": self.train_fraction,
        }


def variant_label(axis: str, value: Any) -> str:
    """``attention(heads=4)`` for a mixer dict, ``10%`` for a fraction, the value itself otherwise."""
    if axis == "mixer" and isinstance(value, dict):
        extra = ", ".join(f"{k}={v}" for k, v in value.items() if k != "kind")
        return f"{value.get('kind')}({extra})" if extra else str(value.get("kind"))
    if axis == "train_fraction" and isinstance(value, int | float):
        return fraction_label(float(value))
    return str(value)


def variant_name(study_name: str, axis: str, label: str) -> str:
    return f"{study_name} · {axis}={label}"


def first_width(spec: dict[str, Any]) -> int:
    return int(spec["stages"][0]["width"])


def with_width(spec: dict[str, Any], width: int) -> dict[str, Any]:
    """The first stage gets ``width``; later stages keep their ratio to it (isotropic: all equal)."""
    out = copy.deepcopy(spec)
    base = first_width(spec)
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


def relocate(error: dict[str, Any], prefix: list[str | int], who: str) -> dict[str, Any]:
    loc = list(error["loc"])
    rest = loc[2:] if loc[:2] == ["body", "spec"] else loc[1:]
    return {**error, "loc": [*prefix, *rest], "msg": f"{who}: {error['msg']}"}


def _base(body: StudyIn) -> tuple[Benchmark, dict[str, Any], Measurement]:
    try:
        checked = validate_spec(body.benchmark, body.base_spec)
    except InputError as exc:
        raise InputError([relocate(e, ["body", "base_spec"], "base spec") for e in exc.errors]) from None
    if checked.family != "metaformer":
        raise InputError.one(
            ["body", "base_spec", "family"], f"a study varies a metaformer spec, not a {checked.family!r} one"
        )
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
    return checked.benchmark, checked.canonical, checked.measurement


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


def _unique_labels(labels: list[str], field: str) -> None:
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise InputError.one(["body", field, i], f"'{label}' appears twice")


def plan_study(body: StudyIn) -> tuple[Benchmark, dict[str, Any], list[VariantPlan]]:
    """Expand a study into one plan per value (per series × value for a training-fraction study). Invalid
    variants raise a 422 naming the variant; variants whose compute cannot be matched are planned with a reason
    instead of a spec."""
    benchmark, base, base_m = _base(body)
    labels = [variant_label(body.axis, v) for v in body.values]
    _unique_labels(labels, "values")
    if body.axis == "train_fraction":
        return benchmark, base, _plan_fractions(body, benchmark, base, base_m, labels)
    plans = []
    for i, (value, label) in enumerate(zip(body.values, labels, strict=True)):
        loc: list[str | int] = ["body", "values", i]
        name = variant_name(body.name, body.axis, label)
        try:
            spec = apply_axis(base, body.axis, value, loc)
            plan = _plan_variant(benchmark, base, base_m, spec, body.match, label, value)
        except InputError as exc:
            raise InputError([relocate(e, loc, f"variant '{name}'") for e in exc.errors]) from None
        plans.append(plan)
    return benchmark, base, plans


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
    _unique_labels(series_labels, "series")
    plans = []
    for j, (mixer, s_label) in enumerate(zip(series, series_labels, strict=True)):
        loc: list[str | int] = ["body", "series", j]
        try:
            spec = apply_axis(base, "mixer", mixer, loc) if mixer is not None else copy.deepcopy(base)
            template = _plan_variant(benchmark, base, base_m, spec, body.match, s_label, mixer)
        except InputError as exc:
            raise InputError([relocate(e, loc, f"series '{s_label}'") for e in exc.errors]) from None
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
    return plan
