"""The compare page's figure: mean validation accuracy per epoch of each submission with a ±1 std band across
seeds. Pure: submissions in, figure JSON out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from statistics import fmean, stdev
from typing import Any

from app.leaderboard.plots import AXIS, LAYOUT, PALETTE
from app.submissions.schemas import SubmissionOut
from app.web.figures import Figure, scatter


def mean_curve(submission: SubmissionOut) -> tuple[list[int], list[float], list[float]]:
    """Epochs, mean val accuracy and its std across the seeds that reached each epoch."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for run in submission.runs:
        for e in run.epochs:
            by_epoch[e.epoch].append(e.val_acc)
    epochs = sorted(by_epoch)
    means = [fmean(by_epoch[e]) for e in epochs]
    stds = [stdev(by_epoch[e]) if len(by_epoch[e]) > 1 else 0.0 for e in epochs]
    return epochs, means, stds


def curves_figure(subs: Sequence[SubmissionOut]) -> dict[str, Any]:
    fig = Figure()
    for i, sub in enumerate(subs):
        color = PALETTE[i % len(PALETTE)]
        epochs, means, stds = mean_curve(sub)
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
                fillcolor=color,
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
                line={"color": color},
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
