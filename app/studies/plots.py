"""The study page's figure: test accuracy per variant with its 95% interval. Pure: variants in, JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from app.figures import Figure, scatter
from app.leaderboard.plots import AXIS, LAYOUT
from app.studies.schemas import VariantOut


def accuracy_figure(variants: Sequence[VariantOut]) -> dict[str, Any]:
    scored = [v for v in variants if v.test_acc_mean is not None]
    fig = Figure()
    fig.add_trace(
        scatter(
            x=[escape(v.label) for v in scored],
            y=[v.test_acc_mean for v in scored],
            mode="markers",
            name="mean test accuracy (95% interval)",
            marker={"size": 12, "color": "#1f77b4"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(v.test_acc_ci[1] - (v.test_acc_mean or 0.0)) if v.test_acc_ci else 0.0 for v in scored],
                "arrayminus": [((v.test_acc_mean or 0.0) - v.test_acc_ci[0]) if v.test_acc_ci else 0.0 for v in scored],
            },
            customdata=[[v.url] for v in scored],
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    for v in scored:  # the seeds themselves, so the interval can be judged
        fig.add_trace(
            scatter(
                x=[escape(v.label)] * len(v.test_accs),
                y=v.test_accs,
                mode="markers",
                showlegend=False,
                marker={"size": 6, "color": "#7f7f7f", "symbol": "circle-open"},
                hovertemplate="seed: %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        LAYOUT,
        xaxis={**AXIS, "title": {"text": "variant"}, "type": "category"},
        yaxis={**AXIS, "title": {"text": "test accuracy"}, "tickformat": ".0%"},
        showlegend=False,
    )
    return fig.to_plotly_json()
