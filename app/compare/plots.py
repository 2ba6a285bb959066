"""The compare page's figure: mean validation accuracy per epoch of each submission with a ±1 std band across
seeds, the hover saying the same interval the band shows. Colours follow the family (the token mixer for
MetaFormers) as on every page; entries of the same kind differ by dash. Fixed ranges: accuracy 0–100 %, the
epochs trained. Pure: submissions in, figure JSON out (no traces when no entry has an epoch yet: the page then
says so instead of drawing empty axes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from app.entries.schemas import SubmissionOut
from app.web.figures import AXIS, DASHES, LAYOUT, Figure, kind_color, kind_key, scatter

HOVER = "<b>%{text}</b><br>epoch %{x}: val acc %{y:.2%} ± %{customdata[2]:.2%} (std over %{customdata[3]} seeds)"


def _band(sub: SubmissionOut, line_color: str) -> dict[str, Any]:
    curve = sub.val_acc_curve
    upper = [m + s for m, s in zip(curve.mean, curve.std, strict=True)]
    lower = [m - s for m, s in zip(curve.mean, curve.std, strict=True)]
    return scatter(
        x=curve.epochs + curve.epochs[::-1],
        y=upper + lower[::-1],
        fill="toself",
        fillcolor=line_color,
        opacity=0.15,
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        legendgroup=str(sub.id),
    )


def _line(sub: SubmissionOut, line_color: str, dash: str) -> dict[str, Any]:
    curve = sub.val_acc_curve
    seeds = curve.n or [1] * len(curve.epochs)
    return scatter(
        x=curve.epochs,
        y=curve.mean,
        mode="lines+markers",
        name=f"#{sub.id} {escape(sub.name)}",  # Plotly reads names as HTML: show them as text
        legendgroup=str(sub.id),
        line={"color": line_color, "dash": dash},
        customdata=[[sub.url, sub.name, s, n] for s, n in zip(curve.std, seeds, strict=True)],
        text=[escape(sub.name)] * len(curve.epochs),
        hovertemplate=HOVER + "<extra></extra>",
    )


def curves_figure(subs: Sequence[SubmissionOut]) -> dict[str, Any]:
    fig = Figure()
    seen: Counter[str] = Counter()
    last_epoch = 1
    for sub in subs:
        if not sub.val_acc_curve.epochs:
            continue
        key = kind_key(sub.family, sub.mixer)
        line_color, dash = kind_color(sub.family, sub.mixer), DASHES[seen[key] % len(DASHES)]
        seen[key] += 1
        last_epoch = max(last_epoch, *sub.val_acc_curve.epochs)
        fig.add_trace(_band(sub, line_color))
        fig.add_trace(_line(sub, line_color, dash))
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "epoch"}, "dtick": 1, "range": [0.5, last_epoch + 0.5]},
        yaxis={
            **AXIS,
            "title": {"text": "validation accuracy (mean ± std over seeds)"},
            "tickformat": ".0%",
            "range": [0, 1.02],
        },
        **{**LAYOUT, "height": 380, "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"}},
    )
    return fig.to_plotly_json()
