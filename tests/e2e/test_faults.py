"""Faults on the real stack, with real processes: a worker killed with SIGKILL in the middle of an epoch, a run
that kills its worker every time, and a Redis broker restarted (empty) while runs wait in it.

Liveness settings are short here (heartbeat 1 s, dead after 4 s) so recovery takes seconds; every wait polls
the database for a condition with a deadline. Measured recovery times are printed (pytest -s)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, Run, Submission
from app.main import create_app
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from tests.e2e.stack import Stack, free_port, migrated_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FAST_LIVENESS = {"ARCHARENA_HEARTBEAT_S": "1", "ARCHARENA_DEAD_AFTER_S": "4"}


def submit(settings: Settings, preset: str, seeds: int = 1) -> list[int]:
    """Commit a submission with its outbox rows, as the API does; the workers' relays send its runs."""
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "fault-test")
        body = SubmissionIn(name=f"faults {preset}", spec={"preset": preset, "overrides": {}}, seeds=seeds)
        return [run.id for run in create_submission(session, user, body, max_epochs=settings.max_epochs).runs]


def run_state(settings: Settings, run_id: int) -> Run:
    with session_scope(settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def epochs_of(settings: Settings, run_id: int) -> list[int]:
    with session_scope(settings.database_url) as session:
        return sorted(session.scalars(select(EpochMetric.epoch).where(EpochMetric.run_id == run_id)))


def wait_run(
    settings: Settings, run_id: int, stack: Stack, timeout: float, what: str, check: Callable[[Run], bool]
) -> Run:
    def probe() -> Run | None:
        run = run_state(settings, run_id)
        return run if check(run) else None

    try:
        return wait_for(probe, timeout, what, interval=0.2)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; run is {run_state(settings, run_id).status}\n{stack.logs()}") from None


def holder_pid(run: Run) -> int:
    assert run.worker is not None
    return int(run.worker.rsplit(":", 1)[1])  # workers are named host:pid


def kill_hard(stack: Stack, pid: int) -> None:
    proc = next(p for p, _ in stack.procs if p.pid == pid)
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Stack]:
    with migrated_stack(tmp_path, {"ARCHARENA_MAX_EPOCHS": "6", **FAST_LIVENESS}) as stack:
        yield stack


def test_a_worker_killed_mid_epoch_is_replaced_and_the_run_finishes_once(embedded: Stack) -> None:
    settings = embedded.settings()
    embedded.start_worker("w1")
    embedded.start_worker("w2")
    (run_id,) = submit(settings, "tiny_convmixer_digits")
    run = wait_run(settings, run_id, embedded, 120, "epoch 1", lambda r: r.status == "running" and r.epochs_done >= 1)
    assert run.epochs_done < 6, "the run finished before it could be killed"
    killed_at = time.monotonic()
    kill_hard(embedded, holder_pid(run))

    again = wait_run(settings, run_id, embedded, 60, "the re-claim", lambda r: r.attempts == 2)
    reclaimed_s = time.monotonic() - killed_at
    done = wait_run(settings, run_id, embedded, 120, "the run to finish", lambda r: r.status == "finished")
    print(
        f"\nkill -9 at epoch {run.epochs_done}: re-claimed after {reclaimed_s:.1f} s, "
        f"finished {time.monotonic() - killed_at:.1f} s after the kill"
    )
    assert again.worker != run.worker
    assert (done.attempts, done.epochs_done, done.error_kind) == (2, 6, None)
    assert done.test_acc is not None and done.finished_at is not None
    assert epochs_of(settings, run_id) == [1, 2, 3, 4, 5, 6]  # gap-free, each epoch once
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Submission.status).where(Submission.id == done.submission_id)) == "finished"


def test_a_run_that_crashes_its_worker_every_time_ends_as_crashed(embedded: Stack) -> None:
    settings = embedded.settings()
    (run_id,) = submit(settings, "tiny_convmixer_digits")
    pids = []
    for attempt in range(1, settings.max_attempts + 1):
        embedded.start_worker(f"crash{attempt}")  # its reaper requeues the run its predecessor left behind
        run = wait_run(
            settings,
            run_id,
            embedded,
            90,
            f"attempt {attempt}",
            lambda r, a=attempt: r.status == "running" and r.attempts == a,
        )
        pids.append(holder_pid(run))
        kill_hard(embedded, pids[-1])

    killed_at = time.monotonic()
    wait_for(lambda: "failed 1 as crashed" in embedded.cli("reap"), 60, "`archarena reap` to fail the run")
    print(f"\ncrash loop: failed as crashed {time.monotonic() - killed_at:.1f} s after the third kill")
    run = run_state(settings, run_id)
    assert (run.status, run.error_kind, run.attempts) == ("failed", "crashed", settings.max_attempts)
    message = run.error_message or ""
    assert f"stopped responding {settings.max_attempts} times" in message and f":{pids[-1]} at " in message
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/api/v1/submissions/{run.submission_id}").json()
    assert body["status"] == "failed"
    (shown,) = body["runs"]
    assert shown["error_kind"] == "crashed" and "out of memory" in str(shown)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A private, non-persistent Redis on a free port, so the test can stop and restart it."""
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield port, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def start_redis(port: int, procs: list[subprocess.Popen[bytes]], home: Path) -> None:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log = (home / f"redis-{len(procs)}.log").open("wb")
    procs.append(subprocess.Popen([*args, "--dir", str(home)], stdout=log, stderr=subprocess.STDOUT))
    client = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_for(answers, 20, f"redis-server on port {port}")


def test_a_broker_restarted_empty_loses_no_run(
    pg_url: str, own_redis: tuple[int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    """The restarted Redis has no persistence, so the two waiting messages are gone: the worker reconnects by
    itself, and its relay sends again the queued runs the broker no longer holds."""
    port, procs = own_redis
    start_redis(port, procs, tmp_path)
    queue = f"test-{secrets.token_hex(3)}"
    env = {
        "ARCHARENA_DATABASE_URL": pg_url,
        "ARCHARENA_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "ARCHARENA_MAX_EPOCHS": "3",
        "ARCHARENA_QUEUE": queue,
        **FAST_LIVENESS,
    }
    with migrated_stack(tmp_path, env) as stack:
        settings = stack.settings()
        stack.start_worker("w1")
        ids = submit(settings, "tiny_convmixer_digits", seeds=3)
        wait_run(settings, ids[0], stack, 120, "the first run to start", lambda r: r.status == "running")
        assert redis.Redis(port=port).llen(queue) == 2  # the other two wait in the broker, once each
        procs[-1].terminate()
        procs[-1].wait(timeout=20)
        stopped_at = time.monotonic()
        wait_run(settings, ids[0], stack, 120, "the first run to finish offline", lambda r: r.status == "finished")
        start_redis(port, procs, tmp_path)
        restarted_at = time.monotonic()
        for run_id in ids:
            wait_run(
                settings, run_id, stack, 180, f"run {run_id} to finish", lambda r: r.status in ("finished", "failed")
            )
        print(
            f"\nredis down {restarted_at - stopped_at:.1f} s; all runs done {time.monotonic() - restarted_at:.1f} s "
            "after its restart"
        )
        for run_id in ids:
            run = run_state(settings, run_id)
            assert (run.status, run.attempts, run.error_kind) == ("finished", 1, None), stack.logs()
            assert epochs_of(settings, run_id) == [1, 2, 3]
