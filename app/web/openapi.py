"""What every operation can answer because of the app-wide guards, written into the OpenAPI document once here
rather than on every route: 429 on every write (the rate limit), 503 where a spec is measured (the bounded pool)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.errors import BUSY_RESPONSES, RETRY_AFTER_HEADER

WRITES = ("post", "put", "patch", "delete")
# Operations that measure a spec in the pool (and so may find it full).
MEASURING = {("/api/v1/specs/validate", "post"), ("/api/v1/submissions", "post"), ("/api/v1/studies", "post")}
_MESSAGE = {"application/json": {"schema": {"$ref": "#/components/schemas/MessageOut"}}}
_LIMITED = "Too many requests from this user or address; retry after `Retry-After` seconds."


def _add(operation: dict[str, Any], status: str, description: str) -> None:
    responses = operation.setdefault("responses", {})
    if status not in responses:
        responses[status] = {"description": description, "headers": RETRY_AFTER_HEADER, "content": _MESSAGE}


def document_guards(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if method in WRITES:
                    _add(operation, "429", _LIMITED)
                if (path, method) in MEASURING:
                    _add(operation, "503", str(BUSY_RESPONSES[503]["description"]))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
