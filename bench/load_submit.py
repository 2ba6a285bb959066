"""Load on the real stack: N concurrent clients submit and poll for a fixed time against `archarena web` +
a worker on PostgreSQL + Redis (or the embedded SQLite stack). Prints requests/s, p50/p95 latency, the 5xx count
(goal 0) and whether every accepted submission is in the database (goal: all).

    .venv/bin/python bench/load_submit.py [--clients 50] [--seconds 30] [--stack postgres|embedded]
        [--web-processes 1]

Each client has its own user and token (created directly in the database), submits specs of its own (distinct
hashes, so none is a free duplicate) at most its daily quota, and between submissions polls its submissions and the
leaderboard, as a script following its runs would. Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, select, text

from app.core.db.migrate import upgrade
from app.core.db.session import session_scope
from app.core.db.tables import Submission
from app.quotas.service import DEFAULT_DAILY_LIMIT
from app.users.service import create_token
from tests.e2e.stack import Stack

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {"POST submission": [], "GET submission": [], "GET leaderboard": []}
        self.statuses: Counter[int] = Counter()
        self.accepted: set[int] = set()

    def record(self, started: float, status: int, kind: str) -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            self.by_kind[kind].append(self.latencies[-1])
            self.statuses[status] += 1


def client_loop(base: str, token: str, index: int, deadline: float, results: Results) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    mine: list[int] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for k in range(10_000):
            if time.monotonic() > deadline:
                return
            if k % 4 == 0 and len(mine) < DEFAULT_DAILY_LIMIT:
                width = 8 + len(mine)  # (client, k-th submission) → its own spec: no free duplicates
                body = {
                    "name": f"load {index}.{len(mine)}",
                    "seeds": 3,
                    "spec": {
                        "preset": "tiny_resnet_digits",
                        "overrides": {"stem_width": width, "widths": [width, 16 + index, 64]},
                    },
                }
                started = time.perf_counter()
                res = http.post("/api/v1/submissions", json=body, headers=headers)
                results.record(started, res.status_code, "POST submission")
                if res.status_code in (200, 201):
                    mine.append(res.json()["id"])
                    with results.lock:
                        results.accepted.add(res.json()["id"])
            else:
                kind = "GET submission" if mine and k % 2 else "GET leaderboard"
                path = (
                    f"/api/v1/submissions/{mine[-1]}"
                    if kind == "GET submission"
                    else "/api/v1/benchmarks/digits/leaderboard"
                )
                started = time.perf_counter()
                results.record(started, http.get(path).status_code, kind)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--stack", choices=["postgres", "embedded"], default="postgres")
    parser.add_argument("--web-processes", type=int, default=1, help="`archarena web --processes`")
    args = parser.parse_args()
    db_name = f"archarena_load_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    env = {"ARCHARENA_MAX_EPOCHS": "1", "ARCHARENA_QUEUE": f"load-{secrets.token_hex(3)}"}
    with tempfile.TemporaryDirectory() as home:
        if args.stack == "postgres":
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            env["ARCHARENA_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
            env["ARCHARENA_BROKER_URL"] = "redis://127.0.0.1:6379/14"
        stack = Stack(Path(home), env)
        try:
            db_url = env.get("ARCHARENA_DATABASE_URL", f"sqlite:///{Path(home) / 'archarena.sqlite3'}")
            upgrade(db_url)
            with session_scope(db_url) as session:
                tokens = [create_token(session, f"load{i}") for i in range(args.clients)]
            stack.start_worker()
            base = stack.start_web("--processes", str(args.web_processes))
            results = Results()
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=client_loop, args=(base, tok, i, deadline, results))
                for i, tok in enumerate(tokens)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            with session_scope(db_url) as session:
                stored = set(session.scalars(select(Submission.id)))
        finally:
            stack.stop()
            if args.stack == "postgres":
                from app.core.db.session import get_engine

                get_engine(env["ARCHARENA_DATABASE_URL"]).dispose()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                import redis

                leftover = redis.Redis(host="127.0.0.1", port=6379, db=14)
                leftover.delete(env["ARCHARENA_QUEUE"])  # runs still queued when the bench stopped
                leftover.close()
    total = sum(results.statuses.values())
    server_errors = sum(n for code, n in results.statuses.items() if code >= 500)
    web = "one web process" if args.web_processes == 1 else f"{args.web_processes} web processes"
    print(f"stack {args.stack}: {args.clients} clients for {elapsed:.0f} s, {web}, one worker training")
    print(f"requests {total}  ({total / elapsed:.1f} req/s)  statuses {dict(sorted(results.statuses.items()))}")
    print(
        f"latency p50 {statistics.median(results.latencies) * 1000:.0f} ms  "
        f"p95 {percentile(results.latencies, 0.95) * 1000:.0f} ms"
    )
    for kind, values in results.by_kind.items():
        if values:
            p50, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
            print(f"  {kind:16s} n={len(values):4d}  p50 {p50:.0f} ms  p95 {p95:.0f} ms")
    print(f"5xx: {server_errors} (goal 0)")
    missing = results.accepted - stored
    print(
        f"accepted submissions {len(results.accepted)}, in the database {len(results.accepted & stored)}, "
        f"missing {len(missing)} (goal 0)"
    )


if __name__ == "__main__":
    main()
