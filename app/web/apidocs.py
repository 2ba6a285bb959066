"""The API reference, served from this app: Swagger UI ("Try it out") at /docs and ReDoc at /redoc, their assets
from the fastapi-offline package (no CDN), started by a script file rather than inline code so the site's
Content-Security-Policy (scripts from this origin only) stays as it is."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.web.middleware import CONTENT_SECURITY_POLICY

ASSETS = Path(fastapi_offline.__file__).parent / "static"
router = APIRouter(include_in_schema=False)
REDOC_CSP = CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data: blob:", "img-src 'self' data: blob: https://cdn.redoc.ly"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>archarena API · {title}</title>
<link rel="icon" href="/static/favicon.svg">
{head}
</head>
<body>
<p class="api-nav"><a href="/">archarena</a> · <a href="/docs">Swagger UI (try it out)</a> · <a href="/redoc">ReDoc</a>
 · <a href="/openapi.json">openapi.json</a> · API tokens: <a href="/tokens">/tokens</a></p>
{body}
</body>
</html>"""


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    head = '<link rel="stylesheet" href="/vendor/docs/swagger-ui.css"><link rel="stylesheet" href="/static/docs.css">'
    body = (
        '<div id="swagger-ui" data-spec-url="/openapi.json"></div>'
        '<script src="/vendor/docs/swagger-ui-bundle.js"></script><script src="/static/docs.js"></script>'
    )
    return HTMLResponse(_PAGE.format(title="Swagger UI", head=head, body=body))


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    head = '<link rel="stylesheet" href="/static/docs.css">'
    body = (
        '<redoc spec-url="/openapi.json" disable-search="true" hide-download-button="false"></redoc>'
        '<script src="/vendor/docs/redoc.standalone.js"></script>'
    )
    # ReDoc's sidebar always shows its maker's logo from cdn.redoc.ly (an <img>, no script): this page alone lets
    # that one image through; scripts stay this-origin-only as everywhere else.
    return HTMLResponse(
        _PAGE.format(title="ReDoc", head=head, body=body), headers={"content-security-policy": REDOC_CSP}
    )


def install_api_docs(app: FastAPI) -> None:
    """Mount the assets and the two pages (create the app with ``docs_url=None, redoc_url=None``)."""
    app.mount("/vendor/docs", StaticFiles(directory=ASSETS), name="api-docs-assets")
    app.include_router(router)
