"""Jinja2 set-up shared by the page routers. Autoescaping is on for every template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.benchmarks.availability import data_status
from app.benchmarks.registry import all_benchmarks
from app.core.errors import without_paths
from app.web.figures import PALETTE

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=ROOT / "templates")


def si(value: float | int | None) -> str:
    """1234567 → '1.23M': compact counts for tables."""
    if value is None:
        return "—"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


templates.env.filters["si"] = si
templates.env.filters["pct"] = pct
templates.env.filters["public"] = without_paths  # a worker's message without the server's paths
templates.env.globals["palette_json"] = json.dumps(PALETTE)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    base = {
        "benchmarks": all_benchmarks(),
        "settings": settings,
        "installed": lambda b: data_status(b, settings.data_dir).installed,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)
