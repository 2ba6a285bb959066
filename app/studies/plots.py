"""The study page's figures, as plain Plotly dicts drawn by static/charts.js: accuracy per variant with its 95%
interval (test, and the second test set where there is one), learning curves per variant, and for a
training-fraction study accuracy vs fraction per series. Pure: variants in, JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from app.benchmarks.recipes import fraction_label
from app.studies.schemas import VariantOut
from app.web.figures import AXIS, LAYOUT, Figure, color, scatter


def _error_y(means: list[float], cis: list[tuple[float, float] | None]) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "array": [(ci[1] - m) if ci else 0.0 for m, ci in zip(means, cis, strict=True)],
        "arrayminus": [(m - ci[0]) if ci else 0.0 for m, ci in zip(means, cis, strict=True)],
    }


def accuracy_figure(variants: Sequence[VariantOut], which: str = "test") -> dict[str, Any]:
    """Mean accuracy per variant with its 95% interval; ``which`` is "test" or "test2" (second test set)."""
    second = which == "test2"
    scored = [v for v in variants if (v.test2_acc_mean if second else v.test_acc_mean) is not None]
    means = [float((v.test2_acc_mean if second else v.test_acc_mean) or 0.0) for v in scored]
    cis = [v.test2_acc_ci if second else v.test_acc_ci for v in scored]
    fig = Figure()
    fig.add_trace(
        scatter(
            x=[escape(v.label) for v in scored],
            y=means,
            mode="markers",
            name="mean accuracy (95% interval)",
            marker={"size": 12, "color": color(1) if second else color(0)},
            error_y=_error_y(means, cis),
            customdata=[[v.url] for v in scored],
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    if not second:
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
        yaxis={**AXIS, "title": {"text": "second-test accuracy" if second else "test accuracy"}, "tickformat": ".0%"},
        showlegend=False,
    )
    return fig.to_plotly_json()


def curves_figure(variants: Sequence[VariantOut]) -> dict[str, Any]:
    """Validation accuracy per epoch, mean over each variant's finished seeds: one line per variant."""
    fig = Figure()
    for i, v in enumerate(v for v in variants if v.val_acc_curve):
        fig.add_trace(
            scatter(
                x=list(range(1, len(v.val_acc_curve) + 1)),
                y=v.val_acc_curve,
                mode="lines+markers",
                name=escape(v.label),
                line={"color": color(i)},
                hovertemplate=escape(v.label) + " · epoch %{x}: %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        LAYOUT,
        xaxis={**AXIS, "title": {"text": "epoch"}, "tickformat": "d", "dtick": 1},
        yaxis={**AXIS, "title": {"text": "val accuracy (mean over seeds)"}, "tickformat": ".0%"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig.to_plotly_json()


def fraction_figure(variants: Sequence[VariantOut]) -> dict[str, Any]:
    """Training-fraction studies: test accuracy vs fraction of the train split, one line per series, with
    95% intervals as error bars."""
    by_series: dict[str, list[VariantOut]] = {}
    for v in variants:
        if v.test_acc_mean is not None:
            by_series.setdefault(v.series or "base", []).append(v)
    fractions = sorted({v.train_fraction or 1.0 for members in by_series.values() for v in members})
    fig = Figure()
    for i, (series, members) in enumerate(by_series.items()):
        members = sorted(members, key=lambda v: v.train_fraction or 1.0)
        means = [float(v.test_acc_mean or 0.0) for v in members]
        fig.add_trace(
            scatter(
                x=[v.train_fraction or 1.0 for v in members],
                y=means,
                mode="lines+markers",
                name=escape(series),
                line={"color": color(i)},
                error_y=_error_y(means, [v.test_acc_ci for v in members]),
                customdata=[[v.url] for v in members],
                hovertemplate=escape(series) + " · %{x:.0%} of train: %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        LAYOUT,
        xaxis={
            **AXIS,
            "title": {"text": "fraction of the train split (log scale)"},
            "type": "log",
            "tickvals": fractions,
            "ticktext": [fraction_label(f) for f in fractions],
        },
        yaxis={**AXIS, "title": {"text": "test accuracy (95% interval)"}, "tickformat": ".0%"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig.to_plotly_json()


def study_figures(variants: Sequence[VariantOut], axis: str) -> dict[str, dict[str, Any]]:
    """The figures the page shows, by element id (only those with data to show, plus the accuracy chart)."""
    out = {"study-figure": accuracy_figure(variants)}
    if any(v.test2_acc_mean is not None for v in variants):
        out["study-test2-figure"] = accuracy_figure(variants, "test2")
    if any(v.val_acc_curve for v in variants):
        out["study-curves-figure"] = curves_figure(variants)
    if axis == "train_fraction":
        out["study-fraction-figure"] = fraction_figure(variants)
    return out
