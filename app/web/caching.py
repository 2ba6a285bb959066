"""Conditional requests for resources with a version (a stored board): a weak ETag and Last-Modified on the
response, and 304 Not Modified when the client already holds that version. ``Cache-Control: no-cache`` makes
browsers ask every time, so a reload after a change is never stale, and a reload without one is a 304."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

from fastapi import HTTPException, Request, Response, status
from fastapi.responses import FileResponse


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


def revalidated(request: Request, headers: dict[str, str]) -> dict[str, str]:
    """``headers``, for the response the caller builds; a 304 with them instead (raised: answered without a body)
    when the request's validators match (If-None-Match first, as RFC 9110 says)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = _matches(if_none_match, headers["ETag"])
    else:
        since = request.headers.get("if-modified-since")
        fresh = since is not None and _not_modified_since(since, headers["Last-Modified"])
    if fresh:
        raise HTTPException(status.HTTP_304_NOT_MODIFIED, headers=headers)
    return headers


@lru_cache(maxsize=4)
def _gzipped(path: Path, mtime: float) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def static_file(request: Request, path: Path, media_type: str, max_age: int = 86400) -> Response:
    """A large static file (plotly.min.js: 4.8 MB, 1.4 MB gzipped), compressed once per process and served
    gzipped to clients that take it, with validators so that a revalidation is a 304."""
    stat = path.stat()
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    headers = validators(f"{stat.st_size:x}-{int(stat.st_mtime):x}", modified)
    headers["Cache-Control"] = f"max-age={max_age}"
    headers["Vary"] = "Accept-Encoding"
    revalidated(request, headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(_gzipped(path, stat.st_mtime), media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)
