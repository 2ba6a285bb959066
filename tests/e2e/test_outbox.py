"""The transactional outbox on the real stack (PostgreSQL, a private Redis, real web and worker processes): a
run queued while the broker refuses is sent once it answers and trains once; a message the broker loses is sent
again by the relay within seconds, with nothing to trigger it; and a run whose message is in the broker, or in a
live worker's hands, is never sent again."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from app.core.db.session import session_scope
from app.core.db.tables import OutboxMessage, Run
from app.core.queue import outbox
from tests.e2e.stack import Stack, free_port, migrated_stack, wait_for
from tests.e2e.test_faults import start_redis

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SPEC = {"preset": "tiny_resnet_digits", "overrides": {}}


@pytest.fixture
def redis_port() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    port, procs = free_port(), []
    try:
        yield port, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def stack_env(pg_url: str, port: int, **extra: str) -> dict[str, str]:
    return {
        "ARCHARENA_DATABASE_URL": pg_url,
        "ARCHARENA_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "ARCHARENA_QUEUE": f"test-{secrets.token_hex(3)}",
        "ARCHARENA_RESEND_AFTER_S": "1",
        **extra,
    }


def submit(stack: Stack, token: str, name: str, seeds: int = 1) -> list[int]:
    # A spec of its own per name (the stem width), so no submission is a duplicate of another.
    width = 8 + sum(map(ord, name)) % 24
    body = {"benchmark": "digits", "name": name, "spec": {**SPEC, "overrides": {"stem_width": width}}}
    res = httpx.post(
        f"{stack.base_url}/api/v1/submissions",
        json={**body, "seeds": seeds},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert res.status_code == 201, res.text
    return [run["id"] for run in res.json()["runs"]]


def rows(stack: Stack, run_id: int) -> list[OutboxMessage]:
    with session_scope(stack.settings().database_url) as session:
        return outbox.rows_for(session, run_id)


def run_of(stack: Stack, run_id: int) -> Run:
    with session_scope(stack.settings().database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def wait_finished(stack: Stack, run_id: int, timeout: float = 180) -> Run:
    try:
        return wait_for(lambda: (r := run_of(stack, run_id)).status == "finished" and r, timeout, f"run {run_id}")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{stack.logs()}") from None


def test_a_run_queued_while_the_broker_refuses_is_sent_when_it_answers_and_trains_once(
    pg_url: str, redis_port: tuple[int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    port, procs = redis_port
    with migrated_stack(tmp_path, stack_env(pg_url, port, ARCHARENA_MAX_EPOCHS="2")) as stack:
        token = stack.cli("token", "create", "outbox-refused").strip()
        stack.start_web()  # nothing listens on the broker's port yet
        (run_id,) = submit(stack, token, "while the broker is down")
        refused = wait_for(lambda: (r := rows(stack, run_id)) and r[0].attempts >= 2 and r, 60, "refused sends")
        assert refused[0].sent_at is None and refused[0].last_error
        start_redis(port, procs, tmp_path)
        stack.start_worker("w1")
        run = wait_finished(stack, run_id)
        (row,) = rows(stack, run_id)
        print(f"\nbroker refused {row.attempts} sends; the run trained once when it answered")
        assert row.sent_at is not None and run.attempts == 1
        assert stack.logs().count("received") == 1, stack.logs()


def test_a_lost_message_is_sent_again_and_a_held_one_never(
    pg_url: str, redis_port: tuple[int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    port, procs = redis_port
    start_redis(port, procs, tmp_path)
    env = stack_env(pg_url, port, ARCHARENA_MAX_EPOCHS="4")
    with migrated_stack(tmp_path, env) as stack:
        queue = env["ARCHARENA_QUEUE"]
        broker = redis.Redis(port=port)
        token = stack.cli("token", "create", "outbox-lost").strip()
        stack.start_web()
        (lost_id,) = submit(stack, token, "lost in the broker")
        wait_for(lambda: rows(stack, lost_id)[0].sent_at is not None, 30, "the first send")
        assert broker.llen(queue) == 1
        broker.delete(queue)  # the broker loses the message (a restart without persistence, a flush)
        lost_at = time.monotonic()
        wait_for(lambda: broker.llen(queue) == 1, 30, "the relay to send the lost run again")
        print(f"\na lost message was sent again {time.monotonic() - lost_at:.1f} s after the loss, unprompted")
        assert len(rows(stack, lost_id)) == 2

        waiting = submit(stack, token, "waiting behind it", seeds=2)
        stack.start_worker("w1")  # one worker: the lost run trains while the two others wait in the broker
        wait_for(lambda: run_of(stack, lost_id).status == "running", 120, "the first claim")
        for run_id in [lost_id, *waiting]:
            wait_finished(stack, run_id)
        for run_id in waiting:
            assert len(rows(stack, run_id)) == 1, "a run whose message was in the broker was sent again"
        assert len(rows(stack, lost_id)) == 2
        assert all(run_of(stack, r).attempts == 1 for r in [lost_id, *waiting])
        assert stack.logs().count("is not queued") == 0, "a worker received a run it did not need"
