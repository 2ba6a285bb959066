"""How errors become answers: a JSON body that names what is wrong on the API, an error page on the site."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from app.core.errors import Conflict, Forbidden, InputError, NotFound, ServiceUnavailable, TooManyRequests
from app.web.templating import error_page


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _message(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The API's ``{"detail": message}`` or the site's error page, with the same status and headers."""
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status_code, headers=headers)
    page = error_page(request, status_code, message)
    page.headers.update(headers or {})
    return page


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(_request: Request, exc: InputError) -> Response:
        return JSONResponse({"detail": exc.errors}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _message(request, 404, f"{exc.what} not found")

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        return _message(request, 409, str(exc))

    @app.exception_handler(TooManyRequests)
    async def too_many(request: Request, exc: TooManyRequests) -> Response:
        return _message(request, 429, str(exc), exc.headers)

    @app.exception_handler(ServiceUnavailable)
    async def busy(request: Request, exc: ServiceUnavailable) -> Response:
        return _message(request, 503, str(exc), exc.headers)

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "The request body is not valid JSON."}, status_code=400)
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
        return JSONResponse({"detail": detail}, status_code=422)
