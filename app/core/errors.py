"""Errors the services raise and how the API answers them: always a JSON body that names what is wrong."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel


class InputError(Exception):
    """Bad input found after parsing (a spec, a limit, an unknown benchmark): answered with 422."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, loc: list[str | int], msg: str, type_: str = "value_error", **ctx: Any) -> InputError:
        error: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
        if ctx:
            error["ctx"] = ctx
        return cls([error])


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Forbidden(Exception):
    pass


class Conflict(Exception):
    """The object is not in a state the action applies to: answered with 409 and the message."""


class TooManyRequests(Exception):
    """A limit was reached (a daily quota, a rate): answered with 429, ``Retry-After`` and ``headers``."""

    def __init__(self, message: str, retry_after_s: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)
        self.headers = {**(headers or {}), "Retry-After": str(self.retry_after_s)}


class ServiceUnavailable(Exception):
    """A bounded resource (the measuring pool, password hashing) is busy right now: answered with 503 and
    ``Retry-After``. Nothing was done; the same request later will be served."""

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)
        self.headers = {"Retry-After": str(self.retry_after_s)}


_SERVER_PATH = re.compile(r"(?<![\w:/])(?:/[\w.@+-]+)+/([\w.@+-]+)")


def without_paths(text: str | None) -> str | None:
    """A message for the public with the server's absolute paths cut to their last part (``/srv/data/x/f.gz`` →
    ``…/f.gz``): a worker's error (a missing file, a failed import) must not map the server's disks."""
    if text is None:
        return None
    return _SERVER_PATH.sub(lambda m: "…/" + m.group(1), text)


MAX_ID = 2**31 - 1
"""Ids are 32-bit integers in the database: a larger one in a URL is no such object, not a server error."""


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[ErrorDetail]


class MessageOut(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": MessageOut, "description": "The body is not valid JSON."},
    413: {"model": MessageOut, "description": "The body is larger than 64 KiB."},
    422: {"model": ValidationErrorOut, "description": "The input is invalid; each error names the field."},
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": MessageOut, "description": "No token, or an unknown, revoked or banned one (it says why)."},
    403: {"model": MessageOut, "description": "The token's user may not do this."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": MessageOut, "description": "No such object."}}
DATA_ABSENT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": MessageOut,
        "description": "The benchmark's data is not installed on this server (the message says how an operator "
        "installs it); nothing was created or charged.",
    }
}
RETRY_AFTER_HEADER: dict[str, Any] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
BUSY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": MessageOut,
        "description": "Busy: every measuring slot is taken; nothing was done. Retry after `Retry-After` seconds.",
        "headers": RETRY_AFTER_HEADER,
    }
}
