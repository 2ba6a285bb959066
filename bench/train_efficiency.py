"""How close the training loop gets to the bare model: loop images/s ÷ forward+backward+step images/s.

For each preset, two numbers on the same device, model, recipe optimiser, batch size and data:

- loop: ``workers.training.engine.train_model`` (the code ``train`` runs), steady-state images/s from epochs
  2..n (epoch 1 pays one-off allocator/autotuning costs), i.e. per-epoch permutation, batch gather, on-device
  augmentation, LR schedule, loss bookkeeping — evaluation excluded, as in the loop's own timing;
- bare: the same ``make_train_step`` (forward, loss, backward, grad clip when the recipe clips, optimiser step)
  repeated on one batch already on the device, nothing else.

Their ratio is the loop's efficiency (goal ≥ 0.95). On CUDA it also prints MFU: model FLOPs per image
(``app.zoo.measure``, forward) × 3 (forward + backward) × images/s ÷ the GPU's dense bf16 peak.

    .venv/bin/python bench/train_efficiency.py [--device cuda] [--epochs 3] [--repeats 2]

Timings on a shared CPU are noisy: each measurement is repeated and the best kept, alternating the two kinds.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from app.benchmarks.registry import Benchmark, get_benchmark
from app.benchmarks.splits import Splits
from app.zoo.build import build_model
from app.zoo.measure import measure
from app.zoo.spec import ArchSpec, parse_spec
from workers.training.data_on_device import steps_per_epoch, to_device_split
from workers.training.engine import backend_settings, make_train_step, prepare_model, train_model
from workers.training.optim import build_optimizer

CASES: list[tuple[str, str]] = [  # (benchmark, preset)
    ("digits", "tiny_resnet_digits"),
    ("digits", "tiny_plain_digits"),
    ("digits", "tiny_vit_digits"),
    ("digits", "tiny_convmixer_digits"),
    ("shapes", "tiny_resnet_32"),
    ("shapes", "tiny_vit_32"),
]

# Dense (no sparsity) bf16 tensor-core peaks, FLOP/s, matched by substring of torch.cuda.get_device_name().
# Longer names first, so "H100 PCIe" is not taken for "H100".
PEAK_BF16: list[tuple[str, float]] = [
    ("B200", 2250e12),
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L40", 181e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
]


@dataclass(frozen=True)
class Row:
    preset: str
    loop_ips: float
    bare_ips: float
    train_s_per_epoch: float
    wall_s_per_epoch: float
    mfu: float | None


def peak_bf16(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16 if key in name), None)


def loop_throughput(spec: ArchSpec, bench: Benchmark, splits: Splits, device: str, epochs: int) -> Row:
    """Steady-state images/s of the real loop (epochs 2..n), and seconds per epoch."""
    recipe = bench.recipe
    t0 = time.perf_counter()
    result = train_model(
        lambda: build_model(spec, bench.input_shape, bench.num_classes),
        splits, recipe, 0, device=device, max_epochs=epochs,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    n = len(splits.train.y)
    per_epoch = steps_per_epoch(n, recipe.batch_size) * min(recipe.batch_size, n)
    e = result.epochs
    steady_s = (e[-1].elapsed_s - e[0].elapsed_s) / (len(e) - 1)
    return Row("", per_epoch / steady_s, 0.0, steady_s, wall / len(e), None)


def bare_throughput(spec: ArchSpec, bench: Benchmark, splits: Splits, device: str, steps: int) -> float:
    """Images/s of forward + backward + optimiser step alone, on one batch already on the device."""
    dev = torch.device(device)
    recipe = bench.recipe
    with backend_settings(dev):
        torch.manual_seed(0)
        model = prepare_model(build_model(spec, bench.input_shape, bench.num_classes), dev).train()
        optimizer = build_optimizer(model, recipe, dev)
        step = make_train_step(
            model, optimizer, dev, label_smoothing=recipe.label_smoothing, grad_clip=recipe.grad_clip
        )
        bs = min(recipe.batch_size, len(splits.train.y))
        batch = to_device_split(splits.train.x[:bs], splits.train.y[:bs], dev)
        for _ in range(3):
            step(batch.x, batch.y)
        _sync(dev)
        t0 = time.perf_counter()
        for _ in range(steps):
            step(batch.x, batch.y)
        _sync(dev)
        return steps * bs / (time.perf_counter() - t0)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run_case(bench_slug: str, preset: str, device: str, epochs: int, repeats: int) -> Row:
    bench = get_benchmark(bench_slug)
    splits = bench.load()
    spec = parse_spec({"preset": preset, "overrides": {}})
    steps = steps_per_epoch(len(splits.train.y), bench.recipe.batch_size)
    loops: list[Row] = []
    bares: list[float] = []
    for _ in range(repeats):  # alternate, keep the best of each: background load only ever slows things down
        bares.append(bare_throughput(spec, bench, splits, device, steps))
        loops.append(loop_throughput(spec, bench, splits, device, epochs))
    best = max(loops, key=lambda r: r.loop_ips)
    bare = max(bares)
    peak = peak_bf16(torch.device(device))
    mfu = None
    if peak is not None:
        flops = measure(spec, bench.input_shape, bench.num_classes).flops
        mfu = 3 * flops * best.loop_ips / peak
    return Row(preset, best.loop_ips, bare, best.train_s_per_epoch, min(r.wall_s_per_epoch for r in loops), mfu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per loop run (≥ 2; epoch 1 is warm-up)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--presets", nargs="*", help="subset of preset names")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be ≥ 2")
    cases = [c for c in CASES if not args.presets or c[1] in args.presets]
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"device: {args.device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    header = (
        f"{'preset':<24} {'loop img/s':>11} {'bare img/s':>11} {'ratio':>6} {'train s/ep':>10} "
        f"{'wall s/ep':>9} {'MFU':>6}"
    )
    print(header)
    print("-" * len(header))
    for bench_slug, preset in cases:
        row = run_case(bench_slug, preset, args.device, args.epochs, args.repeats)
        mfu = f"{row.mfu:6.1%}" if row.mfu is not None else f"{'n/a':>6}"
        print(
            f"{row.preset:<24} {row.loop_ips:11.0f} {row.bare_ips:11.0f} {row.loop_ips / row.bare_ips:6.3f} "
            f"{row.train_s_per_epoch:10.3f} {row.wall_s_per_epoch:9.3f} {mfu}",
            flush=True,
        )


if __name__ == "__main__":
    main()
