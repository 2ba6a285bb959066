"""Creating studies and adding looks to them: one base spec, one varied axis, several values, expanded
(``app.studies.plan``) into ordinary submissions that share everything but the axis, optionally at equal compute.
Services never commit; the boundary does (and the relay sends the new runs)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.benchmarks.registry import Benchmark
from app.core.db.tables import RunStatus, Study, Submission, User
from app.core.errors import Forbidden, InputError
from app.moderation import repository as audit
from app.quotas import service as quotas
from app.runs import repository as runs_repo
from app.specs.data import require_data
from app.specs.validation import check_seed_count, resolve_benchmark
from app.studies import repository as repo
from app.studies import verdicts as vd
from app.studies.plan import VariantPlan, plan_study, relocate, variant_name
from app.studies.schemas import StudyIn
from app.studies.views import benchmark_of, get_study, study_view, view_ready
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission


def create_study(
    session: Session,
    user: User,
    body: StudyIn,
    *,
    max_epochs: int | None,
    charge_quota: bool = True,
    data_dir: Path | None = None,
) -> Study:
    """Plan the variants, then create one ordinary submission per matched variant (they are on the
    leaderboard too). Seeds are fixed here, before any result is seen. The variants' runs are paid from the
    user's daily run-seconds on the benchmark, all together (QuotaExceeded, nothing created, when they do not
    fit). A benchmark whose data is not installed refuses first (Conflict, nothing created or charged)."""
    # Cheap checks before planning, which measures many specs.
    benchmark = resolve_benchmark(body.benchmark)
    require_data(benchmark, data_dir)
    seeds = body.seeds or benchmark.default_seeds
    check_seed_count(benchmark, seeds)
    benchmark, base, plans = plan_study(body)
    if charge_quota:
        quotas.charge(session, user, benchmark.slug)  # nothing left at all: refuse before creating anything
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
    run_ids = [
        run.id
        for i, plan in enumerate(plans)
        if plan.spec is not None
        for run in _create_variant(session, user, study, benchmark, body, plan, i, max_epochs).runs
    ]
    if charge_quota:
        quotas.charge_runs(session, user, benchmark.slug, run_ids, action="study", what="this study")
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
) -> Submission:
    assert plan.spec is not None
    name = plan.name or variant_name(body.name, body.axis, plan.label)
    sub_in = SubmissionIn(
        benchmark=benchmark.slug,
        name=name,
        description=f"Variant of study #{study.id} ({body.name}): {_what(body.axis, plan)}.",
        spec=plan.spec,
        seeds=study.seeds,
    )
    try:
        submission = create_submission(session, user, sub_in, max_epochs=max_epochs, train_fraction=plan.train_fraction)
    except InputError as exc:
        raise InputError([relocate(e, ["body", "values", index], f"variant '{name}'") for e in exc.errors]) from None
    submission.study_id = study.id
    plan.submission_id = submission.id
    return submission


def _what(axis: str, plan: VariantPlan) -> str:
    """What this variant sets, in words: "plain: stages.*.depth = 6 (layers 20)" or "depth = 3"."""
    if plan.path is None:
        return f"{axis} = {plan.label}"
    where = f"{plan.series}: " if plan.series else ""
    shown = f" ({plan.axis_label or axis} {plan.axis_value})" if plan.axis_value is not None else ""
    return f"{where}{plan.path} = {plan.field_value}{shown}"


def add_seeds(session: Session, user: User, study_id: int, k: int, *, max_epochs: int | None) -> list[int]:
    """A new look: ``k`` more seeds (new seed numbers) for every variant; returns the new run ids (each with its
    outbox row). Owner or admin only; refused (422) unless every run is done, a pair is
    inconclusive, a look is left and the benchmark's max_seeds allows it. The owner pays the new runs from the
    day's run-seconds, all or nothing (429 otherwise); an admin pays nothing."""
    study = get_study(session, study_id)
    if study.user_id != user.id and not user.is_admin:
        raise Forbidden("only the study's owner or an admin can add seeds")
    view = study_view(session, study_id, max_epochs=max_epochs).out
    ok, why = vd.can_add_seeds(view.verdicts, view_ready(view), study.looks, study.seeds, benchmark_of(study).max_seeds)
    if not ok:
        raise InputError.one(["body", "seeds"], f"cannot add seeds: {why}")
    check_seed_count(benchmark_of(study), study.seeds + k, have=study.seeds)
    subs = repo.study_submissions(session, [study.id])
    charged = not user.is_admin  # like a submission's added seeds: the owner pays, an admin's action is free
    new_seeds = list(range(study.seeds, study.seeds + k))
    ids = []
    for sub in subs:
        ids += runs_repo.add_runs(session, sub, new_seeds)
        sub.status = RunStatus.QUEUED
        # One audit event per variant: its page's history shows the look and whether the owner paid for it.
        audit.add_event(
            session,
            actor_id=user.id,
            action="add_seeds",
            target_kind="submission",
            target_id=sub.id,
            reason=f"study {study.id}, look {study.looks + 1}",
            details={"seeds": new_seeds, "quota": charged, "study": study.id},
        )
    if charged:
        quotas.charge_runs(session, user, study.benchmark, ids, action="add_seeds", what="these seeds")
    study.seeds += k
    study.looks += 1
    session.flush()
    return ids
