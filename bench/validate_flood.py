"""An anonymous validation flood against a real `archarena web`: 100 concurrent clients post worst-case specs to
POST /api/v1/specs/validate for a while, and a probe meanwhile times GET /api/v1/benchmarks and a leaderboard
page (the goal: both under 1 s at p95), and one ordinary validation of a small preset by a user with a token of
their own (how long, and how often it was served rather than refused with 503 or 429).

Two kinds of worst case, each spec unique (no cache hit): "huge" — the issue's digits spec (64 blocks, width 512,
a 31×31 pooling mixer), far beyond the limits, which the cheap checks refuse before measuring; and "heavy" — the
slowest spec to measure that still fits digits' limits (64 attention blocks), which only the bounded pool and its
503s hold back. Each runs with the defaults (60 writes a minute per address) and with the rate limit lifted, so
that every request reaches the measuring gate. A board of the demo's baselines (results filled in, no training) is
on the leaderboard page.

    .venv/bin/python bench/validate_flood.py [--seconds 20] [--clients 100] [--root PATH]

--root runs another checkout's app (e.g. an older commit, for a before/after in one sitting); the flood, the
probe and the table are this file's. Timings on a shared machine are noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 1.0
FILL_BOARD = (
    "import sys; sys.path.insert(0, 'bench'); from page_latency import fill_demo_board; "
    "from app.core.config import get_settings; fill_demo_board(get_settings())"
)


def huge(i: int) -> dict[str, object]:
    stage = {"depth": 64, "width": 512, "mixer": {"kind": "pooling", "pool_size": 31}, "mlp_ratio": 1 + i / 1e5}
    return {"family": "metaformer", "stem": {"kind": "patch", "patch_size": 1}, "stages": [stage]}


def heavy(i: int) -> dict[str, object]:
    stage = {"depth": 64, "width": 48, "mixer": {"kind": "attention", "heads": 4}, "mlp_ratio": 3 + i / 1e5}
    return {"family": "metaformer", "stem": {"kind": "patch", "patch_size": 2}, "stages": [stage]}


SPECS = {"huge": huge, "heavy": heavy}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Web:
    """`archarena web` of the checkout at ``root`` on a fresh home with the demo's board."""

    def __init__(self, root: Path, home: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "ARCHARENA_HOME": str(home),
            "ARCHARENA_DATA_DIR": str(home / "data"),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(root),
            **env,
        }
        self.log = (home / "web.log").open("wb")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def run(self, *args: str) -> str:
        done = subprocess.run([sys.executable, *args], cwd=self.root, env=self.env, check=True, capture_output=True)
        return done.stdout.decode().strip()

    def start(self) -> str:
        """Start it; returns an API token of a user of its own (the probe's)."""
        self.run("-m", "app.cli", "migrate")
        self.run("-c", FILL_BOARD)
        token = self.run("-m", "app.cli", "token", "create", "prober")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--port", str(port)],
            cwd=self.root,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/benchmarks", timeout=2).status_code == 200:
                    return token
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        raise RuntimeError("the web app did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@dataclass
class Probe:
    """GET latencies of the pages people read, sampled one after another on a thread of its own, and an ordinary
    user's validation of a small preset."""

    url: str
    token: str
    times: dict[str, list[float]] = field(default_factory=lambda: {"benchmarks API": [], "leaderboard page": []})
    validations: list[tuple[int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        paths = {"benchmarks API": "/api/v1/benchmarks", "leaderboard page": "/benchmarks/digits"}
        body = {"benchmark": "digits", "spec": {"preset": "tiny_resnet_digits", "overrides": {}}}
        auth = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=300) as client:
            while not self.stop.is_set():
                for label, path in paths.items():
                    start = time.perf_counter()
                    status = client.get(path).status_code
                    self.times[label].append(time.perf_counter() - start if status == 200 else float("inf"))
                if len(self.times["benchmarks API"]) % 3 == 0:  # within the user's own 60 writes a minute
                    start = time.perf_counter()
                    status = client.post("/api/v1/specs/validate", json=body, headers=auth).status_code
                    self.validations.append((status, time.perf_counter() - start))
                self.stop.wait(0.2)


async def flood(url: str, clients: int, seconds: float, make: object) -> tuple[Counter[int], list[float]]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one_client() -> None:
            while time.monotonic() < deadline:
                body = {"benchmark": "digits", "spec": make(next(counter))}  # type: ignore[operator]
                start = time.perf_counter()
                try:
                    status = (await client.post("/api/v1/specs/validate", json=body)).status_code
                except httpx.HTTPError:
                    status = 0
                statuses[status] += 1
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return statuses, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def scenario(root: Path, label: str, env: dict[str, str], spec: str | None, seconds: float, clients: int) -> str:
    with tempfile.TemporaryDirectory() as home:
        web = Web(root, Path(home), env)
        try:
            token = web.start()
            probe = Probe(web.url, token)
            thread = threading.Thread(target=probe.run, daemon=True)
            thread.start()
            if spec is None:
                time.sleep(seconds)
                statuses, latencies = Counter[int](), []
            else:
                statuses, latencies = asyncio.run(flood(web.url, clients, seconds, SPECS[spec]))
            probe.stop.set()
            thread.join(timeout=600)
        finally:
            web.stop()
    cells = [label]
    for values in probe.times.values():
        cells.append(f"{statistics.median(values) * 1000:7.0f} / {percentile(values, 0.95) * 1000:7.0f}")
    worst = max(percentile(v, 0.95) for v in probe.times.values())
    cells.append("yes" if worst < GOAL_S else "NO")
    served = [t for status, t in probe.validations if status == 200]
    share = f"{len(served)}/{len(probe.validations)}"
    cells.append(f"{share} in {statistics.median(served) * 1000:.0f} ms" if served else f"{share}")
    answered = " ".join(f"{code}:{n}" for code, n in sorted(statuses.items())) or "—"
    flood_p95 = f"{percentile(latencies, 0.95) * 1000:.0f}" if latencies else "—"
    cells += [str(sum(statuses.values())), answered, flood_p95]
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app to run")
    args = parser.parse_args()
    lifted = {"ARCHARENA_RATE_LIMIT_PER_MINUTE": "1000000"}
    runs = [
        ("no flood", {}, None),
        ("huge specs, defaults", {}, "huge"),
        ("heavy specs, defaults", {}, "heavy"),
        ("huge specs, no rate limit", lifted, "huge"),
        ("heavy specs, no rate limit", lifted, "heavy"),
    ]
    print(f"app: {args.root}; {args.clients} flooding clients for {args.seconds:g} s per row")
    header = "scenario | benchmarks API p50/p95 ms | leaderboard page p50/p95 ms | p95 < 1 s"
    header += " | a user's validation: served (p50) | flood requests | flood answers (status:count) | flood p95 ms"
    print(header)
    print("--- | --- | --- | --- | --- | --- | --- | ---")
    for label, env, spec in runs:
        print(scenario(args.root, label, env, spec, args.seconds, args.clients), flush=True)


if __name__ == "__main__":
    main()
