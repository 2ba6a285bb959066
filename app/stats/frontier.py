"""Accuracy-vs-compute Pareto frontier, as pure data (drawing lives in ``app.leaderboard.plots``).

The frontier answers "what is the best accuracy you can buy at this cost?". Because every point is a mean over
a few seeds, ``frontier_within_noise`` also says which frontier points have not *established* their place: a
cheaper entry might be just as accurate.
"""

from collections.abc import Sequence
from typing import Any

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
    order = sorted(range(cost_arr.size), key=lambda i: (cost_arr[i], -score_arr[i], i))
    front: list[int] = []
    for i in order:
        if not front or score_arr[i] > score_arr[front[-1]]:
            front.append(i)
    return front


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
    result: list[dict[str, Any]] = []
    for i in pareto_front(cost_arr.tolist(), mean_arr.tolist()):
        rivals = [
            j for j in range(cost_arr.size) if j != i and cost_arr[j] <= cost_arr[i] and high_arr[j] >= low_arr[i]
        ]
        best = min(rivals, key=lambda j: (-mean_arr[j], cost_arr[j], j), default=None)
        result.append({"index": i, "within_noise_of": best})
    return result


def _check_same_length(**sizes: int) -> None:
    if len(set(sizes.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {sizes}")
