"""What the demo seeds on first start: per built-in benchmark whose data is installed here, the baselines, the
noise-floor reference and the canonical studies, created (and so queued) one benchmark at a time, digits first —
its runs take seconds, so its leaderboard, noise reference and study verdicts are complete long before
Fashion-MNIST's and the 32×32 benchmarks' slower runs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.benchmarks.availability import data_status
from app.benchmarks.registry import get_benchmark
from app.core.db.tables import Study, Submission
from app.studies.canonical import seed_studies
from app.submissions.baselines import BASELINES, seed_baselines


def seed_demo(
    session: Session, max_epochs: int | None, data_dir: Path | None = None
) -> tuple[list[Submission], list[Study]]:
    """Create what is missing; returns the new baseline/reference submissions and the new studies."""
    created: list[Submission] = []
    studies: list[Study] = []
    for slug in BASELINES:
        if not data_status(get_benchmark(slug), data_dir).installed:
            continue
        created += seed_baselines(session, max_epochs=max_epochs, benchmark=slug)
        studies += seed_studies(session, max_epochs, benchmark=slug)
    return created, studies
