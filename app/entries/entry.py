"""One leaderboard entry: a submission's per-seed results turned into means, an interval and the numbers its
notes are made of. The board (``app.entries.board``) places entries relative to each other and writes the
notes, once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from statistics import fmean
from typing import Any

from app.core.db.tables import RunStatus, Submission
from app.entries.repository import Member
from app.stats.overfitting import entry_notes


@dataclass
class Entry:
    id: int
    name: str
    user: str
    family: str
    mixer: str | None
    params: int
    macs: int
    flops: int
    status: str
    seeds_requested: int
    n: int
    test_acc_mean: float | None
    test_acc_std: float | None
    test_acc_ci: tuple[float, float] | None  # the board's interval: every error source, simultaneous over the board
    train_acc_mean: float | None
    val_acc_mean: float | None
    test2_acc_mean: float | None
    shape_bias: float | None
    gap: float | None
    test_accs: list[float]
    created_at: datetime
    url: str
    train_s_per_image: float | None = None
    deploy_params: int | None = None  # re-parameterisable families: the folded inference model's size and cost
    deploy_macs: int | None = None
    projected_run_seconds: float | None = None  # one seed's run on the reference CPU (the runs' projection)
    rank: int | None = None  # 1 + the entries clearly better; None until every requested seed is done
    rank_low: int | None = None
    rank_high: int | None = None
    rank_status: str = ""  # "ranked", or "provisional, k of n seeds"
    on_frontier: bool = False
    frontier_within_noise_of: int | None = None
    lineage_id: int | None = None  # the lineage's oldest try
    lineage_tries: int = 1  # near-variant tries in the lineage, deleted and hidden ones included
    ranked_on: str = "own seeds"
    luck: dict[str, Any] | None = None  # on a lineage's best try
    private_gap: dict[str, Any] | None = None  # public minus private test accuracy of the lineage
    robustness: str | None = None
    is_baseline: bool = False
    notes: list[str] = field(default_factory=list)
    flag_reason: str | None = None
    # Not shown: what the board needs to compute the above.
    private_accs: list[float] = field(default_factory=list, repr=False)
    paired_public_accs: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Every shown field (a shallow copy: what JSON needs, without ``asdict``'s deep copies)."""
        data = {f.name: getattr(self, f.name) for f in _SHOWN}
        data["created_at"] = self.created_at.isoformat()
        return data


_SHOWN = tuple(f for f in fields(Entry) if f.name not in ("private_accs", "paired_public_accs"))


def _stdev(values: list[float]) -> float:
    """The sample standard deviation in floats (``statistics.stdev`` computes it in exact fractions: the same
    number to the last digit or so, at a hundredth of the cost on a board of thousands)."""
    mean = fmean(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _shape_bias(shape_acc: float | None, texture_acc: float | None) -> float | None:
    """Of the cue-conflict decisions that follow either cue, the fraction that follow the shape."""
    if shape_acc is None or texture_acc is None or shape_acc + texture_acc <= 0:
        return None
    return shape_acc / (shape_acc + texture_acc)


def shape_bias_note(bias: float | None) -> list[str]:
    if bias is None:
        return []
    return [
        f"On cue-conflict images (one class's shape, another's texture) it follows the shape in {100 * bias:.0f}% "
        f"of the decisions that follow either cue (shape bias {bias:.2f}); the rest follow the texture."
    ]


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def build_entry(submission: Submission | Member) -> Entry:
    """The entry's own numbers from its finished runs; the board adds the interval, ranks and notes."""
    finished = [r for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
    test_accs = [float(r.test_acc) for r in finished if r.test_acc is not None]
    paired = [r for r in finished if r.test_private_acc is not None]
    train_mean = _mean([r.train_acc for r in finished])
    test_mean = fmean(test_accs) if test_accs else None
    return Entry(
        id=submission.id,
        name=submission.name,
        user=submission.user.name,
        family=submission.family,
        mixer=submission.mixer,
        params=submission.params,
        macs=submission.macs,
        flops=2 * submission.macs,
        status=submission.status,
        seeds_requested=submission.seeds_requested,
        n=len(test_accs),
        test_acc_mean=test_mean,
        test_acc_std=_stdev(test_accs) if len(test_accs) > 1 else (0.0 if test_accs else None),
        test_acc_ci=None,
        train_acc_mean=train_mean,
        val_acc_mean=_mean([r.val_acc for r in finished]),
        test2_acc_mean=_mean([r.test2_acc for r in finished]),
        shape_bias=_mean([_shape_bias(r.test2_acc, r.test2_texture_acc) for r in finished]),
        gap=(train_mean - test_mean) if train_mean is not None and test_mean is not None else None,
        test_accs=test_accs,
        created_at=submission.created_at,
        url=f"/submissions/{submission.id}",
        train_s_per_image=submission.train_s_per_image,
        deploy_params=submission.deploy_params,
        deploy_macs=submission.deploy_macs,
        projected_run_seconds=next((r.projected_seconds for r in submission.runs if r.projected_seconds), None),
        is_baseline=submission.is_baseline,
        flag_reason=submission.flag_reason,
        private_accs=[float(r.test_private_acc) for r in paired if r.test_private_acc is not None],
        paired_public_accs=[float(r.test_acc) for r in paired if r.test_acc is not None],
    )


def standalone_notes(entry: Entry) -> list[str]:
    """The notes of an entry that is not on a board (hidden, or filed under another recipe version): what its
    own seeds say, without the board's context (tries, second-test fit, the board's noise)."""
    if entry.test_acc_mean is None:
        return []
    return entry_notes(
        train_acc=entry.train_acc_mean,
        val_acc=entry.val_acc_mean,
        test_acc=entry.test_acc_mean,
        test_std=entry.test_acc_std,
        n_seeds=entry.n,
    ) + shape_bias_note(entry.shape_bias)
