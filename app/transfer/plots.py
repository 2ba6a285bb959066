"""The transfer chart: downstream accuracy against upstream accuracy, one point per entry and transfer kind,
coloured by family. Pure: data in, figure JSON out."""

from __future__ import annotations

from typing import Any

from app.transfer.schemas import BenchmarkTransferOut, ScoreOut, TransferPointOut
from app.web.figures import AXIS, LAYOUT, Figure, color, scatter

# Accuracies on the whole scale, so that the chart reads the same however few entries it has.
PERCENT: dict[str, Any] = {"tickformat": ".0%", "range": [0.0, 1.02]}
KINDS = {"probe": ("linear probe", "circle"), "finetune": ("fine-tune", "diamond")}


def _bar(score: ScoreOut) -> tuple[float, float]:
    return score.high - score.mean, score.mean - score.low


def _points(entries: list[TransferPointOut], kind: str) -> list[tuple[TransferPointOut, ScoreOut, ScoreOut]]:
    out = []
    for e in entries:
        down = getattr(e, kind)
        if e.upstream is not None and down is not None:
            out.append((e, e.upstream, down))
    return out


def transfer_figure(data: BenchmarkTransferOut) -> dict[str, Any]:
    fig = Figure()
    families = sorted({e.family for e in data.entries})
    for kind, (label, symbol) in KINDS.items():
        for i, family in enumerate(families):
            pts = _points([e for e in data.entries if e.family == family], kind)
            if not pts:
                continue
            fig.add_trace(
                scatter(
                    x=[up.mean for _, up, _ in pts],
                    y=[down.mean for _, _, down in pts],
                    error_y={"type": "data", "symmetric": False, "array": [_bar(d)[0] for _, _, d in pts],
                             "arrayminus": [_bar(d)[1] for _, _, d in pts], "thickness": 1},
                    mode="markers",
                    name=f"{family} · {label}",
                    marker={"color": color(i), "symbol": symbol, "size": 10},
                    customdata=[[f"/submissions/{e.id}", e.name, e.family] for e, _, _ in pts],
                    hovertemplate=(
                        "%{customdata[1]} (%{customdata[2]})<br>upstream %{x:.1%} · " + label + " %{y:.1%}"
                        "<extra></extra>"
                    ),
                )
            )  # fmt: skip
    fig.update_layout(
        LAYOUT,
        xaxis={**AXIS, **PERCENT, "title": {"text": "upstream test accuracy (mean over seeds)"}},
        yaxis={**AXIS, **PERCENT, "title": {"text": "downstream test accuracy (bars: 95%)"}},
    )
    return fig.to_plotly_json()


def family_rows(data: BenchmarkTransferOut) -> list[dict[str, Any]]:
    """Per family: entries, mean upstream, probe and fine-tune accuracy (means of the entries' means)."""
    rows = []
    for family in sorted({e.family for e in data.entries}):
        members = [e for e in data.entries if e.family == family]
        row: dict[str, Any] = {"family": family, "entries": len(members)}
        for field in ("upstream", "probe", "finetune"):
            means = [s.mean for e in members if (s := getattr(e, field)) is not None]
            row[field] = sum(means) / len(means) if means else None
        rows.append(row)
    return rows
