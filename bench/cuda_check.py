"""Check the training engine's CUDA path on a real GPU: bf16 autocast, channels_last, fused AdamW, CUDA-event
timing, the failure kinds, and whether CUDA results agree with CPU ones.

    python bench/cuda_check.py --device cuda [--out cuda_check.json] [--only batched batched-failures memory]

Prints one line per check with PASS/FAIL and the numbers behind it; exits 1 if any check failed. The suite
cannot run this (CI has no GPU); run it when a GPU is at hand.

Checks:
- ``bf16``: a forward pass under the engine's autocast produces bfloat16 activations; conv weights are
  channels_last after ``prepare_model``.
- ``grads:<preset>``: every digits preset's parameter gradients on CUDA (fp32, channels_last) match CPU's
  within 1e-3 of the largest (this caught a wrong CUDA avg_pool2d backward that halved PoolFormer's accuracy).
- ``train:<preset>``: the full recipe trains on CUDA to finite losses and 20 points above chance; the result
  names the GPU; img/s is reported.
- ``seed-repeat``: the same seed twice on CUDA gives test accuracies within 1 point (cuDNN/atomics are not
  bit-exact, so equality is not asked).
- ``cpu-vs-cuda``: the same seed on CPU (fp32) and CUDA (bf16): mean test accuracy over 3 seeds within 2 points.
- ``oom``: with the allocator capped to a sliver of the card, training fails with kind ``oom`` and a message
  that says what to change; afterwards, uncapped, the same process trains again (memory was released).
- ``timeout``: a 0.2 s time limit ends a run with kind ``timeout``.
- ``batched:<preset>``: 3 seeds as one batched model with the CUDA-graph step against the same seeds one by one
  on CUDA: the graph was captured and kept (no fallback), each seed's test accuracy within 3 points and the
  mean within 1.5 points (bf16: the two paths round differently and training carries it on).
- ``graph-vs-eager``: the same batch with the eager step: per-seed test accuracy within 3 points.
- ``graph-cache``: the same spec and shape again: the cached graph is reused (capture 0 s) and the seeds'
  numbers are those of the first batched run within 1 point.
- ``batched-diverge``: one member with a NaN weight fails alone (kind ``diverged``); the others finish after
  the stack shrinks (a second capture for 2 members) with accuracies within 3 points of their lone runs.
- ``batched-stop``: ``should_stop`` for one member after its first epoch stops it; the others finish.
- ``memory``: the estimated peak of a batched run (``estimate_batched_memory``, no overhead term) against
  ``torch.cuda.max_memory_allocated`` of the real run: the estimate must not be below the measurement and
  should be within 4× of it.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from app.benchmarks.registry import Benchmark, get_benchmark
from app.zoo.build import build_model
from app.zoo.spec import parse_spec
from workers.training.batched import BatchOptions, Outcome, train_models_batched
from workers.training.engine import prepare_model, train_model
from workers.training.evaluate import autocast_for
from workers.training.memory import estimate_batched_memory
from workers.training.results import Member, TrainingFailed, TrainResult

TRAIN_CASES = [
    ("digits", "tiny_resnet_digits"),
    ("digits", "tiny_vit_digits"),
    ("digits", "tiny_mixer_digits"),
    ("digits", "tiny_convformer_digits"),
    ("digits", "tiny_poolformer_digits"),
    ("shapes", "tiny_vit_synth"),
    ("pathfinder", "tiny_resnet_synth"),
]


def factory(bench: Benchmark, preset: str) -> Callable[[], torch.nn.Module]:
    spec = parse_spec({"preset": preset, "overrides": {}})
    return lambda: build_model(spec, bench.input_shape, bench.num_classes)


def train(slug: str, preset: str, seed: int, device: str, **kwargs: Any) -> TrainResult:
    bench = get_benchmark(slug)
    return train_model(factory(bench, preset), bench.load(), bench.recipe, seed, device=device, **kwargs)


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, ok: bool, **numbers: Any) -> None:
        self.rows.append({"check": name, "ok": ok, **numbers})
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in numbers.items())
        print(f"{'PASS' if ok else 'FAIL'} {name}: {shown}", flush=True)


def check_bf16(report: Report, dev: torch.device) -> None:
    bench = get_benchmark("digits")
    model = prepare_model(factory(bench, "tiny_resnet_digits")(), dev)
    x = torch.randn(4, *bench.input_shape, device=dev).contiguous(memory_format=torch.channels_last)
    seen: list[torch.dtype] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: seen.append(o.dtype)) for m in model.modules()]
    with autocast_for(dev):
        model(x)
    for h in hooks:
        h.remove()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    cl = all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    bf16 = sum(d == torch.bfloat16 for d in seen)
    report.add("bf16", bf16 > 0 and cl, bf16_outputs=bf16, outputs=len(seen), convs_channels_last=cl)


def check_grads(report: Report, dev: torch.device) -> None:
    """Every preset's parameter gradients on CUDA (fp32, channels_last as the engine prepares the model) against
    CPU, same weights and batch: a wrong CUDA kernel shows up here before it skews a leaderboard."""
    from app.zoo.presets import PRESETS

    # Exact fp32 kernels for the comparison: cuDNN convolutions default to TF32, whose ~1e-3 rounding alone
    # put the CNN presets at 0.2-1 % relative error on an H200 (the first run of this check).
    prev = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        _compare_grads(report, dev, sorted(p for p in PRESETS if p.endswith("_digits")))
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = prev


def _compare_grads(report: Report, dev: torch.device, names: list[str]) -> None:
    for name in names:
        bench = get_benchmark("digits")
        torch.manual_seed(0)
        cpu_model = factory(bench, name)()
        gpu_model = prepare_model(copy.deepcopy(cpu_model), dev)
        x = torch.randn(16, *bench.input_shape)
        y = torch.randint(0, bench.num_classes, (16,))
        grads = []
        for model, xd, yd in ((cpu_model, x, y), (gpu_model, x.to(dev), y.to(dev))):
            model.eval()  # no dropout/drop-path: the two devices' random numbers differ
            torch.nn.functional.cross_entropy(model(xd), yd).backward()
            grads.append(torch.cat([p.grad.flatten().float().cpu() for p in model.parameters() if p.grad is not None]))
        err = ((grads[0] - grads[1]).abs().max() / grads[0].abs().max().clamp_min(1e-12)).item()
        report.add(f"grads:{name}", err < 1e-3, max_rel_err=err)


def check_training(report: Report, device: str) -> list[dict[str, Any]]:
    out = []
    for slug, preset in TRAIN_CASES:
        bench = get_benchmark(slug)
        t0 = time.perf_counter()
        r = train(slug, preset, 0, device)
        chance = 1.0 / bench.num_classes
        ok = r.test_acc > chance + 0.2 and "cuda" in r.device  # learned something; how well is the board's job
        row = {"preset": preset, "benchmark": slug, "test_acc": r.test_acc, "img_s": r.images_per_second,
               "wall_s": time.perf_counter() - t0, "device": r.device}  # fmt: skip
        report.add(f"train:{slug}:{preset}", ok, **{k: v for k, v in row.items() if k not in ("preset", "benchmark")})
        out.append(row)
    return out


def check_seed_repeat(report: Report, device: str) -> None:
    a = train("digits", "tiny_resnet_digits", 1, device).test_acc
    b = train("digits", "tiny_resnet_digits", 1, device).test_acc
    report.add("seed-repeat", abs(a - b) <= 0.01, first=a, second=b)


def check_cpu_vs_cuda(report: Report, device: str) -> None:
    torch.set_num_threads(4)
    cpu = [train("digits", "tiny_resnet_digits", s, "cpu").test_acc for s in range(3)]
    gpu = [train("digits", "tiny_resnet_digits", s, device).test_acc for s in range(3)]
    diff = statistics.mean(gpu) - statistics.mean(cpu)
    report.add("cpu-vs-cuda", abs(diff) <= 0.02, cpu_mean=statistics.mean(cpu), cuda_mean=statistics.mean(gpu))


def check_oom(report: Report, device: str) -> None:
    dev = torch.device(device)
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(dev).total_memory
    torch.cuda.set_per_process_memory_fraction(2e6 / total, dev)  # ~2 MB: not enough for any batch
    kind, message = "none", ""
    try:
        train("shapes", "tiny_vit_synth", 0, device, max_epochs=1)
    except TrainingFailed as exc:
        kind, message = exc.kind, exc.message
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, dev)
    after = train("digits", "tiny_vit_digits", 0, device, max_epochs=1)
    ok = kind == "oom" and "batch size" in message and after.test_acc >= 0.0
    report.add("oom", ok, kind=kind, retrain_after_ok=True, message=message[:80])


def check_timeout(report: Report, device: str) -> None:
    kind = "none"
    try:
        train("shapes", "tiny_vit_synth", 0, device, time_limit_s=0.2)
    except TrainingFailed as exc:
        kind = exc.kind
    report.add("timeout", kind == "timeout", kind=kind)


BATCHED_CASES = [("digits", "tiny_resnet_digits"), ("digits", "tiny_vit_digits"), ("shapes", "tiny_convformer_synth")]


def batched(slug: str, preset: str, seeds: list[int], device: str, **options: Any) -> dict[object, Outcome]:
    bench = get_benchmark(slug)
    factory_fn = options.pop("factory", None) or factory(bench, preset)
    max_epochs = options.pop("max_epochs", None)
    opts = BatchOptions(spec_hash=preset, **options)
    return train_models_batched(
        factory_fn, bench.load(), bench.recipe, [Member(s, s) for s in seeds], device=device,
        max_epochs=max_epochs, options=opts,
    )  # fmt: skip


def _accs(outcomes: dict[object, Outcome]) -> dict[object, float]:
    return {k: o.test_acc for k, o in outcomes.items() if isinstance(o, TrainResult)}


def check_batched(report: Report, device: str) -> None:
    from workers.training.graphs import clear_step_cache

    seeds = [0, 1, 2]
    for slug, preset in BATCHED_CASES:
        clear_step_cache()
        t0 = time.perf_counter()
        lone = {s: train(slug, preset, s, device).test_acc for s in seeds}
        t1 = time.perf_counter()
        out = batched(slug, preset, seeds, device)
        t2 = time.perf_counter()
        ok_runs = [o for o in out.values() if isinstance(o, TrainResult)]
        modes = {o.step_mode for o in ok_runs}
        got = _accs(out)
        gaps = [abs(got.get(s, -1.0) - lone[s]) for s in seeds]
        mean_gap = abs(statistics.mean(got.values()) - statistics.mean(lone.values())) if got else 1.0
        ok = len(ok_runs) == 3 and modes == {"cuda_graph"} and max(gaps) <= 0.03 and mean_gap <= 0.015
        report.add(
            f"batched:{slug}:{preset}", ok, modes=",".join(sorted(modes)), max_acc_gap=max(gaps),
            mean_gap=mean_gap, one_by_one_s=t1 - t0, batched_s=t2 - t1,
            capture_s=max((o.capture_seconds for o in ok_runs), default=0.0),
        )  # fmt: skip
        if preset != "tiny_resnet_digits":
            continue
        eager = _accs(batched(slug, preset, seeds, device, step_mode="eager"))
        gap = max(abs(eager.get(s, -1.0) - got.get(s, -2.0)) for s in seeds)
        report.add("graph-vs-eager", gap <= 0.03, max_acc_gap=gap)
        again = batched(slug, preset, seeds, device)
        captures = [o.capture_seconds for o in again.values() if isinstance(o, TrainResult)]
        gap = max(abs(_accs(again).get(s, -1.0) - got.get(s, -2.0)) for s in seeds)
        report.add("graph-cache", captures == [0.0] * 3 and gap <= 0.01, capture_s=max(captures, default=-1.0),
                   max_acc_gap=gap)  # fmt: skip


def check_batched_failures(report: Report, device: str) -> None:
    bench = get_benchmark("digits")
    base = factory(bench, "tiny_resnet_digits")

    def poisoned() -> torch.nn.Module:
        model = base()
        if torch.initial_seed() == 1:
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
        return model

    out = batched("digits", "tiny_resnet_digits", [0, 1, 2], device, factory=poisoned, max_epochs=3)
    failed = out[1]
    lone = {s: train("digits", "tiny_resnet_digits", s, device, max_epochs=3).test_acc for s in (0, 2)}
    got = _accs(out)
    gap = max(abs(got.get(s, -1.0) - lone[s]) for s in (0, 2))
    ok = isinstance(failed, TrainingFailed) and failed.kind == "diverged" and gap <= 0.03
    report.add("batched-diverge", ok, failed_kind=getattr(failed, "kind", "none"), max_acc_gap=gap)
    seen: dict[object, int] = {0: 0, 1: 0, 2: 0}

    def count(key: object, _m: Any) -> None:
        seen[key] += 1

    out = batched("digits", "tiny_resnet_digits", [0, 1, 2], device, max_epochs=3, on_epoch=count,
                  should_stop=lambda k: k == 0 and seen[0] >= 1)  # fmt: skip
    stopped = out[0]
    ok = isinstance(stopped, TrainingFailed) and stopped.kind == "stopped" and seen == {0: 1, 1: 3, 2: 3}
    report.add("batched-stop", ok, epochs_seen=str(seen))


def check_memory(report: Report, device: str) -> None:
    from workers.training.graphs import clear_step_cache

    bench = get_benchmark("shapes")
    for preset, members in (("tiny_resnet_32", 3), ("tiny_vit_32", 3)):
        clear_step_cache()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        batched("shapes", preset, list(range(members)), device, max_epochs=1, reuse_step_state=False)
        peak = torch.cuda.max_memory_allocated() - before
        est = estimate_batched_memory(factory(bench, preset), bench.load(), bench.recipe, members, torch.device(device))
        predicted = est.total - est.overhead
        ok = predicted >= peak and predicted <= 4 * peak
        report.add(f"memory:{preset}", ok, members=members, measured_mib=peak / 2**20, estimated_mib=predicted / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", help="write the rows as JSON here")
    parser.add_argument(
        "--only", nargs="*",
        help="run only these checks (bf16, grads, train, seed, cpu, timeout, batched, batched-failures, memory, oom)",
    )  # fmt: skip
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this check needs a GPU")
    dev = torch.device(args.device)
    print(f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    report = Report()
    trained: list[dict[str, Any]] = []
    checks: dict[str, Any] = {
        "bf16": lambda: check_bf16(report, dev),
        "grads": lambda: check_grads(report, dev),
        "train": lambda: trained.extend(check_training(report, args.device)),
        "seed": lambda: check_seed_repeat(report, args.device),
        "cpu": lambda: check_cpu_vs_cuda(report, args.device),
        "timeout": lambda: check_timeout(report, args.device),
        "batched": lambda: check_batched(report, args.device),
        "batched-failures": lambda: check_batched_failures(report, args.device),
        "memory": lambda: check_memory(report, args.device),
        "oom": lambda: check_oom(report, args.device),  # last: it caps the allocator (and restores it)
    }
    for name in [c for c in checks if c in set(args.only or checks)]:
        checks[name]()
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"checks": report.rows, "trained": trained}, f, indent=1)
    failed = [r["check"] for r in report.rows if not r["ok"]]
    print(
        f"{len(report.rows) - len(failed)} of {len(report.rows)} checks passed" + (f"; failed: {failed}" * bool(failed))
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
