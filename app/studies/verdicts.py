"""Pairwise verdicts of a study, the α spent at each look, the coloured grid and the plain-words summary.
Pure: variants (with their per-seed accuracies) in, verdicts and text out.

Sequential looks. Seeds are fixed before training, and verdicts appear only once every seed is done: that is
a look. The owner may add seeds to an inconclusive study and look again, at most ``MAX_LOOKS`` times in all.
Looking repeatedly and stopping when something is significant inflates the error rate, so the α is spent
across looks (Bonferroni-style α-spending: 0.025, then 0.0125, then 0.0125). By the union bound the chance
of calling two identical variants "different" at *any* look is at most 0.025 + 0.0125 + 0.0125 = 0.05,
whatever the number of seeds added and whatever the outcome of earlier looks (no independence or spacing
assumption, unlike Pocock or O'Brien-Fleming boundaries). The same α is used for TOST at that look, so a false
"equivalent" is bounded the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from app.stats.noise import NoiseReference
from app.stats.pairs import GridVerdicts, grid_verdicts, ranking_sentence
from app.studies.schemas import VariantOut, VerdictOut

if TYPE_CHECKING:
    from app.studies.freeze import StudyFreeze

ALPHA_SPENDING: tuple[float, ...] = (0.025, 0.0125, 0.0125)
"""α spent at look 1, 2, 3; they sum to 0.05 (the study-wide error rate per pair)."""
MAX_LOOKS = len(ALPHA_SPENDING)
SIMULATED_POWER_3DELTA = 0.99
"""Measured by tests/studies/test_sequential.py (3 seeds, +3 per look while inconclusive; 3δ = 6 seed σ):
the share of pairs 3δ apart called different. The page quotes it as a lower bound."""


def alpha_at(look: int) -> float:
    """The α spent at ``look`` (1-based)."""
    if not 1 <= look <= MAX_LOOKS:
        raise ValueError(f"look must be in 1..{MAX_LOOKS}, got {look}")
    return ALPHA_SPENDING[look - 1]


def pts(x: float) -> str:
    return f"{100.0 * x:.1f}"


def _pending(a: str, b: str, why: str, group: str | None) -> VerdictOut:
    return VerdictOut(
        group=group, a=a, b=b, kind="pending", text=why, diff=None, ci_low=None, ci_high=None, seeds_needed=None
    )


def _text(kind: str, a: str, b: str, diff: float, delta: float, seeds_needed: int | None) -> str:
    return {
        "equivalent": f"equivalent within ±{pts(delta)} pts",
        "a_better": f"{a} better by {pts(abs(diff))} pts",
        "b_better": f"{b} better by {pts(abs(diff))} pts",
        "inconclusive": f"inconclusive — about {seeds_needed} seeds per variant would decide",
    }[kind]


def group_verdicts(
    group: Group, ready: bool, delta: float, alpha: float, ref: NoiseReference
) -> tuple[list[VerdictOut], GridVerdicts | None]:
    """Every pair of one group at this look, Holm-corrected across the group's pairs (``stats.pairs``)."""
    members, names, key = group.members, group.names, group.key
    pairs = list(combinations(range(len(members)), 2))
    if not ready or any(len(v.test_accs) < 2 for v in members):
        why = "waiting for every seed" if not ready else "needs 2 finished seeds per variant"
        return [_pending(names[i], names[j], why, key) for i, j in pairs], None
    grid = grid_verdicts([v.test_accs for v in members], delta, alpha, ref)
    out = [
        VerdictOut(
            group=key,
            a=names[p.a],
            b=names[p.b],
            kind=p.kind,
            text=_text(p.kind, names[p.a], names[p.b], p.diff, delta, p.seeds_needed),
            diff=p.diff,
            ci_low=p.ci_low,
            ci_high=p.ci_high,
            seeds_needed=p.seeds_needed,
        )
        for p in grid.pairs
    ]
    return out, grid


@dataclass
class Group:
    """Variants judged together, in one grid. ``key`` names the group in verdicts and the frozen parameters
    (None: the whole study); ``kind`` is "all", "at_value" (the series at one value of the axis) or
    "in_series" (one series across the values); ``names`` are the members as the grid shows them."""

    key: str | None
    kind: str
    value: str | None
    series: str | None
    members: list[VariantOut]

    @property
    def names(self) -> list[str]:
        if self.kind == "at_value":
            return [v.series or v.label for v in self.members]
        if self.kind == "in_series":
            return [v.axis_value or v.label for v in self.members]
        return [v.label for v in self.members]


def value_of(variant: VariantOut) -> str:
    """The axis value a variant of a study with series sits at ("10%", "56")."""
    return variant.axis_value or variant.label.rsplit(" @ ", 1)[-1]


def groups(variants: Sequence[VariantOut]) -> list[Group]:
    """What is compared with what: all trained variants together; for a study with several series, the
    series at each value (a group per value, in the study's order); and for a study with several bases also
    each series across the values (does the axis help this series?)."""
    trained = [v for v in variants if v.submission_id is not None]
    series = list(dict.fromkeys(v.series for v in variants if v.series))
    if len(series) < 2:
        return [Group(None, "all", None, None, trained)]
    bases = any(v.axis_value is not None for v in variants)
    at: dict[str, list[VariantOut]] = {}
    for v in variants:  # all variants, so a value shows up even if one series was not matched
        at.setdefault(value_of(v), [])
        if v.submission_id is not None:
            at[value_of(v)].append(v)
    out = [Group(f"at {k}" if bases else k, "at_value", k, None, members) for k, members in at.items()]
    if bases:
        out += [Group(f"series {s}", "in_series", None, s, [v for v in trained if v.series == s]) for s in series]
    return out


def all_verdicts(
    variants: Sequence[VariantOut], ready: bool, freeze: StudyFreeze, alpha: float
) -> tuple[list[VerdictOut], dict[str | None, str]]:
    """The verdicts of every group, and each decided group's ranking in words."""
    verdicts: list[VerdictOut] = []
    rankings: dict[str | None, str] = {}
    for group in groups(variants):
        if len(group.members) < 2:
            continue
        fixed = freeze.group(group.key)
        found, grid = group_verdicts(group, ready, fixed.delta, alpha, fixed.ref)
        verdicts += found
        if grid is not None:
            rankings[group.key] = ranking_sentence(group.names, grid)
    return verdicts, rankings


def grid(names: list[str], verdicts: Sequence[VerdictOut]) -> list[list[dict[str, str]]]:
    """Rows × columns of cells {css, text}, from the row variant's side (row better → 'v-better')."""
    by_pair = {(v.a, v.b): v for v in verdicts}
    rows = []
    for row in names:
        cells = []
        for col in names:
            if row == col:
                cells.append({"css": "v-self", "text": "—"})
                continue
            v = by_pair.get((row, col))
            flipped = v is None
            v = v or by_pair[(col, row)]
            kind = v.kind
            if kind in ("a_better", "b_better"):
                row_wins = (kind == "a_better") != flipped
                kind = "better" if row_wins else "worse"
            cells.append({"css": f"v-{kind}", "text": v.text})
        rows.append(cells)
    return rows


def group_title(group: Group, axis: str) -> str:
    """The grid's heading: "plain, across layers", "the series at layers 56", "at 10% of the training set"."""
    if group.kind == "in_series":
        return f"{group.series}, across {axis}"
    if group.kind == "at_value" and group.key != group.value:
        return f"the series at {axis} {group.value}"
    return f"at {group.value} of the training set" if group.kind == "at_value" else ""


def grids(variants: Sequence[VariantOut], verdicts: Sequence[VerdictOut], axis: str = "") -> list[dict[str, object]]:
    """One grid per group: {title, names, rows}."""
    out: list[dict[str, object]] = []
    for group in groups(variants):
        names = group.names
        if len(names) < 2:
            continue
        in_group = [v for v in verdicts if v.group == group.key]
        out.append({"title": group_title(group, axis), "names": names, "rows": grid(names, in_group)})
    return out


def can_add_seeds(
    verdicts: Sequence[VerdictOut], ready: bool, looks: int, seeds: int, max_seeds: int
) -> tuple[bool, str | None]:
    """Whether the owner may add seeds now, else why not."""
    if looks >= MAX_LOOKS:
        return False, (
            f"this study has had its {MAX_LOOKS} looks (α spent {' + '.join(map(str, ALPHA_SPENDING))} = "
            f"{sum(ALPHA_SPENDING):g}); more seeds would break its error rates"
        )
    if not ready:
        return False, "some runs are not done yet: seeds can be added once every seed of this look is done"
    if not any(v.kind == "inconclusive" for v in verdicts):
        return False, "no pair is inconclusive: more seeds would not change an answer"
    if seeds >= max_seeds:
        return False, f"every variant already has this benchmark's maximum of {max_seeds} seeds"
    return True, None


def summary(
    axis: str,
    benchmark: str,
    match: str | None,
    seeds: int,
    variants: Sequence[VariantOut],
    verdicts: Sequence[VerdictOut],
    rankings: dict[str | None, str],
    freeze: StudyFreeze,
    chance: float | None = None,
) -> str:
    """The study's answer in plain words, opening with its ranking ("dwconv > pooling ≈ spatial_mlp")."""
    trained = [v for v in variants if v.submission_id is not None]
    decided = [v for v in verdicts if v.kind != "pending"]
    at = f" at equal {'MACs' if match == 'macs' else match} (±5%)" if match else ""
    if len(trained) < 2:
        return "Fewer than two variants could be created, so there is nothing to compare."
    if not decided:
        done = sum(v.seeds_finished for v in trained)
        return (
            f"Not decided yet: {done} of {len(trained) * seeds} runs finished. Verdicts appear once every "
            f"variant has all its {seeds} seeds, a number fixed before training."
        )
    group_names = [g.key for g in groups(variants)]
    if group_names != [None]:
        parts = [
            f"With {g} of the training set: "
            + _answer([v for v in decided if v.group == g], rankings.get(g, ""), seeds, freeze.group(g).delta)
            for g in group_names
            if any(v.group == g for v in decided)
        ]
        return f"Does the token mixer matter on {benchmark}{at} as the training set shrinks? " + " ".join(parts)
    answer = _answer(decided, rankings.get(None, ""), seeds, freeze.group(None).delta, n_trained=len(trained))
    return near_chance(trained, chance) + f"Does the {axis} matter on {benchmark}{at}? " + answer


NEAR_CHANCE = 0.05
"""Variants whose mean test accuracy is within this of chance did not learn the task."""


def near_chance(trained: Sequence[VariantOut], chance: float | None) -> str:
    """A warning when no variant learned the task: then "equivalent" means "none of them learned", not "they
    are interchangeable" (seen on pathfinder: every 32×32 MetaFormer variant at 51–54 %, chance 50 %)."""
    means = [v.test_acc_mean for v in trained if v.test_acc_mean is not None]
    if chance is None or not means or max(means) - chance > NEAR_CHANCE:
        return ""
    return (
        f"Caution: every variant is within {pts(NEAR_CHANCE)} points of chance ({pts(chance)} %), so none of "
        "them learned this task at this size and recipe; equal accuracy here says nothing about the mixers. "
    )


def _answer(decided: Sequence[VerdictOut], ranking: str, seeds: int, delta: float, n_trained: int | None = None) -> str:
    wins = [v for v in decided if v.kind in ("a_better", "b_better")]
    equal = [v for v in decided if v.kind == "equivalent"]
    unsure = [v for v in decided if v.kind == "inconclusive"]
    if decided and len(equal) == len(decided):
        who = f"all {n_trained} variants" if n_trained else "all of them"
        return f"No: {who} perform the same within ±{pts(delta)} accuracy points."
    lead = "Yes" if wins else f"Not with {seeds} seeds"
    text = f"{lead}: {ranking}." if ranking else f"{lead}."
    if unsure:
        n = max(v.seeds_needed or 0 for v in unsure)
        text += f" {len(unsure)} of {len(decided)} pairs are inconclusive (about {n} seeds per variant would decide)."
    return text


def notes(match: str | None, seeds: int, looks: int, alpha: float, freeze: StudyFreeze) -> list[str]:
    spent = " / ".join(f"{a:g}" for a in freeze.alpha_spending)
    when = f"fixed on {freeze.at:%Y-%m-%d}" if freeze.at else "provisional until every group can be fixed"
    sources = sorted({f"{g.source} δ = ±{pts(g.delta)} points." for g in freeze.groups.values()})
    out = [
        f"δ, α and the noise reference ({when}; they never change afterwards): " + " ".join(sources),
        f"δ = max(1 point, 2 × the seed σ of the reference). Two variants are 'equivalent' when their difference "
        f"lies inside ±δ (TOST), 'better' when a two-sided Welch test separates them; seed variances are "
        f"moderated toward the reference, and both tests are Holm-corrected across the pairs of a grid at "
        f"α = {alpha:g}.",
        f"Look {looks} of at most {MAX_LOOKS}, with {seeds} seeds per variant, α = {alpha:g}. Verdicts appear "
        "only once every seed is done. Adding seeds after looking changes the error rates, so the study spends "
        f"its α across looks ({spent} at looks 1 / 2 / 3; Bonferroni-style α-spending): among identical "
        f"variants some pair is called different at any look with probability at most {sum(ALPHA_SPENDING):g}, "
        f"however the seeds are added. A {MAX_LOOKS + 1}th look is refused.",
        f"Power: in simulation, two variants 3δ apart are called different in at least "
        f"{SIMULATED_POWER_3DELTA:.0%} of studies (3 seeds, +3 per look while inconclusive); 'about n seeds' "
        "is the count at which the verdict's simulated power reaches 80%.",
    ]
    if match:
        out.append(
            f"Equal compute: each variant's width was searched (multiples of lcm(heads, 2), within the "
            f"benchmark's limits) so its {match} are within ±5% of the base spec's; variants that could "
            "not be matched are listed with the reason and not trained."
        )
    return out
