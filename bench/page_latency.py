"""Page latency with the demo's data: p50/p95 of the leaderboard page and its JSON, a submission page, compare
and the queue, served in-process by the real app on a real (SQLite) database.

By default it builds the demo's board in a temporary database — the demo's baselines (every preset of
`archarena demo`, default seeds, the noise-floor reference) — and fills their runs with deterministic results and
per-epoch curves as if they had trained (no training: this measures the pages, not the workers). Point it at a
real demo's database instead with --database-url sqlite:///var/archarena.sqlite3.

    .venv/bin/python bench/page_latency.py [--repeats 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, Run, Submission
from app.main import create_app
from app.submissions.baselines import seed_baselines


def fill_demo_board(settings: Settings) -> None:
    """The demo's baselines with finished runs: accuracy depends on the entry and the seed, curves rise."""
    with session_scope(settings.database_url) as session:
        seed_baselines(session, max_epochs=None)
    with session_scope(settings.database_url) as session:
        for run in session.scalars(select(Run)):
            level = 0.55 + 0.4 * ((run.submission_id * 37) % 17) / 17
            acc = min(0.999, level + 0.004 * ((run.seed * 7) % 5 - 2))
            run.status, run.attempts, run.epochs_total, run.epochs_done = "finished", 1, 15, 15
            run.train_acc, run.val_acc, run.test_acc, run.test2_acc = min(1.0, acc + 0.03), acc, acc, acc - 0.2
            run.train_loss = run.val_loss = run.test_loss = 1 - acc
            run.wall_seconds, run.images_per_second = 12.0, 1500.0
            for epoch in range(1, 16):
                frac = epoch / 15
                session.add(
                    EpochMetric(
                        run_id=run.id,
                        epoch=epoch,
                        train_loss=2.3 * (1 - frac) + 0.1,
                        train_acc=acc * frac,
                        val_loss=2.3 * (1 - frac) + 0.2,
                        val_acc=acc * frac,
                        lr=1e-3,
                        elapsed_s=0.8 * epoch,
                    )
                )
        for submission in session.scalars(select(Submission)):
            submission.status = "finished"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=args.database_url)
        upgrade(settings.database_url)
        if not args.database_url:
            fill_demo_board(settings)
        with session_scope(settings.database_url) as session:
            ids = list(session.scalars(select(Submission.id).where(Submission.benchmark == "digits")))
        paths = {
            "leaderboard page": "/benchmarks/digits",
            "leaderboard JSON": "/api/v1/benchmarks/digits/leaderboard",
            "leaderboard CSV": "/benchmarks/digits.csv",
            "submission page": f"/submissions/{ids[0]}",
            "submission JSON": f"/api/v1/submissions/{ids[0]}",
            "compare page": f"/compare?ids={ids[0]},{ids[1]}",
            "queue page": "/queue",
        }
        print(f"{len(ids)} digits entries; {args.repeats} requests per path after one warm-up")
        with TestClient(create_app(settings)) as client:
            for label, path in paths.items():
                assert client.get(path).status_code == 200, path
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    client.get(path)
                    times.append(time.perf_counter() - start)
                p50, p95 = statistics.median(times), percentile(times, 0.95)
                print(f"{label:18s} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
