"""The study page's figures, as plain Plotly dicts drawn by static/charts.js: accuracy per variant with its 95%
interval (test, and the second test set where there is one), learning curves per variant, and accuracy against
the axis per series for a training-fraction study or a numeric axis (depth, a field by path). Pure: variants in,
JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from app.benchmarks.recipes import fraction_label
from app.studies.schemas import VariantOut
from app.web.figures import AXIS, LAYOUT, Figure, color, kind_color, kind_key, scatter


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
    drawn = [v for v in variants if v.val_acc_curve]
    kinds = [kind_key(v.family, v.mixer) if v.family else "" for v in drawn]
    by_kind = all(kinds) and len(set(kinds)) == len(kinds)  # one kind per variant: its page-wide colour
    for i, v in enumerate(drawn):
        fig.add_trace(
            scatter(
                x=list(range(1, len(v.val_acc_curve) + 1)),
                y=v.val_acc_curve,
                mode="lines+markers",
                name=escape(v.label),
                line={"color": kind_color(v.family or "", v.mixer) if by_kind else color(i)},
                hovertemplate=escape(v.label) + " · epoch %{x}: %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        LAYOUT,
        xaxis={**AXIS, "title": {"text": "epoch"}, "tickformat": "d", "dtick": 1},
        yaxis={**AXIS, "title": {"text": "val accuracy (mean over seeds)"}, "tickformat": ".0%", "range": [0, 1.02]},
        showlegend=True,
        legend={"orientation": "h", "y": -0.3, "yanchor": "top"},
    )
    return fig.to_plotly_json()


def _x(v: VariantOut, axis: str) -> float:
    if axis == "train_fraction":
        return v.train_fraction or 1.0
    return float(v.value) if isinstance(v.value, int | float) else 0.0


def series_figure(variants: Sequence[VariantOut], axis: str, axis_label: str = "") -> dict[str, Any]:
    """Test accuracy against the axis value, one line per series (the base alone when there are none), with
    95% intervals as error bars: the training fraction (log scale), or a numeric axis such as depth."""
    fraction = axis == "train_fraction"
    by_series: dict[str, list[VariantOut]] = {}
    for v in variants:
        if v.test_acc_mean is not None:
            by_series.setdefault(v.series or "base", []).append(v)
    xs = sorted({_x(v, axis) for members in by_series.values() for v in members})
    fig = Figure()
    for i, (series, members) in enumerate(by_series.items()):
        members = sorted(members, key=lambda v: _x(v, axis))
        means = [float(v.test_acc_mean or 0.0) for v in members]
        hover = " · %{x:.0%} of train" if fraction else f" · {escape(axis_label or axis)} %{{x}}"
        fig.add_trace(
            scatter(
                x=[_x(v, axis) for v in members],
                y=means,
                mode="lines+markers",
                name=escape(series),
                line={"color": color(i)},
                error_y=_error_y(means, [v.test_acc_ci for v in members]),
                customdata=[[v.url] for v in members],
                hovertemplate=escape(series) + hover + ": %{y:.2%}<extra></extra>",
            )
        )
    title = "fraction of the train split (log scale)" if fraction else (axis_label or axis)
    xaxis: dict[str, Any] = {**AXIS, "title": {"text": title}, "tickvals": xs}
    if fraction:
        xaxis |= {"type": "log", "ticktext": [fraction_label(f) for f in xs]}
    fig.update_layout(
        LAYOUT,
        xaxis=xaxis,
        yaxis={**AXIS, "title": {"text": "test accuracy (95% interval)"}, "tickformat": ".0%"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.3, "yanchor": "top"},
    )
    return fig.to_plotly_json()


def fraction_figure(variants: Sequence[VariantOut]) -> dict[str, Any]:
    """Training-fraction studies: test accuracy vs fraction of the train split, one line per series."""
    return series_figure(variants, "train_fraction")


def study_figures(variants: Sequence[VariantOut], axis: str, axis_label: str = "") -> dict[str, dict[str, Any]]:
    """The figures the page shows, by element id (only those with data to show, plus the accuracy chart)."""
    out = {"study-figure": accuracy_figure(variants)}
    if any(v.test2_acc_mean is not None for v in variants):
        out["study-test2-figure"] = accuracy_figure(variants, "test2")
    if any(v.val_acc_curve for v in variants):
        out["study-curves-figure"] = curves_figure(variants)
    if axis == "train_fraction":
        out["study-fraction-figure"] = fraction_figure(variants)
    numeric = all(isinstance(v.value, int | float) and not isinstance(v.value, bool) for v in variants)
    if axis in ("depth", "path", "width", "patch_size") and numeric and variants:
        out["study-series-figure"] = series_figure(variants, axis, axis_label)
    return out
