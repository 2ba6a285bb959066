"""Daily submission quotas: per user, per benchmark, per UTC day, shown before they bite.

A submission whose runs all failed for infrastructure reasons (the worker crashed, or the run hit the time
limit) is refunded; a duplicate of an existing spec costs nothing because nothing new is trained. An owner's
re-run (unless every re-run run failed for infrastructure reasons) and an owner's added seeds cost one submission
each: both train again. An admin's cost nothing (moderation, not the admin's own experiments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from app.core.db.tables import User
from app.core.errors import TooManyRequests
from app.quotas import repository as repo

DEFAULT_DAILY_LIMIT = 20
# Per-benchmark overrides of the daily limit, by slug (e.g. a costly benchmark gets fewer).
DAILY_LIMITS: dict[str, int] = {}
# Run error kinds that are the platform's fault, not the submitter's: such failures are refunded.
REFUNDED_ERROR_KINDS: tuple[str, ...] = ("crashed", "timeout")

QUOTA_HEADERS_DOC: dict[str, dict[str, object]] = {
    "X-Quota-Limit": {"description": "Submissions a day on this benchmark.", "schema": {"type": "integer"}},
    "X-Quota-Remaining": {"description": "Submissions left today.", "schema": {"type": "integer"}},
    "X-Quota-Reset": {"description": "When the count resets (ISO 8601, UTC).", "schema": {"type": "string"}},
}


def daily_limit(benchmark: str) -> int:
    return DAILY_LIMITS.get(benchmark, DEFAULT_DAILY_LIMIT)


@dataclass(frozen=True)
class Quota:
    benchmark: str
    limit: int
    used: int
    reset: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def message(self) -> str:
        return f"{self.remaining} of {self.limit} left, resets {self.reset:%H:%M} UTC"

    def headers(self) -> dict[str, str]:
        return {
            "X-Quota-Limit": str(self.limit),
            "X-Quota-Remaining": str(self.remaining),
            "X-Quota-Reset": self.reset.isoformat().replace("+00:00", "Z"),
        }


class QuotaExceeded(TooManyRequests):
    def __init__(self, quota: Quota, now: datetime, message: str | None = None) -> None:
        text = message or f"Daily submission quota for {quota.benchmark!r} used up: {quota.message}."
        super().__init__(text, int((quota.reset - now).total_seconds()), quota.headers())
        self.quota = quota


def quota_for(session: Session, user: User, benchmark: str, now: datetime | None = None) -> Quota:
    now = now or datetime.now(UTC)
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    used = repo.count_charged_submissions(session, user.id, benchmark, day_start, REFUNDED_ERROR_KINDS)
    used += repo.count_charged_actions(session, user.id, benchmark, day_start)
    return Quota(benchmark=benchmark, limit=daily_limit(benchmark), used=used, reset=day_start + timedelta(days=1))


def charge(session: Session, user: User, benchmark: str, now: datetime | None = None) -> Quota:
    """The quota after one more submission (or charged re-run / added seeds); raises QuotaExceeded when none
    is left. Locks the user first (see repo.lock_user): the caller's transaction must insert what it pays for
    and commit, which releases the lock."""
    now = now or datetime.now(UTC)
    repo.lock_user(session, user.id)
    quota = quota_for(session, user, benchmark, now)
    if quota.remaining <= 0:
        raise QuotaExceeded(quota, now)
    return Quota(benchmark=benchmark, limit=quota.limit, used=quota.used + 1, reset=quota.reset)


def charge_many(session: Session, user: User, benchmark: str, needed: int, what: str) -> Quota:
    """All or nothing: ``needed`` submissions' worth at once (a study's variants), or QuotaExceeded saying what
    ``what`` needed. Locks the user like ``charge``."""
    now = datetime.now(UTC)
    repo.lock_user(session, user.id)
    quota = quota_for(session, user, benchmark, now)
    if quota.remaining < needed:
        message = (
            f"{what} needs {needed} submissions on {benchmark!r}, but your daily quota has {quota.message}: "
            "nothing was created. Use fewer variants, or try again after the reset."
        )
        raise QuotaExceeded(quota, now, message)
    return Quota(benchmark=benchmark, limit=quota.limit, used=quota.used + needed, reset=quota.reset)
