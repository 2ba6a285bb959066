"""Plotly figures from leaderboard entries and runs. Pure: data in, figure JSON out; pages only embed it.

Every point's ``customdata`` is ``[url, name, mixer or family, params, test std, seeds, id]``: charts.js opens
``customdata[0]`` on click and the leaderboard's filters hide points by ``customdata[6]``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from app.entries.board import Entry
from app.leaderboard.schemas import FamiliesOut, FitOut
from app.stats.frontier import pareto_front
from app.web.figures import AXIS, LAYOUT, PALETTE, Figure, color, empty_state, scatter

COLOR_BY = ("family", "mixer")
GL_FROM = 1000  # more points than this are drawn with WebGL (scattergl)
Colors = dict[str, str]
X_AXES = {
    "macs": "MACs per image (multiply-accumulates, log scale)",
    "params": "parameters (log scale)",
    "deploy": "MACs per image at deploy time (RepVGG/RepMLP branches folded; log scale)",
    "train_seconds": "projected training seconds per seed (every op counted, reference CPU; log scale)",
}
Y_AXES = {
    "test": "test accuracy (mean over seeds; bars: the board's interval)",
    "test2": "second test set accuracy (mean over seeds)",
}
_HOVER_X = {
    "macs": "MACs %{x:.3s} · params %{customdata[3]:.3s}",
    "params": "params %{x:.3s}",
    "deploy": "MACs at deploy %{x:.3s}",
    "train_seconds": "projected %{x:.3s} s of training per seed · params %{customdata[3]:.3s}",
}
_HOVER_Y = {
    "test": "test acc %{y:.2%} ± %{customdata[4]:.2%} (std, %{customdata[5]} seeds)",
    "test2": "second test acc %{y:.2%} (%{customdata[5]} seeds)",
}


def figure_key(color_by: str, x: str, y: str) -> str:
    """The name under which the page embeds one variant of the frontier explorer."""
    return f"{color_by}|{x}|{y}"


def _ci(entry: Entry) -> tuple[float, float]:
    """The interval drawn: accuracy lives in [0, 1], so a t interval from few seeds is clipped to it."""
    mean = entry.test_acc_mean or 0.0
    low, high = entry.test_acc_ci or (mean, mean)
    return max(0.0, low), min(1.0, high)


def _customdata(entry: Entry) -> list[Any]:
    return [
        entry.url,
        entry.name,
        entry.mixer or entry.family,
        entry.params,
        entry.test_acc_std or 0,
        entry.n,
        entry.id,
    ]


def cost(entry: Entry, x: str) -> float:
    """The cost an axis plots: MACs, params, or the MACs of the deploy-time model (the same as MACs for every
    family without training-time branches to fold)."""
    if x == "deploy":
        return float(entry.deploy_macs if entry.deploy_macs is not None else entry.macs)
    if x == "train_seconds":
        return float(entry.projected_run_seconds or 0.0)
    return float(getattr(entry, x))


def _y(entry: Entry, y: str) -> float | None:
    return entry.test_acc_mean if y == "test" else entry.test2_acc_mean


def _groups(entries: Sequence[Entry], color_by: str) -> list[tuple[str, list[Entry]]]:
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[str(getattr(entry, color_by) or "—")].append(entry)
    return sorted(groups.items())


def _error_y(members: Sequence[Entry]) -> dict[str, Any]:
    means = [e.test_acc_mean or 0.0 for e in members]
    return {
        "type": "data",
        "symmetric": False,
        "array": [_ci(e)[1] - m for e, m in zip(members, means, strict=True)],
        "arrayminus": [m - _ci(e)[0] for e, m in zip(members, means, strict=True)],
        "thickness": 1.2,
        "width": 3,
    }


def _markers(
    fig: Figure,
    entries: Sequence[Entry],
    color_by: str,
    x_of: Callable[[Entry], Any],
    y: str,
    hover: str,
    colors: Colors | None = None,
) -> None:
    kind = "scattergl" if len(entries) > GL_FROM else "scatter"
    for i, (group, members) in enumerate(_groups(entries, color_by)):
        fig.add_trace(
            scatter(
                type=kind,
                x=[x_of(e) for e in members],
                y=[_y(e, y) for e in members],
                mode="markers",
                name=group,
                marker={
                    "size": 11,
                    "color": (colors or {}).get(group, color(i)),
                    "line": {"width": 1, "color": "#fff"},
                },
                error_y=_error_y(members) if y == "test" else None,
                customdata=[_customdata(e) for e in members],
                text=[escape(e.name) for e in members],  # Plotly reads labels as HTML: names are shown as text
                hovertemplate=hover,
            )
        )


def sample(entries: Sequence[Entry], exact: set[int], cap: int) -> list[Entry]:
    """At most ``cap`` entries: every one in ``exact``, then an even spread over the rest in the board's order
    (deterministic, so a reload draws the same points)."""
    if len(entries) <= cap:
        return list(entries)
    rest = [e for e in entries if e.id not in exact]
    room = max(0, cap - (len(entries) - len(rest)))
    step = len(rest) / room if room else 0.0
    picked = {rest[int(i * step)].id for i in range(room)}
    return [e for e in entries if e.id in exact or e.id in picked]


def _bests(entries: Sequence[Entry], color_by: str, y: str) -> set[int]:
    """Each group's best entry on the plotted score."""
    return {max(members, key=lambda e: _y(e, y) or 0.0).id for _, members in _groups(entries, color_by)}


def _shown(fig: Figure, drawn: int, total: int) -> None:
    """Say how many points a decimated chart draws, on the chart itself."""
    if drawn < total:
        text = f"{drawn:,} of {total:,} entries drawn: the frontier, each group's best and an even sample of the rest"
        fig.update_layout(
            title={"text": text, "font": {"size": 12, "color": "#555"}, "x": 0.01, "xanchor": "left"},
            margin={"t": 36},
        )
    fig.update_layout(meta={"drawn": drawn, "total": total})


def frontier_figure(
    entries: Sequence[Entry],
    color_by: str = "family",
    x: str = "macs",
    y: str = "test",
    *,
    colors: Colors | None = None,
    cap: int | None = None,
) -> dict[str, Any]:
    """Mean accuracy (first or second test set) against MACs, params or projected training seconds (log x;
    entries without a projection are left out of that variant), 95% CI error bars on the first test set, one
    colour per family (or mixer), and the Pareto frontier of the plotted axes as a line. With ``cap``: the
    frontier and each group's best drawn exactly, an even sample of the rest (the count stated)."""
    if color_by not in COLOR_BY or x not in X_AXES or y not in Y_AXES:
        raise ValueError(f"unknown figure variant {figure_key(color_by, x, y)!r}")
    scored = [e for e in entries if _y(e, y) is not None and (x != "train_seconds" or e.projected_run_seconds)]
    fig = Figure()
    costs = [cost(e, x) for e in scored]
    scores = [_y(e, y) or 0.0 for e in scored]
    front = sorted((scored[i] for i in pareto_front(costs, scores)), key=lambda e: cost(e, x)) if scored else []
    drawn = sample(scored, {e.id for e in front} | _bests(scored, color_by, y), cap) if cap else scored
    hover = f"<b>%{{text}}</b><br>%{{customdata[2]}}<br>{_HOVER_X[x]}<br>{_HOVER_Y[y]}<extra></extra>"
    _markers(fig, drawn, color_by, lambda e: cost(e, x), y, hover, colors)
    if front:
        fig.add_trace(
            scatter(
                x=[cost(e, x) for e in front],
                y=[_y(e, y) for e in front],
                mode="lines",
                name="Pareto frontier",
                line={"shape": "hv", "dash": "dash", "color": "#444", "width": 1.5},
                hoverinfo="skip",
                meta="frontier",
            )
        )
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": X_AXES[x]}, "type": "log"},
        yaxis={**AXIS, "title": {"text": Y_AXES[y]}, "tickformat": ".0%"},
        **LAYOUT,
    )
    if not scored:
        fig.update_layout(empty_state("No finished entries yet: points appear here as their seeds finish."))
    _shown(fig, len(drawn), len(scored))
    return fig.to_plotly_json()


def explorer_figures(entries: Sequence[Entry]) -> dict[str, dict[str, Any]]:
    """Every variant of the frontier explorer, keyed by :func:`figure_key`."""
    return {figure_key(c, x, y): frontier_figure(entries, c, x, y) for c in COLOR_BY for x in X_AXES for y in Y_AXES}


def second_test_figure(entries: Sequence[Entry], *, cap: int | None = None) -> dict[str, Any]:
    """Second-test against first-test accuracy, with the no-drop diagonal: how far each entry falls on a shifted
    distribution (robustness; tuning to the public test set is the private split's measure, not this one)."""
    both = [e for e in entries if e.test_acc_mean is not None and e.test2_acc_mean is not None]
    drawn = sample(both, {e.id for e in both if e.on_frontier}, cap) if cap else both
    fig = Figure()
    hover = "<b>%{text}</b><br>test %{x:.2%} · second test %{y:.2%}<extra></extra>"
    if both:
        fig.add_trace(
            scatter(
                type="scattergl" if len(drawn) > GL_FROM else "scatter",
                x=[e.test_acc_mean for e in drawn],
                y=[e.test2_acc_mean for e in drawn],
                mode="markers",
                name="entries",
                marker={"size": 11, "color": PALETTE[0], "line": {"width": 1, "color": "#fff"}},
                customdata=[_customdata(e) for e in drawn],
                text=[escape(e.name) for e in drawn],
                hovertemplate=hover,
            )
        )
        low = min(min(e.test_acc_mean or 0.0, e.test2_acc_mean or 0.0) for e in both)
        fig.add_trace(
            scatter(x=[low, 1.0], y=[low, 1.0], mode="lines", name="no drop", line={"color": "#999", "dash": "dot"})
        )
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "test accuracy"}, "tickformat": ".0%"},
        yaxis={**AXIS, "title": {"text": "second test set accuracy"}, "tickformat": ".0%"},
        **LAYOUT,
    )
    if not both:
        fig.update_layout(empty_state("No entry has results on a second test set yet."))
    _shown(fig, len(drawn), len(both))
    return fig.to_plotly_json()


def timeline_figure(
    entries: Sequence[Entry], color_by: str = "family", *, colors: Colors | None = None, cap: int | None = None
) -> dict[str, Any]:
    """Mean test accuracy over submission date, with 95% CI error bars."""
    scored = [e for e in entries if e.test_acc_mean is not None]
    drawn = (
        sample(scored, {e.id for e in scored if e.on_frontier} | _bests(scored, color_by, "test"), cap)
        if cap
        else scored
    )
    fig = Figure()
    hover = "<b>%{text}</b><br>%{customdata[2]}<br>%{x}<br>test acc %{y:.2%}<extra></extra>"
    _markers(fig, drawn, color_by, lambda e: e.created_at.isoformat(), "test", hover, colors)
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "submitted (UTC)"}, "type": "date"},
        yaxis={**AXIS, "title": {"text": Y_AXES["test"]}, "tickformat": ".0%"},
        **LAYOUT,
    )
    if not scored:
        fig.update_layout(empty_state("No finished entries yet."))
    _shown(fig, len(drawn), len(scored))
    return fig.to_plotly_json()


def _fill(hex_color: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _band_traces(fit: FitOut, i: int, unit: str) -> list[dict[str, Any]]:
    """The band (upper edge, then the lower edge filled up to it) and the fitted line of one group."""
    name = escape(fit.group)
    edge = {"width": 0}
    return [
        scatter(x=fit.costs, y=fit.high, mode="lines", line=edge, showlegend=False, hoverinfo="skip", legendgroup=name),
        scatter(
            x=fit.costs,
            y=fit.low,
            mode="lines",
            line=edge,
            fill="tonexty",
            fillcolor=_fill(color(i)),
            showlegend=False,
            hoverinfo="skip",
            legendgroup=name,
        ),
        scatter(
            x=fit.costs,
            y=fit.mean,
            mode="lines",
            name=f"{name} ({fit.n_entries} entries)",
            line={"color": color(i), "width": 2},
            legendgroup=name,
            hovertemplate=f"{name} fit · {unit} %{{x:.3s}}: %{{y:.2%}}<extra></extra>",
        ),
    ]


def families_figure(
    out: FamiliesOut, entries: Sequence[Entry], group_of: Callable[[Entry], str], *, cap: int | None = None
) -> dict[str, Any]:
    """Accuracy against log-compute: per fitted group its line and 95% band, with its entries as points (with
    ``cap``: an even sample of each group's entries, its best always)."""
    fig = Figure()
    unit = X_AXES[out.x].split(" (")[0]
    share = max(1, cap // max(1, len(out.fits))) if cap else None
    for i, fit in enumerate(out.fits):
        for trace in _band_traces(fit, i, unit):
            fig.add_trace(trace)
        members = [e for e in entries if e.test_acc_mean is not None and group_of(e) == fit.group]
        if share and members:
            members = sample(members, {max(members, key=lambda e: e.test_acc_mean or 0.0).id}, share)
        fig.add_trace(
            scatter(
                type="scattergl" if len(members) > GL_FROM else "scatter",
                x=[cost(e, out.x) for e in members],
                y=[e.test_acc_mean for e in members],
                mode="markers",
                showlegend=False,
                legendgroup=escape(fit.group),
                marker={"size": 7, "color": color(i), "line": {"width": 1, "color": "#fff"}},
                customdata=[_customdata(e) for e in members],
                text=[escape(e.name) for e in members],
                hovertemplate="<b>%{text}</b><br>%{customdata[2]} · %{x:.3s}: %{y:.2%}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": X_AXES[out.x]}, "type": "log"},
        yaxis={**AXIS, "title": {"text": "test accuracy (fit per group, 95% band)"}, "tickformat": ".0%"},
        **LAYOUT,
    )
    return fig.to_plotly_json()
