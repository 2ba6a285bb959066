"""A benchmark's board: its entries placed relative to each other (ranks, the frontier, the second-test fit,
each user's tries) with their notes, computed once per entry. The numbers come from app.stats (pure); this
module only gathers and arranges them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import Benchmark
from app.core.db.tables import RunStatus, Submission
from app.entries import repository as repo
from app.entries.entry import Entry, build_entry, shape_bias_note, standalone_notes
from app.stats.frontier import frontier_within_noise, pareto_front
from app.stats.overfitting import entry_notes, second_test_residuals
from app.stats.ranking import pooled_std, rank_groups


@dataclass(frozen=True)
class Board:
    entries: list[Entry]
    noise_std: float
    noise_df: int
    test2_fit: dict[str, Any] | None


def board_noise(session: Session, benchmark: Benchmark, max_epochs: int | None) -> tuple[float, int]:
    """The board's pooled seed std and its degrees of freedom, from the per-seed accuracies alone."""
    version = effective_recipe_version(benchmark.recipe, max_epochs)
    return pooled_std([accs for accs in repo.finished_test_accs(session, benchmark.slug, version) if accs])


def board(session: Session, benchmark: Benchmark, max_epochs: int | None) -> Board:
    """The board of the benchmark's current recipe version (capped under ``ARCHARENA_MAX_EPOCHS``)."""
    return board_for_version(session, benchmark.slug, effective_recipe_version(benchmark.recipe, max_epochs))


def board_for_version(session: Session, benchmark: str, version: str) -> Board:
    """Entries with results first, best mean first; then the ones still waiting for their first seed."""
    submissions = repo.submissions_for(session, benchmark, version)
    per_seed = [
        [float(r.test_acc) for r in s.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
        for s in submissions
    ]
    noise_std, noise_df = pooled_std([accs for accs in per_seed if accs])
    entries = [build_entry(s, noise_std, noise_df) for s in submissions]
    scored = sorted((e for e in entries if e.test_acc_mean is not None), key=lambda e: -(e.test_acc_mean or 0.0))
    pending = [e for e in entries if e.test_acc_mean is None]
    fit = _annotate(scored, noise_std) if scored else None
    return Board(entries=scored + pending, noise_std=noise_std, noise_df=noise_df, test2_fit=fit)


def _annotate(scored: list[Entry], noise_std: float) -> dict[str, Any] | None:
    for entry, rank in zip(scored, rank_groups([e.test_accs for e in scored]), strict=True):
        entry.rank = rank
    costs = [float(e.macs) for e in scored]
    means = [e.test_acc_mean or 0.0 for e in scored]
    for index in pareto_front(costs, means):
        scored[index].on_frontier = True
    lows = [e.test_acc_ci[0] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    highs = [e.test_acc_ci[1] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    for item in frontier_within_noise(costs, means, lows, highs):
        j = item["within_noise_of"]
        scored[item["index"]].frontier_within_noise_of = None if j is None else scored[j].id
    fit = _second_test_fit(scored)
    _tries(scored)
    for entry in scored:
        entry.notes = entry_notes(
            train_acc=entry.train_acc_mean,
            val_acc=entry.val_acc_mean,
            test_acc=entry.test_acc_mean or 0.0,
            test_std=entry.test_acc_std,
            n_seeds=entry.n,
            second_residual=entry.test2_residual,
            second_sigma=fit["sigma"] if fit else None,
            k_th_try=entry.try_number,
            gain_over_previous_best=entry.gain_over_previous_best,
            noise_std=noise_std or None,
        ) + shape_bias_note(entry.shape_bias)
    return fit


def _second_test_fit(scored: list[Entry]) -> dict[str, Any] | None:
    """Second-test accuracy against first-test accuracy across the benchmark's entries; an entry far below the
    line may be tuned to the first test set."""
    both = [e for e in scored if e.test2_acc_mean is not None]
    if len(both) < 3:
        return None
    fit = second_test_residuals([e.test_acc_mean or 0.0 for e in both], [e.test2_acc_mean or 0.0 for e in both])
    for entry, residual, flag in zip(both, fit["residuals"], fit["flags"], strict=True):
        entry.test2_residual = float(residual)
        entry.test2_flag = bool(flag)
    return {k: fit[k] for k in ("n", "slope", "intercept", "sigma")}


def _tries(scored: list[Entry]) -> None:
    """Number each user's entries on this benchmark in submission order, and the gain of each over the
    user's best earlier one (the best of k tries gains from seed noise alone). Baselines are a fixed set of
    different architectures, not retries, so they are not counted."""
    by_user: dict[str, list[Entry]] = defaultdict(list)
    for entry in sorted(scored, key=lambda e: (e.created_at, e.id)):
        if not entry.is_baseline:
            by_user[entry.user].append(entry)
    for entries in by_user.values():
        best: float | None = None
        for k, entry in enumerate(entries, start=1):
            entry.try_number = k
            mean = entry.test_acc_mean or 0.0
            if best is not None:
                entry.gain_over_previous_best = mean - best
            best = mean if best is None else max(best, mean)


def entry_of(session: Session, submission: Submission) -> Entry:
    """A submission's entry as its board shows it (rank, tries and notes in the board's context); an entry on no
    board (hidden by an admin) is built on its own, with the notes its own seeds support."""
    if submission.hidden_reason is None:
        for entry in board_for_version(session, submission.benchmark, submission.recipe_version).entries:
            if entry.id == submission.id:
                return entry
    entry = build_entry(submission)
    entry.notes = standalone_notes(entry)
    return entry


def leaderboard(session: Session, benchmark: Benchmark, max_epochs: int | None) -> list[Entry]:
    return board(session, benchmark, max_epochs).entries


def frontier(entries: list[Entry]) -> list[Entry]:
    return sorted((e for e in entries if e.on_frontier), key=lambda e: e.macs)
