"""The compare page's figure: mean validation accuracy per epoch of each submission with a ±1 std band across
seeds. Pure: submissions in, figure JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from app.entries.schemas import SubmissionOut
from app.web.figures import AXIS, LAYOUT, Figure, color, scatter


def curves_figure(subs: Sequence[SubmissionOut]) -> dict[str, Any]:
    fig = Figure()
    for i, sub in enumerate(subs):
        line_color = color(i)
        curve = sub.val_acc_curve
        epochs, means, stds = curve.epochs, curve.mean, curve.std
        if not epochs:
            continue
        band_y = [m + s for m, s in zip(means, stds, strict=True)] + [m - s for m, s in zip(means, stds, strict=True)][
            ::-1
        ]
        fig.add_trace(
            scatter(
                x=epochs + epochs[::-1],
                y=band_y,
                fill="toself",
                fillcolor=line_color,
                opacity=0.15,
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=str(sub.id),
            )
        )
        fig.add_trace(
            scatter(
                x=epochs,
                y=means,
                mode="lines+markers",
                name=f"#{sub.id} {escape(sub.name)}",  # Plotly reads names as HTML: show them as text
                legendgroup=str(sub.id),
                line={"color": line_color},
                customdata=[[sub.url, sub.name] for _ in epochs],
                text=[escape(sub.name)] * len(epochs),
                hovertemplate="<b>%{text}</b><br>epoch %{x}: val acc %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "epoch"}, "dtick": 1},
        yaxis={**AXIS, "title": {"text": "validation accuracy (mean ± std over seeds)"}, "tickformat": ".0%"},
        **{**LAYOUT, "height": 380},
    )
    return fig.to_plotly_json()
