"""Plotly figures from leaderboard entries and runs. Pure: data in, figure JSON out; pages only embed it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from app.leaderboard.service import Entry

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"]
HOVER = (
    "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>MACs %{x:.3s} · params %{customdata[3]:.3s}"
    "<br>test acc %{y:.2%} ± %{customdata[4]:.2%} (std, %{customdata[5]} seeds)<extra></extra>"
)


def _ci(entry: Entry) -> tuple[float, float]:
    """The interval drawn: accuracy lives in [0, 1], so a t interval from few seeds is clipped to it."""
    mean = entry.test_acc_mean or 0.0
    low, high = entry.test_acc_ci or (mean, mean)
    return max(0.0, low), min(1.0, high)


def frontier_figure(entries: Sequence[Entry], color_by: str = "family") -> dict[str, Any]:
    """Mean test accuracy against MACs (log x), 95% CI error bars, one colour per family (or mixer),
    and the Pareto frontier as a line."""
    scored = [e for e in entries if e.test_acc_mean is not None]
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in scored:
        groups[str(getattr(entry, color_by) or "—")].append(entry)
    fig = go.Figure()
    for i, (group, members) in enumerate(sorted(groups.items())):
        means = [e.test_acc_mean or 0.0 for e in members]
        fig.add_trace(
            go.Scatter(
                x=[e.macs for e in members],
                y=means,
                mode="markers",
                name=group,
                marker={"size": 11, "color": PALETTE[i % len(PALETTE)], "line": {"width": 1, "color": "#fff"}},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [_ci(e)[1] - m for e, m in zip(members, means, strict=True)],
                    "arrayminus": [m - _ci(e)[0] for e, m in zip(members, means, strict=True)],
                    "thickness": 1.2,
                    "width": 3,
                },
                customdata=[[e.url, e.name, e.mixer or e.family, e.params, e.test_acc_std or 0, e.n] for e in members],
                hovertemplate=HOVER,
            )
        )
    front = sorted((e for e in scored if e.on_frontier), key=lambda e: e.macs)
    if front:
        fig.add_trace(
            go.Scatter(
                x=[e.macs for e in front],
                y=[e.test_acc_mean for e in front],
                mode="lines",
                name="Pareto frontier",
                line={"shape": "hv", "dash": "dash", "color": "#444", "width": 1.5},
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        xaxis={"title": {"text": "MACs per image (multiply-accumulates, log scale)"}, "type": "log"},
        yaxis={"title": {"text": "test accuracy (mean over seeds, 95% CI)"}, "tickformat": ".0%"},
        margin={"l": 60, "r": 20, "t": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        height=440,
        template="plotly_white",
    )
    return fig.to_plotly_json()
