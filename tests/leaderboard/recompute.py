"""An independent recomputation of a board from what the API returns (per-seed accuracies, the noise reference,
the test-set size): written from the formulas on the page, with scipy's distributions and none of app.stats,
so that a board that agrees with it is not merely agreeing with itself.

For every entry ranked on its own seeds: the moderated seed variance (s̃² = (d0·σ² + (n−1)·s²)/(d0 + n − 1), d0
reduced for an implausibly noisy entry), Wilson's score interval at the effective number of images (seed noise
plus test-set sampling) at the board's Šidák
level, and the rank and rank range from the complete entries' intervals (brute force)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from scipy import stats

OUTLIER_P = 0.2  # as documented with the reference on the page


def bracket(k: int) -> int:
    size = 2
    while size < k:
        size *= 2
    return size


def moderated(accs: list[float], sigma: float, prior_df: float) -> tuple[float, float]:
    n = len(accs)
    if n < 2:
        return sigma**2, prior_df
    s2 = statistics.variance(accs)
    p_high = stats.f.sf(s2 / sigma**2, n - 1, prior_df)
    d0 = prior_df * min(1.0, p_high / OUTLIER_P)
    return (d0 * sigma**2 + (n - 1) * s2) / (d0 + n - 1), d0 + n - 1


def interval(accs: list[float], noise: dict[str, Any], n_test: int, level: float) -> tuple[float, float]:
    mean = statistics.fmean(accs)
    var, df = moderated(accs, noise["sigma"], noise["prior_df"])
    seed_var = var / len(accs)
    p = min(max(mean, 0.5 / n_test), 1 - 0.5 / n_test)
    total = seed_var + p * (1 - p) / n_test
    welch_df = total**2 / (seed_var**2 / df)
    q = stats.t.ppf(0.5 + level / 2, welch_df)
    n_eff = p * (1 - p) / total
    centre = (p + q * q / (2 * n_eff)) / (1 + q * q / n_eff)
    half = q / (1 + q * q / n_eff) * math.sqrt(p * (1 - p) / n_eff + q * q / (4 * n_eff * n_eff))
    return min(max(centre - half, 0.0), mean), max(min(centre + half, 1.0), mean)


def recompute(board: dict[str, Any], alpha: float = 0.05) -> dict[int, dict[str, Any]]:
    """Per entry id: mean, interval, rank and rank range as the page defines them (own-seed entries only)."""
    noise = board["noise"]["reference"]
    n_test = board["n_test"]
    own = [e for e in board["entries"] if e["test_accs"] and e["ranked_on"] == "own seeds"]
    complete = [e for e in board["entries"] if e["rank"] is not None]
    level = (1 - alpha) ** (1 / bracket(len(complete)))
    out = {e["id"]: {"mean": statistics.fmean(e["test_accs"])} for e in own}
    bounds = {e["id"]: interval(e["test_accs"], noise, n_test, level) for e in own}
    for e in own:
        out[e["id"]]["interval"] = bounds[e["id"]]
    shown = {e["id"]: tuple(e["test_acc_ci"]) for e in complete}
    for e in own:
        if e["rank"] is None:
            continue
        low, high = shown[e["id"]]
        better = sum(1 for i, (lo, _) in shown.items() if i != e["id"] and lo > high)
        worse = sum(1 for i, (_, hi) in shown.items() if i != e["id"] and hi < low)
        out[e["id"]] |= {"rank": 1 + better, "rank_high": len(complete) - worse}
    return out
