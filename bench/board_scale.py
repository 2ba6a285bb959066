"""Boards at community scale: N = 100 / 10,000 / 100,000 finished digits entries (3 seeds each) written into a
fresh PostgreSQL database through the app's own tables (tests/leaderboard/seeding.py: bulk inserts), a real
`archarena web` started on it, and p50/p95 of sequential requests per endpoint (board JSON first page, the page,
the frontier JSON, the full CSV, the explorer's figure), the page's bytes raw and gzipped, the board's
recomputation in CPU seconds (the first, cold one and a warm one) and the time from a change marked to its board
served, side by side; with --browser, Chromium's time from navigation to the drawn chart.

--app-root runs another checkout's app on its own schema (e.g. the code before stored boards, exported with
`git archive BASE | tar -x -C /tmp/before`): the same seeding, the same requests.

    .venv/bin/python bench/board_scale.py --sizes 100 10000 [--rounds 20] [--browser] [--app-root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.db.boardmarks import mark_board  # noqa: E402
from tests.leaderboard.seeding import seed_board  # noqa: E402

PG_ADMIN = os.environ.get("ARCHARENA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ENDPOINTS = {
    "board JSON (page 1)": "/api/v1/benchmarks/digits/leaderboard?per_page=50",
    "page": "/benchmarks/digits",
    "frontier JSON": "/api/v1/benchmarks/digits/frontier",
    "CSV (all)": "/benchmarks/digits.csv",
    "chart figure JSON": "/benchmarks/digits/figures/explorer",
}


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"archarena_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(app_root: Path, url: str, home: Path) -> Iterator[str]:
    env = {**os.environ, "ARCHARENA_HOME": str(home), "ARCHARENA_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("ARCHARENA_MAX_EPOCHS", None)
    port = free_port()
    log = (home / "web.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "web", "--port", str(port)], cwd=app_root, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/benchmarks", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"the web app exited: see {home / 'web.log'}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def migrate(app_root: Path, url: str) -> None:
    code = "import sys; from app.core.db.migrate import upgrade; upgrade(sys.argv[1])"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", code, url], cwd=app_root, env=env, check=True)


def seed(url: str, n: int) -> float:
    """Seed through the tables; on a schema without stored boards (--app-root of the old code) without the mark."""
    started = time.perf_counter()
    seed_board(url, n, max_epochs=None, mark="board_marks" in inspect(create_engine(url)).get_table_names())
    return time.perf_counter() - started


def timed(client: httpx.Client, path: str, rounds: int) -> tuple[float, float, int]:
    times, status = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        res = client.get(path, headers={"accept-encoding": "gzip"})
        times.append(time.perf_counter() - started)
        status = res.status_code
        assert status in (200, 404), (path, status)  # 404: an endpoint the measured app does not have
    ordered = sorted(times)
    return statistics.median(times), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], status


def page_bytes(base: str) -> tuple[int, int]:
    with httpx.stream("GET", f"{base}/benchmarks/digits", headers={"accept-encoding": "gzip"}, timeout=600) as res:
        wire = b"".join(res.iter_raw())
    plain = len(gzip.decompress(wire)) if res.headers.get("content-encoding") == "gzip" else len(wire)
    return plain, len(wire) if res.headers.get("content-encoding") == "gzip" else len(gzip.compress(wire))


def time_to_chart(base: str, rounds: int = 3) -> float:
    """Chromium: navigation start to the explorer chart drawn (median of cold page loads; plotly.js cached)."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/benchmarks/digits", timeout=600_000)  # warm the script cache
        page.wait_for_selector("#frontier[data-rendered=true]", timeout=600_000)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            page.goto(f"{base}/benchmarks/digits?r={time.time()}", timeout=600_000)
            page.wait_for_selector("#frontier[data-rendered=true]", timeout=600_000)
            times.append(time.perf_counter() - started)
        browser.close()
    return statistics.median(times)


def stored_seconds(url: str) -> str:
    with create_engine(url).connect() as conn:
        if "boards" not in inspect(conn).get_table_names():
            return "—"
        row = conn.execute(text("SELECT compute_seconds FROM boards WHERE benchmark = 'digits'")).first()
    return f"{row[0]:.2f} s" if row and row[0] is not None else "—"


def marked_to_served(url: str, client: httpx.Client) -> tuple[float, float]:
    """What a finished run does to its board, timed: the board marked (as the run's transaction marks it), then
    the JSON polled every 20 ms until it serves the recomputed snapshot (a small board: the read computes it; a
    large one: the web process's refresher). Returns that time and the recomputation's CPU seconds."""
    path = "/api/v1/benchmarks/digits/leaderboard?per_page=1"
    before = client.get(path).json()["board_version"]
    engine = create_engine(url)
    with Session(bind=engine) as session, session.begin():
        mark_board(session, "digits", client.get(path).json()["recipe_version"])
    started = time.perf_counter()
    while client.get(path).json()["board_version"] == before:
        if time.perf_counter() - started > 120:
            raise TimeoutError("the marked board was not recomputed within 120 s")
        time.sleep(0.02)
    took = time.perf_counter() - started
    with engine.connect() as conn:
        seconds = conn.execute(text("SELECT compute_seconds FROM boards WHERE benchmark = 'digits'")).scalar_one()
    engine.dispose()
    return took, float(seconds)


def measure(app_root: Path, n: int, rounds: int, browser: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    with database() as url, tempfile.TemporaryDirectory() as home:
        migrate(app_root, url)
        out["seeding"] = f"{seed(url, n):.1f} s"
        with server(app_root, url, Path(home)) as base, httpx.Client(base_url=base, timeout=600) as client:
            started = time.perf_counter()
            client.get("/api/v1/benchmarks/digits/leaderboard?per_page=50")  # the first read computes a fresh board
            out["first read"] = f"{time.perf_counter() - started:.2f} s"
            out["board recompute (CPU)"] = stored_seconds(url)
            for label, path in ENDPOINTS.items():
                client.get(path)
                p50, p95, status = timed(client, path, rounds if n < 50_000 else max(3, rounds // 4))
                out[label] = f"{p50 * 1000:.0f} / {p95 * 1000:.0f} ms" if status == 200 else "n/a"
            if "board recompute (CPU)" in out and out["board recompute (CPU)"] != "—":
                took, seconds = marked_to_served(url, client)
                out["a change marked → its board served"] = f"{took:.2f} s"
                out["board recompute, warm (CPU)"] = f"{seconds:.2f} s"
            plain, wire = page_bytes(base)
            out["page bytes raw / gzip"] = f"{plain / 1e3:,.0f} kB / {wire / 1e3:,.0f} kB"
            if browser:
                out["Chromium: chart drawn"] = f"{time_to_chart(base):.2f} s"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--app-root", type=Path, default=ROOT)
    args = parser.parse_args()
    results = {n: measure(args.app_root.resolve(), n, args.rounds, args.browser) for n in args.sizes}
    rows = list(next(iter(results.values())))
    print(f"app: {args.app_root}; p50 / p95 of {args.rounds} sequential requests (gzip accepted)")
    print("| measure | " + " | ".join(f"N = {n:,}" for n in results) + " |")
    print("|---|" + "---|" * len(results))
    for row in rows:
        print(f"| {row} | " + " | ".join(results[n].get(row, "—") for n in results) + " |")


if __name__ == "__main__":
    main()
