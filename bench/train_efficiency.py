"""How close the training loop gets to the bare model: loop images/s ÷ forward+backward+step images/s.

For each preset, two numbers on the same device, model, recipe optimiser, batch size and data:

- loop: ``workers.training.engine.train_model`` (the code ``train`` runs), images/s of its fastest epoch
  among epochs 2..n (epoch 1 pays one-off allocator/autotuning costs), i.e. with the per-epoch permutation,
  on-device augmentation, LR schedule and loss bookkeeping; evaluation excluded, as in the loop's own timing;
- bare: the same ``make_train_step`` (forward, loss, backward, grad clip when the recipe clips, optimiser
  step) over fixed batches already on the device, nothing else.

Their ratio is the loop's efficiency (goal ≥ 0.95). On CUDA it also prints MFU: model FLOPs per image
(``app.zoo.measure``, forward) × 3 (forward + backward) × images/s ÷ the GPU's dense bf16 peak.

    .venv/bin/python bench/train_efficiency.py [--device cuda] [--epochs 4] [--repeats 2] [--all]

Timings on a shared CPU are noisy: each loop epoch is paired with a bare block run right after it (see
``run_case``) and the ratio is the median over pairs; on CPU both are timed in process CPU time, one thread.
"train s/ep" is the loop's training time per epoch; "wall s/ep" is the whole ``train_model`` call (data to
device, per-epoch validation, final evaluation) per epoch, bare blocks excluded.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
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
from workers.training.results import EpochMetrics

DIGITS_CASES: list[tuple[str, str]] = [  # (benchmark, preset)
    ("digits", "tiny_resnet_digits"),
    ("digits", "tiny_plain_digits"),
    ("digits", "tiny_vit_digits"),
    ("digits", "tiny_convmixer_digits"),
]
# 32×32 presets on the 4,000-image ``shapes`` set: ~15 s per epoch on one CPU core, so CUDA or --all only.
CASES_32: list[tuple[str, str]] = [
    ("shapes", "tiny_resnet_32"),
    ("shapes", "tiny_vit_32"),
    ("shapes", "tiny_convformer_32"),
]

# On CPU both sides are timed in this process's CPU time, which other processes on a shared machine don't
# inflate (with one thread, CPU time is wall time minus waiting for a core).
CPU_CLOCK = time.process_time

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
    ratio: float
    ratio_lo: float
    ratio_hi: float
    train_s_per_epoch: float
    wall_s_per_epoch: float
    mfu: float | None


def peak_bf16(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16 if key in name), None)


def make_bare_block(
    spec: ArchSpec, bench: Benchmark, splits: Splits, dev: torch.device, steps: int
) -> Callable[[], float]:
    """A function that runs one epoch's worth of bare steps (forward, loss, backward, clip, optimiser step)
    over fixed batches already on the device and returns the seconds it took.

    Fixed slices of the training set, not one batch repeated: overfitting a single batch drives gradients into
    denormal floats, which are slow on CPUs and would flatter the loop.
    """
    recipe = bench.recipe
    with backend_settings(dev):
        torch.manual_seed(0)
        model = prepare_model(build_model(spec, bench.input_shape, bench.num_classes), dev).train()
        optimizer = build_optimizer(model, recipe, dev)
    step = make_train_step(model, optimizer, dev, label_smoothing=recipe.label_smoothing, grad_clip=recipe.grad_clip)
    bs = min(recipe.batch_size, len(splits.train.y))
    data = to_device_split(splits.train.x, splits.train.y, dev)
    batches = [(data.x[i * bs : (i + 1) * bs], data.y[i * bs : (i + 1) * bs]) for i in range(steps)]
    clock = CPU_CLOCK if dev.type == "cpu" else time.perf_counter

    def block() -> float:
        _sync(dev)
        t0 = clock()
        for x, y in batches:
            step(x, y)
        _sync(dev)
        return clock() - t0

    block()  # warm-up (allocator, cuDNN autotuning)
    return block


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run_case(bench_slug: str, preset: str, device: str, epochs: int, repeats: int) -> Row:
    """Loop epochs and bare blocks interleaved: after each loop epoch (in ``on_epoch``, outside the loop's
    timed region) one bare block runs, so each (loop epoch, bare block) pair sees the same background load.
    Epoch 1 of each run is warm-up and dropped; the ratio is the median over pairs."""
    dev = torch.device(device)
    bench = get_benchmark(bench_slug)
    splits = bench.load()
    spec = parse_spec({"preset": preset, "overrides": {}})
    n = len(splits.train.y)
    steps = steps_per_epoch(n, bench.recipe.batch_size)
    images = steps * min(bench.recipe.batch_size, n)
    bare_block = make_bare_block(spec, bench, splits, dev, steps)
    loop_s: list[float] = []
    bare_s: list[float] = []
    wall_per_epoch: list[float] = []
    for _ in range(repeats):
        bare_run: list[float] = []
        bare_wall = 0.0

        def after_epoch(_: EpochMetrics, bare_run: list[float] = bare_run) -> None:
            nonlocal bare_wall
            t0 = time.perf_counter()
            bare_run.append(bare_block())
            bare_wall += time.perf_counter() - t0

        result = train_model(
            lambda: build_model(spec, bench.input_shape, bench.num_classes),
            splits, bench.recipe, 0, device=device, max_epochs=epochs, on_epoch=after_epoch,
            cpu_clock=CPU_CLOCK,
        )  # fmt: skip
        elapsed = [0.0] + [m.elapsed_s for m in result.epochs]
        loop_s += [b - a for a, b in itertools.pairwise(elapsed)][1:]
        bare_s += bare_run[1:]
        wall_per_epoch.append((result.wall_seconds - bare_wall) / epochs)
    ratios = sorted(b / lo for lo, b in zip(loop_s, bare_s, strict=True))
    loop_ips = images / statistics.median(loop_s)
    mfu = None
    peak = peak_bf16(dev)
    if peak is not None:
        mfu = 3 * measure(spec, bench.input_shape, bench.num_classes).flops * loop_ips / peak
    return Row(
        preset=preset,
        loop_ips=loop_ips,
        bare_ips=images / statistics.median(bare_s),
        ratio=statistics.median(ratios),
        ratio_lo=ratios[0],
        ratio_hi=ratios[-1],
        train_s_per_epoch=statistics.median(loop_s),
        wall_s_per_epoch=min(wall_per_epoch),
        mfu=mfu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per loop run (≥ 2; epoch 1 is warm-up)")
    parser.add_argument("--repeats", type=int, default=2, help="loop runs per preset")
    parser.add_argument("--presets", nargs="*", help="subset of preset names")
    parser.add_argument("--all", action="store_true", help="also the 32×32 presets on CPU")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: stable numbers on a shared machine)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.epochs < 2:
        parser.error("--epochs must be ≥ 2")
    with_32 = args.all or args.device.startswith("cuda")
    cases = [c for c in DIGITS_CASES + CASES_32 * with_32 if not args.presets or c[1] in args.presets]
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    clock = "CPU time" if args.device == "cpu" else "CUDA events / synchronised wall time"
    print(f"device: {args.device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(
        f"timed with {clock}; medians over epochs 2..{args.epochs} of {args.repeats} runs, each loop epoch "
        "paired with a bare block run right after it"
    )
    header = (
        f"{'preset':<24} {'loop img/s':>11} {'bare img/s':>11} {'ratio':>6} {'(min-max)':>13} "
        f"{'train s/ep':>10} {'wall s/ep':>9} {'MFU':>6}"
    )
    print(header)
    print("-" * len(header))
    for bench_slug, preset in cases:
        row = run_case(bench_slug, preset, args.device, args.epochs, args.repeats)
        mfu = f"{row.mfu:6.1%}" if row.mfu is not None else f"{'n/a':>6}"
        print(
            f"{row.preset:<24} {row.loop_ips:11.0f} {row.bare_ips:11.0f} {row.ratio:6.3f} "
            f"{f'({row.ratio_lo:.2f}-{row.ratio_hi:.2f})':>13} {row.train_s_per_epoch:10.3f} "
            f"{row.wall_s_per_epoch:9.3f} {mfu}",
            flush=True,
        )


if __name__ == "__main__":
    main()
