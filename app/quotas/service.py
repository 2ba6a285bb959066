"""Daily quotas of compute: run-seconds per user, per benchmark, per UTC day, shown before they bite.

Every run a user pays for is a row of the ledger (``quota_charges``), written when the run is queued with its
projected seconds on the reference CPU (the spec's counted cost × train images × epochs; ``runs.projected_seconds``)
and settled when the run ends with the seconds it really used (its share of a batched run's wall time). The day's
use is the settled seconds plus the projections of the runs not ended yet. So:

- a new submission pays for every seed; an owner's re-run and added seeds pay for the runs they queue;
- a run that fails because of its spec (time-out, out of memory, divergence, an error) is charged what it used,
  and re-running it is charged again;
- only a failure the platform caused (``PLATFORM_FAULTS``: a lost worker, a stored spec a later zoo refuses) is
  settled at 0, and re-running it is free; so are duplicates of an existing spec (nothing new trains), an admin's
  actions and the platform's own entries;
- deleting never refunds: the ledger rows stay, whatever becomes of the submission.

A request whose projected seconds exceed what is left is refused with 429, naming both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from app.benchmarks.registry import UnknownBenchmark, get_benchmark
from app.core.db.tables import PLATFORM_FAULTS, User
from app.core.errors import TooManyRequests
from app.core.queue.fairness import DEFAULT_RUN_SECONDS
from app.core.units import duration
from app.quotas import repository as repo

MIN_DAILY_SECONDS = 3600
RUNS_AT_BUDGET = 12
"""A day's default budget on a benchmark: this many runs at the benchmark's per-run maximum (four 3-seed
submissions of the costliest spec it accepts), and at least an hour."""
DAILY_SECONDS: dict[str, int] = {}
"""Per-benchmark overrides of the daily run-seconds, by slug."""
REFUNDED_ERROR_KINDS: tuple[str, ...] = PLATFORM_FAULTS
"""Run error kinds the platform caused: refunded, and a re-run of them is free."""

QUOTA_HEADERS_DOC: dict[str, dict[str, object]] = {
    "X-Quota-Limit": {
        "description": "Run-seconds a day on this benchmark (projected training seconds on the reference CPU).",
        "schema": {"type": "integer"},
    },
    "X-Quota-Remaining": {
        "description": "Run-seconds left today: the limit less the settled seconds of ended runs and the "
        "projections of runs not ended yet.",
        "schema": {"type": "integer"},
    },
    "X-Quota-Charged": {
        "description": "Run-seconds this request reserved (the projection of the runs it queued; settled with "
        "the measured seconds when they end). 0 when nothing was queued at your cost.",
        "schema": {"type": "integer"},
    },
    "X-Quota-Reset": {"description": "When the day's count restarts (ISO 8601, UTC).", "schema": {"type": "string"}},
}


def daily_limit(benchmark: str) -> int:
    """Run-seconds a user may spend a day on ``benchmark``."""
    if benchmark in DAILY_SECONDS:
        return DAILY_SECONDS[benchmark]
    try:
        per_run = get_benchmark(benchmark).limits.max_run_seconds
    except UnknownBenchmark:
        per_run = None
    return max(MIN_DAILY_SECONDS, int(RUNS_AT_BUDGET * (per_run or 0)))


@dataclass(frozen=True)
class Quota:
    benchmark: str
    limit: int
    used: float
    reset: datetime
    charged: float = 0.0  # what the request that produced this quota reserved

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.used)

    @property
    def message(self) -> str:
        return f"{duration(self.remaining)} of {duration(self.limit)} run-seconds left, resets {self.reset:%H:%M} UTC"

    def headers(self) -> dict[str, str]:
        return {
            "X-Quota-Limit": str(self.limit),
            "X-Quota-Remaining": str(int(self.remaining)),
            "X-Quota-Charged": str(round(self.charged)),
            "X-Quota-Reset": self.reset.isoformat().replace("+00:00", "Z"),
        }


class QuotaExceeded(TooManyRequests):
    def __init__(self, quota: Quota, now: datetime, message: str | None = None) -> None:
        text = message or f"Daily run-seconds on {quota.benchmark!r} used up: {quota.message}."
        super().__init__(text, int((quota.reset - now).total_seconds()), quota.headers())
        self.quota = quota


def fresh_quota(benchmark: str, now: datetime | None = None) -> Quota:
    """A day's quota with nothing spent (for someone not known yet)."""
    now = now or datetime.now(UTC)
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    return Quota(benchmark=benchmark, limit=daily_limit(benchmark), used=0.0, reset=day_start + timedelta(days=1))


def quota_for(session: Session, user: User, benchmark: str, now: datetime | None = None) -> Quota:
    now = now or datetime.now(UTC)
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    used = repo.seconds_used(session, user.id, benchmark, day_start)
    return Quota(benchmark=benchmark, limit=daily_limit(benchmark), used=used, reset=day_start + timedelta(days=1))


def _reserve(session: Session, user: User, benchmark: str, seconds: float, what: str, now: datetime) -> Quota:
    """Lock the user, and check that ``seconds`` fit in what is left today (QuotaExceeded, naming both, if not)."""
    repo.lock_user(session, user.id)
    quota = quota_for(session, user, benchmark, now)
    if seconds > quota.remaining or quota.remaining <= 0:
        message = (
            f"{what}: projected {duration(seconds)} of training on {benchmark!r} (reference CPU), but your daily "
            f"budget has {quota.message}; nothing was queued. Use fewer seeds or a cheaper spec, or try again "
            "after the reset."
        )
        raise QuotaExceeded(quota, now, message)
    return Quota(benchmark, quota.limit, quota.used + seconds, quota.reset, charged=seconds)


def charge_runs(
    session: Session, user: User, benchmark: str, run_ids: Sequence[int], *, action: str, what: str | None = None
) -> Quota:
    """Pay for runs just queued at ``user``'s cost (a new submission's seeds, added seeds, an owner's re-run):
    their projected seconds must fit in what is left today, else QuotaExceeded (the caller's transaction then
    rolls the runs back). Writes a ledger row per run, settled when the run ends. Locks the user first: the
    caller's transaction must commit, which releases the lock."""
    now = datetime.now(UTC)
    found = repo.projections(session, run_ids)
    charges = [
        (run_id, submission_id, seconds if seconds is not None else DEFAULT_RUN_SECONDS)
        for run_id, (submission_id, seconds) in sorted(found.items())
    ]
    total = sum(seconds for _, _, seconds in charges)
    runs = f"{len(charges)} run" + ("" if len(charges) == 1 else "s")
    label = f"{what or 'this request'} ({runs})"
    quota = _reserve(session, user, benchmark, total, label[:1].upper() + label[1:], now)
    repo.add_charges(session, user.id, benchmark, action, charges)
    return quota


def charge(session: Session, user: User, benchmark: str, now: datetime | None = None, *, seconds: float = 0.0) -> Quota:
    """Check that ``seconds`` (default: anything at all) are left today and return the quota after them;
    QuotaExceeded when not. Writes nothing: ``charge_runs`` is what pays for runs."""
    return _reserve(session, user, benchmark, seconds, "This request", now or datetime.now(UTC))


def charge_many(session: Session, user: User, benchmark: str, needed: int, what: str, *, seconds: float = 0.0) -> Quota:
    """All or nothing for ``needed`` submissions (a study's variants) projected at ``seconds`` in all: checks
    they fit, writes nothing (each variant's runs are then paid with ``charge_runs``)."""
    return _reserve(session, user, benchmark, seconds, f"{what} ({needed} submissions)", datetime.now(UTC))
