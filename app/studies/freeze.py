"""What a study's verdicts are judged against, fixed once and stored with the study: per group of variants
(all of them, or each training fraction) the noise reference and δ = max(1 point, 2 × its seed σ), and the α
schedule over looks. A group is fixed from the platform's frozen reference of its recipe version when there is
one (a fraction group uses its own fraction's recipe version, so its noise is that of its fraction); otherwise
from the group's own variants at the first look (their seeds are the study's own, trained on fixed seeds). No
outside entry can move a verdict the study announced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.entries.noise import DEFAULT, board_reference
from app.stats.noise import NoiseReference, reference_from_entries
from app.studies import repository as repo
from app.studies.verdicts import ALPHA_SPENDING

MIN_DELTA = 0.01


@dataclass(frozen=True)
class GroupFreeze:
    delta: float
    ref: NoiseReference
    source: str  # in words, for the page

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "reference": self.ref.to_dict(), "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupFreeze:
        return cls(float(data["delta"]), NoiseReference.from_dict(data["reference"]), str(data["source"]))


@dataclass(frozen=True)
class StudyFreeze:
    groups: dict[str, GroupFreeze]  # by group key ("" for a study judged as one group)
    alpha_spending: tuple[float, ...]
    at: datetime | None  # None: not fixed yet (shown as provisional; verdicts wait for every seed anyway)

    def group(self, key: str | None) -> GroupFreeze:
        return self.groups.get(key or "", next(iter(self.groups.values())))


def delta_for(ref: NoiseReference) -> float:
    return max(MIN_DELTA, 2.0 * ref.sigma)


def study_freeze(
    session: Session,
    study_id: int,
    stored: Mapping[str, Any] | None,
    benchmark: str,
    groups: Sequence[tuple[str, str, list[list[float]]]],
    ready: bool,
) -> StudyFreeze:
    """The study's fixed parameters: the stored ones, or fixed now (and stored, once) when every group can be;
    else provisional ones. ``groups`` holds (key, recipe version, the variants' per-seed scores)."""
    if stored:
        fixed = {k: GroupFreeze.from_dict(v) for k, v in stored["groups"].items()}
        return StudyFreeze(fixed, tuple(stored["alpha_spending"]), datetime.fromisoformat(stored["at"]))
    found = {key: _fix(session, benchmark, version, scores, ready) for key, version, scores in groups}
    if found and all(g is not None for g in found.values()):
        fixed = {k: g for k, g in found.items() if g is not None}
        at = datetime.now(UTC)
        stored_now = {"groups": {k: g.to_dict() for k, g in fixed.items()}, "alpha_spending": list(ALPHA_SPENDING)}
        repo.store_freeze(session, study_id, {**stored_now, "at": at.isoformat()})
        return StudyFreeze(fixed, ALPHA_SPENDING, at)
    provisional = {key: g or _provisional(session, benchmark, version) for (key, version, _), g in
                   zip(groups, found.values(), strict=True)}  # fmt: skip
    return StudyFreeze(provisional or {"": GroupFreeze(delta_for(DEFAULT), DEFAULT, "default")}, ALPHA_SPENDING, None)


def _fix(session: Session, benchmark: str, version: str, scores: list[list[float]], ready: bool) -> GroupFreeze | None:
    platform = board_reference(session, benchmark, version)
    if platform.status == "frozen":
        return GroupFreeze(delta_for(platform.ref), platform.ref, platform.describe())
    usable = [s for s in scores if len(s) >= 2]
    if not ready or len(usable) < 2:
        return None
    own = reference_from_entries(usable)
    source = (
        f"Seed noise {100 * own.sigma:.2f} points per seed, measured on this group's own {len(usable)} variants "
        "at the first look (no platform reference exists for this recipe version)."
    )
    return GroupFreeze(delta_for(own), own, source)


def _provisional(session: Session, benchmark: str, version: str) -> GroupFreeze:
    platform = board_reference(session, benchmark, version)
    return GroupFreeze(delta_for(platform.ref), platform.ref, platform.describe())
