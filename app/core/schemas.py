"""Base for every request and response model: unknown keys and lax coercion are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
