"""Plotly figure JSON as plain dicts. plotly.graph_objects validates every property on every call (≈ 25 ms
per figure here, 8 figures per leaderboard page); the figures we draw are fixed shapes, checked by the tests
that render them in Chromium, so the page builds their JSON directly."""

from __future__ import annotations

from typing import Any

# One palette for every chart (leaderboard, compare, studies, a submission's seeds), in this order.
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"]

LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
    "height": 440,
    "template": "none",  # an inline template would repeat ~7 kB in every embedded figure
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "hovermode": "closest",
}
AXIS: dict[str, Any] = {"gridcolor": "#e5e9f0", "zeroline": False, "linecolor": "#c7ccd6", "automargin": True}


def color(index: int) -> str:
    """The palette's ``index``-th colour, cycling."""
    return PALETTE[index % len(PALETTE)]


def scatter(**props: Any) -> dict[str, Any]:
    """A scatter trace (``type="scattergl"`` for many points: WebGL); properties left as None are omitted
    (plotly.js wants them absent, not null)."""
    return {"type": "scatter", **{k: v for k, v in props.items() if v is not None}}


def group_colors(groups: list[str]) -> dict[str, str]:
    """A colour per group (family, mixer) that stays the same whatever a chart shows: by the group's place in
    the board's full, sorted list of groups."""
    return {group: color(i) for i, group in enumerate(sorted(groups))}


def empty_state(message: str) -> dict[str, Any]:
    """The layout of a chart with nothing to draw: the message, and no axes to misread."""
    return {
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "range": [0, 1]},
        "annotations": [
            {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
             "font": {"size": 15, "color": "#555"}}
        ],
    }  # fmt: skip


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


# Colours that stay with a family (and, for MetaFormers, with the token mixer) on every page and over time: the
# same architecture kind is drawn in the same colour whatever else is on the chart.
KIND_COLORS: dict[str, str] = {
    "attention": "#1f77b4",
    "window_attention": "#aec7e8",
    "dwconv": "#2ca02c",
    "dynamic_dwconv": "#98df8a",
    "spatial_mlp": "#ff7f0e",
    "external_attention": "#ffbb78",
    "pooling": "#9467bd",
    "identity": "#7f7f7f",
    "mixed": "#c5b0d5",
    "resnet": "#d62728",
    "plain": "#8c564b",
    "convmixer": "#17becf",
    "densenet": "#e377c2",
    "repvgg": "#bcbd22",
    "repmlp": "#f7b6d2",
}
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def kind_key(family: str, mixer: str | None) -> str:
    """What a colour follows: the token mixer of a MetaFormer, else the family."""
    return mixer if family == "metaformer" and mixer else family


def kind_color(family: str, mixer: str | None = None) -> str:
    """The colour of this family/mixer on every chart; an unknown kind gets a palette colour fixed by its name."""
    key = kind_key(family, mixer)
    if key in KIND_COLORS:
        return KIND_COLORS[key]
    return PALETTE[sum(key.encode()) % len(PALETTE)]
