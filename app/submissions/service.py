"""Validating specs and creating submissions. Services never commit; the boundary does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import repository as accounts_repo
from app.benchmarks.recipes import Recipe, with_train_fraction
from app.benchmarks.registry import Benchmark, UnknownBenchmark, all_benchmarks, get_benchmark
from app.core.db.tables import RunStatus, Submission, User
from app.core.errors import Forbidden, InputError, NotFound
from app.moderation.service import record_delete
from app.quotas import service as quotas
from app.quotas.service import Quota
from app.specs.measuring import measure_spec
from app.submissions import repository as repo
from app.submissions.schemas import SubmissionIn
from app.zoo.limits import check_limits
from app.zoo.measure import Measurement
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, parse_spec, spec_hash, spec_summary


@dataclass(frozen=True)
class ValidatedSpec:
    benchmark: Benchmark
    spec: ArchSpec
    canonical: dict[str, Any]
    hash: str
    family: str
    mixer: str | None
    measurement: Measurement


def effective_recipe_version(recipe: Recipe, max_epochs: int | None) -> str:
    """The recipe version results are filed under; a capped epoch count is part of it, so capped runs
    never mix with full-recipe ones."""
    if max_epochs is not None and max_epochs < recipe.epochs:
        return f"{recipe.version}+epochs{max_epochs}"
    return recipe.version


def resolve_benchmark(slug: str) -> Benchmark:
    try:
        return get_benchmark(slug)
    except UnknownBenchmark:
        known = ", ".join(b.slug for b in all_benchmarks())
        raise InputError.one(["body", "benchmark"], f"unknown benchmark {slug!r}; known: {known}") from None


def validate_spec(benchmark_slug: str, raw_spec: object) -> ValidatedSpec:
    """Parse, measure on the meta device, and check the benchmark's limits. Nothing is allocated for real."""
    benchmark = resolve_benchmark(benchmark_slug)
    try:
        spec = parse_spec(raw_spec)
        measurement = measure_spec(spec, benchmark.input_shape, benchmark.num_classes)
    except SpecError as exc:
        raise InputError([_in_body(e) for e in exc.errors]) from None
    violations = check_limits(spec, measurement, benchmark.limits)
    if violations:
        raise InputError([_in_body(v) for v in violations])
    summary = spec_summary(spec)
    return ValidatedSpec(
        benchmark=benchmark,
        spec=spec,
        canonical=canonical_spec(spec),
        hash=spec_hash(spec),
        family=summary["family"],
        mixer=summary.get("mixer"),
        measurement=measurement,
    )


def _in_body(error: dict[str, Any]) -> dict[str, Any]:
    return {**error, "loc": ["body", *error["loc"]]}


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
    existing = accounts_repo.find_same_spec(session, validated.benchmark.slug, validated.hash, recipe_version)
    if existing is not None:
        return SubmitOutcome(existing, True, quotas.quota_for(session, user, validated.benchmark.slug))
    quota = quotas.charge(session, user, validated.benchmark.slug)
    return SubmitOutcome(_create(session, user, body, validated, max_epochs), False, quota)


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
    if seeds > benchmark.max_seeds:
        raise InputError.one(
            ["body", "seeds"],
            f"seeds {seeds} exceeds this benchmark's maximum of {benchmark.max_seeds}",
            "limit",
            value=seeds,
            limit=benchmark.max_seeds,
        )
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
        recipe_version=with_train_fraction(effective_recipe_version(benchmark.recipe, max_epochs), train_fraction),
        train_fraction=train_fraction,
        seeds_requested=seeds,
        status=RunStatus.QUEUED,
        is_baseline=False,
    )
    # Seeds 0..n-1 for every submission: the same seeds across entries make comparisons paired.
    return repo.add_submission(session, submission, list(range(seeds)))


def get_submission(session: Session, submission_id: int) -> Submission:
    submission = repo.get_submission(session, submission_id, with_epochs=True)
    if submission is None:
        raise NotFound(f"submission {submission_id}")
    return submission


def list_submissions(
    session: Session, *, benchmark: str | None, user: str | None, status: str | None, limit: int, offset: int
) -> list[Submission]:
    return repo.list_submissions(session, benchmark=benchmark, user=user, status=status, limit=limit, offset=offset)


def delete_submission(session: Session, user: User, submission_id: int, reason: str = "") -> None:
    """Delete as its owner or an admin; the audit log keeps who deleted what, and why."""
    submission = repo.get_submission(session, submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id}")
    if submission.user_id != user.id and not user.is_admin:
        raise Forbidden("only the owner or an admin can delete this submission")
    record_delete(session, user, submission, reason)
    repo.delete_submission(session, submission)


def run_ids(submission: Submission) -> list[int]:
    return [run.id for run in submission.runs if run.status == RunStatus.QUEUED]
