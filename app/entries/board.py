"""A benchmark's board: its entries placed relative to each other with intervals and ranks that no submitter can
move (a frozen platform noise reference; simultaneous intervals, so ranks cannot chain), each lineage's tries
counted (the best of k near-variants is ranked on all their seeds unless its lead is larger than luck), the
frontier, robustness on the shifted set, public-minus-private gaps, and each entry's notes, written once.
The numbers come from app.stats (pure); this module only gathers and arranges them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import Benchmark, get_benchmark
from app.core.db.tables import RunStatus, Submission
from app.entries import repository as repo
from app.entries.chance import chance_note
from app.entries.entry import Entry, build_entry, shape_bias_note
from app.entries.lineage import Try, lineages
from app.entries.noise import BoardReference, board_reference
from app.entries.repository import Member
from app.stats.board import rank_board
from app.stats.frontier import frontier_within_noise, pareto_front
from app.stats.holdout import public_private_gap, robustness_description
from app.stats.luck import LuckNote, lineages_rank_scores
from app.stats.overfitting import entry_notes


@dataclass(frozen=True)
class Board:
    entries: list[Entry]
    reference: BoardReference
    covers: str  # what every interval on the board includes, in words
    level: float  # each interval's confidence (simultaneous over the board's complete entries)
    n_complete: int
    n_test: int

    @property
    def noise_std(self) -> float:
        return self.reference.ref.sigma


def board(session: Session, benchmark: Benchmark, max_epochs: int | None) -> Board:
    """The board of the benchmark's current recipe version (capped under ``ARCHARENA_MAX_EPOCHS``)."""
    return board_for_version(session, benchmark.slug, effective_recipe_version(benchmark.recipe, max_epochs))


def board_noise(session: Session, benchmark: Benchmark, max_epochs: int | None) -> BoardReference:
    """The board's frozen (or provisional) seed-noise reference, without building the board."""
    return board_reference(session, benchmark.slug, effective_recipe_version(benchmark.recipe, max_epochs))


def board_for_version(session: Session, slug: str, version: str) -> Board:
    """Entries with results first, by rank then mean; then the ones still waiting for their first seed."""
    benchmark = get_benchmark(slug)
    reference = board_reference(session, slug, version)
    return build_board(benchmark, reference, repo.board_members(session, slug, version))


def build_board(benchmark: Benchmark, reference: BoardReference, members: list[Member]) -> Board:
    """The board from its members' rows and its noise reference (no database)."""
    entries = [build_entry(s) for s in members if on_board(s)]
    scores = _lineages(entries, members, reference)
    requested = [len(a) + max(0, e.seeds_requested - e.n) for e, a in zip(entries, scores, strict=True)]
    ranks = rank_board(scores, [max(1, r) for r in requested], benchmark.n_test, reference.ref)
    for i, entry in enumerate(entries):
        low, high = ranks.low[i], ranks.high[i]
        entry.test_acc_ci = (low, high) if low is not None and high is not None else None
        entry.rank, entry.rank_low, entry.rank_high = ranks.rank[i], ranks.rank_low[i], ranks.rank_high[i]
        entry.rank_status = ranks.status[i]
    scored = sorted((e for e in entries if e.test_acc_mean is not None), key=_order)
    _frontier(scored)
    _robustness(scored, benchmark.second_test)
    for entry in entries:
        entry.notes = _notes(entry, benchmark.num_classes, reference.ref.sigma)
    pending = [e for e in entries if e.test_acc_mean is None]
    return Board(scored + pending, reference, ranks.covers, ranks.level, ranks.n_complete, benchmark.n_test)


def on_board(submission: Submission | Member) -> bool:
    """Hidden (by an admin) and deleted (by their owner) entries leave the board; their seeds still count in their
    lineage."""
    return submission.hidden_reason is None and submission.deleted_at is None


def _order(entry: Entry) -> tuple[int, float]:
    """Ranked entries by rank, then everyone by mean (provisional ones have no rank yet)."""
    return (entry.rank if entry.rank is not None else 10**9, -(entry.test_acc_mean or 0.0))


def _lineages(entries: list[Entry], members: list[Member], reference: BoardReference) -> list[list[float]]:
    """Group every try (hidden ones too) into lineages; return the scores each visible entry is ranked on: its
    own seeds, or for a lineage's best try within luck, the seeds of all the lineage's tries."""
    lineage_of = lineages([Try(s.id, s.lineage_key, s.size_vector or {}) for s in members])
    seeds = {s.id: _finished_accs(s) for s in members}
    by_lineage: dict[int, list[int]] = defaultdict(list)
    for s in members:
        if seeds[s.id]:
            by_lineage[lineage_of[s.id]].append(s.id)
    shown = {e.id for e in entries}
    judged = [root for root, family in by_lineage.items() if len(family) >= 2 and not shown.isdisjoint(family)]
    tries = [[seeds[i] for i in by_lineage[root]] for root in judged]
    luck = dict(zip(judged, lineages_rank_scores(tries, reference.ref), strict=True))  # every lineage in one pass
    scores: list[list[float]] = []
    for entry in entries:
        entry.lineage_id = lineage_of[entry.id]
        family = by_lineage.get(entry.lineage_id, [])
        entry.lineage_tries = max(1, len(family))
        scores.append(_ranked_scores(entry, family, luck.get(entry.lineage_id)))
    _private_gaps(entries, by_lineage, members)
    return scores


def _finished_accs(submission: Member) -> list[float]:
    return [float(r.test_acc) for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]


def _ranked_scores(entry: Entry, family: list[int], judged: tuple[list[float], LuckNote] | None) -> list[float]:
    if judged is None or entry.id not in family:
        return list(entry.test_accs)
    scores, note = judged
    if family[note.best_index] != entry.id:
        return list(entry.test_accs)
    entry.luck = note.to_dict()
    if not note.larger_than_luck:
        entry.ranked_on = f"the {len(scores)} seeds of its lineage's {len(family)} tries"
        return scores
    return list(entry.test_accs)


def _private_gaps(entries: list[Entry], by_lineage: dict[int, list[int]], members: list[Member]) -> None:
    """The lineage's public-minus-private gap, on its best visible try (never a single entry's private score)."""
    benchmark = get_benchmark(members[0].benchmark) if members else None
    if benchmark is None or not benchmark.n_test_private:
        return
    by_id = {s.id: s for s in members}
    for entry in entries:
        family = by_lineage.get(entry.lineage_id or -1, [])
        if len(family) < 2 or entry.luck is None:
            continue
        paired = [r for i in family for r in by_id[i].runs if r.test_private_acc is not None and r.test_acc is not None]
        public = [float(r.test_acc or 0.0) for r in paired]
        private = [float(r.test_private_acc or 0.0) for r in paired]
        if len(paired) >= 2:
            gap = public_private_gap(public, private, benchmark.n_test, benchmark.n_test_private)
            entry.private_gap = gap.to_dict()


def _frontier(scored: list[Entry]) -> None:
    costs = [float(e.macs) for e in scored]
    means = [e.test_acc_mean or 0.0 for e in scored]
    for index in pareto_front(costs, means):
        scored[index].on_frontier = True
    lows = [e.test_acc_ci[0] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    highs = [e.test_acc_ci[1] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    for item in frontier_within_noise(costs, means, lows, highs):
        j = item["within_noise_of"]
        scored[item["index"]].frontier_within_noise_of = None if j is None else scored[j].id


def _robustness(scored: list[Entry], shifted_name: str | None) -> None:
    """Accuracy on the shifted second test set, in words, with the board's typical drop for context: a measure
    of robustness, not of tuning to the public test set (that is the private split's job)."""
    both = [e for e in scored if e.test2_acc_mean is not None and e.test_acc_mean is not None]
    if not both or shifted_name is None:
        return
    typical = median((e.test_acc_mean or 0.0) - (e.test2_acc_mean or 0.0) for e in both) if len(both) >= 3 else None
    for e in both:
        e.robustness = robustness_description(e.test_acc_mean or 0.0, e.test2_acc_mean or 0.0, shifted_name, typical)


def _notes(entry: Entry, num_classes: int, noise: float) -> list[str]:
    if entry.test_acc_mean is None:
        return [entry.rank_status] if entry.rank_status else []
    low = entry.test_acc_ci[0] if entry.test_acc_ci else None
    chance = chance_note(entry.test_acc_mean, num_classes, noise, low)
    notes = [chance] if chance else []
    notes += entry_notes(
        train_acc=entry.train_acc_mean,
        val_acc=entry.val_acc_mean,
        test_acc=entry.test_acc_mean,
        test_std=entry.test_acc_std,
        n_seeds=entry.n,
    )
    if entry.rank is None and entry.rank_status:
        notes.append(f"Not ranked yet: {entry.rank_status}.")
    if entry.luck is not None:
        notes.append(str(entry.luck["sentence"]).capitalize())
        if entry.ranked_on != "own seeds":
            notes.append(f"Ranked on {entry.ranked_on}: keeping the luckiest copy gains nothing.")
    elif entry.lineage_tries > 1:
        notes.append(f"One of {entry.lineage_tries} near-variant tries (lineage #{entry.lineage_id}).")
    if entry.private_gap is not None:
        notes.append(str(entry.private_gap["sentence"]))
    if entry.robustness:
        notes.append(entry.robustness)
    return notes + shape_bias_note(entry.shape_bias)


def leaderboard(session: Session, benchmark: Benchmark, max_epochs: int | None) -> list[Entry]:
    return board(session, benchmark, max_epochs).entries


def frontier(entries: list[Entry]) -> list[Entry]:
    return sorted((e for e in entries if e.on_frontier), key=lambda e: e.macs)
