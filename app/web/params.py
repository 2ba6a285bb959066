"""Path and query parameters shared by the routers: ids are 1..MAX_ID (32-bit in the database), so any larger
number is a 404 or 422, never a server error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.core.errors import MAX_ID


def id_path(what: str) -> object:
    return Path(ge=1, le=MAX_ID, description=f"A {what}'s id.")


SubmissionId = Annotated[int, id_path("submission")]
StudyId = Annotated[int, id_path("study")]
TokenId = Annotated[int, id_path("API token")]
