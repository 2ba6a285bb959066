"""The worker's Celery app: JSON only, acks_late, prefetch 1, visibility timeout above the hard time limit."""

from __future__ import annotations

from celery import Celery

from app.core.config import get_settings
from app.core.contracts import celery_config
from workers.fleet import Fleet


def create_celery() -> Celery:
    settings = get_settings()
    app = Celery("archarena", include=["workers.tasks"])
    app.conf.update(celery_config(settings.broker_url, settings.broker_visibility_timeout_s))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.queue,
        task_soft_time_limit=settings.run_soft_time_limit_s,
        task_time_limit=settings.run_hard_time_limit_s,
        worker_send_task_events=False,
    )
    app.steps["consumer"].add(Fleet)
    return app


celery = create_celery()
