"""crossing: per-group fits of accuracy against log-compute with bootstrap bands, and where pairs separate.
Hand-made boards, then seeded simulations of the band's coverage and of false separations between groups
that share one truth."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from app.stats.crossing import MIN_ENTRIES, _seed_mean_draws, _Seeds, fit_groups


def _group(
    rng: np.random.Generator,
    costs: list[float],
    line: Callable[[float], float],
    seeds: int = 3,
    scatter: float = 0.005,
    noise: float = 0.005,
) -> list[tuple[float, list[float]]]:
    """Entries on a true line of log10 cost, each with its own offset (architecture scatter) and seed noise."""
    out = []
    for c in costs:
        centre = line(math.log10(c)) + rng.normal(0, scatter)
        out.append((c, (centre + rng.normal(0, noise, seeds)).tolist()))
    return out


COSTS = [1e5, 2e5, 5e5, 1e6, 2e6, 5e6]


def test_a_group_with_too_few_entries_is_named_with_the_reason(rng: np.random.Generator) -> None:
    result = fit_groups(
        {
            "resnet": _group(rng, COSTS, lambda x: 0.5 + 0.05 * x),
            "plain": _group(rng, COSTS[:2], lambda x: 0.8),
            "convmixer": _group(rng, [1e6] * 4, lambda x: 0.8),
        },
        n_boot=200,
    )
    assert [f.group for f in result.fits] == ["resnet"]
    assert result.too_few == {
        "plain": f"2 entries with results (at least {MIN_ENTRIES} needed)",
        "convmixer": "every entry has the same cost, so there is no slope to fit",
    }
    fit = result.fits[0]
    assert fit.slope == pytest.approx(0.05, abs=0.02) and fit.n_entries == 6 and fit.n_seeds == 18
    assert fit.grid[0] == pytest.approx(5.0) and fit.grid[-1] == pytest.approx(math.log10(5e6))
    assert all(lo <= m <= hi for lo, m, hi in zip(fit.low, fit.mean, fit.high, strict=True))
    assert result.pairs == [] and result.critical is None


def test_seeded_and_deterministic(rng: np.random.Generator) -> None:
    groups = {"a": _group(rng, COSTS, lambda x: 0.5 + 0.05 * x), "b": _group(rng, COSTS, lambda x: 0.8)}
    assert fit_groups(groups, n_boot=200, seed=3) == fit_groups(groups, n_boot=200, seed=3)
    assert fit_groups(groups, n_boot=200, seed=3) != fit_groups(groups, n_boot=200, seed=4)


def test_groups_far_apart_are_separated_over_the_whole_overlap(rng: np.random.Generator) -> None:
    groups = {"attention": _group(rng, COSTS, lambda x: 0.9), "mixer": _group(rng, COSTS[1:], lambda x: 0.7)}
    pair = fit_groups(groups, n_boot=300).pairs[0]
    assert (pair.a, pair.b) == ("attention", "mixer") and pair.overlap is not None
    assert pair.overlap[0] == pytest.approx(math.log10(2e5), abs=0.1) and len(pair.segments) == 1
    only = pair.segments[0]
    assert only.better == "attention" and 0.15 < only.diff_min <= only.diff_max < 0.25


def test_lines_that_cross_separate_on_both_sides_and_not_in_between(rng: np.random.Generator) -> None:
    costs = [10 ** (5 + i / 4) for i in range(13)]  # 1e5 … 1e8
    groups = {
        "attention": _group(rng, costs, lambda x: 0.5 + 0.1 * (x - 5), scatter=0.02, noise=0.01),
        "mixer": _group(rng, costs, lambda x: 0.8 - 0.1 * (x - 5), scatter=0.02, noise=0.01),
    }
    pair = fit_groups(groups, n_boot=400).pairs[0]
    calls = [s.better for s in pair.segments]
    assert calls == ["mixer", None, "attention"], pair.segments
    assert pair.segments[0].end < 6.5 < pair.segments[2].start  # the truths cross at 10^6.5 MACs


def test_groups_on_different_cost_ranges_are_not_compared(rng: np.random.Generator) -> None:
    groups = {"small": _group(rng, COSTS[:3], lambda x: 0.9), "large": _group(rng, [1e7, 2e7, 5e7], lambda x: 0.9)}
    pair = fit_groups(groups, n_boot=100).pairs[0]
    assert pair.overlap is None and pair.segments == [] and not pair.separated


@pytest.mark.simulation
def test_band_coverage_and_false_separations_on_one_truth(report: Callable[[str], None]) -> None:
    """Three groups on the same line (entries scattered about it, 3 seeds each): how often the pointwise band
    holds the true line at mid-range, and how often any pair is (wrongly) called separated anywhere."""
    rng = np.random.default_rng(11)
    trials, covered, false_calls = 150, 0, 0
    costs = [10 ** (5 + i / 3) for i in range(8)]
    truth = lambda x: 0.6 + 0.04 * (x - 5)  # noqa: E731
    for t in range(trials):
        groups = {g: _group(rng, costs, truth, scatter=0.01, noise=0.008) for g in ("a", "b", "c")}
        result = fit_groups(groups, n_boot=300, seed=t)
        mid = len(result.fits[0].grid) // 2
        fit = result.fits[0]
        covered += fit.low[mid] <= truth(fit.grid[mid]) <= fit.high[mid]
        false_calls += any(p.separated for p in result.pairs)
    coverage, false_rate = covered / trials, false_calls / trials
    report(
        f"crossing, 3 groups x 8 entries x 3 seeds, {trials} boards: band coverage {coverage:.3f}, "
        f"any false separation {false_rate:.3f}"
    )
    assert coverage >= 0.85
    assert false_rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials) + 0.05  # small-sample bootstrap slack


def test_seed_resampling_has_the_bootstrap_distribution_for_every_number_of_seeds() -> None:
    """Each entry's resampled seed mean (drawn for all entries with k seeds at once; one index into the k**k
    equally likely resamples when k ≤ 5) has the bootstrap's exact distribution: every resample's mean with its
    multinomial probability (k = 3), and the mean and variance σ²/k of k draws with replacement (k = 1 … 7)."""
    rng = np.random.default_rng(11)
    entries = [(1.0, list(rng.normal(0.8, 0.05, k))) for k in (1, 2, 3, 3, 5, 6, 7)]
    n_boot = 60_000
    draws = _seed_mean_draws(_Seeds.of("test", entries), n_boot, np.random.default_rng(12))
    assert draws.shape == (n_boot, len(entries))
    for column, (_, values) in enumerate(entries):
        v, k = np.array(values), len(values)
        se_of_mean = math.sqrt(v.var() / k / n_boot)
        assert abs(draws[:, column].mean() - v.mean()) <= 4 * se_of_mean + 1e-12
        assert draws[:, column].var() == pytest.approx(v.var() / k, rel=0.05, abs=1e-12)
    a, b, c = entries[2][1]
    column = draws[:, 2]
    for i in range(4):  # the 10 distinct resamples of 3 seeds: counts (i, j, m), probability 3!/(i! j! m!) / 27
        for j in range(4 - i):
            m = 3 - i - j
            p = math.factorial(3) / (math.factorial(i) * math.factorial(j) * math.factorial(m)) / 27
            seen = float(np.mean(np.abs(column - (i * a + j * b + m * c) / 3) < 1e-9))
            assert abs(seen - p) <= 4 * math.sqrt(p * (1 - p) / n_boot)
