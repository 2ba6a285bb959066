"""The built-in transfer pair for the digits baselines: each baseline trained on ``digits`` with its full recipe
(the platform's engine, one job per seed), its weights kept as the worker keeps them (safetensors bytes), then a
linear probe and a fine-tune on ``digits_rot90`` from those bytes, exactly as the downstream runs train. Prints
upstream, probe and fine-tune test accuracy (mean ± 95% t interval over seeds) per baseline and per family, and
the CPU seconds used.

    .venv/bin/python bench/transfer.py --jobs 2 [--seeds 3] [--presets tiny_resnet_digits,tiny_vit_digits]
                                       [--max-epochs N] [--out transfer.json]

CPU time is process time of one-thread workers (the machine may be shared: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

KINDS = ("upstream", "probe", "finetune")


def _one_seed(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from app.benchmarks.downstream import get_task
    from app.benchmarks.registry import get_benchmark
    from app.zoo.spec import parse_spec
    from workers.keep import KeptWeights
    from workers.training.train_spec import train
    from workers.training.transfer import train_transfer
    from workers.training.weights import state_bytes

    torch.set_num_threads(1)
    spec, digits, task = parse_spec(job["spec"]), get_benchmark("digits"), get_task("digits_rot90")
    t0 = time.process_time()
    kept = KeptWeights()
    up = train(spec, digits, job["seed"], max_epochs=job["max_epochs"], on_trained=kept)
    assert kept.state is not None
    weights = state_bytes(kept.state, {"seed": str(job["seed"])})
    out = {"upstream": up.test_acc, "upstream_cpu_s": time.process_time() - t0}
    for kind in ("probe", "finetune"):
        t1 = time.process_time()
        res = train_transfer(spec, digits, task, kind, job["seed"], weights, max_epochs=job["max_epochs"])
        out[kind], out[f"{kind}_cpu_s"] = res.test_acc, time.process_time() - t1
    return {**job, **out}


def _t_interval(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return mean, float(half)


def _cell(values: list[float]) -> str:
    mean, half = _t_interval(values)
    return f"{100 * mean:5.1f} ± {100 * half:4.1f}"


def _table(rows: list[dict[str, Any]], key: str) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    lines = [
        f"| {key} | seeds | upstream % | linear probe % | fine-tune % | CPU s / seed |",
        "|---|---|---|---|---|---|",
    ]
    for name, members in sorted(groups.items(), key=lambda kv: -statistics.fmean(r["probe"] for r in kv[1])):
        cpu = statistics.fmean(sum(r[f"{k}_cpu_s"] for k in KINDS) for r in members)
        cells = " | ".join(_cell([r[k] for r in members]) for k in KINDS)
        lines.append(f"| {name} | {len(members)} | {cells} | {cpu:.0f} |")
    return lines


def _family(summary: dict[str, Any]) -> str:
    """The family, and for MetaFormers the token mixer (``metaformer/attention``)."""
    mixer = summary.get("mixer")
    return f"{summary['family']}/{mixer}" if mixer else str(summary["family"])


def main() -> None:
    from app.submissions.baselines import DIGITS_BASELINES
    from app.zoo.presets import PRESETS
    from app.zoo.spec import parse_spec, spec_summary

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--presets", default=",".join(DIGITS_BASELINES))
    parser.add_argument("--max-epochs", type=int, default=None, help="cap every recipe (quick trials only)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    presets = [p for p in args.presets.split(",") if p in PRESETS]
    specs = {p: {"preset": p, "overrides": {}} for p in presets}
    jobs = [
        {
            "preset": p,
            "family": _family(spec_summary(parse_spec(specs[p]))),
            "spec": specs[p],
            "seed": s,
            "max_epochs": args.max_epochs,
        }
        for s in range(args.seeds)
        for p in presets
    ]
    started = time.time()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        rows = [{k: v for k, v in r.items() if k != "spec"} for r in pool.map(_one_seed, jobs)]
    print(f"digits → digits_rot90, {args.seeds} seeds, {len(presets)} baselines, recipes capped at {args.max_epochs}")
    print("\n".join(_table(rows, "preset")))
    print()
    print("\n".join(_table(rows, "family")))
    print(
        f"\nwall {time.time() - started:.0f} s on {args.jobs} one-thread jobs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
