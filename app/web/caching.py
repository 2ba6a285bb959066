"""Conditional requests for resources with a version (a stored board): a weak ETag and Last-Modified on the
response, and 304 Not Modified when the client already holds that version. ``Cache-Control: no-cache`` makes
browsers ask every time, so a reload after a change is never stale, and a reload without one is a 304."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response


def validators(tag: str, modified: datetime, *, per_visitor: Request | None = None) -> dict[str, str]:
    """The response's validators. ``per_visitor``: the page differs per signed-in visitor (their name, their CSRF
    token), so its tag covers the request's cookies too, and caches keep one copy per cookie."""
    headers = {"Cache-Control": "no-cache"}
    if per_visitor is not None:
        cookies = per_visitor.headers.get("cookie", "")
        tag = f"{tag}-{hashlib.sha256(cookies.encode()).hexdigest()[:12]}"
        headers["Vary"] = "Cookie"
    when = modified if modified.tzinfo is not None else modified.replace(tzinfo=UTC)
    headers["ETag"] = f'W/"{tag}"'
    headers["Last-Modified"] = format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)
    return headers


def _matches(if_none_match: str, etag: str) -> bool:
    opaque = etag.removeprefix("W/")
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or opaque in tags


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """A 304 when the request's validators match ``headers`` (If-None-Match first, as RFC 9110 says)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = _matches(if_none_match, headers["ETag"])
    else:
        since = request.headers.get("if-modified-since")
        fresh = since is not None and _not_modified_since(since, headers["Last-Modified"])
    return Response(status_code=304, headers=headers) if fresh else None
