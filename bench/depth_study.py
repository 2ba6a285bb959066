"""The canonical depth studies (plain vs residual CNNs at 8–62 layers, and Mixer blocks 2–32 deep, on digits),
trained outside the web stack with the platform's engine and judged with the studies' own verdict code: prints
each variant's MACs, parameters, test accuracy (mean and 95% t interval over seeds) and CPU seconds per seed,
each study's total CPU time, the per-series answer ("does depth help?") and the sentence comparing it with the
published reference (He et al. 2016 / ResMLP), exactly as the study page would word them.

    .venv/bin/python bench/depth_study.py --jobs 2 [--study cnn|mlp] [--seeds N] [--out runs.json]

Each study trains its own number of seeds (the CNN study 5, the MLP study 3) unless ``--seeds`` says otherwise.

CPU time is process time of one-thread workers (the machine may be shared: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any


def _train_one(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from app.benchmarks.registry import get_benchmark
    from app.zoo.spec import parse_spec
    from workers.training.train_spec import train

    torch.set_num_threads(1)
    t0, w0 = time.process_time(), time.time()
    r = train(parse_spec(job["spec"]), get_benchmark(job["benchmark"]), job["seed"])
    return {**job, "spec": None, "test_acc": r.test_acc, "cpu_s": time.process_time() - t0, "wall_s": time.time() - w0}


def _studies(which: str) -> list[Any]:
    from app.studies.canonical import canonical_cnn_depth_study, canonical_mlp_depth_study

    return [
        s
        for key, s in (("cnn", canonical_cnn_depth_study()), ("mlp", canonical_mlp_depth_study()))
        if which in (key, "both")
    ]


def _variant_out(plan: Any, accs: list[float]) -> Any:
    from statistics import fmean

    from app.entries.noise import DEFAULT
    from app.stats.intervals import entry_interval
    from app.studies.schemas import VariantOut

    iv = entry_interval(accs, 224, DEFAULT)
    return VariantOut(
        label=plan.label, value=plan.value, series=plan.series, axis_value=plan.axis_value, path=plan.path,
        field_value=plan.field_value, family=plan.family, mixer=plan.mixer, name=plan.name or plan.label,
        submission_id=1, url=None, status="finished", seeds_requested=len(accs), seeds_finished=len(accs),
        params=plan.params, macs=plan.macs, width=None, adjustment=None, reason=None, test_accs=accs,
        test_acc_mean=fmean(accs), test_acc_ci=(iv.low, iv.high),
    )  # fmt: skip


def judge(body: Any, plans: list[Any], accs: dict[str, list[float]]) -> None:
    """The page's words for these results: δ from the study's own seed noise (no platform reference here)."""
    from app.stats.noise import reference_from_entries
    from app.studies import depth
    from app.studies import verdicts as vd
    from app.studies.freeze import delta_for

    variants = [_variant_out(p, accs[p.label]) for p in plans]
    ref = reference_from_entries([v.test_accs for v in variants])
    delta, alpha = delta_for(ref), vd.alpha_at(1)
    verdicts, rankings = [], {}
    for group in vd.groups(variants):
        found, grid = vd.group_verdicts(group, True, delta, alpha, ref)
        verdicts += found
        if grid is not None:
            rankings[group.key] = vd.ranking_sentence(group.names, grid)
    label = body.axis_label or body.axis
    trends = depth.series_trends(variants, verdicts, rankings, {g.key: delta for g in vd.groups(variants)}, label)
    print(f"  seed σ {100 * ref.sigma:.2f} points → δ = ±{100 * delta:.2f} points")
    for t in trends:
        print(f"  {t.text}.")
    between = depth.between_series(variants, rankings, label)
    if between:
        print(f"  {between}")
    reference = depth.reference_for(trends, depth.is_depth(variants))
    if reference is not None:
        print(f"  {depth.agreement(reference, trends)[1]}")


def run(which: str, seeds: int | None, jobs: int, out: str | None) -> None:
    from app.studies.plan import plan_study

    studies = [(body, plan_study(body)[2]) for body in _studies(which)]
    todo = [
        {"study": body.name, "benchmark": body.benchmark, "label": p.label, "spec": p.spec, "seed": seed}
        for body, plans in studies
        for p in plans
        for seed in range(seeds or body.seeds or 3)
    ]
    print(f"{len(todo)} runs in {jobs} one-thread processes, started {datetime.now(UTC):%H:%M:%S} UTC", flush=True)
    w0 = time.time()
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_train_one, todo))
    print(f"wall {time.time() - w0:.0f} s for everything\n")
    if out:
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
    for body, plans in studies:
        rows = [r for r in results if r["study"] == body.name]
        print(f"{body.name}: {sum(r['cpu_s'] for r in rows) / 60:.1f} CPU-minutes for {len(rows)} runs")
        accs: dict[str, list[float]] = {}
        for p in plans:
            mine = [r for r in rows if r["label"] == p.label]
            accs[p.label] = [r["test_acc"] for r in sorted(mine, key=lambda r: r["seed"])]
            mean = statistics.mean(accs[p.label])
            cpu = statistics.mean(r["cpu_s"] for r in mine)
            print(
                f"  {p.label:<14} {p.path}={p.field_value:<4} params {p.params:>9,} MACs {p.macs:>11,} "
                f"test {100 * mean:5.1f}% {[round(100 * a, 1) for a in accs[p.label]]} cpu/seed {cpu:5.1f} s"
            )
        judge(body, plans, accs)
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", choices=("cnn", "mlp", "both"), default="both")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--out")
    args = parser.parse_args()
    run(args.study, args.seeds, args.jobs, args.out)


if __name__ == "__main__":
    main()
