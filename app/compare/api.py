"""JSON API of the compare view. Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.compare import service
from app.compare.schemas import CompareOut
from app.core.errors import ERROR_RESPONSES, NOT_FOUND
from app.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["submissions"])
ID = "[1-9][0-9]{0,17}"
IdsParam = Annotated[
    str, Query(pattern=f"^{ID}(,{ID}){{1,3}}$", description="2 to 4 submission ids separated by commas: '1,2,3'.")
]


@router.get("/compare", responses={**NOT_FOUND, **ERROR_RESPONSES})
def compare(session: SessionDep, ids: IdsParam) -> CompareOut:
    """Per-seed comparison: P(A > B) with a bootstrap CI for each pair, and the spec keys that differ."""
    return service.compare(session, service.parse_ids([ids], dedupe=False))
