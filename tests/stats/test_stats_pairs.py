"""pairs: Holm by hand, the pair test against scipy, no p = 0, grid error rates, seeds_needed's power by
simulation, and the plain-words ranking."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.noise import NoiseReference, moderated_variance
from app.stats.pairs import GridVerdicts, PairVerdict, grid_verdicts, holm_adjust, ranking_sentence
from tests.stats.legacy_ranking import holm_reject
from tests.stats.scenarios import FASHION, seeds_needed_power, study_false_better

REF = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="test", prior_df=12.0)


def test_holm_adjust_by_hand_and_against_holm_reject() -> None:
    # sorted 0.01, 0.03, 0.04 → 3·0.01 = 0.03, max(0.03, 2·0.03) = 0.06, max(0.06, 0.04) = 0.06
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    rng = np.random.default_rng(1)
    for _ in range(200):
        p = rng.uniform(0, 0.1, 6).tolist()
        assert [q <= 0.05 for q in holm_adjust(p)] == holm_reject(p, 0.05)


def test_pair_test_is_welch_on_moderated_variances() -> None:
    a, b = [0.90, 0.905, 0.91], [0.89, 0.893, 0.899, 0.894]
    grid = grid_verdicts([a, b], delta=0.01, alpha=0.05, ref=REF, with_seeds_needed=False)
    (pair,) = grid.pairs
    va, dfa = moderated_variance(a, REF)
    vb, dfb = moderated_variance(b, REF)
    se2 = va / 3 + vb / 4
    df = se2**2 / ((va / 3) ** 2 / dfa + (vb / 4) ** 2 / dfb)
    diff = float(np.mean(a) - np.mean(b))
    assert (pair.diff, pair.se, pair.df) == pytest.approx((diff, math.sqrt(se2), df))
    assert pair.p_difference == pytest.approx(2 * stats.t.sf(abs(diff) / math.sqrt(se2), df))
    p_eq = max(stats.t.sf((diff + 0.01) / math.sqrt(se2), df), stats.t.sf((0.01 - diff) / math.sqrt(se2), df))
    assert pair.p_equivalence == pytest.approx(p_eq)
    assert pair.p_difference_holm == pytest.approx(pair.p_difference)  # one pair: Holm changes nothing


def test_identical_seeds_never_give_p_zero_and_noisy_pairs_get_welch_df() -> None:
    grid = grid_verdicts([[0.9, 0.9, 0.9], [0.91, 0.91, 0.91]], 0.005, 0.05, REF, with_seeds_needed=False)
    assert 0.0 < grid.pairs[0].p_difference < 1.0
    noisy = grid_verdicts([[0.80, 0.90, 1.00], [0.90, 0.905, 0.91]], 0.01, 0.05, REF, with_seeds_needed=False)
    assert noisy.pairs[0].df < 3.0  # the noisy variant's own variance, with its own 2 df (Welch)
    assert noisy.pairs[0].kind == "inconclusive"


def test_grid_kinds_and_seeds_needed_for_inconclusive_pairs() -> None:
    scores = [[0.95, 0.951, 0.949], [0.90, 0.901, 0.899], [0.9005, 0.9, 0.9008], [0.903, 0.897, 0.9]]
    grid = grid_verdicts(scores, delta=0.02, alpha=0.025, ref=REF)
    assert grid.kind(0, 1) == "better" and grid.kind(1, 0) == "worse"
    assert grid.kind(1, 2) == "equivalent"
    for p in grid.pairs:
        assert (p.seeds_needed is not None) == (p.kind == "inconclusive")
        assert p.ci_low < p.diff < p.ci_high
    with pytest.raises(ValueError, match="no verdict"):
        grid.kind(0, 0)
    with pytest.raises(ValueError, match="at least 2 variants"):
        grid_verdicts([[0.9]], 0.01, 0.05, REF)


@pytest.mark.simulation
def test_five_identical_variants_some_pair_called_better(report: Callable[[str], None]) -> None:
    trials = 400
    rates = study_false_better(FASHION, variants=5, trials=trials, seed=77, alpha=0.025)
    report(
        f"study grid, 5 identical variants x 3 seeds, look alpha 0.025, {trials} studies: some pair called better "
        f"{rates['new']:.3f} with Holm over the 10 pairs (per-pair verdicts as before: {rates['old']:.3f})"
    )
    assert rates["new"] <= 0.025 + 2.5 * math.sqrt(0.025 * 0.975 / trials)


@pytest.mark.simulation
@pytest.mark.parametrize(
    ("diff", "sigma"),
    [(0.0, 0.005), (0.005, 0.005), (0.02, 0.01), (0.015, 0.01), (0.0, 0.01)],
)
def test_seeds_needed_gives_eighty_percent_power(diff: float, sigma: float, report: Callable[[str], None]) -> None:
    """At the recommended count the verdict is decisive and right in ≥ 80 % of simulated studies (δ = 1
    point, the first look's α = 0.025)."""
    trials = 400
    r = seeds_needed_power(diff, sigma, delta=0.01, alpha=0.025, trials=trials, seed=int(1e4 * (diff + sigma)))
    report(
        f"seeds_needed, true diff {100 * diff:.1f} pts, seed std {100 * sigma:.1f} pts, delta 1 pt: "
        f"{r['n']} seeds per variant; power computed {r['computed']:.3f}, simulated {r['simulated']:.3f} "
        f"({trials} studies)"
    )
    assert r["simulated"] >= 0.8 - 2.5 * math.sqrt(0.8 * 0.2 / trials)
    assert r["computed"] >= 0.8


def _grid(means: list[float], kinds: dict[tuple[int, int], str]) -> GridVerdicts:
    pairs = [
        PairVerdict(a, b, kind, means[a] - means[b], 0.01, 10, 0, 0, 0.5, 0.5, 0.5, 0.5, None)
        for (a, b), kind in kinds.items()
    ]
    return GridVerdicts(means=means, n=[3] * len(means), pairs=pairs, delta=0.01, alpha=0.05)


def test_ranking_sentence_clean_grid() -> None:
    labels = ["attention", "dwconv", "identity", "pooling", "spatial_mlp"]
    means = [0.80, 0.95, 0.79, 0.90, 0.89]
    better = {(1, j): "a_better" for j in (0, 2, 3, 4)}
    kinds = {
        **better,
        (0, 2): "equivalent",
        (3, 4): "equivalent",
        (0, 3): "b_better",
        (0, 4): "b_better",
        (2, 3): "b_better",
        (2, 4): "b_better",
    }
    assert ranking_sentence(labels, _grid(means, kinds)) == "dwconv > pooling ≈ spatial_mlp > attention ≈ identity"


def test_ranking_sentence_non_transitive_grid_is_honest() -> None:
    # A > C separated, but B is separated from neither: one group, with the separated pair named
    kinds = {(0, 1): "inconclusive", (0, 2): "a_better", (1, 2): "inconclusive"}
    text = ranking_sentence(["A", "B", "C"], _grid([0.92, 0.91, 0.90], kinds))
    assert text == "A ≈ B ≈ C (within a group, A > C; not all pairs decided: A vs B, B vs C inconclusive)"
    with pytest.raises(ValueError, match="labels"):
        ranking_sentence(["A"], _grid([0.92, 0.91, 0.90], kinds))
