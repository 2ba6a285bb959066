"""`archarena demo` stops everything it started within seconds (its workers do not finish their run first), and
the runs it interrupted train again at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from tests.e2e.stack import free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def start_demo(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ARCHARENA_HOME": str(home), "ARCHARENA_DATA_DIR": str(home / "data"), "OMP_NUM_THREADS": "1"}
    with log.open("ab") as out:
        cmd = [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--workers", "1"]
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def workers_alive(home: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", "app.cli worker --name demo"], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def running_run(settings: Settings) -> int | None:
    if not (settings.home / "archarena.sqlite3").exists():
        return None
    try:
        with session_scope(settings.database_url) as session:
            return session.scalar(select(Run.id).where(Run.status == "running").limit(1))
    except OperationalError:  # the demo is still creating its database
        return None


def test_stopping_the_demo_stops_its_workers_and_the_next_start_requeues_their_runs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var", data_dir=tmp_path / "var" / "data")
    log, port = tmp_path / "demo.log", free_port()
    demo = start_demo(tmp_path / "var", port, log)
    try:
        run_id = wait_for(lambda: demo.poll() is None and running_run(settings), 240, "a run to start training")
        assert workers_alive(tmp_path)
        demo.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        demo.wait(timeout=30)
        wait_for(lambda: not workers_alive(tmp_path), 10, "the demo's workers to exit")
        print(f"\ndemo and its worker stopped {time.monotonic() - stopped_at:.1f} s after SIGTERM, mid-run")
        assert time.monotonic() - stopped_at < 10
        with session_scope(settings.database_url) as session:
            assert session.get(Run, run_id).status == "running"  # type: ignore[union-attr]
        demo = start_demo(tmp_path / "var", port, log)

        def requeued() -> bool:
            with session_scope(settings.database_url) as session:
                run = session.get(Run, run_id)
                return run is not None and (run.status != "running" or (run.attempts or 0) >= 2)

        wait_for(requeued, 240, "the interrupted run to be requeued")
        wait_for(lambda: "interrupted runs requeued" in log.read_text(), 60, "the start-up line")
        assert "1 interrupted runs requeued" in log.read_text()
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            demo.wait(timeout=30)
