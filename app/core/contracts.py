"""What app/ and workers/ share about queuing: task names and payload schemas. Nothing else."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TRAIN_RUN = "archarena.train_run"


class RunPayload(BaseModel):
    """The only thing the broker carries: the database is the source of truth."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    run_id: int = Field(ge=1)


def celery_config(broker_url: str, visibility_timeout_s: int) -> dict[str, object]:
    """Settings both the sending side and the workers use, so they agree on serialisation and transport."""
    # kombu's SQLAlchemy transport hands its transport options to create_engine(): it takes none of these
    # (and has no visibility timeout: an unacked message goes back to the queue when the worker's
    # connection closes).
    transport: dict[str, object] = (
        {} if broker_url.startswith("sqla+") else {"visibility_timeout": visibility_timeout_s}
    )
    return {
        "broker_url": broker_url,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
    }
