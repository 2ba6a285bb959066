"""Pure numpy/scipy statistics for archarena: noise reference, intervals, ranks, luck, holdout gap, study
verdicts, comparisons, aggregates, frontier and overfitting notes.

Nothing here imports web, database, queue or torch code; every function takes plain sequences of floats and
returns plain, JSON-ready data.

The board and studies should use: ``noise`` (a frozen ``NoiseReference`` per benchmark, recipe version and
training fraction), ``intervals.entry_interval``, ``board.rank_board``, ``luck``, ``holdout``,
``pairs.grid_verdicts``/``pairs.seeds_needed``/``pairs.ranking_sentence``, ``compare.superiority`` and
``aggregate``. ``ranking`` (neighbour tests with pooled noise), ``equivalence.verdict``/``seeds_needed``,
``compare.prob_superiority`` and ``summary.summarize``'s pooled-noise path remain only until their callers
switch.
"""

from app.stats.aggregate import iqm_estimate, normalise, performance_profile, probability_of_improvement
from app.stats.board import BoardRanks, rank_board, seed_status, simultaneous_level
from app.stats.compare import prob_superiority, stratified_bootstrap_diff_ci, superiority
from app.stats.equivalence import seeds_needed, tost, verdict
from app.stats.frontier import frontier_within_noise, pareto_front
from app.stats.holdout import public_private_gap, robustness_description
from app.stats.intervals import Interval, entry_interval, entry_intervals
from app.stats.luck import (
    expected_best_curve,
    expected_max_of_k_many,
    lineage_luck,
    lineage_luck_from_seeds,
    lineage_rank_scores,
)
from app.stats.noise import NoiseReference, moderated_variance, reference_from_entries
from app.stats.overfitting import entry_notes, expected_max_of_k, second_test_residuals
from app.stats.pairs import GridVerdicts, PairVerdict, grid_verdicts, ranking_sentence
from app.stats.ranking import adjacent_pvalues, holm_reject, noise_floor, pooled_std, rank_groups
from app.stats.summary import Summary, bootstrap_ci, iqm, summarize, t_ci

__all__ = [
    "BoardRanks",
    "GridVerdicts",
    "Interval",
    "NoiseReference",
    "PairVerdict",
    "Summary",
    "adjacent_pvalues",
    "bootstrap_ci",
    "entry_interval",
    "entry_intervals",
    "entry_notes",
    "expected_best_curve",
    "expected_max_of_k",
    "expected_max_of_k_many",
    "frontier_within_noise",
    "grid_verdicts",
    "holm_reject",
    "iqm",
    "iqm_estimate",
    "lineage_luck",
    "lineage_luck_from_seeds",
    "lineage_rank_scores",
    "moderated_variance",
    "noise_floor",
    "normalise",
    "pareto_front",
    "performance_profile",
    "pooled_std",
    "prob_superiority",
    "probability_of_improvement",
    "public_private_gap",
    "rank_board",
    "rank_groups",
    "ranking_sentence",
    "reference_from_entries",
    "robustness_description",
    "second_test_residuals",
    "seed_status",
    "seeds_needed",
    "simultaneous_level",
    "stratified_bootstrap_diff_ci",
    "summarize",
    "superiority",
    "t_ci",
    "tost",
    "verdict",
]
