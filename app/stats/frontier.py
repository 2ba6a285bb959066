"""Accuracy-vs-compute Pareto frontier, as pure data (drawing lives in ``app.leaderboard.plots``).

The frontier answers "what is the best accuracy you can buy at this cost?". Because every point is a mean over
a few seeds, ``frontier_within_noise`` also says which frontier points have not *established* their place: a
cheaper entry might be just as accurate.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.stats._validate import as_finite_array


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices of the non-dominated points (lower cost and higher score are better), sorted by cost ascending.

    A point is kept when its score is strictly higher than that of every cheaper-or-equal-cost point kept
    before it. Ties are deterministic: among equal costs only the best score survives, and among points equal
    in cost and score only the first index survives. A costlier point with an equal score is dominated.
    """
    cost_arr = as_finite_array(costs, "costs", min_len=0)
    score_arr = as_finite_array(scores, "scores", min_len=0)
    _check_same_length(costs=cost_arr.size, scores=score_arr.size)
    return _front(cost_arr, score_arr).tolist()


def _front(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``pareto_front`` on arrays, in O(N log N) without a Python loop: in the order (cost, −score, index), a point
    is kept when its score beats every score before it."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(cost.size), -score, cost))
    ordered = score[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(ordered)[:-1]))
    return order[ordered > best_before]


def frontier_within_noise(
    costs: Sequence[float], means: Sequence[float], ci_lows: Sequence[float], ci_highs: Sequence[float]
) -> list[dict[str, Any]]:
    """For each frontier point (cost ascending): is a cheaper entry within its noise?

    Rule: frontier point i is *within noise of* j when j ≠ i, cost_j ≤ cost_i and j's interval reaches i's
    (ci_high_j ≥ ci_low_i) – j might be as accurate as i for no more compute, so i's place on the frontier is
    not established. Candidates include dominated entries and cheaper frontier points alike (either challenges
    i's extra cost). Among several candidates the one with the highest mean is named (then cheaper, then lower
    index). Overlap of 95% intervals is a deliberately conservative criterion: it flags more than a test
    would.

    Returns ``[{"index": i, "within_noise_of": j | None}, …]`` in frontier order.
    """
    cost_arr = as_finite_array(costs, "costs", min_len=0)
    mean_arr = as_finite_array(means, "means", min_len=0)
    low_arr = as_finite_array(ci_lows, "ci_lows", min_len=0)
    high_arr = as_finite_array(ci_highs, "ci_highs", min_len=0)
    _check_same_length(costs=cost_arr.size, means=mean_arr.size, ci_lows=low_arr.size, ci_highs=high_arr.size)
    preference = np.lexsort((np.arange(cost_arr.size), cost_arr, -mean_arr))  # highest mean, then cheaper, then index
    cost_pref, high_pref = cost_arr[preference], high_arr[preference]
    result: list[dict[str, Any]] = []
    for i in _front(cost_arr, mean_arr).tolist():
        rival = (cost_pref <= cost_arr[i]) & (high_pref >= low_arr[i]) & (preference != i)
        best = int(preference[np.argmax(rival)]) if rival.any() else None
        result.append({"index": i, "within_noise_of": best})
    return result


def _check_same_length(**sizes: int) -> None:
    if len(set(sizes.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {sizes}")
