"""Studies: one base spec, one varied axis, several values; expanded (app/studies/plan.py) into ordinary
submissions that share everything but the axis, optionally at equal compute, and judged pair by pair with
equivalence tests (app/studies/verdicts.py).

Services never commit; the boundary does."""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.service import get_or_create_user
from app.benchmarks.registry import Benchmark, get_benchmark
from app.core.db.tables import RunStatus, Study, Submission, User
from app.core.errors import Forbidden, InputError, NotFound
from app.leaderboard.service import board, build_entry
from app.moderation import repository as audit
from app.quotas import service as quotas
from app.quotas.service import Quota, QuotaExceeded
from app.stats.summary import summarize
from app.studies import repository as repo
from app.studies import verdicts as vd
from app.studies.plan import VariantPlan, plan_study, relocate, variant_name
from app.studies.schemas import StudyIn, StudyOut, StudySummaryOut, VariantOut
from app.submissions import repository as submissions_repo
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission, resolve_benchmark, run_ids
from app.zoo.presets import PRESETS

MIN_DELTA = 0.01
STUDY_USER = "archarena"
DEMO_MIXERS: list[dict[str, Any]] = [
    {"kind": "attention", "heads": 4},
    {"kind": "spatial_mlp", "hidden_ratio": 0.5},
    {"kind": "dwconv", "kernel": 3},
    {"kind": "pooling", "pool_size": 3},
    {"kind": "identity"},
]
FRACTION_SERIES: list[dict[str, Any]] = [DEMO_MIXERS[0], DEMO_MIXERS[2], DEMO_MIXERS[1]]
DEMO_FRACTIONS: list[int | float | str | dict[str, Any]] = [0.1, 0.3, 1.0]
DEMO_BASES = {"digits": "tiny_vit_digits", "pathfinder": "tiny_vit_synth", "shapes": "tiny_vit_synth"}


class StudyQuotaExceeded(QuotaExceeded):
    """A study needs one submission of quota per variant, all or nothing."""

    def __init__(self, quota: Quota, now: datetime, needed: int) -> None:
        super().__init__(quota, now)
        self.args = (
            f"This study needs {needed} submissions on {quota.benchmark!r} (one per variant), but your daily "
            f"quota has {quota.message}: nothing was created. Use fewer variants, or try again after the reset.",
        )


# ---------------------------------------------------------------- creation


def _charge(session: Session, user: User, benchmark: str, needed: int) -> None:
    """All or nothing: ``quotas.charge`` locks the user (two requests cannot both take the last slots) and
    refuses when none is left; the study then needs ``needed`` of what was left before it."""
    now = datetime.now(UTC)
    try:
        after_one = quotas.charge(session, user, benchmark, now)
    except QuotaExceeded as exc:
        raise StudyQuotaExceeded(exc.quota, now, needed) from None
    if after_one.remaining + 1 < needed:
        before = Quota(benchmark, after_one.limit, after_one.used - 1, after_one.reset)
        raise StudyQuotaExceeded(before, now, needed)


def create_study(
    session: Session, user: User, body: StudyIn, *, max_epochs: int | None, charge_quota: bool = True
) -> Study:
    """Plan the variants, then create one ordinary submission per matched variant (they are on the
    leaderboard too). Seeds are fixed here, before any result is seen. The variants count against the user's
    daily quota on the benchmark, all together (StudyQuotaExceeded, nothing created, when they do not fit)."""
    benchmark, base, plans = plan_study(body)
    seeds = body.seeds or benchmark.default_seeds
    if seeds > benchmark.max_seeds:
        raise InputError.one(
            ["body", "seeds"], f"seeds {seeds} exceeds this benchmark's maximum of {benchmark.max_seeds}", "limit"
        )
    if charge_quota:
        _charge(session, user, benchmark.slug, sum(1 for p in plans if p.spec is not None))
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
            looks=1,
            base_spec=base,
            variants=[],
        ),
    )
    for i, plan in enumerate(plans):
        if plan.spec is not None:
            _create_variant(session, user, study, benchmark, body, plan, i, max_epochs)
    study.variants = [p.to_json() for p in plans]
    session.flush()
    return study


def _create_variant(
    session: Session,
    user: User,
    study: Study,
    benchmark: Benchmark,
    body: StudyIn,
    plan: VariantPlan,
    index: int,
    max_epochs: int | None,
) -> None:
    assert plan.spec is not None
    name = variant_name(body.name, body.axis, plan.label)
    sub_in = SubmissionIn(
        benchmark=benchmark.slug,
        name=name,
        description=f"Variant of study #{study.id} ({body.name}): {body.axis} = {plan.label}.",
        spec=plan.spec,
        seeds=study.seeds,
    )
    try:
        submission = create_submission(session, user, sub_in, max_epochs=max_epochs, train_fraction=plan.train_fraction)
    except InputError as exc:
        raise InputError([relocate(e, ["body", "values", index], f"variant '{name}'") for e in exc.errors]) from None
    submission.study_id = study.id
    plan.submission_id = submission.id


def study_run_ids(session: Session, study: Study) -> list[int]:
    return [rid for sub in repo.study_submissions(session, [study.id]) for rid in run_ids(sub)]


# ---------------------------------------------------------------- adding seeds


def add_seeds(session: Session, user: User, study_id: int, k: int, *, max_epochs: int | None) -> list[int]:
    """A new look: ``k`` more seeds (new seed numbers) for every variant; returns the new run ids for the
    caller to queue after its commit. Owner or admin only; refused (422) unless every run is done, a pair is
    inconclusive, a look is left and the benchmark's max_seeds allows it. The owner pays one of the day's
    submissions per variant, all or nothing (429 otherwise); an admin pays nothing."""
    study = _get(session, study_id)
    if study.user_id != user.id and not user.is_admin:
        raise Forbidden("only the study's owner or an admin can add seeds")
    view = study_view(session, study_id, max_epochs=max_epochs).out
    benchmark = get_benchmark(study.benchmark)
    ok, why = vd.can_add_seeds(view.verdicts, _ready(session, study), study.looks, study.seeds, benchmark.max_seeds)
    if not ok:
        raise InputError.one(["body", "seeds"], f"cannot add seeds: {why}")
    if study.seeds + k > benchmark.max_seeds:
        raise InputError.one(
            ["body", "seeds"],
            f"{study.seeds} + {k} seeds exceeds this benchmark's maximum of {benchmark.max_seeds} per variant; "
            f"add at most {benchmark.max_seeds - study.seeds}",
            "limit",
        )
    subs = repo.study_submissions(session, [study.id])
    charged = not user.is_admin  # like a submission's added seeds: the owner pays, an admin's action is free
    if charged:
        _charge(session, user, study.benchmark, len(subs))
    new_seeds = list(range(study.seeds, study.seeds + k))
    ids = []
    for sub in subs:
        ids += submissions_repo.add_runs(session, sub, new_seeds)
        sub.status = RunStatus.QUEUED
        # One audit event per variant: its page's history shows the look, and a charged one counts against
        # the day's quota (accounts.repository.count_charged_actions).
        audit.add_event(
            session,
            actor_id=user.id,
            action="add_seeds",
            target_kind="submission",
            target_id=sub.id,
            reason=f"study {study.id}, look {study.looks + 1}",
            details={"seeds": new_seeds, "quota": charged, "study": study.id},
        )
    study.seeds += k
    study.looks += 1
    session.flush()
    return ids


# ---------------------------------------------------------------- results and verdicts


@dataclass
class StudyView:
    out: StudyOut
    grids: list[dict[str, object]] = field(default_factory=list)


def _get(session: Session, study_id: int) -> Study:
    study = repo.get_study(session, study_id)
    if study is None:
        raise NotFound(f"study {study_id}")
    return study


def _delta(session: Session, benchmark: Benchmark, max_epochs: int | None) -> tuple[float, float]:
    noise = board(session, benchmark, max_epochs).noise_std
    return max(MIN_DELTA, 2.0 * noise), noise


def _ready(session: Session, study: Study) -> bool:
    return all(r.status in RunStatus.DONE for s in repo.study_submissions(session, [study.id]) for r in s.runs)


def _ci(values: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    if not values:
        return None, None
    s = summarize(values)
    return s.mean, (s.ci_low, s.ci_high)


def _mean_curves(session: Session, subs: dict[int, Submission]) -> dict[int, list[float]]:
    """Per submission: mean val accuracy per epoch over its finished seeds."""
    finished = {r.id: s.id for s in subs.values() for r in s.runs if r.status == RunStatus.FINISHED}
    by_sub: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run_id, epoch, val_acc in repo.val_curves(session, list(finished)):
        by_sub[finished[run_id]][epoch].append(val_acc)
    return {sid: [fmean(e[k]) for k in sorted(e)] for sid, e in by_sub.items()}


def _variants(
    study: Study, subs: dict[int, Submission], noise_std: float, curves: dict[int, list[float]] | None = None
) -> list[VariantOut]:
    out = []
    for plan in study.variants:
        sub = subs.get(plan["submission_id"]) if plan["submission_id"] else None
        entry = build_entry(sub, noise_std) if sub is not None else None
        finished = [r for r in sub.runs if r.status == RunStatus.FINISHED] if sub else []
        test2_mean, test2_ci = _ci([r.test2_acc for r in finished if r.test2_acc is not None])
        speeds = [r.images_per_second for r in finished if r.images_per_second]
        out.append(
            VariantOut(
                label=plan["label"],
                value=plan["value"],
                series=plan.get("series"),
                train_fraction=plan.get("train_fraction"),
                name=variant_name(study.name, study.axis, plan["label"]),
                submission_id=sub.id if sub else None,
                url=f"/submissions/{sub.id}" if sub else None,
                status=sub.status if sub else "unmatched",
                seeds_requested=sub.seeds_requested if sub else 0,
                seeds_finished=entry.n if entry else 0,
                params=plan["params"],
                macs=plan["macs"],
                width=plan["width"],
                adjustment=plan["adjustment"],
                reason=plan["reason"],
                test_accs=entry.test_accs if entry else [],
                test_acc_mean=entry.test_acc_mean if entry else None,
                test_acc_ci=entry.test_acc_ci if entry else None,
                test2_acc_mean=test2_mean,
                test2_acc_ci=test2_ci,
                images_per_second=fmean(speeds) if speeds else None,
                val_acc_curve=(curves or {}).get(sub.id, []) if sub else [],
                hidden_reason=sub.hidden_reason if sub else None,
                flag_reason=sub.flag_reason if sub else None,
            )
        )
    return out


def _status(variants: list[VariantOut]) -> str:
    statuses = {v.status for v in variants if v.submission_id is not None}
    for s in (RunStatus.RUNNING, RunStatus.QUEUED):
        if s in statuses:
            return s
    return RunStatus.FINISHED if RunStatus.FINISHED in statuses else RunStatus.FAILED if statuses else "unmatched"


def _summary_out(study: Study, variants: list[VariantOut]) -> StudySummaryOut:
    return StudySummaryOut(
        id=study.id,
        name=study.name,
        benchmark=study.benchmark,
        axis=study.axis,
        match=study.match,
        seeds=study.seeds,
        looks=study.looks,
        variants=len(variants),
        status=_status(variants),
        created_at=study.created_at,
        url=f"/studies/{study.id}",
    )


def study_view(session: Session, study_id: int, *, max_epochs: int | None) -> StudyView:
    study = _get(session, study_id)
    benchmark = get_benchmark(study.benchmark)
    delta, noise = _delta(session, benchmark, max_epochs)
    subs = {s.id: s for s in repo.study_submissions(session, [study.id])}
    variants = _variants(study, subs, noise, _mean_curves(session, subs))
    ready = all(r.status in RunStatus.DONE for s in subs.values() for r in s.runs)
    alpha = vd.alpha_at(min(study.looks, vd.MAX_LOOKS))
    verdicts = vd.all_verdicts(variants, ready, delta, alpha)
    can_add, blocked = vd.can_add_seeds(verdicts, ready, study.looks, study.seeds, benchmark.max_seeds)
    out = StudyOut(
        **_summary_out(study, variants).model_dump(),
        description=study.description,
        user=study.user.name,
        base_spec=study.base_spec,
        delta=delta,
        noise_std=noise,
        variant_list=variants,
        series=list(dict.fromkeys(v.series for v in variants if v.series)),
        max_looks=vd.MAX_LOOKS,
        alpha=alpha,
        can_add_seeds=can_add,
        add_seeds_blocked=blocked,
        verdicts=verdicts,
        summary=vd.summary(
            study.axis,
            study.benchmark,
            study.match,
            study.seeds,
            variants,
            verdicts,
            delta,
            1.0 / benchmark.num_classes,
        ),
        notes=vd.notes(study.match, study.seeds, study.looks, alpha, delta, noise),
    )
    return StudyView(out=out, grids=vd.grids(variants, verdicts))


def can_manage(study: StudyOut, user: User | None) -> bool:
    return user is not None and (user.is_admin or user.name == study.user)


def list_studies(session: Session, *, limit: int = 100, offset: int = 0) -> list[StudySummaryOut]:
    studies = repo.list_studies(session, limit=limit, offset=offset)
    subs = {s.id: s for s in repo.study_submissions(session, [s.id for s in studies])}
    return [_summary_out(study, _variants(study, subs, 0.0)) for study in studies]


# ---------------------------------------------------------------- demo


def canonical_mixer_study(benchmark: str = "digits") -> StudyIn:
    base = DEMO_BASES[benchmark]
    return StudyIn(
        benchmark=benchmark,
        name=f"Which token mixer? ({benchmark})",
        description=f"Does the token mixer matter at equal MACs? The {base} preset on {benchmark} with its "
        "attention swapped for a spatial MLP, a depth-wise conv, pooling and nothing at all.",
        base_spec=copy.deepcopy(PRESETS[base]),
        axis="mixer",
        values=copy.deepcopy(DEMO_MIXERS),  # type: ignore[arg-type]
        match="macs",
    )


def canonical_fraction_study() -> StudyIn:
    return StudyIn(
        benchmark="digits",
        name="Inductive bias vs data (digits)",
        description="Do convolutions win when data is scarce? Attention, a depth-wise conv and a spatial MLP at "
        "equal MACs, each trained on 10%, 30% and 100% of the digits train split with the same recipe.",
        base_spec=copy.deepcopy(PRESETS["tiny_vit_digits"]),
        axis="train_fraction",
        values=list(DEMO_FRACTIONS),
        series=copy.deepcopy(FRACTION_SERIES),  # type: ignore[arg-type]
        match="macs",
    )


def demo_studies() -> list[StudyIn]:
    """In queue order: the quick digits studies first, then the 32×32 benchmarks."""
    return [
        canonical_mixer_study("digits"),
        canonical_fraction_study(),
        canonical_mixer_study("pathfinder"),
        canonical_mixer_study("shapes"),
    ]


def seed_studies(session: Session, max_epochs: int | None, benchmark: str | None = None) -> list[Study]:
    """Create the demo's canonical studies (on ``benchmark``, or all) that do not exist yet (by name). They are
    exempt from quotas. Returns the new studies; the caller commits and queues ``study_run_ids`` of each (after
    the benchmark's baselines, which were created first and so are queued first)."""
    user = get_or_create_user(session, STUDY_USER, is_admin=True)
    created = []
    for body in demo_studies():
        if benchmark is not None and body.benchmark != benchmark:
            continue
        if repo.study_by_name(session, user.id, body.name) is not None:
            continue
        resolve_benchmark(body.benchmark)
        created.append(create_study(session, user, body, max_epochs=max_epochs, charge_quota=False))
    return created
