"""Creating submissions: a user's (quota, duplicates) and the platform's own (baselines, study variants).
Services never commit; the boundary does, and the relay sends the new runs after it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.core.db.tables import RunStatus, Submission, User
from app.quotas import service as quotas
from app.quotas.service import Quota
from app.specs.validation import ValidatedSpec, check_seed_count, validate_spec
from app.submissions import repository as repo
from app.submissions.schemas import SubmissionIn


@dataclass(frozen=True)
class SubmitOutcome:
    submission: Submission
    duplicate: bool  # True: an existing submission of the same spec, returned instead of a new one
    quota: Quota


def submit(session: Session, user: User, body: SubmissionIn, *, max_epochs: int | None) -> SubmitOutcome:
    """A user's submission through the web or the API: a duplicate of an existing spec (same hash, benchmark and
    recipe version, by anyone) is answered with that submission for free; anything else spends daily quota
    (QuotaExceeded when none is left)."""
    validated = validate_spec(body.benchmark, body.spec)
    recipe_version = effective_recipe_version(validated.benchmark.recipe, max_epochs)
    existing = repo.find_same_spec(session, validated.benchmark.slug, validated.hash, recipe_version)
    if existing is not None:
        return SubmitOutcome(existing, True, quotas.quota_for(session, user, validated.benchmark.slug))
    submission = _create(session, user, body, validated, max_epochs)
    run_ids = [run.id for run in submission.runs]  # paid in run-seconds; QuotaExceeded rolls them back
    quota = quotas.charge_runs(session, user, submission.benchmark, run_ids, action="submit", what="this submission")
    return SubmitOutcome(submission, False, quota)


def create_submission(
    session: Session,
    user: User,
    body: SubmissionIn,
    *,
    max_epochs: int | None,
    train_fraction: float | None = None,
) -> Submission:
    """A new submission with no quota or duplicate check (seeded baselines, studies, tests). ``train_fraction``
    trains on that share of the train split; its recipe version says so (``+train10%``), so such entries never
    mix with full-data ones on the leaderboard or in duplicate detection."""
    return _create(session, user, body, validate_spec(body.benchmark, body.spec), max_epochs, train_fraction)


def _create(
    session: Session,
    user: User,
    body: SubmissionIn,
    validated: ValidatedSpec,
    max_epochs: int | None,
    train_fraction: float | None = None,
) -> Submission:
    benchmark = validated.benchmark
    seeds = body.seeds or benchmark.default_seeds
    check_seed_count(benchmark, seeds)
    submission = Submission(
        user_id=user.id,
        benchmark=benchmark.slug,
        name=body.name,
        description=body.description,
        spec=validated.canonical,
        spec_hash=validated.hash,
        family=validated.family,
        mixer=validated.mixer,
        params=validated.measurement.params,
        macs=validated.measurement.macs,
        macs_breakdown=dict(validated.measurement.breakdown),
        lineage_key=validated.lineage_key,
        size_vector=validated.sizes,
        other_ops=validated.measurement.other_ops,
        activation_bytes=validated.measurement.activation_bytes,
        train_s_per_image=validated.cost.train_s_per_image,
        deploy_params=validated.measurement.deploy_params,
        deploy_macs=validated.measurement.deploy_macs,
        recipe_version=effective_recipe_version(benchmark.recipe, max_epochs, train_fraction),
        train_fraction=train_fraction,
        seeds_requested=seeds,
        status=RunStatus.QUEUED,
        is_baseline=False,
    )
    # Seeds 0..n-1 for every submission: the same seeds across entries make comparisons paired.
    return repo.add_submission(session, submission, list(range(seeds)))
