"""The relay: sends the outbox's unsent rows to the broker and marks them sent, and notices messages the broker
lost (a queued run whose message is no longer there) and sends them again — within seconds, without a restart or
a manual command.

Every web process and every worker runs one relay thread; they share the work through row leases (a row is sent
by the relay that leased it) and one sweeper at a time. A run may reach the broker twice (a relay that died after
sending and before marking the row sent): harmless, because a worker claims a run with a guarded UPDATE."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import utcnow
from app.core.queue import broker, outbox

log = logging.getLogger(__name__)
BATCH = 200
LEASE_S = 30.0
SWEEP_LIMIT = 5000
KEEP_SENT = timedelta(days=1)


@dataclass(frozen=True)
class RelayPass:
    sent: int = 0
    failed: int = 0
    resent_lost: int = 0


class Relay:
    """One relay: ``send_pending`` empties the outbox; ``sweep`` re-queues lost messages. Both are safe to run
    in several processes at once."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 10_000}"

    def send_pending(self) -> tuple[int, int]:
        """Send every unsent row this relay can lease; returns (sent, failed)."""
        sent = failed = 0
        while True:
            with session_scope(self.settings.database_url) as session:
                batch = outbox.claim_batch(session, self.name, utcnow(), LEASE_S, BATCH)
            if not batch:
                return sent, failed
            done, error = self._send(batch)
            with session_scope(self.settings.database_url) as session:
                outbox.mark_sent(session, done, self.name, utcnow())
                outbox.release(session, [row for row, _ in batch if row not in done], self.name, error)
            sent, failed = sent + len(done), failed + len(batch) - len(done)
            if len(done) < len(batch):  # the broker refuses: try again at the next pass
                return sent, failed

    def _send(self, batch: list[tuple[int, int]]) -> tuple[list[int], str]:
        s = self.settings
        done: list[int] = []
        for row_id, run_id in batch:
            try:
                broker.send_run(s.broker_url, s.broker_visibility_timeout_s, s.queue, run_id)
            except Exception as exc:  # broker down: the rows stay unsent and are tried again
                log.warning("relay: the broker refused run %s (%s: %s)", run_id, type(exc).__name__, exc)
                return done, f"{type(exc).__name__}: {exc}"
            done.append(row_id)
        return done, ""

    def sweep(self, older_than_s: float | None = None) -> int:
        """Send again the queued runs whose message the broker no longer holds; returns how many."""
        grace = self.settings.resend_after_s if older_than_s is None else older_than_s
        cutoff = utcnow() - timedelta(seconds=grace)
        with session_scope(self.settings.database_url) as session:
            candidates = outbox.unconfirmed_queued_runs(session, cutoff, SWEEP_LIMIT)
        if not candidates:
            return 0
        present = broker.queued_run_ids(self.settings.broker_url, self.settings.queue)
        if present is None:
            return 0
        lost = [run_id for run_id in candidates if run_id not in present]
        if not lost:
            return 0
        with session_scope(self.settings.database_url) as session:
            added = self._resend(session, lost, cutoff)
        if added:
            log.warning("relay: %s queued runs had no message in the broker; sending them again", added)
        return added

    def _resend(self, session: Session, lost: list[int], cutoff: datetime) -> int:
        if not outbox.try_sweep_lock(session):
            return 0
        outbox.prune_sent(session, utcnow() - KEEP_SENT)
        return outbox.resend(session, lost, cutoff)

    def run_once(self, *, sweep: bool = True, older_than_s: float | None = None) -> RelayPass:
        resent = self.sweep(older_than_s) if sweep else 0
        sent, failed = self.send_pending()
        return RelayPass(sent=sent, failed=failed, resent_lost=resent)


class RelayThread:
    """A relay in a daemon thread: a pass every ``settings.relay_interval_s``, at once after a commit that wrote
    outbox rows in this process, and a sweep for lost messages every ``settings.resend_after_s``."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.relay = Relay(settings, name)
        self._interval = settings.relay_interval_s
        self._sweep_every = settings.resend_after_s
        self._wake = threading.Event()
        self._sweep_now = threading.Event()
        self._stop = threading.Event()
        self._unhook = outbox.on_commit_with_outbox(self._wake.set)
        self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)

    def start(self) -> RelayThread:
        self._thread.start()
        return self

    def wake(self, *, sweep: bool = False) -> None:
        if sweep:
            self._sweep_now.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._unhook()
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            due = now >= next_sweep or self._sweep_now.is_set()
            if due:
                self._sweep_now.clear()
                next_sweep = now + self._sweep_every
            try:
                self.relay.run_once(sweep=due)
            except Exception:  # the database or the broker is down: the next pass tries again
                log.exception("relay pass failed")
            self._wake.wait(self._interval)
            self._wake.clear()
