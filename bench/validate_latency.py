"""Validation latency of the zoo: what POST /specs/validate does minus HTTP (parse, canonical form, hash,
params/MACs on the meta device, limits), cold and cached.

Prints p50/p95 per phase and the ratio of the cached p95 to the 100 ms goal (≤ 1.0 is good).

    .venv/bin/python bench/validate_latency.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.zoo import Limits, canonical_spec, check_limits, measure, parse_spec, preset_names, spec_hash
from app.zoo.presets import PUBLISHED_INPUT

GOAL_S = 0.100
LIMITS = Limits(max_params=10**9, max_macs=10**12, max_depth=200, max_width=2048)


def validate(raw: dict[str, object], shape: tuple[int, int, int], classes: int) -> None:
    spec = parse_spec(raw)
    canonical_spec(spec)
    spec_hash(spec)
    check_limits(spec, measure(spec, shape, classes), LIMITS)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    cases = []
    for name in preset_names():
        small = (1, 8, 8) if name.endswith("_digits") else (3, 32, 32)
        shape, classes = PUBLISHED_INPUT.get(name, (small, 10))
        cases.append(({"preset": name, "overrides": {}}, shape, classes))

    start = time.perf_counter()
    validate(*cases[-1])
    print(f"first call (process warm-up of meta kernels): {time.perf_counter() - start:.2f} s")

    cold: list[float] = []
    for case in cases:
        start = time.perf_counter()
        validate(*case)
        cold.append(time.perf_counter() - start)
    cached: list[float] = []
    for i in range(args.repeats):
        case = cases[i % len(cases)]
        start = time.perf_counter()
        validate(*case)
        cached.append(time.perf_counter() - start)

    for label, values in (("uncached", cold), ("cached", cached)):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{label:9s} n={len(values):4d}  p50 {p50 * 1000:8.2f} ms  p95 {p95 * 1000:8.2f} ms")
    print(f"cached p95 / goal ({GOAL_S * 1000:.0f} ms): {percentile(cached, 0.95) / GOAL_S:.4f}")
    http_phase(args.repeats)


def http_phase(repeats: int) -> None:
    """The same through the real endpoint (routing, strict request model, limits, JSON), in-process."""
    import tempfile

    from app.core.config import Settings
    from app.core.db.migrate import upgrade

    bodies = [
        {"benchmark": "digits" if name.endswith("_digits") else "shapes", "spec": {"preset": name, "overrides": {}}}
        for name in preset_names()
        if name.startswith("tiny_")
    ]
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        upgrade(settings.database_url)  # the app's outbox relay reads its tables from the start
        timings = _http_timings(settings, bodies, repeats)
    for label, values in timings.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"HTTP {label:9s} n={len(values):4d}  p50 {p50 * 1000:8.2f} ms  p95 {p95 * 1000:8.2f} ms")
    print(f"HTTP cached p95 / goal ({GOAL_S * 1000:.0f} ms): {percentile(timings['cached'], 0.95) / GOAL_S:.4f}")


def _http_timings(settings: object, bodies: list[dict[str, object]], repeats: int) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as client:  # type: ignore[arg-type]
        timings: dict[str, list[float]] = {"uncached": [], "cached": []}
        for label, count in (("uncached", len(bodies)), ("cached", repeats)):
            for i in range(count):
                start = time.perf_counter()
                res = client.post("/api/v1/specs/validate", json=bodies[i % len(bodies)])
                timings[label].append(time.perf_counter() - start)
                if res.status_code != 200:
                    print(f"  {bodies[i % len(bodies)]['spec']}: {res.status_code} {res.text[:120]}")
    return timings


if __name__ == "__main__":
    main()
