"""HTTP details every response gets right."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class AllowHeaderMiddleware:
    """A 405 lists every method the path supports (RFC 9110 §15.5.6). The router names none (FastAPI keeps
    included routers as nested objects), so each method is tried against the routes; HEAD goes with GET
    (HeadMiddleware serves it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        as_received = dict(scope)  # routing rewrites the scope in place (a mount moves the path into root_path)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self._methods(as_received)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)

    def _methods(self, scope: Scope) -> set[str]:
        routes = scope["app"].router.routes
        methods: set[str] = set()
        for method in METHODS:
            for route in routes:
                match, _ = route.matches({**scope, "method": method})
                if match == Match.FULL:
                    # A mount (static files) matches any method but serves only reads.
                    methods |= {"GET", "HEAD"} if isinstance(route, Mount) else {method}
                    break
        if "GET" in methods:
            methods.add("HEAD")
        return methods


class HeadMiddleware:
    """HEAD is served wherever GET is: the request goes on as a GET and only its headers go back (RFC 9110
    §9.3.2). FastAPI's routes do not answer HEAD themselves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class RelativeRedirectMiddleware:
    """Redirects name a path, never a host: Starlette builds absolute URLs from the request's Host header (a
    trailing-slash redirect, a static directory), which would send a browser wherever that header said."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = [(k, relative_location(v) if k.lower() == b"location" else v) for k, v in message["headers"]]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, relative)


def relative_location(value: bytes) -> bytes:
    """``http://any.host/a/b?c`` → ``/a/b?c``; a path stays as it is (``//host`` is a host too)."""
    parts = urlsplit(value.decode("latin-1"))
    path = "/" + parts.path.lstrip("/")
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


class BodySizeLimitMiddleware:
    """Refuse request bodies over a limit with 413 before reading them whole: a spec is at most 8 KiB, so a
    megabyte is never an architecture, only a way to make the server allocate."""

    def __init__(self, app: ASGIApp, max_bytes: int = 64 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"The request body is larger than {self.max_bytes} bytes."}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    # Scripts only from this origin (plotly.min.js is served from here, page data rides in
    # <script type="application/json">, which is not executed). Plotly sets inline styles, hence
    # 'unsafe-inline' for styles only; its SVG scatter plots need no 'unsafe-eval'.
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeadersMiddleware:
    """Every response (pages, API, static files, errors) carries a strict Content-Security-Policy and the
    usual hardening headers; a header a route set itself is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
