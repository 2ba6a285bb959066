"""Plotly figure JSON as plain dicts. plotly.graph_objects validates every property on every call (≈ 25 ms
per figure here, 8 figures per leaderboard page); the figures we draw are fixed shapes, checked by the tests
that render them in Chromium, so the page builds their JSON directly."""

from __future__ import annotations

from typing import Any


def scatter(**props: Any) -> dict[str, Any]:
    """A scatter trace; properties left as None are omitted (plotly.js wants them absent, not null)."""
    return {"type": "scatter", **{k: v for k, v in props.items() if v is not None}}


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


class Figure:
    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}

    def add_trace(self, trace: dict[str, Any]) -> None:
        self.data.append(trace)

    def update_layout(self, layout: dict[str, Any] | None = None, **props: Any) -> None:
        _merge(self.layout, {**(layout or {}), **props})

    def to_plotly_json(self) -> dict[str, Any]:
        return {"data": self.data, "layout": self.layout}
