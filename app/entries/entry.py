"""One leaderboard entry: a submission's per-seed results turned into means, an interval and the numbers its
notes are made of. The board (``app.entries.board``) places entries relative to each other and writes the
notes, once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from app.core.db.tables import RunStatus, Submission
from app.stats.overfitting import entry_notes
from app.stats.summary import summarize


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
    test_acc_ci: tuple[float, float] | None
    train_acc_mean: float | None
    val_acc_mean: float | None
    test2_acc_mean: float | None
    shape_bias: float | None
    gap: float | None
    test_accs: list[float]
    created_at: datetime
    url: str
    rank: int | None = None
    on_frontier: bool = False
    frontier_within_noise_of: int | None = None
    test2_residual: float | None = None
    test2_flag: bool = False
    is_baseline: bool = False
    try_number: int = 1
    gain_over_previous_best: float | None = None
    notes: list[str] = field(default_factory=list)
    flag_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


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


def build_entry(submission: Submission, noise_std: float | None = None, noise_df: int | None = None) -> Entry:
    finished = [r for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
    test_accs = [float(r.test_acc) for r in finished if r.test_acc is not None]
    summary = summarize(test_accs, noise_std=noise_std or None, noise_df=noise_df or None) if test_accs else None
    train_mean = _mean([r.train_acc for r in finished])
    test_mean = summary.mean if summary else None
    entry = Entry(
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
        test_acc_std=summary.std if summary else None,
        test_acc_ci=(summary.ci_low, summary.ci_high) if summary else None,
        train_acc_mean=train_mean,
        val_acc_mean=_mean([r.val_acc for r in finished]),
        test2_acc_mean=_mean([r.test2_acc for r in finished]),
        shape_bias=_mean([_shape_bias(r.test2_acc, r.test2_texture_acc) for r in finished]),
        gap=(train_mean - test_mean) if train_mean is not None and test_mean is not None else None,
        test_accs=test_accs,
        created_at=submission.created_at,
        url=f"/submissions/{submission.id}",
        is_baseline=submission.is_baseline,
        flag_reason=submission.flag_reason,
    )
    return entry


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
