"""frontier: hand-made cases (ties included) and a brute-force definition of domination."""

import numpy as np
import pytest

from app.stats.frontier import frontier_within_noise, pareto_front


@pytest.mark.parametrize(
    ("costs", "scores", "expected"),
    [
        ([1, 2, 3, 4], [0.5, 0.7, 0.6, 0.8], [0, 1, 3]),
        ([3, 1, 2], [0.9, 0.5, 0.7], [1, 2, 0]),  # returned by cost, not by index
        ([1, 1, 2], [0.5, 0.6, 0.55], [1]),  # equal cost: best score only; 0.55 at cost 2 is dominated
        ([1, 1, 2], [0.5, 0.5, 0.7], [0, 2]),  # equal in everything: the first index
        ([2, 1, 1], [0.5, 0.5, 0.5], [1]),  # costlier with an equal score is dominated
        ([5], [0.1], [0]),
        ([], [], []),
    ],
)
def test_pareto_front_hand_cases(costs: list[float], scores: list[float], expected: list[int]) -> None:
    assert pareto_front(costs, scores) == expected


def _brute_force(costs: np.ndarray, scores: np.ndarray) -> list[int]:
    keep = []
    for i in range(costs.size):
        dominated = any(
            (costs[j] <= costs[i] and scores[j] >= scores[i])
            and (costs[j] < costs[i] or scores[j] > scores[i] or j < i)
            for j in range(costs.size)
            if j != i
        )
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: costs[i])


def test_pareto_front_matches_brute_force_with_many_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        costs, scores = rng.integers(0, 5, n).astype(float), rng.integers(0, 5, n).astype(float)
        assert pareto_front(costs.tolist(), scores.tolist()) == _brute_force(costs, scores)


def test_pareto_front_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        pareto_front([1, 2], [0.5])
    with pytest.raises(ValueError):
        pareto_front([1, float("nan")], [0.5, 0.6])


def test_frontier_within_noise_hand_case() -> None:
    costs = [1.0, 2.0, 3.0, 4.0, 2.5]
    means = [0.80, 0.85, 0.95, 0.96, 0.84]
    lows = [0.79, 0.84, 0.94, 0.93, 0.80]
    highs = [0.81, 0.86, 0.96, 0.99, 0.88]
    result = frontier_within_noise(costs, means, lows, highs)
    assert result == [
        {"index": 0, "within_noise_of": None},  # nothing cheaper
        {"index": 1, "within_noise_of": None},  # entry 0 tops out at 0.81 < 0.84
        {"index": 2, "within_noise_of": None},  # cheaper ones reach at most 0.88 < 0.94
        {"index": 3, "within_noise_of": 2},  # entry 2's interval (to 0.96) reaches 0.93
    ]


def test_frontier_within_noise_names_dominated_rival_with_highest_mean() -> None:
    # Entry 1 is dominated (same cost, lower mean) but its interval overlaps entry 0's.
    result = frontier_within_noise([1.0, 1.0, 0.5], [0.9, 0.88, 0.5], [0.88, 0.85, 0.49], [0.92, 0.91, 0.51])
    assert result == [{"index": 2, "within_noise_of": None}, {"index": 0, "within_noise_of": 1}]


def test_frontier_within_noise_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        frontier_within_noise([1.0], [0.5], [0.4], [0.6, 0.7])


def test_frontier_within_noise_matches_the_rule_written_out_with_many_ties() -> None:
    """The vectorised search names the rival the docstring's rule names: cheaper or equal cost, interval
    reaching the point's low end, highest mean, then cheaper, then lower index."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 14))
        costs, means = rng.integers(0, 5, n).astype(float), rng.integers(0, 6, n) / 10.0
        lows, highs = means - rng.integers(0, 3, n) / 10.0, means + rng.integers(0, 3, n) / 10.0
        expected = []
        for i in _brute_force(costs, means):
            rivals = [j for j in range(n) if j != i and costs[j] <= costs[i] and highs[j] >= lows[i]]
            best = min(rivals, key=lambda j: (-means[j], costs[j], j), default=None)
            expected.append({"index": i, "within_noise_of": best})
        got = frontier_within_noise(costs.tolist(), means.tolist(), lows.tolist(), highs.tolist())
        assert got == expected
