"""Recovery from lost workers and lost broker messages. The database is the truth; the broker only carries
run ids, so both recoveries end by re-sending ids after the commit.

- ``reconcile``: send every run the database holds as queued again. Run at the start of every worker (and on
  every reconnection of its consumer to the broker), of ``archarena web`` and ``demo``, and by
  ``archarena reconcile``. A duplicate message is harmless: a worker claims a run with a guarded UPDATE.
- ``reap``: runs in 'running' whose heartbeat is older than ``settings.dead_after_s`` lost their worker
  (killed, out of memory, machine gone). Each goes back to 'queued' and is re-sent, or, once it used
  ``settings.max_attempts`` attempts, ends as 'failed' with error_kind 'crashed'. Every worker runs it
  periodically; ``archarena reap`` runs it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import utcnow
from app.core.queue import TaskQueue
from app.submissions import repository as repo

log = logging.getLogger(__name__)
CRASHED = "crashed"


@dataclass(frozen=True)
class Reaped:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    sent: int = 0


def reconcile(settings: Settings) -> int:
    """Re-send every queued run; returns how many messages the broker took."""
    with session_scope(settings.database_url) as session:
        ids = repo.queued_run_ids(session)
    sent = TaskQueue(settings).send_train_runs(ids)
    if ids:
        log.info("reconcile: %s queued runs, %s sent to the broker", len(ids), sent)
    return sent


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
                    failed.append(run.id)
                    submissions.add(run.submission_id)
            elif repo.requeue_stale_run(session, run, older_than):
                requeued.append(run.id)
                submissions.add(run.submission_id)
        for submission_id in sorted(submissions):
            repo.refresh_submission_status(session, submission_id)
    sent = TaskQueue(settings).send_train_runs(requeued) if requeued else 0  # after the commit
    if requeued or failed:
        log.warning("reaper: requeued runs %s (%s sent), failed runs %s as crashed", requeued, sent, failed)
    return Reaped(requeued=requeued, failed=failed, sent=sent)
