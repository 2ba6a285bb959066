"""Planning a study whose axis is a numeric field of the spec (any family): one base, or several bases that
share the axis, each a series (a plain CNN and a ResNet at the same depths). Every value is checked against the
field's own limits, then every variant is measured and held to the benchmark's limits; a value that does not
fit is a 422 naming the variant, the value and the limit. Compute is not matched: each variant's MACs are
stated."""

from __future__ import annotations

from typing import Any

from app.benchmarks.registry import Benchmark
from app.core.errors import InputError
from app.specs.validation import ValidatedSpec, resolve_benchmark, validate_spec
from app.studies.axes import apply_path, depth_path, numeric_field
from app.studies.schemas import BaseIn, StudyIn
from app.studies.variants import MAX_VARIANTS, VariantPlan, relocate, unique_labels, variant_label
from app.zoo.spec import ArchSpec

Loc = list[str | int]


def checked_spec(benchmark: str, raw: object, loc: Loc, who: str) -> ValidatedSpec:
    """``validate_spec`` with its errors placed at ``loc`` and opened with ``who``."""
    try:
        return validate_spec(benchmark, raw)
    except InputError as exc:
        raise InputError([relocate(e, loc, who) for e in exc.errors]) from None


def axis_name(body: StudyIn, path: str | None) -> str:
    """How variant names and pages call the axis: its label, the path of a path axis, or the axis."""
    return body.axis_label or (path if body.axis == "path" and path else body.axis)


def numeric_variant(
    benchmark: Benchmark, base: ArchSpec, path: str, field_value: Any, loc: Loc, plan: VariantPlan
) -> VariantPlan:
    """``plan`` completed: the base with ``path`` set to ``field_value``, measured and within the benchmark's
    limits (a 422 at ``loc`` naming the variant, the value and the limit otherwise)."""
    who = f"variant '{plan.name}' ({path} = {field_value})"
    try:
        spec = apply_path(base, path, field_value, loc)
    except InputError as exc:
        raise InputError([{**e, "msg": f"{who}: {e['msg']}"} for e in exc.errors]) from None
    checked = checked_spec(benchmark.slug, spec, loc, who)
    plan.spec = checked.canonical
    plan.params, plan.macs = checked.measurement.params, checked.measurement.macs
    plan.path, plan.field_value = path, field_value
    plan.family, plan.mixer = checked.family, checked.mixer
    return plan


def plan_numeric(
    body: StudyIn, benchmark: Benchmark, base: ArchSpec, path: str, labels: list[str]
) -> list[VariantPlan]:
    """One base, ``path`` set to each value."""
    numeric_field(base, path, ["body", "path"])
    name = axis_name(body, path)
    plans = []
    for i, (value, label) in enumerate(zip(body.values, labels, strict=True)):
        plan = VariantPlan(label=label, value=value, name=f"{body.name} · {name}={label}", axis_label=body.axis_label)
        plans.append(numeric_variant(benchmark, base, path, value, ["body", "values", i], plan))
    return plans


def _check_bases(body: StudyIn, bases: list[BaseIn]) -> None:
    if body.axis not in ("depth", "path"):
        raise InputError.one(
            ["body", "bases"],
            f"bases (several base specs on one axis) need a numeric axis, depth or path, not {body.axis}",
        )
    if body.base_spec is not None:
        raise InputError.one(["body", "base_spec"], "give either base_spec (one base) or bases, not both")
    if body.series is not None or body.match is not None:
        field = "series" if body.series is not None else "match"
        raise InputError.one(
            ["body", field], f"{field} is for token-mixer studies of one metaformer base; not with bases"
        )
    if body.axis == "depth" and body.path is not None:
        raise InputError.one(["body", "path"], "'path' is for the path axis only; this study's axis is 'depth'")
    for i, value in enumerate(body.values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError.one(["body", "values", i], f"the values of a study with bases are numbers; got {value!r}")
    if len(bases) * len(body.values) > MAX_VARIANTS:
        raise InputError.one(
            ["body", "values"],
            f"{len(bases)} bases × {len(body.values)} values = {len(bases) * len(body.values)} variants; "
            f"a study has at most {MAX_VARIANTS}",
        )
    unique_labels([b.name for b in bases], ["body", "bases"])


def _base_path(body: StudyIn, base: BaseIn, family: str, j: int) -> str:
    path = base.path or body.path or (depth_path(family) if body.axis == "depth" else None)
    if path is None:
        raise InputError.one(["body", "bases", j, "path"], "the path axis needs a path: the study's or this base's")
    return path


def _field_values(body: StudyIn, base: BaseIn, j: int) -> tuple[list[Any], str]:
    """This base's field value at each of the study's values, and where in the request they come from."""
    if base.values is None:
        return list(body.values), "values"
    if len(base.values) != len(body.values):
        raise InputError.one(
            ["body", "bases", j, "values"],
            f"{len(base.values)} values for the study's {len(body.values)}: give one per study value, in order",
        )
    return list(base.values), "bases"


def _plan_base(
    body: StudyIn, benchmark: Benchmark, j: int, labels: list[str]
) -> tuple[dict[str, Any], list[VariantPlan]]:
    assert body.bases is not None
    base = body.bases[j]
    checked = checked_spec(benchmark.slug, base.spec, ["body", "bases", j, "spec"], f"base '{base.name}'")
    path = _base_path(body, base, checked.family, j)
    numeric_field(checked.spec, path, ["body", "bases", j, "path"])
    values, source = _field_values(body, base, j)
    name = axis_name(body, path)
    plans = []
    for i, (value, field_value, label) in enumerate(zip(body.values, values, labels, strict=True)):
        loc: Loc = ["body", "bases", j, "values", i] if source == "bases" else ["body", "values", i]
        plan = VariantPlan(
            label=f"{base.name} @ {label}",
            value=value,
            series=base.name,
            axis_value=label,
            name=f"{body.name} · {base.name} · {name}={label}",
            axis_label=body.axis_label,
        )
        plans.append(numeric_variant(benchmark, checked.spec, path, field_value, loc, plan))
    described = {"name": base.name, "family": checked.family, "spec": checked.canonical, "path": path}
    return {**described, "values": values}, plans


def plan_bases(body: StudyIn) -> tuple[Benchmark, dict[str, Any], list[VariantPlan]]:
    """Every base × every value; the base returned is ``{"bases": [{name, family, spec, path, values}]}``."""
    assert body.bases is not None
    _check_bases(body, body.bases)
    benchmark = resolve_benchmark(body.benchmark)
    labels = [variant_label(body.axis, v) for v in body.values]
    unique_labels(labels, ["body", "values"])
    described, plans = [], []
    for j in range(len(body.bases)):
        base, found = _plan_base(body, benchmark, j, labels)
        described.append(base)
        plans += found
    return benchmark, {"bases": described}, plans
