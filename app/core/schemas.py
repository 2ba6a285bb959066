"""Base for every request and response model: unknown keys and lax coercion are refused; every timestamp a
response carries is one ISO 8601 format with its zone, in UTC to the second (``2026-12-04T19:05:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def utc_second(value: datetime) -> datetime:
    """The instant in UTC, to the second; a naive value (SQLite gives those back) is read as UTC, which is how
    every timestamp is stored."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.replace(microsecond=0)


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _timestamps_in_utc(cls, value: Any) -> Any:
        return utc_second(value) if isinstance(value, datetime) else value
