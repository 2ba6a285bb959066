"""Seconds per epoch and accuracy of the Fashion-MNIST baselines under ``fashion_mnist-v2``, on one CPU thread
(as a demo worker trains), and the demo time they imply.

For each preset: one run of the real training loop (``workers.training.engine.train_model``) with the
benchmark's recipe, timed two ways: training seconds per epoch in this process's CPU time (other processes on a
shared machine don't inflate it, so ratios between presets hold) and wall seconds of the whole run (data to
device, per-epoch validation, final evaluation). The projection assumes the demo's two one-thread workers on a
quiet 2-core machine: ``seeds`` runs of each preset, longest first, on two workers, at the measured CPU time per
run (training + evaluation).

    .venv/bin/python bench/fmnist_recipe.py [--presets tiny_resnet_fmnist tiny_vit_fmnist ...] [--epochs N]
        [--seeds 3] [--crop-padding P]

Needs the Fashion-MNIST files (``make setup``, or ``archarena data import fashion_mnist``).
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import time

import torch

from app.benchmarks.registry import get_benchmark
from app.zoo.build import build_model
from app.zoo.measure import measure
from app.zoo.presets import PRESETS
from app.zoo.spec import parse_spec
from workers.training.engine import train_model

CORE = ("tiny_resnet_fmnist", "tiny_vit_fmnist", "tiny_mixer_fmnist")


def run_one(preset: str, epochs: int | None, crop_padding: int | None, seed: int) -> dict[str, float]:
    bench = get_benchmark("fashion_mnist")
    recipe = bench.recipe
    if epochs is not None or crop_padding is not None:
        n = epochs if epochs is not None else recipe.epochs
        recipe = dataclasses.replace(
            recipe,
            epochs=n,
            warmup_epochs=min(recipe.warmup_epochs, n - 1),
            crop_padding=crop_padding if crop_padding is not None else recipe.crop_padding,
        )
    splits = bench.load()
    spec = parse_spec({"preset": preset, "overrides": {}})
    m = measure(spec, bench.input_shape, bench.num_classes)
    c, h, w = bench.input_shape
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = train_model(
        lambda: build_model(spec, (c, h, w), bench.num_classes), splits, recipe, seed, cpu_clock=time.process_time
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    train_s = result.epochs[-1].elapsed_s
    return {
        "params": m.params,
        "macs": m.macs,
        "s_per_epoch_cpu": train_s / len(result.epochs),
        "run_cpu_s": cpu,
        "run_wall_s": wall,
        "val": result.val_acc,
        "test": result.test_acc,
        "test2": result.test2_acc or float("nan"),
        "train": result.train_acc,
    }


def project(run_seconds: dict[str, float], seeds: int, workers: int = 2) -> float:
    """Makespan of ``seeds`` runs of every preset on ``workers`` workers, each run taking its measured CPU
    seconds, queued in order (the demo's FIFO)."""
    finish = [0.0] * workers
    for preset in run_seconds:
        for _ in range(seeds):
            t = heapq.heappop(finish)
            heapq.heappush(finish, t + run_seconds[preset])
    return max(finish)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(CORE))
    parser.add_argument("--all", action="store_true", help="every *_fmnist preset")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--crop-padding", type=int, default=None, help="override the recipe's crop padding")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    header = f"{'preset':28s} {'params':>8s} {'MMACs':>6s} {'s/ep cpu':>8s} {'run cpu':>8s} {'run wall':>8s}"
    print(header + f" {'val':>6s} {'test':>6s} {'test2':>6s} {'train':>6s}", flush=True)
    runs: dict[str, float] = {}
    presets = sorted(p for p in PRESETS if p.endswith("_fmnist")) if args.all else args.presets
    for preset in presets:
        r = run_one(preset, args.epochs, args.crop_padding, args.seed)
        runs[preset] = r["run_cpu_s"]
        print(
            f"{preset:28s} {r['params']:8,.0f} {r['macs'] / 1e6:6.2f} {r['s_per_epoch_cpu']:8.1f} "
            f"{r['run_cpu_s']:8.1f} {r['run_wall_s']:8.1f} {r['val']:6.3f} {r['test']:6.3f} {r['test2']:6.3f} "
            f"{r['train']:6.3f}",
            flush=True,
        )
    minutes = project(runs, args.seeds) / 60
    print(f"projected: {args.seeds} seeds of {len(runs)} presets on 2 quiet one-thread workers: {minutes:.1f} min")


if __name__ == "__main__":
    main()
