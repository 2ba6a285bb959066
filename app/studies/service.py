"""Studies: one base spec, one varied axis, several values; expanded into ordinary submissions that share
everything but the axis, optionally at equal compute, and judged pair by pair with equivalence tests.

Services never commit; the boundary does."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.service import get_or_create_user
from app.benchmarks.registry import Benchmark, get_benchmark
from app.db.tables import RunStatus, Study, Submission, User
from app.errors import InputError, NotFound
from app.leaderboard.service import board, build_entry
from app.stats.equivalence import verdict
from app.studies import repository as repo
from app.studies.schemas import StudyIn, StudyOut, StudySummaryOut, VariantOut, VerdictOut
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission, resolve_benchmark, run_ids, validate_spec
from app.zoo.limits import check_limits
from app.zoo.measure import Measurement, measure
from app.zoo.presets import PRESETS
from app.zoo.spec import SpecError, canonical_spec, parse_spec

MATCH_TOLERANCE = 0.05
"""A matched variant's MACs (or params) are within ±5% of the base spec's."""
MIN_DELTA = 0.01
STUDY_USER = "archarena"
DEMO_MIXERS: list[dict[str, Any]] = [
    {"kind": "attention", "heads": 4},
    {"kind": "spatial_mlp", "hidden_ratio": 0.5},
    {"kind": "dwconv", "kernel": 3},
    {"kind": "pooling", "pool_size": 3},
    {"kind": "identity"},
]


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
        }


# ---------------------------------------------------------------- expansion


def variant_label(axis: str, value: Any) -> str:
    """``attention(heads=4)`` for a mixer dict, the number itself otherwise."""
    if axis == "mixer" and isinstance(value, dict):
        extra = ", ".join(f"{k}={v}" for k, v in value.items() if k != "kind")
        return f"{value.get('kind')}({extra})" if extra else str(value.get("kind"))
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
    """The base canonical metaformer spec with only ``axis`` set to ``value``."""
    spec = copy.deepcopy(base)
    if axis == "mixer":
        if not isinstance(value, dict | str):
            raise InputError.one(loc, "a mixer value is a token-mixer object such as {'kind': 'attention'}")
        for stage in spec["stages"]:
            stage["mixer"] = copy.deepcopy(value)
        return spec
    if not isinstance(value, int):
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


def _base(body: StudyIn) -> tuple[Benchmark, dict[str, Any], Measurement]:
    try:
        checked = validate_spec(body.benchmark, body.base_spec)
    except InputError as exc:
        raise InputError([_relocate(e, ["body", "base_spec"], "base spec") for e in exc.errors]) from None
    if checked.family != "metaformer":
        raise InputError.one(
            ["body", "base_spec", "family"], f"a study varies a metaformer spec, not a {checked.family!r} one"
        )
    if body.match is not None and body.axis != "mixer":
        raise InputError.one(["body", "match"], "compute matching adjusts the width: only for the mixer axis")
    return checked.benchmark, checked.canonical, checked.measurement


def _relocate(error: dict[str, Any], prefix: list[str | int], who: str) -> dict[str, Any]:
    loc = list(error["loc"])
    rest = loc[2:] if loc[:2] == ["body", "spec"] else loc[1:]
    return {**error, "loc": [*prefix, *rest], "msg": f"{who}: {error['msg']}"}


def _width_step(spec: dict[str, Any]) -> int:
    """Widths are searched in multiples of lcm(heads, 4): steps of 8 at width ~48 move MACs by ~35%, too
    coarse for ±5%."""
    heads = max(int(stage["mixer"].get("heads", 1)) for stage in spec["stages"])
    return math.lcm(heads, 4)


def _try_measure(benchmark: Benchmark, spec: dict[str, Any]) -> Measurement | None:
    try:
        return measure(parse_spec(spec), benchmark.input_shape, benchmark.num_classes)
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
    """Expand a study into one plan per value. Invalid variants raise a 422 naming the variant; variants
    whose compute cannot be matched are planned with a reason instead of a spec."""
    benchmark, base, base_m = _base(body)
    labels = [variant_label(body.axis, v) for v in body.values]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise InputError.one(["body", "values", i], f"variant '{label}' appears twice")
    plans = []
    for i, (value, label) in enumerate(zip(body.values, labels, strict=True)):
        loc: list[str | int] = ["body", "values", i]
        name = variant_name(body.name, body.axis, label)
        try:
            spec = apply_axis(base, body.axis, value, loc)
            plan = _plan_variant(benchmark, base, base_m, spec, body.match, label, value)
        except InputError as exc:
            raise InputError([_relocate(e, loc, f"variant '{name}'") for e in exc.errors]) from None
        plans.append(plan)
    return benchmark, base, plans


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
        m = measure(parsed, benchmark.input_shape, benchmark.num_classes)
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


def create_study(session: Session, user: User, body: StudyIn, *, max_epochs: int | None) -> Study:
    """Plan the variants, then create one ordinary submission per matched variant (they are on the
    leaderboard too). Seeds are fixed here, before any result is seen."""
    benchmark, base, plans = plan_study(body)
    seeds = body.seeds or benchmark.default_seeds
    study = repo.add_study(
        session,
        Study(
            user_id=user.id,
            name=body.name,
            description=body.description,
            benchmark=benchmark.slug,
            axis=body.axis,
            match=body.match,
            seeds=seeds,
            base_spec=base,
            variants=[],
        ),
    )
    for i, plan in enumerate(plans):
        if plan.spec is None:
            continue
        name = variant_name(body.name, body.axis, plan.label)
        sub_in = SubmissionIn(
            benchmark=benchmark.slug,
            name=name,
            description=f"Variant of study #{study.id} ({body.name}): {body.axis} = {plan.label}.",
            spec=plan.spec,
            seeds=seeds,
        )
        try:
            submission = create_submission(session, user, sub_in, max_epochs=max_epochs)
        except InputError as exc:
            raise InputError([_relocate(e, ["body", "values", i], f"variant '{name}'") for e in exc.errors]) from None
        submission.study_id = study.id
        plan.submission_id = submission.id
    study.variants = [p.to_json() for p in plans]
    session.flush()
    return study


def study_run_ids(session: Session, study: Study) -> list[int]:
    return [rid for sub in repo.study_submissions(session, [study.id]) for rid in run_ids(sub)]


# ---------------------------------------------------------------- results and verdicts


@dataclass
class StudyView:
    out: StudyOut
    grid: list[list[dict[str, str]]] = field(default_factory=list)


def _delta(session: Session, benchmark: Benchmark, max_epochs: int | None) -> tuple[float, float]:
    noise = board(session, benchmark, max_epochs).noise_std
    return max(MIN_DELTA, 2.0 * noise), noise


def _done(sub: Submission) -> bool:
    return all(r.status in RunStatus.DONE for r in sub.runs)


def _pts(x: float) -> str:
    return f"{100.0 * x:.1f}"


def _variants(study: Study, subs: dict[int, Submission], noise_std: float) -> list[VariantOut]:
    out = []
    for plan in study.variants:
        sub = subs.get(plan["submission_id"]) if plan["submission_id"] else None
        entry = build_entry(sub, noise_std) if sub is not None else None
        out.append(
            VariantOut(
                label=plan["label"],
                value=plan["value"],
                name=variant_name(study.name, study.axis, plan["label"]),
                submission_id=sub.id if sub else None,
                url=f"/submissions/{sub.id}" if sub else None,
                status=sub.status if sub else "unmatched",
                seeds_requested=study.seeds if sub else 0,
                seeds_finished=entry.n if entry else 0,
                params=plan["params"],
                macs=plan["macs"],
                width=plan["width"],
                adjustment=plan["adjustment"],
                reason=plan["reason"],
                test_accs=entry.test_accs if entry else [],
                test_acc_mean=entry.test_acc_mean if entry else None,
                test_acc_ci=entry.test_acc_ci if entry else None,
            )
        )
    return out


def _verdict(a: VariantOut, b: VariantOut, ready: bool, delta: float) -> VerdictOut:
    if not ready or len(a.test_accs) < 2 or len(b.test_accs) < 2:
        why = "waiting for every seed" if not ready else "needs 2 finished seeds per variant"
        return VerdictOut(
            a=a.label, b=b.label, kind="pending", text=why, diff=None, ci_low=None, ci_high=None, seeds_needed=None
        )
    v = verdict(a.test_accs, b.test_accs, delta)
    text = {
        "equivalent": f"equivalent within ±{_pts(delta)} pts",
        "a_better": f"{a.label} better by {_pts(abs(v['diff']))} pts",
        "b_better": f"{b.label} better by {_pts(abs(v['diff']))} pts",
        "inconclusive": f"inconclusive — about {v['seeds_needed']} seeds per variant would decide",
    }[v["kind"]]
    return VerdictOut(
        a=a.label,
        b=b.label,
        kind=v["kind"],
        text=text,
        diff=v["diff"],
        ci_low=v["ci_low"],
        ci_high=v["ci_high"],
        seeds_needed=v["seeds_needed"],
    )


def _grid(variants: list[VariantOut], verdicts: list[VerdictOut]) -> list[list[dict[str, str]]]:
    """Rows × columns of cells {css, text}, from the row variant's side (row better → 'v-better')."""
    by_pair = {(v.a, v.b): v for v in verdicts}
    rows = []
    for row in variants:
        cells = []
        for col in variants:
            if row.label == col.label:
                cells.append({"css": "v-self", "text": "—"})
                continue
            v = by_pair.get((row.label, col.label))
            flipped = v is None
            v = v or by_pair[(col.label, row.label)]
            kind = v.kind
            if kind in ("a_better", "b_better"):
                row_wins = (kind == "a_better") != flipped
                kind = "better" if row_wins else "worse"
            cells.append({"css": f"v-{kind}", "text": v.text})
        rows.append(cells)
    return rows


def _summary(study: Study, variants: list[VariantOut], verdicts: list[VerdictOut], delta: float) -> str:
    trained = [v for v in variants if v.submission_id is not None]
    decided = [v for v in verdicts if v.kind != "pending"]
    at = f" at equal {study.match.upper() if study.match == 'macs' else study.match} (±5%)" if study.match else ""
    if len(trained) < 2:
        return "Fewer than two variants could be created, so there is nothing to compare."
    if not decided:
        done = sum(v.seeds_finished for v in trained)
        return (
            f"Not decided yet: {done} of {len(trained) * study.seeds} runs finished. Verdicts appear once every "
            f"variant has all its {study.seeds} seeds, a number fixed before training."
        )
    wins = [v for v in decided if v.kind in ("a_better", "b_better")]
    equal = [v for v in decided if v.kind == "equivalent"]
    unsure = [v for v in decided if v.kind == "inconclusive"]
    if len(equal) == len(decided):
        return (
            f"Does the {study.axis} matter on {study.benchmark}{at}? No: all {len(trained)} variants perform the "
            f"same within ±{_pts(delta)} accuracy points."
        )
    parts = []
    if wins:
        beats = [
            f"{v.a if v.kind == 'a_better' else v.b} beats {v.b if v.kind == 'a_better' else v.a} "
            f"by {_pts(abs(v.diff or 0.0))} points"
            for v in wins
        ]
        parts.append("; ".join(beats))
    if equal:
        parts.append(f"{len(equal)} of {len(decided)} pairs are the same within ±{_pts(delta)} points")
    if unsure:
        n = max(v.seeds_needed or 0 for v in unsure)
        parts.append(f"{len(unsure)} pairs are inconclusive (up to about {n} seeds per variant would decide)")
    lead = "Yes" if wins else f"Not with {study.seeds} seeds"
    return f"Does the {study.axis} matter on {study.benchmark}{at}? {lead}: " + "; ".join(parts) + "."


def _status(variants: list[VariantOut]) -> str:
    statuses = {v.status for v in variants if v.submission_id is not None}
    for s in (RunStatus.RUNNING, RunStatus.QUEUED):
        if s in statuses:
            return s
    return RunStatus.FINISHED if RunStatus.FINISHED in statuses else RunStatus.FAILED if statuses else "unmatched"


def _notes(study: Study, delta: float, noise: float) -> list[str]:
    notes = [
        f"δ = max(1 point, 2 × the benchmark's pooled seed std of its finished entries) = ±{_pts(delta)} points "
        f"(pooled seed std {_pts(noise)} points). Two variants are 'equivalent' when the 90% interval of their "
        "difference lies inside ±δ (TOST, Welch); 'better' when a two-sided Welch test at 5% separates them.",
        f"Verdicts use the {study.seeds} seeds per variant fixed before training, and only once every seed is "
        "done: no seeds are added after looking (no optional stopping), so the 5% error rates hold.",
    ]
    if study.match:
        notes.append(
            f"Equal compute: each variant's width was searched (multiples of lcm(heads, 4), within the "
            f"benchmark's limits) so its {study.match} are within ±5% of the base spec's; variants that could "
            "not be matched are listed with the reason and not trained."
        )
    return notes


def _summary_out(study: Study, variants: list[VariantOut]) -> StudySummaryOut:
    return StudySummaryOut(
        id=study.id,
        name=study.name,
        benchmark=study.benchmark,
        axis=study.axis,
        match=study.match,
        seeds=study.seeds,
        variants=len(variants),
        status=_status(variants),
        created_at=study.created_at,
        url=f"/studies/{study.id}",
    )


def study_view(session: Session, study_id: int, *, max_epochs: int | None) -> StudyView:
    study = repo.get_study(session, study_id)
    if study is None:
        raise NotFound(f"study {study_id}")
    benchmark = get_benchmark(study.benchmark)
    delta, noise = _delta(session, benchmark, max_epochs)
    subs = {s.id: s for s in repo.study_submissions(session, [study.id])}
    variants = _variants(study, subs, noise)
    ready = all(_done(s) for s in subs.values())
    trained = [v for v in variants if v.submission_id is not None]
    verdicts = [_verdict(a, b, ready, delta) for a, b in combinations(trained, 2)]
    out = StudyOut(
        **_summary_out(study, variants).model_dump(),
        description=study.description,
        user=study.user.name,
        base_spec=study.base_spec,
        delta=delta,
        noise_std=noise,
        variant_list=variants,
        verdicts=verdicts,
        summary=_summary(study, variants, verdicts, delta),
        notes=_notes(study, delta, noise),
    )
    return StudyView(out=out, grid=_grid(trained, verdicts))


def list_studies(session: Session, *, limit: int = 100, offset: int = 0) -> list[StudySummaryOut]:
    studies = repo.list_studies(session, limit=limit, offset=offset)
    subs = {s.id: s for s in repo.study_submissions(session, [s.id for s in studies])}
    out = []
    for study in studies:
        variants = _variants(study, subs, 0.0)
        out.append(_summary_out(study, variants))
    return out


# ---------------------------------------------------------------- demo


def canonical_mixer_study() -> StudyIn:
    return StudyIn(
        benchmark="digits",
        name="Which token mixer?",
        description="Does the token mixer matter at equal MACs? The tiny ViT on digits with its attention "
        "swapped for a spatial MLP, a depth-wise conv, pooling and nothing at all.",
        base_spec=copy.deepcopy(PRESETS["tiny_vit_digits"]),
        axis="mixer",
        values=copy.deepcopy(DEMO_MIXERS),  # type: ignore[arg-type]
        match="macs",
    )


def seed_studies(session: Session, max_epochs: int | None) -> list[Study]:
    """Create the canonical mixer study on digits unless it exists. Returns the new studies; the caller
    commits and queues ``study_run_ids`` of each."""
    user = get_or_create_user(session, STUDY_USER, is_admin=True)
    body = canonical_mixer_study()
    if repo.study_by_name(session, user.id, body.name) is not None:
        return []
    resolve_benchmark(body.benchmark)
    return [create_study(session, user, body, max_epochs=max_epochs)]
