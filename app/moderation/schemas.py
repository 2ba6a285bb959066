"""Request and response models of the moderation API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from app.core.schemas import OutModel, StrictModel

REASON = "A public reason, shown on the submission's page and in the audit log."


class ReasonIn(StrictModel):
    reason: str = Field(min_length=1, max_length=500, description=REASON)


class RerunIn(StrictModel):
    all_runs: bool = Field(
        default=False, alias="all", description="Re-run every finished or failed run, not only the failed ones."
    )
    reason: str = Field(default="", max_length=500, description=REASON)


class SeedsIn(StrictModel):
    seeds: int = Field(ge=1, le=100, description="How many runs to add, with the next seed numbers.")
    reason: str = Field(default="", max_length=500, description=REASON)


class TokenBanOut(OutModel):
    id: int
    user: str
    prefix: str
    name: str
    revoked_at: datetime | None
    banned_reason: str | None


class UserBanOut(OutModel):
    name: str
    banned_at: datetime | None = Field(description="When an admin banned the user (None: not banned).")
    banned_reason: str | None


class AuditEventOut(OutModel):
    id: int
    at: datetime
    actor: str | None = Field(description="Who did it (None once that user is deleted).")
    action: str = Field(
        description="hide, unhide, flag, unflag, rerun, add_seeds, join, delete, ban (a token), ban_user or unban_user."
    )
    target_kind: str = Field(description="'submission', 'token' or 'user'.")
    target_id: int
    reason: str
    details: dict[str, Any]
    summary: str = Field(description="The event in words, as the submission page shows it.")
