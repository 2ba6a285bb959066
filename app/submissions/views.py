"""Turn a stored submission into its API shape (shared by the JSON API and the pages)."""

from __future__ import annotations

from app.core.db.tables import RunStatus, Submission
from app.leaderboard.service import build_entry
from app.submissions.schemas import RunOut, SubmissionOut, SubmissionSummaryOut


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
    )


def submission_out(submission: Submission) -> SubmissionOut:
    entry = build_entry(submission)
    return SubmissionOut(
        **summary_out(submission).model_dump(),
        description=submission.description,
        spec=submission.spec,
        flops=2 * submission.macs,
        macs_breakdown=submission.macs_breakdown,
        runs=[RunOut.model_validate(run) for run in submission.runs],
        test_acc_mean=entry.test_acc_mean,
        test_acc_std=entry.test_acc_std,
        notes=entry.notes,
        hidden_reason=submission.hidden_reason,
        flag_reason=submission.flag_reason,
    )
