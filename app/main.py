"""create_app(): routers, templates, static files (plotly.min.js comes from the plotly package: no CDN)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import plotly
from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from app.about.pages import router as about_pages
from app.accounts.pages import router as account_pages
from app.compare.api import router as compare_api
from app.compare.pages import router as compare_pages
from app.core.config import Settings, get_settings
from app.core.db.session import get_engine
from app.core.queue.relay import RelayThread
from app.entries.stored import BoardRefresher
from app.leaderboard.api import router as leaderboard_api
from app.leaderboard.overall_routes import router as overall_routes
from app.leaderboard.pages import router as leaderboard_pages
from app.moderation.api import router as moderation_api
from app.moderation.pages import router as moderation_pages
from app.queueview.pages import router as queue_pages
from app.specs import measuring
from app.studies.api import router as studies_api
from app.studies.pages import router as studies_pages
from app.submissions.api import router as submissions_api
from app.submissions.pages import router as submission_pages
from app.transfer.api import router as transfer_api
from app.transfer.pages import router as transfer_pages
from app.web.apidocs import install_api_docs
from app.web.caching import static_file
from app.web.errors import install_error_handlers
from app.web.inputguard import InputGuardMiddleware
from app.web.middleware import (
    AllowHeaderMiddleware,
    BodySizeLimitMiddleware,
    HeadMiddleware,
    RelativeRedirectMiddleware,
    SecurityHeadersMiddleware,
)
from app.web.openapi import document_guards
from app.web.ratelimit import rate_limited

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


ROUTERS = (
    about_pages, leaderboard_api, submissions_api, leaderboard_pages, overall_routes, submission_pages,
    moderation_api, moderation_pages, compare_api, compare_pages, queue_pages, studies_api, studies_pages,
    account_pages, transfer_api, transfer_pages,
)  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        title="archarena",
        version="0.1.0",
        description="Train every submitted vision architecture with the same recipe and several seeds; "
        "compare accuracy against compute with honest error bars.",
        # Every POST, PUT, PATCH and DELETE spends its caller's rate-limit budget (app.web.ratelimit).
        dependencies=[Depends(rate_limited)],
    )
    app.state.settings = settings
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    install_api_docs(app)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request) -> Response:
        return static_file(request, PLOTLY_JS, "text/javascript")

    _install_middleware(app)
    install_error_handlers(app)
    document_guards(app)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start what the app needs before it serves (the measuring pool, the outbox relay, the boards' refresher);
    stop it afterwards."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        measuring.configure(
            settings.measure_processes, timeout_s=settings.measure_timeout_s, concurrency=settings.measure_concurrency
        )
        await asyncio.to_thread(measuring.start)  # ready to measure before the first request
        relay = RelayThread(settings).start() if settings.relay_in_web else None
        refresher = BoardRefresher(get_engine(settings.database_url), owner=f"web-{os.getpid()}").start()
        gc.freeze()  # what starting built lives as long as the app: full collections (0.17 s each) skip it
        try:
            yield
        finally:
            gc.unfreeze()  # an app stopped in a longer-lived process (the tests) leaves nothing uncollectable
            refresher.stop()
            if relay is not None:
                relay.stop()
            measuring.shutdown()
            for limits in (getattr(app.state, "guards", None), getattr(app.state, "rate_limiter", None)):
                if limits is not None and hasattr(limits, "close"):
                    limits.close()

    return lifespan


def _install_middleware(app: FastAPI) -> None:
    # The last added is the outermost: security headers on everything, compression, then the body limit before
    # anything reads a body, the hostile-input check, HEAD as GET, relative redirects, and a filled Allow on a 405.
    app.add_middleware(AllowHeaderMiddleware)
    app.add_middleware(RelativeRedirectMiddleware)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=64 * 1024)
    # Pages, JSON, CSV and static files compressed for clients that accept gzip (a response that is already,
    # plotly.min.js, is left as it is).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(SecurityHeadersMiddleware)
