"""Pure numpy/scipy statistics for archarena: summaries, comparisons, ranks, frontier, overfitting notes.

Nothing here imports web, database, queue or torch code; every function takes plain sequences of floats and
returns plain, JSON-ready data.
"""

from app.stats.compare import prob_superiority, stratified_bootstrap_diff_ci
from app.stats.equivalence import seeds_needed, tost, verdict
from app.stats.frontier import frontier_within_noise, pareto_front
from app.stats.overfitting import entry_notes, expected_max_of_k, second_test_residuals
from app.stats.ranking import adjacent_pvalues, holm_reject, noise_floor, pooled_std, rank_groups
from app.stats.summary import Summary, bootstrap_ci, iqm, summarize, t_ci

__all__ = [
    "Summary",
    "adjacent_pvalues",
    "bootstrap_ci",
    "entry_notes",
    "expected_max_of_k",
    "frontier_within_noise",
    "holm_reject",
    "iqm",
    "noise_floor",
    "pareto_front",
    "pooled_std",
    "prob_superiority",
    "rank_groups",
    "second_test_residuals",
    "seeds_needed",
    "stratified_bootstrap_diff_ci",
    "summarize",
    "t_ci",
    "tost",
    "verdict",
]
