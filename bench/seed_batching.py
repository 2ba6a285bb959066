"""S seeds one by one vs the same S seeds as one batched model: wall time, img/s, their ratio, and how far the
batched numbers are from the one-by-one ones.

    .venv/bin/python bench/seed_batching.py                    # CPU: digits baselines + a 28×28 preset
    .venv/bin/python bench/seed_batching.py --device cuda      # the same on a GPU (CUDA-graph step)
    .venv/bin/python bench/seed_batching.py --grouped          # CPU: step time, vmap vs hand-grouped convs

Cases: every digits baseline (app/submissions/baselines.py) on the digits benchmark, and ``tiny_resnet_synth``
at 1×28×28 with the Fashion-MNIST recipe: on Fashion-MNIST itself when it is fetched and the device is CUDA,
else on random images of that shape (4,096 training images on CPU, 60,000 on CUDA; labels are random too, so
its accuracy columns mean nothing, its timings do).

For each case and S: ``one-by-one`` = S calls of ``engine.train_model`` (the reference path), ``batched`` =
one call of ``batched.train_models_batched``. Columns: wall seconds of all S runs; training img/s (images
of all members ÷ training time, evaluation excluded); the batched/one-by-one ratio of wall time (and of this
process's CPU time on CPU, which other processes on a shared machine do not inflate: the ratio to trust
there); the largest per-seed gap in any loss and in test accuracy between the two paths. On CUDA also the
graph capture seconds and the GPU-seconds of one 3-seed entry at the recipe's full epochs (the batched wall
time scaled by recipe epochs ÷ measured epochs: evaluation and capture scale too, so it errs high).

Goals (issue 15): on CPU batching never slower than one by one (else ``can_batch`` says no on CPU); on a GPU,
S seeds cost ≤ 0.5 × S single runs (≤ 0.3 × at S = 10).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.benchmarks.recipes import DIGITS_V1, FASHION_MNIST_V1, Recipe
from app.benchmarks.registry import get_benchmark
from app.benchmarks.splits import Splits, make_splits
from app.submissions.baselines import DIGITS_BASELINES
from app.zoo.build import build_model
from app.zoo.spec import parse_spec, spec_hash
from workers.training.batched import BatchOptions, train_models_batched
from workers.training.engine import train_model
from workers.training.results import Member, TrainingFailed, TrainResult
from workers.training.stacked import StackedModel

PRESET_28 = "tiny_resnet_synth"


@dataclass(frozen=True)
class Case:
    name: str
    preset: str
    splits: Splits
    recipe: Recipe
    input_shape: tuple[int, int, int]
    data: str


@dataclass(frozen=True)
class Row:
    case: str
    seeds: int
    single_wall_s: float
    batched_wall_s: float
    single_ips: float
    batched_ips: float
    wall_ratio: float
    cpu_ratio: float | None
    max_loss_gap: float
    max_acc_gap: float
    capture_s: float
    entry_gpu_s: float | None
    entry_single_gpu_s: float | None
    failed: int


def random_splits(n_train: int, shape: tuple[int, int, int], seed: int = 0) -> Splits:
    rng = np.random.default_rng(seed)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)

    return make_splits(part(n_train), part(max(256, n_train // 10)), part(max(256, n_train // 6)))


def cases(device: str, presets: list[str] | None, with_28: bool) -> list[Case]:
    digits = get_benchmark("digits")
    out = [
        Case(p, p, digits.load(), DIGITS_V1, digits.input_shape, "digits")
        for p in DIGITS_BASELINES
        if not presets or p in presets
    ]
    if with_28:
        shape = (1, 28, 28)
        splits, data = None, ""
        if device.startswith("cuda"):
            try:
                splits, data = get_benchmark("fashion_mnist").load(), "Fashion-MNIST"
            except Exception:  # not fetched on this host: random images of the same shape
                splits = None
        if splits is None:
            n = 60_000 if device.startswith("cuda") else 4_096
            splits, data = random_splits(n, shape), f"random 1×28×28 ({n} train)"
        out.append(Case(f"{PRESET_28}@28", PRESET_28, splits, FASHION_MNIST_V1, shape, data))
    return out


def factory_for(case: Case) -> Callable[[], nn.Module]:
    spec = parse_spec({"preset": case.preset, "overrides": {}})
    return lambda: build_model(spec, case.input_shape, 10)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _gaps(single: list[TrainResult], batched: dict[object, TrainResult | TrainingFailed]) -> tuple[float, float, int]:
    loss, acc, failed = 0.0, 0.0, 0
    for r in single:
        b = batched[r.seed]
        if not isinstance(b, TrainResult):
            failed += 1
            continue
        for name in ("train_loss", "val_loss", "test_loss"):
            loss = max(loss, abs(getattr(r, name) - getattr(b, name)))
        acc = max(acc, abs(r.test_acc - b.test_acc))
    return loss, acc, failed


def run_case(case: Case, n_seeds: int, device: str, epochs: int, step_mode: str, repeats: int) -> Row:
    """One-by-one and batched, ``repeats`` times, alternating which goes first (so drift in the machine's load
    hits both); medians."""
    factory, seeds = factory_for(case), list(range(n_seeds))
    clock = time.process_time if device == "cpu" else time.perf_counter
    h = spec_hash(parse_spec({"preset": case.preset, "overrides": {}}))
    walls: dict[str, list[float]] = {"single": [], "batched": []}
    cpus: dict[str, list[float]] = {"single": [], "batched": []}
    singles: list[TrainResult] = []
    batched: dict[object, TrainResult | TrainingFailed] = {}

    def one_by_one() -> None:
        singles[:] = [
            train_model(factory, case.splits, case.recipe, s, spec_hash=h, device=device, max_epochs=epochs,
                        cpu_clock=clock)
            for s in seeds
        ]  # fmt: skip

    def together() -> None:
        opts = BatchOptions(spec_hash=h, step_mode=step_mode, cpu_clock=clock)
        batched.clear()
        batched.update(
            train_models_batched(factory, case.splits, case.recipe, [Member(s, s) for s in seeds], device=device,
                                 max_epochs=epochs, options=opts)
        )  # fmt: skip

    for r in range(repeats):
        order = [("single", one_by_one), ("batched", together)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            _sync(device)
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            walls[name].append(time.perf_counter() - w0)
            cpus[name].append(time.process_time() - c0)
    ok = [b for b in batched.values() if isinstance(b, TrainResult)]
    # Training time (evaluation excluded) is the last epoch's elapsed_s; a batch's is shared by its members.
    single_s = sum(r.epochs[-1].elapsed_s for r in singles)
    single_images = sum(r.images_per_second * r.epochs[-1].elapsed_s for r in singles)
    batched_ips = sum(r.images_per_second for r in ok)
    loss_gap, acc_gap, failed = _gaps(singles, batched)
    sw, bw = statistics.median(walls["single"]), statistics.median(walls["batched"])
    scale = case.recipe.epochs / epochs if device.startswith("cuda") and n_seeds == 3 else None
    return Row(
        case=case.name,
        seeds=n_seeds,
        single_wall_s=sw,
        batched_wall_s=bw,
        single_ips=single_images / single_s if single_s else 0.0,
        batched_ips=batched_ips,
        wall_ratio=bw / sw,
        cpu_ratio=statistics.median(cpus["batched"]) / statistics.median(cpus["single"]) if device == "cpu" else None,
        max_loss_gap=loss_gap,
        max_acc_gap=acc_gap,
        capture_s=max((b.capture_seconds for b in ok), default=0.0),
        entry_gpu_s=bw * scale if scale else None,
        entry_single_gpu_s=sw * scale if scale else None,
        failed=failed,
    )


# ---------------------------------------------------------------- vmap vs hand-grouped convolutions (CPU)


class _GroupedLinear(nn.Module):
    """S linear heads on (N, S·C) features → (N, S, K)."""

    def __init__(self, heads: list[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([h.weight.detach() for h in heads]))
        self.bias = nn.Parameter(torch.stack([h.bias.detach() for h in heads]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(x.shape[0], self.weight.shape[0], -1)
        return torch.einsum("nsc,soc->nso", x, self.weight) + self.bias


def _grouped(mods: list[nn.Module]) -> nn.Module:
    """S conv-BN nets as one on (N, S·C, H, W): conv → grouped conv, BatchNorm over S·C channels (statistics
    per member for free), the linear head per member. Only for nets made of those layers, containers and
    elementwise/pooling layers: the alternative to vmap that this bench measures."""
    first, s = mods[0], len(mods)
    if isinstance(first, nn.Conv2d):
        conv = nn.Conv2d(s * first.in_channels, s * first.out_channels, first.kernel_size, first.stride,
                         first.padding, groups=s * first.groups, bias=first.bias is not None)  # fmt: skip
        with torch.no_grad():
            conv.weight.copy_(torch.cat([m.weight for m in mods]))
            if conv.bias is not None:
                conv.bias.copy_(torch.cat([m.bias for m in mods]))
        return conv
    if isinstance(first, nn.BatchNorm2d):
        bn = nn.BatchNorm2d(s * first.num_features)
        with torch.no_grad():
            bn.weight.copy_(torch.cat([m.weight for m in mods]))
            bn.bias.copy_(torch.cat([m.bias for m in mods]))
        return bn
    if isinstance(first, nn.Linear):
        return _GroupedLinear(mods)
    out = copy.copy(first)
    out._modules = {name: _grouped([m._modules[name] for m in mods]) for name in first._modules}
    return out


def compare_grouped(presets: list[str], seeds: list[int], steps: int = 20) -> None:
    """ms per training step (forward, backward, AdamW) of S digits CNNs: one by one, vmap, hand-grouped."""
    print("\nvmap vs hand-grouped convolutions (CPU, one thread, process CPU time, best of 3 blocks)")
    print(f"{'preset':<24} {'S':>3} {'one-by-one':>11} {'vmap':>14} {'grouped':>14}")
    for preset in presets:
        for n in seeds:
            spec = parse_spec({"preset": preset, "overrides": {}})
            models = []
            for s in range(n):
                torch.manual_seed(s)
                models.append(build_model(spec, (1, 8, 8), 10))
            times = _time_three_ways(models, steps)
            one = times[0]
            print(f"{preset:<24} {n:>3} {one:9.2f}ms " + " ".join(f"{t:7.2f}ms ({t / one:.2f})" for t in times[1:]))


def _time_three_ways(models: list[nn.Module], steps: int) -> list[float]:
    n = len(models)
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(steps, n, 32, 1, 8, 8, generator=gen)
    ys = torch.randint(0, 10, (steps, n, 32), generator=gen)
    grouped = _grouped(models)
    stacked = StackedModel(models, torch.device("cpu"))
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3) for m in models]
    vopt = torch.optim.AdamW(list(stacked.params.values()), lr=1e-3)
    gopt = torch.optim.AdamW(grouped.parameters(), lr=1e-3)

    def one() -> None:
        for i in range(steps):
            for s, m in enumerate(models):
                opts[s].zero_grad(set_to_none=True)
                F.cross_entropy(m(xs[i, s]), ys[i, s]).backward()
                opts[s].step()

    def vmapped() -> None:
        for i in range(steps):
            vopt.zero_grad(set_to_none=True)
            stacked.train_outputs(xs[i], ys[i], label_smoothing=0.0)[0].sum().backward()
            vopt.step()

    def hand() -> None:
        for i in range(steps):
            gopt.zero_grad(set_to_none=True)
            logits = grouped(xs[i].permute(1, 0, 2, 3, 4).reshape(32, n, 8, 8))
            F.cross_entropy(logits.permute(0, 2, 1), ys[i].T, reduction="none").mean(0).sum().backward()
            gopt.step()

    best = [float("inf")] * 3
    for _ in range(4):  # the first round is warm-up
        for k, fn in enumerate((one, vmapped, hand)):
            t0 = time.process_time()
            fn()
            best[k] = min(best[k], (time.process_time() - t0) / steps * 1000)
    return best


# ---------------------------------------------------------------- report


def print_header(device: str) -> None:
    cuda = device.startswith("cuda")
    head = (
        f"{'case':<28} {'S':>3} {'1-by-1 s':>9} {'batch s':>8} {'1-by-1 img/s':>12} {'batch img/s':>11} "
        f"{'wall ratio':>10} {'cpu ratio':>9} {'max|Δloss|':>10} {'max|Δacc|':>9}"
        + (f" {'capture s':>9} {'GPU-s/entry 1-by-1→batched':>26}" if cuda else "")
    )
    print(head)
    print("-" * len(head))


def print_rows(rows: list[Row], device: str) -> None:
    cuda = device.startswith("cuda")
    for r in rows:
        cpu = f"{r.cpu_ratio:9.2f}" if r.cpu_ratio is not None else f"{'':>9}"
        line = (
            f"{r.case:<28} {r.seeds:>3} {r.single_wall_s:9.2f} {r.batched_wall_s:8.2f} {r.single_ips:12.0f} "
            f"{r.batched_ips:11.0f} {r.wall_ratio:10.2f} {cpu} {r.max_loss_gap:10.1e} {r.max_acc_gap:9.4f}"
        )
        if cuda:
            entry = (
                f"{r.entry_single_gpu_s:12.2f} → {r.entry_gpu_s:9.2f}"
                if r.entry_gpu_s is not None and r.entry_single_gpu_s is not None
                else f"{'':>26}"
            )
            line += f" {r.capture_s:9.3f} {entry}"
        print(line + (f"  ({r.failed} batched members failed)" if r.failed else ""), flush=True)


def verdict(rows: list[Row], device: str) -> None:
    if device == "cpu":
        slower = [f"{r.case} S={r.seeds} ({r.cpu_ratio:.2f})" for r in rows if (r.cpu_ratio or 0) > 1.0]
        if slower:
            print(f"\nCPU: batching was slower than one by one (CPU-time ratio > 1) for {len(slower)} of {len(rows)}:")
            print("  " + "; ".join(slower))
            print("  -> can_batch says no on CPU (workers/training/train_spec.py BATCH_ON_CPU = False).")
        else:
            print("\nCPU: batching was never slower than one by one in this run (all CPU-time ratios ≤ 1).")
        return
    for s, goal in ((3, 0.5), (10, 0.3)):
        at = [r for r in rows if r.seeds == s]
        if at:
            worst = max(at, key=lambda r: r.wall_ratio)
            met = sum(r.wall_ratio <= goal for r in at)
            print(
                f"S={s}: wall ratio ≤ {goal} for {met} of {len(at)} cases (worst {worst.case}: {worst.wall_ratio:.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="*", default=[3, 10])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (capped recipe)")
    parser.add_argument("--repeats", type=int, default=1, help="alternating repeats per case (medians)")
    parser.add_argument("--presets", nargs="*", help="subset of the digits baselines")
    parser.add_argument("--no-28", action="store_true", help="skip the 28×28 case")
    parser.add_argument("--step-mode", default="auto", choices=["auto", "eager", "cuda_graph"])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: stable numbers on a shared machine)")
    parser.add_argument("--grouped", action="store_true", help="only the vmap vs hand-grouped step comparison")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.grouped:
        compare_grouped(["tiny_plain_digits", "tiny_resnet_digits", "tiny_repvgg_digits", "tiny_convmixer_digits"],
                        args.seeds)  # fmt: skip
        return
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu")
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"device: {args.device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.epochs} epochs per run, {args.repeats} repeat(s), step mode {args.step_mode}")  # fmt: skip
    rows: list[Row] = []
    todo = cases(args.device, args.presets, not args.no_28)
    for case in todo:
        if case.data != "digits":
            print(f"28×28 case: {case.preset} on {case.data}, recipe {case.recipe.version}")
    if args.device.startswith("cuda"):  # CUDA context, cuBLAS/cuDNN handles: paid once, outside the timings
        warm = todo[0]
        train_model(factory_for(warm), warm.splits, warm.recipe, 0, device=args.device, max_epochs=1)
    print()
    print_header(args.device)
    for case in todo:
        for n in args.seeds:
            rows.append(run_case(case, n, args.device, args.epochs, args.step_mode, args.repeats))
            print_rows(rows[-1:], args.device)
    verdict(rows, args.device)
    if args.out:
        with open(args.out, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
