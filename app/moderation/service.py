"""Owner and admin actions on submissions, tokens and users: hide, flag, re-run, add seeds, delete, ban. Each
writes one audit event (who, when, what, the public reason) in the caller's transaction; services never commit,
the boundary does (and the relay then sends the re-queued runs).

Deleting is soft: the entry leaves every board and list, its queued and running runs are cancelled, and its row,
runs and history stay. An entry others joined (an identical submission) or added seeds to is theirs too, and a
study's variant belongs to its study: their owner cannot delete them (409); an admin can."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.benchmarks.registry import get_benchmark
from app.core.db.boardmarks import mark_board
from app.core.db.tables import ApiToken, AuditEvent, RunStatus, Submission, User, dedup_key
from app.core.errors import Conflict, Forbidden, NotFound
from app.entries import repository as entries_repo
from app.moderation import repository as repo
from app.quotas import service as quotas
from app.quotas.service import Quota
from app.runs import repository as runs_repo
from app.specs.validation import check_seed_count
from app.users import service as users

SUBMISSION = "submission"
TOKEN = "token"
USER = "user"


class NothingToRerun(Conflict):
    """No run of the submission is in a state a re-run applies to."""


@dataclass(frozen=True)
class Requeued:
    submission: Submission
    run_ids: list[int]  # queued again (each with its outbox row)
    quota: Quota | None  # the owner's quota after this action when it was charged; None when free


def _submission(session: Session, submission_id: int) -> Submission:
    found = entries_repo.get_submission(session, submission_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(f"submission {submission_id}")
    return found


def _owner_or_admin(actor: User, submission: Submission, what: str) -> None:
    if submission.user_id != actor.id and not actor.is_admin:
        raise Forbidden(f"only the submission's owner or an admin can {what}; {actor.name} is neither")


def _admin(actor: User, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"only an admin can {what}; {actor.name} is not an admin")


def _audit(session: Session, actor: User, action: str, submission: Submission, reason: str, **details: object) -> None:
    """The audit event of an action on a submission, and its board marked for recomputing (every such action
    changes what the board shows)."""
    mark_board(session, submission.benchmark, submission.recipe_version)
    repo.add_event(
        session,
        actor_id=actor.id,
        action=action,
        target_kind=SUBMISSION,
        target_id=submission.id,
        reason=reason,
        details=dict(details),
    )


def set_hidden(session: Session, actor: User, submission_id: int, reason: str | None, *, note: str = "") -> Submission:
    """Hide (reason given) or unhide (None) an entry: hidden entries leave every board; their page stays."""
    submission = _submission(session, submission_id)
    _admin(actor, "hide or unhide a submission")
    submission.hidden_reason = reason
    if reason is not None:  # a hidden entry no longer blocks its spec: the next submission of it is a new entry
        submission.dedup_key = None
    else:
        key = dedup_key(submission.benchmark, submission.recipe_version, submission.spec_hash)
        repo.restore_dedup_key(session, submission, key)
    _audit(session, actor, "hide" if reason is not None else "unhide", submission, reason or note)
    return submission


def set_flag(session: Session, actor: User, submission_id: int, reason: str | None, *, note: str = "") -> Submission:
    """Flag (reason given) or unflag (None) an entry: it stays on the boards with the reason shown."""
    submission = _submission(session, submission_id)
    _admin(actor, "flag or unflag a submission")
    submission.flag_reason = reason
    _audit(session, actor, "flag" if reason is not None else "unflag", submission, reason or note)
    return submission


def _charge(
    session: Session, actor: User, submission: Submission, run_ids: list[int], action: str, free: bool
) -> Quota | None:
    """An owner's re-run or added seeds pay for the runs they queued in the day's run-seconds on that benchmark
    (QuotaExceeded rolls them back); an admin's, or a re-run of runs the platform broke, cost nothing."""
    if actor.is_admin or free or not run_ids:
        return None
    return quotas.charge_runs(session, actor, submission.benchmark, run_ids, action=action)


def rerun(session: Session, actor: User, submission_id: int, *, all_runs: bool = False, reason: str = "") -> Requeued:
    """Put the failed runs (or, with `all_runs`, every finished or failed run) back in the queue from scratch."""
    submission = _submission(session, submission_id)
    _owner_or_admin(actor, submission, "re-run it")
    wanted = RunStatus.DONE if all_runs else (RunStatus.FAILED,)
    runs = [r for r in submission.runs if r.status in wanted]
    if not runs:
        kind = "finished or failed" if all_runs else "failed"
        raise NothingToRerun(f"submission {submission_id} has no {kind} runs to re-run")
    infrastructure = all(r.status == RunStatus.FAILED and r.error_kind in quotas.REFUNDED_ERROR_KINDS for r in runs)
    run_ids = runs_repo.requeue_runs(session, [r.id for r in runs])
    quota = _charge(session, actor, submission, run_ids, "rerun", free=infrastructure)
    runs_repo.refresh_submission_status(session, submission.id)
    seeds = sorted(r.seed for r in runs if r.id in run_ids)
    _audit(session, actor, "rerun", submission, reason, runs=len(run_ids), seeds=seeds, all=all_runs, quota=bool(quota))
    return Requeued(_refreshed(session, submission), run_ids, quota)


def add_seeds(session: Session, actor: User, submission_id: int, count: int, *, reason: str = "") -> Requeued:
    """`count` more runs with the next seed numbers, up to the benchmark's max_seeds."""
    submission = _submission(session, submission_id)
    _owner_or_admin(actor, submission, "add seeds to it")
    have = len(submission.runs)
    check_seed_count(get_benchmark(submission.benchmark), have + count, have=have)
    first = max((r.seed for r in submission.runs), default=-1) + 1
    seeds = list(range(first, first + count))
    run_ids = runs_repo.add_runs(session, submission, seeds)
    quota = _charge(session, actor, submission, run_ids, "add_seeds", free=False)
    runs_repo.refresh_submission_status(session, submission.id)
    _audit(session, actor, "add_seeds", submission, reason, seeds=seeds, quota=bool(quota))
    return Requeued(_refreshed(session, submission), run_ids, quota)


def _refreshed(session: Session, submission: Submission) -> Submission:
    session.expire_all()  # the runs were updated in SQL: load them again
    return _submission(session, submission.id)


def delete_submission(session: Session, actor: User, submission_id: int, reason: str = "") -> None:
    """Delete (softly) as its owner or an admin: off every board and list, its unfinished runs cancelled, and
    the audit event keeps who deleted what, and why. Conflict (409) for an owner when the entry is a study's
    variant or others joined it or added seeds to it."""
    submission = _submission(session, submission_id)
    _owner_or_admin(actor, submission, "delete it")
    if not actor.is_admin:
        _deletable(session, submission)
    details = {"name": submission.name, "benchmark": submission.benchmark, "owner": submission.user.name}
    cancelled = repo.cancel_runs(session, submission.id, "cancelled: the submission was deleted")
    _audit(session, actor, "delete", submission, reason, **details, cancelled=cancelled)
    repo.soft_delete(session, submission, actor.id, reason)


def _deletable(session: Session, submission: Submission) -> None:
    if submission.study_id is not None:
        raise Conflict(
            f"submission {submission.id} is a variant of study #{submission.study_id}: deleting it alone would "
            "change the study's verdicts silently, so it cannot be deleted on its own"
        )
    others = repo.others_in(session, submission)
    if others:
        names = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise Conflict(
            f"submission {submission.id} cannot be deleted: {names} submitted the same spec or added seeds to it, "
            "so it is their entry too. Ask an admin to hide it if something is wrong with it."
        )


def ban_user(session: Session, actor: User, name: str, reason: str | None, *, note: str = "") -> User:
    """Ban (reason given) or unban (None) a user, admins only: a ban revokes every token and ends every session
    of the user at once; the audit log keeps who, when and why."""
    _admin(actor, "ban or unban a user")
    user = repo.get_user_by_name(session, name)
    if user is None:
        raise NotFound(f"user {name}")
    if reason is not None and user.id == actor.id:
        raise Conflict("an admin cannot ban themselves")
    revoked = users.ban_user(session, user, reason)
    repo.add_event(
        session,
        actor_id=actor.id,
        action="ban_user" if reason is not None else "unban_user",
        target_kind=USER,
        target_id=user.id,
        reason=reason or note,
        details={"user": user.name, "tokens": revoked},
    )
    return user


def ban_token(session: Session, actor: User, token_id: int, reason: str) -> ApiToken:
    """Revoke a token for good with a public reason: requests with it get 401 saying it was banned and why."""
    token = repo.get_token(session, token_id)
    if token is None:
        raise NotFound(f"token {token_id}")
    _admin(actor, "ban a token")
    repo.ban_token(session, token, reason)
    repo.add_event(
        session,
        actor_id=actor.id,
        action="ban",
        target_kind=TOKEN,
        target_id=token.id,
        reason=reason,
        details={"user": token.user.name, "prefix": token.prefix},
    )
    return token


def audit_log(session: Session, actor: User, *, limit: int, offset: int) -> list[AuditEvent]:
    _admin(actor, "read the audit log")
    return repo.events(session, limit=limit, offset=offset)


def history(session: Session, submission_id: int) -> list[AuditEvent]:
    """What owners and admins did to one submission, oldest first (public, like the reasons themselves)."""
    return repo.events(session, target_kind=SUBMISSION, target_id=submission_id, limit=200, newest_first=False)


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _tokens(n: int) -> str:
    return f"{n} token" if n == 1 else f"{n} tokens"


def describe(event: AuditEvent) -> str:
    """One line for people: 'alice re-ran 2 failed runs: flaky node'."""
    who = event.actor.name if event.actor is not None else "a deleted user"
    d = event.details or {}
    what = {
        "hide": "hid it",
        "unhide": "unhid it",
        "flag": "flagged it",
        "unflag": "removed the flag",
        "delete": f"deleted {d.get('name', 'it')!r}",
        "join": "submitted the same spec (joined this entry)",
        "ban_user": f"banned user {d.get('user', '?')} ({_tokens(int(d.get('tokens', 0)))} revoked)",
        "unban_user": f"unbanned user {d.get('user', '?')}",
        "rerun": f"re-ran all {_runs(int(d.get('runs', 0)))}"
        if d.get("all")
        else f"re-ran {int(d.get('runs', 0))} failed run{'' if d.get('runs') == 1 else 's'}",
        "add_seeds": f"added {len(d.get('seeds', []))} seeds ({', '.join(map(str, d.get('seeds', [])))})",
        "ban": f"banned token {d.get('prefix', '')}… of {d.get('user', '?')}",
    }.get(event.action, event.action)
    if event.action == "add_seeds" and d.get("duplicate"):
        what += " with an identical submission"
    if d.get("quota"):
        what += " (paid in run-seconds)"
    return f"{who} {what}" + (f": {event.reason}" if event.reason else "")
