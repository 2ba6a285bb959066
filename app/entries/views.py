"""Stored submissions in their API shape (shared by the JSON API and the pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.registry import get_benchmark
from app.core.db.tables import RunStatus, Submission
from app.core.errors import MAX_ID, NotFound
from app.core.queue import fairness
from app.entries import repository as repo
from app.entries.chance import chance_note
from app.entries.curves import MeanCurve, mean_curve
from app.entries.entry import Entry
from app.entries.noise import board_reference
from app.entries.schemas import CurveOut, RunOut, SubmissionOut, SubmissionSummaryOut
from app.entries.stored import entry_of


def summary_out(submission: Submission) -> SubmissionSummaryOut:
    return SubmissionSummaryOut(
        id=submission.id,
        benchmark=submission.benchmark,
        name=submission.name,
        user=submission.user.name,
        family=submission.family,
        mixer=submission.mixer,
        params=submission.params,
        macs=submission.macs,
        status=submission.status,
        seeds_requested=submission.seeds_requested,
        seeds_finished=sum(1 for r in submission.runs if r.status == RunStatus.FINISHED),
        spec_hash=submission.spec_hash,
        recipe_version=submission.recipe_version,
        created_at=submission.created_at,
        url=f"/submissions/{submission.id}",
        hidden_reason=submission.hidden_reason,
        flag_reason=submission.flag_reason,
    )


def submission_out(session: Session, submission: Submission) -> SubmissionOut:
    """The submission with its runs (loaded with their epochs) and its entry as its board shows it."""
    entry = entry_of(session, submission)
    return SubmissionOut(
        **summary_out(submission).model_dump(),
        description=submission.description,
        spec=submission.spec,
        flops=2 * submission.macs,
        deploy_params=submission.deploy_params,
        deploy_macs=submission.deploy_macs,
        macs_breakdown=submission.macs_breakdown,
        runs=[RunOut.model_validate(run) for run in submission.runs],
        test_acc_mean=entry.test_acc_mean,
        test_acc_std=entry.test_acc_std,
        chance_note=_chance(session, submission, entry),
        notes=entry.notes,
        val_acc_curve=CurveOut.model_validate(val_acc_curve(submission), from_attributes=True),
        **_cost_and_queue(session, submission),
    )


def _chance(session: Session, submission: Submission, entry: Entry) -> str | None:
    """The chance-level note for the entry, against its board's seed noise."""
    if entry.test_acc_mean is None:
        return None
    noise = board_reference(session, submission.benchmark, submission.recipe_version).ref.sigma
    low = entry.test_acc_ci[0] if entry.test_acc_ci else None
    return chance_note(entry.test_acc_mean, get_benchmark(submission.benchmark).num_classes, noise, low)


def _cost_and_queue(session: Session, submission: Submission) -> dict[str, Any]:
    """Its projected cost, and where its next queued run stands in the fair order (only read when one is)."""
    projected = next((r.projected_seconds for r in submission.runs if r.projected_seconds), None)
    position = None
    if any(r.status == RunStatus.QUEUED for r in submission.runs):
        position = fairness.snapshot(session).position(submission.id)
    return {
        "train_s_per_image": submission.train_s_per_image,
        "projected_run_seconds": projected,
        "queue_position": position.ahead if position else None,
        "estimated_start": position.estimated_start if position else None,
    }


def load_submission(session: Session, submission_id: int) -> Submission:
    """A submission with its runs and their epoch rows; NotFound (404) when there is none or it was deleted
    (its row stays for the audit log and lineage, but it is nobody's entry any more)."""
    if not 1 <= submission_id <= MAX_ID:  # ids are 32-bit in the database: asking for a larger one is no error
        raise NotFound(f"submission {submission_id}")
    submission = repo.get_submission(session, submission_id, with_epochs=True)
    if submission is None or submission.deleted_at is not None:
        raise NotFound(f"submission {submission_id}")
    return submission


def get_submission_out(session: Session, submission_id: int) -> SubmissionOut:
    return submission_out(session, load_submission(session, submission_id))


def list_summaries(
    session: Session, *, benchmark: str | None, user: str | None, status: str | None, limit: int, offset: int
) -> list[SubmissionSummaryOut]:
    """Live submissions, newest first. Hidden ones are left out, as on the boards, except from one user's list
    (their record, like their profile), where ``hidden_reason`` marks them; flagged ones carry ``flag_reason``."""
    found = repo.list_submissions(
        session, benchmark=benchmark, user=user, status=status, limit=limit, offset=offset, include_hidden=bool(user)
    )
    return [summary_out(s) for s in found]


def val_acc_curve(submission: Submission) -> MeanCurve:
    """Mean validation accuracy per epoch over the submission's runs (their epoch rows must be loaded)."""
    return mean_curve([[(e.epoch, e.val_acc) for e in run.epochs] for run in submission.runs])
