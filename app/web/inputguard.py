"""Hostile input stopped at the door, the same way on every database and every route: a NUL character in any text
(path, query, form, JSON) and JSON or form values nested deeper than any spec is are answered 422 naming the
field, before a route or the database sees them. PostgreSQL refuses NUL in text (a server error, were it to get
that far); Python's parsers raise RecursionError on deep nesting.

Runs inside BodySizeLimitMiddleware, so a body it reads whole is at most 64 KiB."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.templating import error_page

MAX_DEPTH = 32  # a spec nests a handful of levels; nothing legitimate comes near this
NUL = "\x00"
_OPEN, _CLOSE = frozenset("[{"), frozenset("]}")


def _error(loc: list[str | int], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def _nul(loc: list[str | int]) -> dict[str, Any]:
    return _error(loc, "text may not contain the NUL character (\\u0000)", "string_nul")


def _too_deep(loc: list[str | int]) -> dict[str, Any]:
    return _error(loc, f"nested deeper than {MAX_DEPTH} levels", "too_deep")


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in a text (a JSON or YAML spec typed into a form field)."""
    depth = deepest = 0
    for char in text:
        if char in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSE and depth:
            depth -= 1
    return deepest


def check_query(query_string: bytes) -> dict[str, Any] | None:
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return _nul(["query", name.replace(NUL, "")])
    return None


def check_form(body: bytes) -> dict[str, Any] | None:
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        field = name.replace(NUL, "")
        if NUL in name or NUL in value:
            return _nul(["body", field])
        if len(name) > 200:
            return _error(["body", field[:40]], "a form field name is at most 200 characters", "string_too_long")
        if bracket_depth(value) > MAX_DEPTH:
            return _too_deep(["body", field])
    return None


def check_json(body: bytes) -> dict[str, Any] | None:
    """A NUL or too deep a nesting anywhere in a JSON body; None also for a body that is not JSON at all (the
    route answers that with 400)."""
    try:
        data = json.loads(body)
    except RecursionError:
        return _too_deep(["body"])
    except ValueError:
        return None
    stack: list[tuple[Any, list[str | int]]] = [(data, ["body"])]
    while stack:
        node, loc = stack.pop()
        if len(loc) - 1 > MAX_DEPTH:
            return _too_deep(loc[:MAX_DEPTH])
        if isinstance(node, str) and NUL in node:
            return _nul(loc)
        if isinstance(node, dict):
            for key, value in node.items():
                if NUL in key:
                    return _nul([*loc, key.replace(NUL, "")])
                stack.append((value, [*loc, key]))
        elif isinstance(node, list):
            stack.extend((value, [*loc, i]) for i, value in enumerate(node))
    return None


def check_body(content_type: str, body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    if "json" in content_type:
        return check_json(body)
    if content_type.startswith("application/x-www-form-urlencoded"):
        return check_form(body)
    if b"\x00" in body:  # multipart and anything else: nothing here takes binary data
        return _nul(["body"])
    return None


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope["path"]:
            await self._refuse(scope, receive, send, _nul(["path"]))
            return
        error = check_query(scope.get("query_string", b""))
        if error is not None:
            await self._refuse(scope, receive, send, error)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1").lower()
        error = check_body(content_type, body)
        if error is not None:
            await self._refuse(scope, replay, send, error)
            return
        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: dict[str, Any]) -> None:
        response: Response
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": [error]}, status_code=422)
        else:  # a page: the site's error page, naming the field
            field = ".".join(str(part) for part in error["loc"][1:]) or str(error["loc"][0])
            response = error_page(Request(scope, receive), 422, f"{field}: {error['msg']}")
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
