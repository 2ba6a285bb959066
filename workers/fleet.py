"""What every worker does for the fleet besides training: its outbox relay (sends queued runs, and sends again
those the broker lost — at once whenever its consumer (re)connects, since a broker restarted without persistence
loses its queue), and the reaper of runs whose worker died, every ``settings.reap_interval_s``.

Both run in daemon threads: with the solo pool the consumer thread also trains, and a database that is down must
not keep the worker from consuming."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps

from app.core.config import Settings, get_settings
from app.core.queue.relay import RelayThread
from app.runs.recovery import reap

log = logging.getLogger(__name__)
_started = threading.Lock()
_relay: RelayThread | None = None
_reaper_stop: threading.Event | None = None


def _reap_forever(settings: Settings, stop: threading.Event) -> None:
    while not stop.wait(settings.reap_interval):
        try:
            reap(settings)
        except Exception:  # a database blip: try again next interval
            log.exception("reaper pass failed")


def start_fleet_threads(settings: Settings) -> RelayThread:
    """Start this process's relay and reaper once; returns the relay."""
    global _relay, _reaper_stop
    with _started:
        if _relay is None:
            _relay = RelayThread(settings, name=None).start()
            _reaper_stop = threading.Event()
            threading.Thread(target=_reap_forever, args=(settings, _reaper_stop), name="reaper", daemon=True).start()
        return _relay


class Fleet(bootsteps.StartStopStep):
    """A consumer step: Celery calls ``start`` when the consumer first connects and again after every
    reconnection to the broker, which is when queued messages may have been lost."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        start_fleet_threads(get_settings()).wake(sweep=True)
