"""A board's seed-noise reference: measured on the platform's own reference entries (the baselines and the
multi-seed reference of the benchmark, trained under the same recipe version), and frozen once they are all
complete. No submitter's entry enters it, so nobody's entry can move another entry's interval, rank or a study's
verdict through it.

Until the references are complete the board uses a *provisional* reference from those finished so far (still
only the platform's), and with fewer than ``MIN_ENTRIES`` of them a conservative *default* (2 points per seed),
labelled as such on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db.tables import RunStatus
from app.entries import repository as repo
from app.stats.noise import NoiseReference, reference_from_entries

MIN_ENTRIES = 3
DEFAULT = NoiseReference(
    sigma=0.02, df=4.0, n_entries=1, method="default (no platform reference measured yet)", prior_df=2.0
)


@dataclass(frozen=True)
class BoardReference:
    ref: NoiseReference
    status: str  # "frozen", "provisional" or "default"
    frozen_at: datetime | None
    entry_ids: list[int]

    def describe(self) -> str:
        sigma = f"{100 * self.ref.sigma:.2f} points per seed"
        if self.status == "frozen":
            when = self.frozen_at.strftime("%Y-%m-%d") if self.frozen_at else "?"
            return (
                f"Seed noise {sigma}, measured on {len(self.entry_ids)} platform reference entries and frozen on "
                f"{when}; no submitted entry changes it."
            )
        if self.status == "provisional":
            return (
                f"Seed noise {sigma} (provisional: measured on the {len(self.entry_ids)} platform reference "
                "entries finished so far; it is frozen once all of them are done)."
            )
        return f"Seed noise {sigma}: a conservative default until the platform's reference entries have trained."


def board_reference(session: Session, benchmark: str, version: str) -> BoardReference:
    """The frozen reference of (benchmark, version); else the provisional one, frozen here when its entries are
    all complete (in a transaction of its own: reading a board never commits the caller's); else the default."""
    row = repo.noise_reference(session, benchmark, version)
    if row is not None:
        return BoardReference(NoiseReference.from_dict(row.reference), "frozen", row.frozen_at, list(row.entry_ids))
    references = repo.reference_entries(session, benchmark, version)
    scored = {
        s.id: [float(r.test_acc) for r in s.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
        for s in references
    }
    usable = {i: accs for i, accs in scored.items() if len(accs) >= 2}
    if len(usable) < MIN_ENTRIES:
        return BoardReference(DEFAULT, "default", None, [])
    ref = reference_from_entries(list(usable.values()))
    ids = sorted(usable)
    if all(r.status in RunStatus.DONE for s in references for r in s.runs):
        frozen = _freeze(session, benchmark, version, ref, ids)
        if frozen is not None:
            return frozen
    return BoardReference(ref, "provisional", None, ids)


def _freeze(
    session: Session, benchmark: str, version: str, ref: NoiseReference, ids: list[int]
) -> BoardReference | None:
    with Session(bind=session.get_bind()) as own, own.begin():
        try:
            row = repo.add_noise_reference(own, benchmark, version, ref.to_dict(), ids)
        except IntegrityError:  # another process froze it first: theirs stands
            return None
        return BoardReference(ref, "frozen", row.frozen_at, ids)
