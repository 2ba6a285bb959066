"""luck: memoised E[max] equals the per-call integral, the luck note's calibration, Dodge's curve, and the
best-of-6 attack under old and new ranks."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, special, stats

from app.stats.luck import (
    expected_best_curve,
    expected_max_of_k,
    expected_max_of_k_many,
    expected_max_std_normal,
    lineage_luck,
    lineage_luck_from_seeds,
    lineage_rank_scores,
    lineages_rank_scores,
    null_lead_quantile,
)
from app.stats.noise import NoiseReference, moderate
from tests.stats.scenarios import FASHION, World, best_of_k_attack, luck_false_alarm

REF = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="test", prior_df=12.0)


def _quad_per_call(k: int, std: float) -> float:
    """The computation ``expected_max_of_k`` did on every call before it was memoised."""
    if k == 1 or std == 0.0:
        return 0.0
    peak = float(special.ndtri(1.0 - 1.0 / (k + 1)))

    def f(x: float) -> float:
        log_pdf = math.log(k) - 0.5 * x * x - 0.5 * math.log(2 * math.pi) + (k - 1) * special.log_ndtr(x)
        return float(x * np.exp(log_pdf))

    return std * integrate.quad(f, -12.0, 12.0, points=[peak], limit=200)[0]


def test_memoised_expected_max_equals_the_per_call_integral() -> None:
    for k in [*range(1, 60), 100, 1000, 8466]:
        for std in (0.0, 0.003, 0.01, 2.0):
            assert expected_max_of_k(k, std) == pytest.approx(_quad_per_call(k, std), rel=1e-12, abs=1e-15)
    before = expected_max_std_normal.cache_info().hits
    for _ in range(8466):
        expected_max_of_k(6, 0.004)
    assert expected_max_std_normal.cache_info().hits - before == 8466  # no integral after the first
    assert expected_max_of_k_many([2, 6, 6, 1], [1.0, 0.5, 0.0, 3.0]) == pytest.approx(
        [1 / math.sqrt(math.pi), 0.5 * expected_max_std_normal(6), 0.0, 0.0]
    )


def test_null_lead_quantile_against_closed_form_for_two_tries() -> None:
    # k = 2: max − median = |Z1 − Z2| / 2, so the 95 % quantile is z_0.975·√2/2; with df, t_0.975,df·√2/2
    assert null_lead_quantile(2) == pytest.approx(stats.norm.ppf(0.975) / math.sqrt(2), rel=0.01)
    assert null_lead_quantile(2, df=10) == pytest.approx(stats.t.ppf(0.975, 10) / math.sqrt(2), rel=0.01)
    assert null_lead_quantile(6, df=12.9) == null_lead_quantile(6, df=12.0)  # df rounded down: memoised


def test_luck_note_by_hand() -> None:
    note = lineage_luck([0.900, 0.902, 0.899, 0.905, 0.901, 0.913], [0.003] * 6)
    assert note.k == 6 and note.best_index == 5
    assert note.expected_luck == pytest.approx(0.003 * expected_max_std_normal(6))
    assert note.lead == pytest.approx(0.913 - 0.9015)
    # even k: the median is the mean of the two middle tries, SE ½·√(2·0.003²)
    assert note.lead_uncertainty == pytest.approx(1.96 * math.sqrt(0.003**2 + (0.5 * math.sqrt(2) * 0.003) ** 2))
    assert note.threshold == pytest.approx(null_lead_quantile(6) * 0.003)
    assert note.larger_than_luck and note.verdict == "larger than luck"
    assert note.sentence.startswith(
        "best of k = 6 near-variants; expected luck of the best of 6 is 0.4 points; its lead over the "
        "lineage's median is 1.2 ± 0.7 points — larger than luck"
    )
    calm = lineage_luck([0.900, 0.902, 0.899, 0.905, 0.901, 0.906], [0.003] * 6)
    assert calm.verdict == "within luck" and "— within luck" in calm.sentence
    assert lineage_luck([0.9], [0.003]).verdict == "single try"
    with pytest.raises(ValueError, match="> 0"):
        lineage_luck([0.9, 0.91], [0.003, 0.0])


@pytest.mark.simulation
@pytest.mark.parametrize("k", [2, 3, 6, 10])
def test_luck_note_false_alarm_on_pure_noise(k: int, report: Callable[[str], None]) -> None:
    trials = 600
    rate = luck_false_alarm(FASHION, k, trials, seed=40 + k)
    report(f"luck note, {k} equal tries x 3 seeds, {trials} lineages: 'larger than luck' {rate:.3f}")
    assert rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / trials)


def test_lineage_rank_scores_pool_unless_larger_than_luck() -> None:
    tries = [[0.90, 0.901, 0.899], [0.902, 0.90, 0.901], [0.903, 0.904, 0.902]]
    scores, note = lineage_rank_scores(tries, REF)
    assert note.verdict == "within luck" and len(scores) == 9
    tries[2] = [0.95, 0.951, 0.949]
    scores, note = lineage_rank_scores(tries, REF)
    assert note.verdict == "larger than luck" and scores == tries[2]
    assert lineage_luck_from_seeds(tries, REF).best_index == 2


def _note_written_out(tries: list[list[float]]) -> tuple[float, float, float, float, bool]:
    """The module docstring's note computed with numpy, one lineage at a time (the board's earlier code)."""
    n = np.array([len(t) for t in tries], dtype=float)
    var = np.array([np.var(t, ddof=1) if len(t) > 1 else 0.0 for t in tries])
    own_df = float((n - 1).sum())
    pooled = float(((n - 1) * var).sum() / own_df) if own_df > 0 else 0.0
    mod = moderate(np.array([own_df + 1.0]), np.array([pooled]), REF)
    ses = np.sqrt(float(mod.var[0]) / n)
    means = np.array([np.mean(t) for t in tries])
    best, order, k = int(np.argmax(means)), np.argsort(means, kind="stable"), len(tries)
    middle = ses[order[k // 2]] if k % 2 else 0.5 * math.sqrt(ses[order[k // 2 - 1]] ** 2 + ses[order[k // 2]] ** 2)
    lead = float(means[best] - np.median(means))
    threshold = null_lead_quantile(k, 0.05, float(mod.df[0])) * float(ses.max())
    expected = float(np.sqrt(np.mean(ses**2))) * expected_max_std_normal(k)
    return expected, lead, 1.96 * math.sqrt(ses[best] ** 2 + middle**2), threshold, lead > threshold


def test_many_lineages_at_once_equal_the_note_written_out_per_lineage() -> None:
    """The board computes every lineage's note in one vectorised pass; each equals the per-lineage numpy
    computation (ragged tries, single-seed tries, odd and even k, leads on both sides of the threshold)."""
    rng = np.random.default_rng(7)
    lineages = []
    for _ in range(300):
        k = int(rng.integers(2, 9))
        level = rng.uniform(0.6, 0.95)
        tries = [list(level + rng.normal(0, 0.005, int(rng.integers(1, 5)))) for _ in range(k)]
        if rng.random() < 0.3:
            tries[0] = [x + 0.02 for x in tries[0]]
        lineages.append(tries)
    verdicts = set()
    for tries, (scores, note) in zip(lineages, lineages_rank_scores(lineages, REF), strict=True):
        expected, lead, uncertainty, threshold, larger = _note_written_out(tries)
        assert (note.expected_luck, note.lead, note.lead_uncertainty, note.threshold) == pytest.approx(
            (expected, lead, uncertainty, threshold), rel=1e-12, abs=1e-15
        )
        assert note.larger_than_luck == larger
        assert len(scores) == (len(tries[note.best_index]) if larger else sum(len(t) for t in tries))
        verdicts.add(note.verdict)
    assert verdicts == {"within luck", "larger than luck"}


def test_expected_best_curve_by_hand_and_by_sampling() -> None:
    # k = 3 values 1, 2, 4: n = 1 → mean 7/3; n = 2 → 1·1/9 + 2·3/9 + 4·5/9 = 27/9 = 3
    curve = expected_best_curve([4.0, 1.0, 2.0])
    assert curve == pytest.approx([7 / 3, 3.0, 1 / 27 + 2 * 7 / 27 + 4 * 19 / 27])
    rng = np.random.default_rng(0)
    values = rng.normal(0.9, 0.01, 7)
    draws = values[rng.integers(0, 7, size=(100_000, 7))]
    simulated = [float(np.mean(draws[:, :n].max(axis=1))) for n in range(1, 8)]
    assert expected_best_curve(values.tolist()) == pytest.approx(simulated, abs=2e-4)
    assert np.all(np.diff(expected_best_curve(values.tolist())) >= 0)
    with pytest.raises(ValueError, match="at least 3"):
        expected_best_curve([0.9, 0.91])


@pytest.mark.simulation
@pytest.mark.parametrize(
    ("name", "world"), [("seed noise only", World(n_test=10_000_000)), ("10,000 test images", FASHION)]
)
def test_best_of_six_attack_on_a_mid_table_model(name: str, world: World, report: Callable[[str], None]) -> None:
    """Eight entries on top, eight 10 seed-std lower, the attacked model M midway; six copies, the luckiest
    kept. Old rank groups: how often M joins the top group. New ranks: how often M shows rank 1 when ranked
    on the kept copy alone, and when ranked on its lineage (``lineage_rank_scores``); and how often its rank
    range claims a better rank than its true one."""
    r = best_of_k_attack(world, trials=150, seed=12)
    report(
        f"best-of-6 attack ({name}, 150 boards): old top group honest {r['old_top_honest']:.3f} -> attack "
        f"{r['old_top_attack']:.3f}; new rank 1 honest {r['new_top_honest']:.3f} -> kept copy alone "
        f"{r['new_top_attack']:.3f} -> ranked on its lineage {r['new_top_lineage']:.3f}; rank range better than "
        f"the truth: honest {r['new_overclaim_honest']:.3f}, kept copy {r['new_overclaim_attack']:.3f}, "
        f"lineage {r['new_overclaim_lineage']:.3f}"
    )
    assert r["new_overclaim_attack"] <= 0.05 and r["new_overclaim_lineage"] <= 0.05
    assert r["new_top_lineage"] <= r["new_top_honest"]


def _null_quantile_written_out(k: int, alpha: float, df: int) -> float:
    """The seeded Monte Carlo as first written: every chunk drawn, np.median per row."""
    rng = np.random.default_rng(1_000_003 + k)
    leads, remaining = [], int(max(20_000, min(200_000, 6_400_000 // k)))
    while remaining > 0:
        rows = min(remaining, max(1, 2_000_000 // k))
        z = rng.standard_normal((rows, k))
        lead = z.max(axis=1) - np.median(z, axis=1)
        if df > 0:
            lead = lead / np.sqrt(rng.chisquare(max(df, 1), rows) / max(df, 1))
        leads.append(lead)
        remaining -= rows
    return float(np.quantile(np.concatenate(leads), 1.0 - alpha))


@pytest.mark.parametrize(("k", "df"), [(2, 0), (3, 9), (3, 14), (4, 30), (7, 11), (20, 12), (40, 0)])
def test_null_quantile_reuses_the_draws_of_its_k_and_stays_exactly_the_same(k: int, df: int) -> None:
    """The max − median draws depend on k only, so one set serves every df (k = 20 and 40 take two or more
    chunks, whose later draws follow the first chunk's chi-squares as before)."""
    assert null_lead_quantile(k, df=df if df else float("inf")) == _null_quantile_written_out(k, 0.05, df)
