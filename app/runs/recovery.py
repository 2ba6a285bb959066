"""Recovery from lost workers and lost broker messages. The database is the truth; the broker only carries run
ids, and every run put back in the queue gets an outbox row in the same transaction (the relay sends it).

- ``reap``: runs in 'running' whose heartbeat is older than ``settings.dead_after_s`` lost their worker
  (killed, out of memory, machine gone). Each goes back to 'queued', or, once it used ``settings.max_attempts``
  attempts, ends as 'failed' with error_kind 'crashed', and its quota charge is refunded (the platform lost the
  run, not the spec). Every worker runs it periodically; ``archarena reap`` runs it once.
- ``reconcile``: send again every queued run whose message the broker does not hold, now (the relays do the
  same on their own every ``settings.resend_after_s``); ``archarena reconcile`` runs it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import utcnow
from app.core.queue.relay import Relay, RelayPass
from app.runs import repository as repo

log = logging.getLogger(__name__)
CRASHED = "crashed"


@dataclass(frozen=True)
class Reaped:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def reconcile(settings: Settings) -> RelayPass:
    """Send every queued run the broker does not hold, and every unsent outbox row; returns what was sent."""
    done = Relay(settings).run_once(sweep=True, older_than_s=0.0)
    if done.sent or done.resent_lost:
        log.info("reconcile: %s runs were missing from the broker; %s messages sent", done.resent_lost, done.sent)
    return done


def crash_message(attempts: int, worker: str | None, last_seen: datetime | None) -> str:
    when = last_seen.strftime("%Y-%m-%d %H:%M:%S UTC") if last_seen else "an unknown time"
    return (
        f"the worker running this run stopped responding {attempts} times (last: worker {worker or '?'} "
        f"at {when}); it may crash its worker — e.g. out of memory"
    )


def reap(settings: Settings, now: datetime | None = None) -> Reaped:
    """Requeue (or fail, after max_attempts) running runs whose worker stopped sending heartbeats."""
    older_than = (now or utcnow()) - timedelta(seconds=settings.dead_after)
    requeued: list[int] = []
    failed: list[int] = []
    with session_scope(settings.database_url) as session:
        submissions: set[int] = set()
        for run in repo.stale_running_runs(session, older_than):
            if run.attempts >= settings.max_attempts:
                message = crash_message(run.attempts, run.worker, run.heartbeat_at)
                if repo.fail_stale_run(session, run, older_than, CRASHED, message):
                    repo.settle_charge(session, run.id, 0.0, CRASHED)  # the platform lost it: refunded
                    failed.append(run.id)
                    submissions.add(run.submission_id)
            elif repo.requeue_stale_run(session, run, older_than):
                requeued.append(run.id)
                submissions.add(run.submission_id)
        for submission_id in sorted(submissions):
            repo.refresh_submission_status(session, submission_id)
    if requeued or failed:
        log.warning("reaper: requeued runs %s, failed runs %s as crashed", requeued, failed)
    return Reaped(requeued=requeued, failed=failed)


def requeue_interrupted(settings: Settings) -> list[int]:
    """Put back in the queue every run left 'running' by workers that were stopped mid-run (the demo's own, after
    Ctrl-C): on one machine with no worker started yet, a running run has no worker. Not for a shared database
    with live workers elsewhere (there the reaper decides, by heartbeat)."""
    with session_scope(settings.database_url) as session:
        ids = repo.requeue_all_running(session)
    if ids:
        log.warning("requeued %s runs interrupted by the last stop: %s", len(ids), ids)
    return ids
