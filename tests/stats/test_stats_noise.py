"""noise: the frozen reference (JSON round trip, robust estimator, its df, d0) and moderated variances."""

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import special

from app.stats.noise import (
    CAP_QUANTILE,
    D0_MIN,
    NoiseReference,
    huber_pooled_variance,
    moderate,
    moderated_variance,
    prior_df_moments,
    reference_from_entries,
    screen_diverged,
)
from tests.stats.scenarios import reference_robustness

REF = NoiseReference(sigma=0.01, df=14.7, n_entries=8, method="screened-huber-pooled-variance", prior_df=10.0)


def test_reference_json_round_trip_and_clear_errors() -> None:
    data = json.loads(json.dumps(REF.to_dict()))
    assert NoiseReference.from_dict(data) == REF
    assert NoiseReference.from_dict({k: v for k, v in data.items() if k != "seeds_set_aside"}) == REF
    with pytest.raises(ValueError, match=r"missing \['prior_df'\]"):
        NoiseReference.from_dict({k: v for k, v in data.items() if k != "prior_df"})
    with pytest.raises(ValueError, match="'sigma' must be float"):
        NoiseReference.from_dict({**data, "sigma": "0.01"})
    with pytest.raises(ValueError, match="'n_entries' must be int"):
        NoiseReference.from_dict({**data, "n_entries": 8.5})
    with pytest.raises(ValueError, match="sigma must be finite and > 0"):
        NoiseReference(sigma=0.0, df=10, n_entries=3, method="x", prior_df=2)
    with pytest.raises(ValueError, match="prior_df must be in"):
        NoiseReference(sigma=0.01, df=10, n_entries=3, method="x", prior_df=11)


def test_huber_estimate_solves_its_estimating_equation() -> None:
    rng = np.random.default_rng(3)
    var = 1e-4 * rng.chisquare(2, 12) / 2
    var[0] = 5e-2  # one diverged entry
    nu = np.full(12, 2.0)
    theta, _ = huber_pooled_variance(var, nu)
    cap = special.chdtri(2.0, 1 - CAP_QUANTILE) / 2.0
    # E[min(u, c)] for u ~ Exp(1) (χ²₂/2) is 1 - e^{-c}
    target = 12 * 2.0 * (1 - math.exp(-cap))
    assert (nu * np.minimum(var / theta, cap)).sum() == pytest.approx(target, rel=1e-9)


@pytest.mark.simulation
def test_reference_is_unbiased_and_its_df_is_honest(report: Callable[[str], None]) -> None:
    """8 entries × 3 seeds: the mean of σ̂² is σ² (within 3 %), and Var(σ̂²/σ²) matches 2/df."""
    rng = np.random.default_rng(11)
    refs = [reference_from_entries(rng.normal(0.9, 0.01, (8, 3)).tolist()) for _ in range(1500)]
    ratio = np.array([r.sigma**2 for r in refs]) / 1e-4
    implied_df = 2.0 / ratio.var()
    report(
        f"noise reference, 8 entries x 3 seeds, 1500 references: mean sigma^2/true {ratio.mean():.3f}, "
        f"df implied by its spread {implied_df:.1f}, reported df {refs[0].df:.1f} (plain pooled: 16)"
    )
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)
    assert implied_df == pytest.approx(refs[0].df, rel=0.15)


@pytest.mark.simulation
def test_one_diverged_seed_moves_the_robust_reference_little(report: Callable[[str], None]) -> None:
    rates = reference_robustness(trials=300, seed=5)
    report(
        "noise reference, one seed of one of 8 entries x 3 seeds diverges to 10 %, std after/before "
        f"(median of 300): platform estimator {rates['robust']:.2f} (max {rates['robust_max']:.2f}), "
        f"Huber cap alone {rates['cap_only']:.2f} (max {rates['cap_only_max']:.2f}), "
        f"plain pooled {rates['plain']:.2f}"
    )
    assert abs(rates["robust"] - 1.0) < 0.05
    assert rates["robust_max"] < 1.35
    assert rates["cap_only_max"] < 2.0
    assert rates["plain"] > 10.0


def test_divergence_screen_sets_aside_only_the_failed_seed() -> None:
    entries = [[0.98, 0.981, 0.979], [0.10, 0.975, 0.978], [0.97, 0.972, 0.971, 0.969]]
    kept, dropped = screen_diverged(entries, 0.002)
    assert dropped == 1
    assert kept[1] == [0.975, 0.978]
    assert kept[0] == entries[0]
    assert screen_diverged([[0.1, 0.9]], 0.002) == ([[0.1, 0.9]], 0)  # two seeds: cannot tell which failed
    ref = reference_from_entries(entries)
    assert ref.seeds_set_aside == 1
    assert ref.sigma < 0.003


def test_reference_refuses_data_without_spread() -> None:
    with pytest.raises(ValueError, match="2 or more seeds"):
        reference_from_entries([[0.9], [0.8]])
    with pytest.raises(ValueError, match="no seed-to-seed spread"):
        reference_from_entries([[0.9, 0.9], [0.8, 0.8, 0.8]])
    with pytest.raises(ValueError, match="finite"):
        reference_from_entries([[0.9, float("nan")]])


def test_reference_prior_df_is_capped_by_its_own_df() -> None:
    ref = reference_from_entries([[0.90, 0.91, 0.92], [0.80, 0.81, 0.79]])
    assert D0_MIN <= ref.prior_df <= ref.df
    assert ref.n_entries == 2


def test_prior_df_moments_recovers_a_known_d0(report: Callable[[str], None]) -> None:
    """Smyth's model: true variances σ_i² = s0²·d0/χ²_{d0}; 4000 entries × 3 seeds with d0 = 8."""
    rng = np.random.default_rng(2)
    true_var = 1e-4 * 8.0 / rng.chisquare(8.0, 4000)
    sample_var = true_var * rng.chisquare(2.0, 4000) / 2.0
    d0 = prior_df_moments(sample_var, np.full(4000, 2.0))
    report(f"prior df by moments, true d0 = 8, 4000 entries x 3 seeds: {d0:.1f}")
    assert d0 == pytest.approx(8.0, rel=0.3)
    homogeneous = 1e-4 * rng.chisquare(2.0, 4000) / 2.0
    assert prior_df_moments(homogeneous, np.full(4000, 2.0)) > 50
    assert prior_df_moments(np.array([1e-4, 0.0]), np.array([2.0, 2.0])) == math.inf


def test_moderated_variance_by_hand() -> None:
    # identical seeds: s² = 0 → s̃² = d0·σ²/(d0 + 2) > 0, df = d0 + 2
    var, df = moderated_variance([0.9, 0.9, 0.9], REF)
    assert (var, df) == (pytest.approx(10 * 1e-4 / 12), pytest.approx(12.0))
    # one seed: the reference itself, with d0 df
    assert moderated_variance([0.9], REF) == (pytest.approx(1e-4), pytest.approx(10.0))
    # a typical spread (s² = σ²: upper-tail p well above OUTLIER_P) is a plain weighted mean
    var, df = moderated_variance([0.89, 0.90, 0.91], REF)
    assert (var, df) == (pytest.approx((10 * 1e-4 + 2 * 1e-4) / 12), pytest.approx(12.0))


def test_noisy_entry_keeps_its_own_variance_and_few_df() -> None:
    var, df = moderated_variance([0.80, 0.90, 1.00], REF)  # s = 10σ
    assert var == pytest.approx(0.01, rel=0.01)
    assert df < 2.1


def test_moderated_variance_is_continuous_and_increasing_in_own_variance() -> None:
    own = np.linspace(0.0, 40e-4, 4001)
    mod = moderate(np.full(own.size, 3), own, REF)
    assert np.all(np.diff(mod.var) > 0.0)
    assert np.max(np.diff(mod.var)) < 3 * 1e-6  # no jumps: slope below 3 on a 1e-6 grid of s²
    assert np.all(mod.var > 0.0)
    assert np.all(np.diff(mod.df) <= 1e-12)
