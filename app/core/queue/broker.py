"""The broker as the relay sees it: send a run id by task name, and list the run ids a queue still holds (so a
message the broker lost — a restart without persistence, a flushed database — is noticed and sent again).

Listing reads the transport's own storage: Redis keeps a queue as a list (one per priority step) and the
messages delivered but not yet acknowledged in the ``unacked`` hash; kombu's SQLAlchemy transport keeps
``kombu_message`` rows, visible until a worker takes them. Workers take one message at a time and acknowledge it
after the run (``acks_late``, prefetch 1), so a queued run's message is in one of those places unless it was
lost. Other transports return None: lost messages are then not detected (``archarena reconcile`` still works)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from celery import Celery
from sqlalchemy import Engine, create_engine, text

from app.core.contracts import TRAIN_RUN, RunPayload, celery_config

log = logging.getLogger(__name__)
# A relay must not hang on a broker that is down: a few quick tries, then the row waits for the next pass.
SEND_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_UNACKED = "unacked"


@lru_cache(maxsize=4)
def _client(broker_url: str, visibility_timeout_s: int) -> Celery:
    client = Celery("archarena-sender")
    client.conf.update(celery_config(broker_url, visibility_timeout_s))
    return client


def send_run(broker_url: str, visibility_timeout_s: int, queue: str, run_id: int) -> None:
    """Send one run; raises when the broker does not take it."""
    payload = RunPayload(run_id=run_id).model_dump()
    client = _client(broker_url, visibility_timeout_s)
    client.send_task(TRAIN_RUN, kwargs=payload, queue=queue, retry=True, retry_policy=SEND_RETRY)


def queued_run_ids(broker_url: str, queue: str) -> set[int] | None:
    """Run ids of the train-run messages the broker holds for ``queue`` (waiting or delivered and not yet
    acknowledged); None when the transport cannot be listed."""
    if broker_url.startswith(("redis://", "rediss://")):
        return _redis_run_ids(broker_url, queue)
    if broker_url.startswith("sqla+"):
        return _sqla_run_ids(broker_url.removeprefix("sqla+"), queue)
    return None


def _redis_run_ids(url: str, queue: str) -> set[int]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    try:
        keys = [queue, *(f"{queue}{_REDIS_PRIORITY_SEP}{step}" for step in range(1, 10))]
        raw: list[bytes | str] = []
        for key in keys:
            raw += client.lrange(key, 0, -1)
        found = _run_ids(raw)
        for value in client.hvals(_REDIS_UNACKED):
            try:
                message, _exchange, routing_key = json.loads(value)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                found |= _run_ids([json.dumps(message)])
        return found
    finally:
        client.close()


@lru_cache(maxsize=4)
def _sqla_engine(url: str) -> Engine:
    # A plain engine: the broker's database belongs to kombu, so none of our connection pragmas apply to it.
    return create_engine(url, pool_pre_ping=True)


def _sqla_run_ids(url: str, queue: str) -> set[int]:
    query = text(
        "SELECT m.payload FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
        "WHERE q.name = :queue AND m.visible"
    )
    try:
        with _sqla_engine(url).connect() as conn:
            return _run_ids(row[0] for row in conn.execute(query, {"queue": queue}))
    except Exception as exc:  # no message tables yet: nothing was ever sent through this broker
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return set()
        raise


def _run_ids(messages: Iterable[bytes | str]) -> set[int]:
    found: set[int] = set()
    for raw in messages:
        run_id = _run_id_of(raw)
        if run_id is not None:
            found.add(run_id)
    return found


def _run_id_of(raw: bytes | str) -> int | None:
    """The run id inside one kombu message carrying Celery's task protocol 2 (body: [args, kwargs, embed])."""
    try:
        message: dict[str, Any] = json.loads(raw)
        if message.get("headers", {}).get("task") != TRAIN_RUN:
            return None
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        decoded = json.loads(body)
        kwargs = decoded[1] if isinstance(decoded, list) else decoded.get("kwargs", {})
        run_id = kwargs.get("run_id")
        return int(run_id) if isinstance(run_id, int) else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None
