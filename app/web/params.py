"""Path and query parameters shared by the routers: ids are 1..MAX_ID (32-bit in the database), so any larger
number is a 404 or 422, never a server error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.core.errors import MAX_ID, InputError


def id_path(what: str) -> object:
    return Path(ge=1, le=MAX_ID, description=f"A {what}'s id.")


SubmissionId = Annotated[int, id_path("submission")]
StudyId = Annotated[int, id_path("study")]
TokenId = Annotated[int, id_path("API token")]


def form_int(text: str, field: str, low: int, high: int) -> int:
    """A whole number typed into a form field, in [low, high]; anything else is an InputError (422) naming the
    field. Only ASCII digits: ``"²"`` and other Unicode digits pass ``str.isdigit`` but not ``int``."""
    value = text.strip()
    if not (value.isascii() and value.isdecimal() and len(value) <= 9) or not low <= int(value) <= high:
        raise InputError.one([field], f"{field} is a whole number from {low} to {high}, got {text[:20]!r}")
    return int(value)
