"""Send-only Celery client: tasks are sent by name, with ids only, after the database commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from celery import Celery

from app.core.config import Settings
from app.core.contracts import TRAIN_RUN, RunPayload, celery_config

log = logging.getLogger(__name__)
# A request must not hang on a broker that is down: a few quick tries, then the reconciler's turn.
SEND_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


@lru_cache(maxsize=4)
def _client(broker_url: str, visibility_timeout_s: int) -> Celery:
    client = Celery("archarena-sender")
    client.conf.update(celery_config(broker_url, visibility_timeout_s))
    return client


class TaskQueue:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send_train_runs(self, run_ids: Iterable[int]) -> int:
        """Send one task per run. Returns how many were sent; a failure leaves the runs queued in the
        database, where the reconciler finds them again (the database, not the broker, is the truth)."""
        client = _client(self._settings.broker_url, self._settings.broker_visibility_timeout_s)
        sent = 0
        for run_id in run_ids:
            payload = RunPayload(run_id=run_id).model_dump()
            try:
                client.send_task(
                    TRAIN_RUN, kwargs=payload, queue=self._settings.queue, retry=True, retry_policy=SEND_RETRY
                )
            except Exception:  # broker down: keep going, the runs stay queued in the database
                log.exception("could not send run %s to the broker", run_id)
                continue
            sent += 1
        return sent
