"""Celery tasks: thin wrappers that validate the payload and hand over to the runner."""

from __future__ import annotations

from app.core.config import get_settings
from app.core.contracts import TRAIN_RUN, RunPayload
from workers.celery_app import celery
from workers.runner import execute_run


@celery.task(name=TRAIN_RUN, acks_late=True)
def train_run(run_id: int) -> str:
    payload = RunPayload(run_id=run_id)
    return execute_run(get_settings(), payload.run_id)
