"""Which family wins overall? The platform's own baselines (one per contender and benchmark, the same recipe and
seeds, trained by the platform, so nobody's tuning or number of tries enters) aggregated across the built-in
benchmarks the rliable way (``app.stats.aggregate``): IQM of chance-normalised accuracy with stratified-bootstrap
intervals, probability of improvement over the runner-up, and performance profiles. Beside it, Dodge et al.'s
expected best accuracy against the number of tries for every lineage with at least three tries: what trying
again buys."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.availability import data_status
from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import Benchmark, all_benchmarks
from app.core.db.tables import RunStatus, Submission
from app.entries import repository as entries_repo
from app.entries.board import on_board
from app.entries.lineage import Try, lineages
from app.stats.aggregate import iqm_estimate, normalise, performance_profile, probability_of_improvement
from app.stats.luck import MIN_TRIES_FOR_CURVE, expected_best_curve
from app.web.figures import AXIS, LAYOUT, PALETTE, Figure, color, scatter

TAUS = [round(0.05 * i, 2) for i in range(21)]
MAX_CURVES = 12


@dataclass
class Contender:
    name: str
    runs: dict[str, list[float]]  # benchmark → normalised per-run scores
    iqm: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass
class Overall:
    by: str
    benchmarks: list[str]
    contenders: list[Contender]
    improvement: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    sentence: str


def contender_of(submission: Submission, by: str) -> str:
    """The family, or for a MetaFormer with ``by="mixer"`` its token mixer."""
    return (submission.mixer or submission.family) if by == "mixer" else submission.family


def overall(session: Session, max_epochs: int | None, data_dir: Any = None, by: str = "family") -> Overall:
    benchmarks = [b for b in all_benchmarks() if b.builtin and data_status(b, data_dir).installed]
    runs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    curves: list[dict[str, Any]] = []
    for b in benchmarks:
        version = effective_recipe_version(b.recipe, max_epochs)
        members = entries_repo.lineage_members(session, b.slug, version)
        for s in members:
            if s.is_baseline and on_board(s):
                runs[contender_of(s, by)][b.slug] += [normalise(a, 1.0 / b.num_classes) for a in _accs(s)]
        curves += _try_curves(b, members)
    contenders = [_estimate(name, dict(per)) for name, per in runs.items()]
    contenders.sort(key=lambda c: (not c.runs, -float(c.iqm.get("value", 0.0))))
    improvement = _improvements(contenders)
    return Overall(
        by,
        [b.slug for b in benchmarks],
        contenders,
        improvement,
        curves[:MAX_CURVES],
        _sentence(contenders, improvement),
    )


def _accs(submission: Submission) -> list[float]:
    return [float(r.test_acc) for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]


def _estimate(name: str, per_benchmark: dict[str, list[float]]) -> Contender:
    runs = {b: v for b, v in per_benchmark.items() if v}
    contender = Contender(name, runs)
    if runs:
        contender.iqm = iqm_estimate(runs).to_dict()
        contender.profile = performance_profile(runs, TAUS).to_dict()
    return contender


def _improvements(contenders: list[Contender]) -> list[dict[str, Any]]:
    """P(leader > each other contender), averaged over the benchmarks both have runs on."""
    scored = [c for c in contenders if c.runs]
    if len(scored) < 2:
        return []
    leader = scored[0]
    out = []
    for other in scored[1:]:
        if set(leader.runs) & set(other.runs):
            est = probability_of_improvement(leader.runs, other.runs)
            out.append({"x": leader.name, "y": other.name, **est.to_dict()})
    return out


def _sentence(contenders: list[Contender], improvement: list[dict[str, Any]]) -> str:
    scored = [c for c in contenders if c.runs]
    if len(scored) < 2:
        return "Not enough finished baselines yet to compare families across benchmarks."
    lead, second = scored[0], scored[1]
    vs = next((i for i in improvement if i["y"] == second.name), None)
    clear = vs is not None and vs["low"] > 0.5
    verdict = "a clear lead" if clear else "a lead the data cannot yet separate from chance"
    p = (
        f" (P({lead.name} > {second.name}) = {100 * vs['value']:.0f}% [{100 * vs['low']:.0f}, {100 * vs['high']:.0f}])"
        if vs
        else ""
    )
    return (
        f"Across {len({b for c in scored for b in c.runs})} benchmarks, {lead.name} has the highest interquartile "
        f"mean of chance-normalised accuracy, ahead of {second.name}{p}: {verdict}."
    )


def _try_curves(benchmark: Benchmark, members: list[Submission]) -> list[dict[str, Any]]:
    """Expected best accuracy after n tries, n = 1..k, for each lineage with ≥ 3 finished tries."""
    tries = [Try(s.id, s.lineage_key, dict(s.size_vector or {})) for s in members]
    by_lineage: dict[int, list[Submission]] = defaultdict(list)
    lineage_of = lineages(tries)
    for s in members:
        if _accs(s):
            by_lineage[lineage_of[s.id]].append(s)
    out = []
    for root, subs in by_lineage.items():
        if len(subs) >= MIN_TRIES_FOR_CURVE:
            scores = [fmean(_accs(s)) for s in subs]
            name = next((s.name for s in subs if s.id == root), subs[0].name)
            out.append({"benchmark": benchmark.slug, "lineage": root, "name": name, "tries": len(subs),
                        "expected_best": expected_best_curve(scores)})  # fmt: skip
    return out


def figures(result: Overall) -> dict[str, dict[str, Any]]:
    """The page's charts as Plotly JSON: IQM with intervals, performance profiles, and the try curves."""
    scored = [c for c in result.contenders if c.runs]
    iqm = Figure()
    iqm.add_trace(
        scatter(
            x=[c.iqm["value"] for c in scored],
            y=[c.name for c in scored],
            mode="markers",
            marker={"size": 11, "color": PALETTE[0]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [c.iqm["high"] - c.iqm["value"] for c in scored],
                "arrayminus": [c.iqm["value"] - c.iqm["low"] for c in scored],
            },
            hovertemplate="%{y}: IQM %{x:.3f}<extra></extra>",
            name="IQM (95% interval)",
        )
    )
    iqm.update_layout(
        xaxis={**AXIS, "title": {"text": "IQM of (accuracy − chance)/(1 − chance)"}, "range": [0, 1]},
        yaxis={**AXIS, "autorange": "reversed", "type": "category"},
        **{**LAYOUT, "height": max(260, 40 * len(scored) + 80)},
    )
    return {"overall-iqm": iqm.to_plotly_json(), "overall-profiles": _profiles(scored), "overall-tries": _tries(result)}


def _profiles(scored: list[Contender]) -> dict[str, Any]:
    fig = Figure()
    for i, c in enumerate(scored):
        fig.add_trace(scatter(x=c.profile["taus"], y=c.profile["fraction"], mode="lines", name=c.name,
                              line={"color": color(i)}))  # fmt: skip
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "normalised score τ"}, "range": [0, 1]},
        yaxis={**AXIS, "title": {"text": "fraction of runs above τ"}, "range": [0, 1.02]},
        **LAYOUT,
    )
    return fig.to_plotly_json()


def _tries(result: Overall) -> dict[str, Any]:
    fig = Figure()
    for i, curve in enumerate(result.curves):
        n = list(range(1, len(curve["expected_best"]) + 1))
        fig.add_trace(scatter(x=n, y=curve["expected_best"], mode="lines+markers",
                              name=f"{curve['name']} ({curve['benchmark']})", line={"color": color(i)}))  # fmt: skip
    fig.update_layout(
        xaxis={**AXIS, "title": {"text": "tries"}, "dtick": 1},
        yaxis={**AXIS, "title": {"text": "expected best test accuracy"}, "tickformat": ".1%"},
        **LAYOUT,
    )
    return fig.to_plotly_json()
