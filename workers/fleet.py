"""What every worker does for the fleet besides training: reconcile the broker with the database whenever its
consumer (re)connects, and reap runs whose worker died, every ``settings.reap_interval_s``.

Both run in daemon threads: with the solo pool the consumer thread also trains, and a database that is down
must not keep the worker from consuming."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps

from app.core.config import Settings, get_settings
from app.runs.recovery import reap, reconcile

log = logging.getLogger(__name__)
_reaper_started = threading.Event()


def _reconcile_quietly(settings: Settings) -> None:
    try:
        reconcile(settings)
    except Exception:  # the database may be down: the next (re)connection or `archarena reconcile` retries
        log.exception("reconcile failed")


def _reap_forever(settings: Settings, stop: threading.Event) -> None:
    while not stop.wait(settings.reap_interval):
        try:
            reap(settings)
        except Exception:  # a database blip: try again next interval
            log.exception("reaper pass failed")


def start_reaper(settings: Settings) -> threading.Event | None:
    """Start this process's reaper thread once; returns the event that stops it (None if already running)."""
    if _reaper_started.is_set():
        return None
    _reaper_started.set()
    stop = threading.Event()
    threading.Thread(target=_reap_forever, args=(settings, stop), name="reaper", daemon=True).start()
    return stop


class Recovery(bootsteps.StartStopStep):
    """A consumer step: Celery calls ``start`` when the consumer first connects and again after every
    reconnection to the broker, which is when queued messages may have been lost (a broker restarted without
    persistence)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        settings = get_settings()
        threading.Thread(target=_reconcile_quietly, args=(settings,), name="reconcile", daemon=True).start()
        start_reaper(settings)
