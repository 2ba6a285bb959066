"""Does the axis help each series? For a study whose axis is a number (depth, or any numeric field): the verdict
between its smallest and largest value within each series, in words — that contrast is the study's question,
fixed before any result, so it is tested on its own (Bonferroni across the series' contrasts at the look's α)
rather than as one of the Holm-corrected pairs of the series' grid, which answer "which values differ"; the
series compared at each value; and, for a depth study, whether the result agrees with the published reference
(``app.studies.published``). Pure: variants, verdicts and the frozen parameters in, text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.stats.pairs import grid_verdicts
from app.studies.axes import DEPTH_PATHS
from app.studies.freeze import StudyFreeze
from app.studies.published import HE_ET_AL, RESMLP, PublishedClaim, Reference
from app.studies.schemas import VariantOut, VerdictOut
from app.studies.verdicts import Group, groups, pts

TrendKind = Literal["better", "worse", "same", "unclear", "pending"]
Agreement = Literal["agrees", "partly", "disagrees", "undecided"]
SHORT = {"he2016": "He et al. (2016)", "touvron2021": "Touvron et al. (2021)"}


@dataclass(frozen=True)
class Trend:
    """One series from its smallest (``low``) to its largest (``high``) axis value: ``kind`` is "better"
    (the largest value is clearly better), "worse", "same" (equivalent within ±δ), "unclear" (inconclusive)
    or "pending" (seeds still training)."""

    series: str
    kind_of_net: str | None  # in the references' terms: "plain", "residual", "residual MLP"
    low: str
    high: str
    kind: TrendKind
    diff: float | None  # mean accuracy at high minus at low
    text: str
    axis: str = ""
    low_acc: float | None = None  # mean test accuracy at the smallest value


def kind_of_net(family: str | None, mixer: str | None) -> str | None:
    """What the published claims call this kind of network (None: no claim speaks of it)."""
    if family == "plain":
        return "plain"
    if family == "resnet":
        return "residual"
    if family == "repmlp" or (family == "metaformer" and mixer == "spatial_mlp"):
        return "residual MLP"
    return None


def is_numeric(variants: Sequence[VariantOut]) -> bool:
    return bool(variants) and all(isinstance(v.value, int | float) and not isinstance(v.value, bool) for v in variants)


def is_depth(variants: Sequence[VariantOut]) -> bool:
    """Every variant sets its family's blocks per stage (the depth axis, or its path)."""
    return bool(variants) and all(v.path is not None and DEPTH_PATHS.get(v.family or "") == v.path for v in variants)


def _verdict(verdicts: Sequence[VerdictOut], key: str | None, a: str, b: str) -> VerdictOut | None:
    return next((v for v in verdicts if v.group == key and {v.a, v.b} == {a, b}), None)


def _kind(verdict: VerdictOut | None, high: str) -> TrendKind:
    if verdict is None or verdict.kind == "pending":
        return "pending"
    if verdict.kind == "inconclusive":
        return "unclear"
    if verdict.kind == "equivalent":
        return "same"
    winner = verdict.a if verdict.kind == "a_better" else verdict.b
    return "better" if winner == high else "worse"


def _trend_text(series: str, kind: TrendKind, low: str, high: str, axis: str, diff: float | None, delta: float) -> str:
    gap = f"{pts(abs(diff or 0.0))} points"
    return {
        "better": f"{series}: yes, better at {high} than at {low} {axis} (by {gap})",
        "worse": f"{series}: no, worse at {high} than at {low} {axis} (by {gap})",
        "same": f"{series}: no difference, the same at {low} and {high} {axis} within ±{pts(delta)} points",
        "unclear": f"{series}: cannot be told yet between {low} and {high} {axis}",
        "pending": f"{series}: waiting for seeds",
    }[kind]


def _ends(group: Group) -> tuple[VariantOut, VariantOut, str, str]:
    """The series' variants at its smallest and largest value, and their names in the grid."""
    members = sorted(group.members, key=lambda v: float(v.value))  # type: ignore[arg-type]
    names = dict(zip((v.label for v in group.members), group.names, strict=True))
    return members[0], members[-1], names[members[0].label], names[members[-1].label]


def _series(variants: Sequence[VariantOut]) -> list[Group]:
    return [g for g in groups(variants) if g.kind != "at_value" and len(g.members) >= 2]


def shallow_vs_deep(
    variants: Sequence[VariantOut], verdicts: Sequence[VerdictOut], freeze: StudyFreeze, alpha: float
) -> dict[str | None, VerdictOut]:
    """Per series (by group key), the smallest value against the largest, tested on its own at α / the number
    of series (see the module docstring), with the group's frozen δ and noise reference; none while the grid's
    own verdict for that pair is pending."""
    series = _series(variants)
    out: dict[str | None, VerdictOut] = {}
    for group in series:
        low, high, a, b = _ends(group)
        if (found := _verdict(verdicts, group.key, a, b)) is None or found.kind == "pending":
            continue
        fixed = freeze.group(group.key)
        pair = grid_verdicts(
            [low.test_accs, high.test_accs], fixed.delta, alpha / len(series), fixed.ref, with_seeds_needed=False
        ).pairs[0]
        ends = {"a": a, "b": b, "kind": pair.kind, "diff": pair.diff}
        out[group.key] = found.model_copy(update=ends | {"ci_low": pair.ci_low, "ci_high": pair.ci_high})
    return out


def trend(group: Group, name: str, contrast: VerdictOut | None, ranking: str, axis: str, delta: float) -> Trend | None:
    """The series' smallest value against its largest; None when fewer than two of its variants were trained."""
    if len(group.members) < 2:
        return None
    first, last, low, high = _ends(group)
    kind = _kind(contrast, high)
    means = (first.test_acc_mean, last.test_acc_mean)
    diff = means[1] - means[0] if means[0] is not None and means[1] is not None else None
    text = _trend_text(name, kind, low, high, axis, diff, delta)
    if ranking and kind != "pending":
        text += f"; from best to worst: {ranking}"
    return Trend(name, kind_of_net(first.family, first.mixer), low, high, kind, diff, text, axis, means[0])


def series_trends(
    variants: Sequence[VariantOut],
    contrasts: dict[str | None, VerdictOut],
    rankings: dict[str | None, str],
    deltas: dict[str | None, float],
    axis: str,
) -> list[Trend]:
    """One trend per series (or the one base of a study without series) of a numeric study, from each series'
    ``shallow_vs_deep`` contrast."""
    if not is_numeric(variants):
        return []
    out = []
    for group in _series(variants):
        name = group.series or _base_name(group.members)
        contrast = contrasts.get(group.key)
        found = trend(group, name, contrast, rankings.get(group.key, ""), axis, deltas.get(group.key, 0.01))
        if found is not None:
            out.append(found)
    return out


def _base_name(members: Sequence[VariantOut]) -> str:
    first = members[0] if members else None
    if first is None:
        return "the base"
    return first.mixer or first.family or "the base"


def between_series(variants: Sequence[VariantOut], rankings: dict[str | None, str], axis: str) -> str:
    """The series compared at each value, in words: "at 8 layers plain ≈ resnet; at 56 layers resnet > plain"."""
    parts = [
        f"at {axis} {g.value}: {rankings[g.key]}"
        for g in groups(variants)
        if g.kind == "at_value" and g.key in rankings and g.key != g.value
    ]
    return ("Between the series, " + "; ".join(parts) + ".") if parts else ""


def question(axis: str, depth: bool, several: bool, benchmark: str) -> str:
    what = "depth" if depth else f"a larger {axis}"
    return f"Does {what} help {'each family' if several else 'it'} on {benchmark}?"


def reference_for(trends: Sequence[Trend], depth: bool) -> Reference | None:
    """The published reference whose every claim is about a kind of network this depth study has."""
    kinds = {t.kind_of_net for t in trends}
    for reference in (HE_ET_AL, RESMLP):
        if depth and all(c.family in kinds for c in reference.claims):
            return reference
    return None


_OURS = {
    "better": "gets better with depth",
    "worse": "gets worse with depth",
    "same": "neither gains nor loses with depth",
    "unclear": "cannot be told apart across depths yet",
    "pending": "is still training",
}


def _net(kind: str, series: str) -> str:
    return f"{kind} net" if kind == series else f"{kind} net ({series})"


def _theirs(claim: PublishedClaim) -> str:
    verb = "better" if claim.direction == "better" else "worse"
    return f"{verb} from {claim.shallow} to {claim.deep} layers on {claim.dataset} ({claim.where})"


CEILING = 0.98
"""A series already this accurate at its shallowest has little left for depth to add."""


def _ceiling(trend: Trend) -> str:
    if trend.kind != "same" or trend.low_acc is None or trend.low_acc < CEILING:
        return ""
    return f" (ours is at {100 * trend.low_acc:.1f}% already at {trend.low} {trend.axis}: little is left to gain)"


def agreement(reference: Reference, trends: Sequence[Trend]) -> tuple[Agreement, str]:
    """Whether our trends agree with the reference's claims, in one sentence."""
    short = SHORT.get(reference.key, reference.title)
    pairs = [(c, next(t for t in trends if t.kind_of_net == c.family)) for c in reference.claims]
    matched = [(c, t) for c, t in pairs if t.kind == c.direction]
    open_ = [(c, t) for c, t in pairs if t.kind in ("pending", "unclear")]
    missed = [(c, t) for c, t in pairs if (c, t) not in matched and (c, t) not in open_]

    def ours(marked: bool) -> str:
        """Our trend per claim; ``marked``: say "as they found" after the ones that match."""
        return "; ".join(
            f"the {_net(c.family, t.series)} {_OURS[t.kind]} here ({t.low} → {t.high} {t.axis})".replace(" )", ")")
            + (", as they found" if marked and (c, t) in matched else "")
            for c, t in pairs
        )

    if open_ and not missed:
        return "undecided", f"Not decided yet whether ours agrees with {short}: {ours(True)}."
    if not missed:
        found = "; ".join(f"{c.family}: {_theirs(c)}" for c, _ in pairs)
        return "agrees", f"Ours agrees with {short}: {ours(False)}, as they found ({found})."
    theirs = "; ".join(f"they found the {c.family} net {_theirs(c)}{_ceiling(t)}" for c, t in missed)
    if matched:
        return "partly", f"Ours partly agrees with {short}: {ours(True)}; but {theirs}."
    return "disagrees", f"Ours disagrees with {short}: {ours(False)}; {theirs}."
