"""Creating submissions: a user's (quota, duplicates) and the platform's own (baselines, study variants).
Services never commit; the boundary does, and the relay sends the new runs after it.

A user's submission of a spec that is already a live entry (same hash, or the same function — a spec that differs
only in fields its model ignores, by the functional fingerprint — on the same benchmark and recipe version, by
anyone) joins that entry instead of making a second one: for free when it has as many seeds as were asked for, else the
missing seeds are added to it and the asker pays one daily submission for them. Identical submissions at the
same moment are one entry: the experiment is locked before the lookup, and ``submissions.dedup_key`` is unique."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.core.db.tables import RunStatus, Submission, User
from app.moderation import repository as audit
from app.quotas import service as quotas
from app.quotas.service import Quota
from app.runs import repository as runs_repo
from app.specs.data import require_data
from app.specs.measuring import fingerprint_spec
from app.specs.validation import ValidatedSpec, check_seed_count, validate_spec
from app.submissions import repository as repo
from app.submissions.schemas import SubmissionIn
from app.zoo.identity import lineage_key, size_vector
from app.zoo.spec import SpecError, parse_spec

JOIN = "join"
ADD_SEEDS = "add_seeds"


@dataclass(frozen=True)
class Joined:
    """What happened to a submission that was identical to an existing entry."""

    of: Submission
    seeds: int  # the entry's seeds now
    seeds_added: int  # added for this request (paid by the asker)
    quota_used: float  # run-seconds this request reserved from the asker's daily budget (0: none)

    @property
    def message(self) -> str:
        owner = self.of.user.name
        head = f"identical to #{self.of.id} by {owner}"
        if self.seeds_added:
            spent = f"{self.quota_used:.0f} s of your daily run-seconds" if self.quota_used else "no quota used"
            return f"{head}: {self.seeds_added} seeds added (now {self.seeds}), {spent}"
        trained = "trained" if self.of.status in RunStatus.DONE else "being trained"
        return f"{head}, {trained} with {self.seeds} seeds; no quota used"


@dataclass(frozen=True)
class SubmitOutcome:
    submission: Submission
    joined: Joined | None  # set when the spec was an existing entry: that entry, and what this request did to it
    quota: Quota

    @property
    def duplicate(self) -> bool:
        return self.joined is not None


def submit(
    session: Session, user: User, body: SubmissionIn, *, max_epochs: int | None, data_dir: Path | None = None
) -> SubmitOutcome:
    """A user's submission through the web or the API. Checks everything that costs nothing first (the spec,
    its seeds, the benchmark's data: 409 when absent), then, under the experiment's lock, joins a live entry of
    the same spec or spends one daily submission on a new one (QuotaExceeded when none is left)."""
    validated = validate_spec(body.benchmark, body.spec)
    benchmark = validated.benchmark
    require_data(benchmark, data_dir)
    seeds = body.seeds or benchmark.default_seeds
    check_seed_count(benchmark, seeds)
    recipe_version = effective_recipe_version(benchmark.recipe, max_epochs)
    function = fingerprint_spec(validated.spec, benchmark.input_shape, benchmark.num_classes)
    key = repo.dedup_key(benchmark.slug, recipe_version, function or validated.hash)
    for lock in sorted({key, repo.dedup_key(benchmark.slug, recipe_version, validated.hash)}):
        repo.lock_experiment(session, lock)  # by function and by spec: a racer without a fingerprint meets us too
    existing = repo.find_same_spec(session, benchmark.slug, validated.hash, recipe_version) or (
        repo.find_same_function(session, benchmark.slug, function, recipe_version) if function else None
    )
    if existing is not None:
        return _join(session, user, existing, seeds, body)
    submission = _create(session, user, body, validated, max_epochs, dedup_key=key, fingerprint=function)
    run_ids = [run.id for run in submission.runs]  # paid in run-seconds; QuotaExceeded rolls them back
    quota = quotas.charge_runs(session, user, submission.benchmark, run_ids, action="submit", what="this submission")
    return SubmitOutcome(submission, None, quota)


def _join(session: Session, user: User, existing: Submission, asked: int, body: SubmissionIn) -> SubmitOutcome:
    """An identical submission joins ``existing``; the seeds it asked for beyond the entry's are added to it,
    charged to the asker. Every user's first join is an audit event: an entry others joined is theirs too."""
    have = existing.seeds_requested
    if existing.user_id != user.id and not repo.has_joined(session, existing.id, user.id):
        details = {"name": body.name, "seeds_asked": asked}
        audit.add_event(session, actor_id=user.id, action=JOIN, target_kind="submission", target_id=existing.id,
                        details=details)  # fmt: skip
    if asked <= have:
        joined = Joined(existing, have, 0, 0)
        return SubmitOutcome(existing, joined, quotas.quota_for(session, user, existing.benchmark))
    first = max((r.seed for r in existing.runs), default=-1) + 1
    seeds = list(range(first, first + asked - have))
    run_ids = runs_repo.add_runs(session, existing, seeds)
    quota = quotas.charge_runs(session, user, existing.benchmark, run_ids, action="add_seeds", what="the seeds added")
    runs_repo.refresh_submission_status(session, existing.id)
    audit.add_event(
        session,
        actor_id=user.id,
        action=ADD_SEEDS,
        target_kind="submission",
        target_id=existing.id,
        reason="an identical submission asked for more seeds",
        details={"seeds": seeds, "quota": True, "duplicate": True},
    )
    session.expire_all()  # the runs and the status were updated in SQL: load them again
    refreshed = repo.find_by_id(session, existing.id)
    return SubmitOutcome(refreshed, Joined(refreshed, have + len(seeds), len(seeds), quota.charged), quota)


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
    *,
    dedup_key: str | None = None,
    fingerprint: str | None = None,
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
        dedup_key=dedup_key,
        fingerprint=fingerprint,
    )
    # Seeds 0..n-1 for every submission: the same seeds across entries make comparisons paired.
    return repo.add_submission(session, submission, list(range(seeds)))


def backfill_identity(session: Session) -> int:
    """Lineage keys and size vectors for submissions stored before they were recorded (run by ``archarena
    migrate``): every try must count in its lineage, old ones included. Returns how many were filled."""
    filled = 0
    for submission in repo.without_lineage(session):
        try:
            spec = parse_spec(submission.spec)
        except SpecError:  # stored before a zoo change made it invalid: it stays a lineage of its own
            continue
        submission.lineage_key, submission.size_vector = lineage_key(spec), size_vector(spec)
        filled += 1
    session.flush()
    return filled
