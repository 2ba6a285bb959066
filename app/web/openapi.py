"""What the app-wide guards add to every operation, written into the OpenAPI document once here rather than on every
route: 429 on every write (the rate limit), 503 where a spec is measured (the bounded pool), and no NUL character
in any text a request carries (app.web.inputguard answers 422): every request string without a pattern of its own
gets one that says so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.errors import BUSY_RESPONSES, RETRY_AFTER_HEADER

WRITES = ("post", "put", "patch", "delete")
# Operations that measure a spec in the pool (and so may find it full).
MEASURING = {("/api/v1/specs/validate", "post"), ("/api/v1/submissions", "post"), ("/api/v1/studies", "post")}
_MESSAGE = {"application/json": {"schema": {"$ref": "#/components/schemas/MessageOut"}}}
_LIMITED = "Too many requests from this user or address; retry after `Retry-After` seconds."
NUL_FREE = "^[^\\u0000]*$"
_NESTED = ("items", "additionalProperties")
_ALTERNATIVES = ("anyOf", "oneOf", "allOf")


def _nul_free(schema: dict[str, Any], components: dict[str, Any], seen: set[str]) -> None:
    """Give every string in a request schema (following references, each component once) the NUL-free pattern,
    unless it has a pattern, a format or fixed values already."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            _nul_free(components[name], components, seen)
        return
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = NUL_FREE
    children = list(schema.get("properties", {}).values())
    children += [schema[k] for k in _NESTED if isinstance(schema.get(k), dict)]
    children += [alt for k in _ALTERNATIVES for alt in schema.get(k, [])]
    for child in children:
        _nul_free(child, components, seen)


def _request_schemas(operation: dict[str, Any]) -> list[dict[str, Any]]:
    schemas = [p["schema"] for p in operation.get("parameters", []) if "schema" in p]
    content = operation.get("requestBody", {}).get("content", {})
    schemas += [media["schema"] for media in content.values() if "schema" in media]
    return schemas


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
        components = schema.get("components", {}).get("schemas", {})
        seen: set[str] = set()
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                for request_schema in _request_schemas(operation):
                    _nul_free(request_schema, components, seen)
                if method in WRITES:
                    _add(operation, "429", _LIMITED)
                if (path, method) in MEASURING:
                    _add(operation, "503", str(BUSY_RESPONSES[503]["description"]))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
