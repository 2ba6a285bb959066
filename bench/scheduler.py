"""What the scheduler costs and buys: the hostile spec's cost at each check, and fair share against first come,
first served.

1. The worst-case digits spec of issue 13 (64 blocks, width 512, 31×31 pooling: 4.2 M MACs): its projected run
   from the static counts, from every op counted (``measure``), and from real training steps (``probe_train_step``,
   one thread, 10 s budget), against the digits run budget, with how long each check takes.
2. A queue simulation with one worker: user A queues 30 runs, then user B queues 1; and a random day of
   submissions (heavy and light users). It prints B's wait and each class's mean slowdown (time in queue and
   training over training alone) under first come, first served and under the fair order of
   ``app.core.queue.fairness`` (usage = projected seconds of running and recently ended runs).

    .venv/bin/python bench/scheduler.py [--no-probe]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.benchmarks.registry import get_benchmark
from app.core.queue.fairness import WINDOW_S, QueuedRun, fair_next
from app.core.units import duration
from app.zoo.costmodel import cost_of
from app.zoo.limits import static_check
from app.zoo.measure import measure
from app.zoo.probe import probe_train_step
from app.zoo.spec import parse_spec
from app.zoo.static import static_cost

HOSTILE = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 1},
    "stages": [{"depth": 64, "width": 512, "mlp_ratio": 0.002, "mixer": {"kind": "pooling", "pool_size": 31}}],
}


def hostile_costs(probe: bool) -> None:
    bench = get_benchmark("digits")
    spec, bs = parse_spec(HOSTILE), bench.recipe.batch_size
    print(f"hostile digits spec, budget {duration(bench.limits.max_run_seconds or 0)} per seed")
    start = time.perf_counter()
    refused = static_check(HOSTILE, bench.limits, bench.input_shape, bench.num_classes, bs)
    static = static_cost(spec, bench.input_shape, bench.num_classes).train_s_per_image(bs)
    t = time.perf_counter() - start
    print(f"  static counts:    {static:.3f} s/img -> {duration(bench.run_seconds(static))} per seed "
          f"({t * 1e3:.1f} ms; {len(refused)} errors: refused here)")  # fmt: skip
    start = time.perf_counter()
    exact = cost_of(measure(spec, bench.input_shape, bench.num_classes), bs).train_s_per_image
    t = time.perf_counter() - start
    print(f"  every op counted: {exact:.3f} s/img -> {duration(bench.run_seconds(exact))} per seed ({t:.1f} s)")
    if probe:
        start = time.perf_counter()
        got = probe_train_step(spec, bench.input_shape, bench.num_classes, bs, 2, 10.0)
        t = time.perf_counter() - start
        real = (got.cpu_seconds_per_step or got.seconds_per_step or 0.0) / bs
        print(f"  real steps:       {real:.3f} s/img -> {duration(bench.run_seconds(real))} per seed "
              f"({t:.1f} s, {got.status}: {got.detail})")  # fmt: skip


def simulate(jobs: list[tuple[float, int, float]], fair: bool) -> dict[int, float]:
    """One worker. ``jobs``: (arrival s, user, run seconds). Returns each job's finish time minus arrival."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    pending = list(range(len(jobs)))
    ended: list[tuple[float, int, float]] = []  # (end time, user, seconds)
    clock, done = 0.0, {}
    while pending:
        ready = [j for j in pending if jobs[j][0] <= clock] or [min(pending, key=lambda j: jobs[j][0])]
        clock = max(clock, min(jobs[j][0] for j in ready))
        ready = [j for j in ready if jobs[j][0] <= clock]
        if fair:
            usage: dict[int, float] = {}
            for end, user, seconds in ended:
                if end >= clock - WINDOW_S:
                    usage[user] = usage.get(user, 0.0) + seconds
            heads: dict[int, QueuedRun] = {}
            for j in sorted(ready, key=lambda j: jobs[j][0]):
                arrival, user, seconds = jobs[j]
                heads.setdefault(user, QueuedRun(j, user, j, t0 + timedelta(seconds=arrival), seconds))
            pick = fair_next(heads.values(), usage)
            assert pick is not None
            j = pick.run_id
        else:
            j = min(ready, key=lambda j: (jobs[j][0], j))
        pending.remove(j)
        arrival, user, seconds = jobs[j]
        clock += seconds
        ended.append((clock, user, seconds))
        done[j] = clock - arrival
    return done


def fairness_example() -> None:
    jobs = [(0.0, 1, 60.0)] * 30 + [(1.0, 2, 60.0)]
    for fair in (False, True):
        waits = simulate(jobs, fair)
        label = "fair order" if fair else "first come"
        print(f"  {label:10s}: B's one run (queued after A's 30 x 60 s) done after {duration(waits[30])}")


def random_day(seed: int = 0) -> None:
    """2 heavy users each queue two bursts of 20 runs; 10 light users queue 4 runs each; 1-5 min a run."""
    rng = random.Random(seed)
    jobs: list[tuple[float, int, float]] = []
    for user in range(12):
        if user < 2:
            for burst in (rng.uniform(0, 4 * 3600), rng.uniform(4 * 3600, 8 * 3600)):
                jobs += [(burst + k, user, rng.uniform(60, 300)) for k in range(20)]
        else:
            jobs += [(rng.uniform(0, 8 * 3600), user, rng.uniform(60, 300)) for _ in range(4)]
    jobs.sort()
    for fair in (False, True):
        done = simulate(jobs, fair)
        slow: dict[bool, list[float]] = {True: [], False: []}
        for j, (_, user, seconds) in enumerate(jobs):
            slow[user < 2].append(done[j] / seconds)
        label = "fair order" if fair else "first come"
        light, heavy = (sum(slow[k]) / len(slow[k]) for k in (False, True))
        worst = max(slow[False])
        print(
            f"  {label:10s}: mean slowdown light users {light:5.1f}x (worst {worst:5.1f}x), heavy users {heavy:5.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-probe", action="store_true", help="skip the real training steps (tens of seconds)")
    args = parser.parse_args()
    hostile_costs(probe=not args.no_probe)
    print("one worker, A queues 30 runs, then B queues 1:")
    fairness_example()
    print("one worker, a random day (2 heavy users x 2 bursts of 20 runs, 10 light users x 4 runs, 1-5 min each):")
    random_day()


if __name__ == "__main__":
    main()
