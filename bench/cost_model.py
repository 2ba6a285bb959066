"""Fit and check the training-time cost model (app/zoo/costmodel.py) against real training steps.

For every preset on the benchmark input it is meant for (tiny ones on their built-in benchmarks, the CIFAR
ResNets at 32×32, the published ImageNet models at 224/256 px with batch 4 — a held-out check of how the
model extrapolates to sizes it was not fitted on), every test-registry entry on 8×8 and 32×32 inputs, a set of
stress variants (deep/wide pooling with large windows — among them the hostile 64-block, width-512, 31×31-pool
digits spec of issue 13 — long attention, large kernels, deep DenseNets) it prints MACs, other ops, activation bytes,
the projected seconds per training image (stored coefficients), the measured seconds per image
(``probe_train_step``, thread CPU time, one torch thread, median of 3 steps) and their ratio. Then it refits the
coefficients (non-negative least squares on relative error, held-out cases excluded), prints them in the form
``costmodel.py`` stores, and the fit's error as the median, 90th percentile and maximum of max(p/m, m/p):
stored coefficients, refit in-sample, refit leave-one-out, and the held-out published models.

    .venv/bin/python bench/cost_model.py [--quick] [--only NAME_SUBSTRING] [--save T.json | --load T.json]

``--save`` keeps the measured times; ``--load`` reuses them (no training) to refit after a change to the counts.

Timings on a shared machine are disturbed by other processes; CPU time (not wall time) keeps most of that
out. Ratios within one run are what to compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.zoo.costmodel import REFERENCE_CPU, CostModel
from app.zoo.measure import Measurement, measure, warm_up
from app.zoo.presets import PRESETS, PUBLISHED_INPUT
from app.zoo.probe import probe_train_step
from app.zoo.spec import parse_spec
from tests.zoo.registry import REGISTRY

Shape = tuple[int, int, int]
HOSTILE_POOL: dict[str, Any] = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 1},
    "stages": [{"depth": 64, "width": 512, "mlp_ratio": 0.002, "mixer": {"kind": "pooling", "pool_size": 31}}],
}


@dataclass(frozen=True)
class Case:
    name: str
    raw: dict[str, Any]
    shape: Shape
    classes: int
    batch: int
    holdout: bool = False


def _preset_cases() -> list[Case]:
    cases = []
    for name in sorted(PRESETS):
        if name.endswith("_digits"):
            cases.append(Case(name, {"preset": name}, (1, 8, 8), 10, 32))
        elif name.endswith("_synth"):
            cases.append(Case(name + "@pathfinder", {"preset": name}, (1, 32, 32), 2, 64))
            cases.append(Case(name + "@shapes", {"preset": name}, (3, 32, 32), 8, 64))
        elif name.endswith("_32"):
            cases.append(Case(name + "@fashion_mnist", {"preset": name}, (1, 28, 28), 10, 128))
        elif name in ("resnet20_cifar", "resnet56_cifar"):
            cases.append(Case(name, {"preset": name}, (3, 32, 32), 10, 64))
        elif name in PUBLISHED_INPUT:
            shape, classes = PUBLISHED_INPUT[name]
            cases.append(Case(f"{name}@{shape[1]} (held out)", {"preset": name}, shape, classes, 4, holdout=True))
    return cases


def _stress(depth: int, width: int, pool: int, ratio: float, patch: int = 1) -> dict[str, Any]:
    stage = {"depth": depth, "width": width, "mlp_ratio": ratio, "mixer": {"kind": "pooling", "pool_size": pool}}
    return {"family": "metaformer", "stem": {"kind": "patch", "patch_size": patch}, "stages": [stage]}


def _stress_cases() -> list[Case]:
    digits: Shape = (1, 8, 8)
    long_attn = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 1},
        "stages": [{"depth": 2, "width": 32, "mixer": {"kind": "attention", "heads": 4}, "mlp_ratio": 2}],
    }
    wide_mlp = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 2},
        "stages": [{"depth": 4, "width": 256, "mixer": {"kind": "spatial_mlp", "hidden_ratio": 2.0}}],
    }
    big_kernel = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 2},
        "stages": [{"depth": 4, "width": 64, "mixer": {"kind": "dwconv", "kernel": 15}, "mlp_ratio": 1}],
    }
    deep_dense = {"family": "densenet", "blocks": [16, 16], "growth_rate": 12, "init_width": 24, "stem": "cifar"}
    wide_plain = {"family": "plain", "stages": [{"depth": 3, "width": 128}, {"depth": 3, "width": 256}]}
    return [
        Case("hostile pool 64×512 k31", HOSTILE_POOL, digits, 10, 32),
        Case("pool 64×512 k3", _stress(64, 512, 3, 0.002), digits, 10, 32),
        Case("pool 16×512 k31", _stress(16, 512, 31, 0.002), digits, 10, 32),
        Case("pool 16×128 k15", _stress(16, 128, 15, 0.05), digits, 10, 32),
        Case("pool 32×64 k3 r4", _stress(32, 64, 3, 4.0), digits, 10, 32),
        Case("pool 8×256 k31 p2", _stress(8, 256, 31, 0.01, patch=2), (1, 32, 32), 2, 64),
        Case("attention 1024 tokens", long_attn, (1, 32, 32), 2, 16),
        Case("spatial mlp wide", wide_mlp, (3, 32, 32), 8, 64),
        Case("dwconv k15", big_kernel, (3, 32, 32), 8, 64),
        Case("densenet 32 layers", deep_dense, (3, 32, 32), 10, 32),
        Case("plain wide", wide_plain, (1, 8, 8), 10, 32),
        Case("tiny_vit_digits b8", {"preset": "tiny_vit_digits"}, digits, 10, 8),
        Case("tiny_resnet_digits b128", {"preset": "tiny_resnet_digits"}, digits, 10, 128),
    ]


def _registry_cases() -> list[Case]:
    out = []
    for name in sorted(REGISTRY):
        out.append(Case(f"reg:{name}@8", REGISTRY[name], (1, 8, 8), 10, 32))
        out.append(Case(f"reg:{name}@32", REGISTRY[name], (3, 32, 32), 10, 64))
    return out


def _features(m: Measurement, batch: int) -> list[float]:
    """The cost model's terms, in CostModel's field order."""
    return [
        1.0,
        m.macs,
        m.other_ops,
        m.activation_bytes,
        (m.kernels + m.views) / batch,
        m.params / batch,
        m.grouped_conv_macs,
    ]


def _project(model: CostModel, m: Measurement, batch: int) -> float:
    return model.seconds_per_image(m, batch)


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """NNLS on relative error: every row divided by its measured time, features scaled to unit norm."""
    a = x / y[:, None]
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale, np.ones(len(y)))
    return np.asarray(coef / scale)


def _errors(pred: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    factor = np.maximum(pred / y, y / pred)
    return float(np.median(factor)), float(np.percentile(factor, 90)), float(factor.max())


def _time(case: Case, steps: int, deadline: float) -> float | None:
    t = probe_train_step(case.raw, case.shape, case.classes, case.batch, steps, deadline)
    if t.cpu_seconds_per_step is None:
        return None
    return t.cpu_seconds_per_step / case.batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="presets and stress cases only (no registry)")
    parser.add_argument("--only", default="", help="only cases whose name contains this")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--save", type=Path, help="write the measured times here (JSON)")
    parser.add_argument("--load", type=Path, help="reuse measured times from here instead of timing")
    args = parser.parse_args()
    loaded: dict[str, float | None] = json.loads(args.load.read_text()) if args.load else {}
    saved: dict[str, float | None] = {}
    warm_up()
    cases = _preset_cases() + _stress_cases() + ([] if args.quick else _registry_cases())
    cases = [c for c in cases if args.only in c.name]
    rows: list[tuple[Case, Measurement, float, float]] = []
    print(
        f"{'case':44} {'MACs':>11} {'other ops':>11} {'act MB':>8} {'ops':>5} {'proj s/img':>10} "
        f"{'meas s/img':>10} {'ratio':>6}"
    )
    start = time.perf_counter()
    for case in cases:
        m = measure(parse_spec(case.raw), case.shape, case.classes)
        measured = loaded[case.name] if case.name in loaded else _time(case, 3, args.deadline)
        saved[case.name] = measured
        projected = _project(REFERENCE_CPU, m, case.batch)
        ratio = f"{projected / measured:6.2f}" if measured else "   n/a"
        meas = f"{measured:10.2e}" if measured else "  exceeded"
        print(
            f"{case.name[:44]:44} {m.macs:11,} {m.other_ops:11,} {m.activation_bytes / 1e6:8.2f} "
            f"{m.kernels + m.views:5} {projected:10.2e} {meas} {ratio}",
            flush=True,
        )
        if measured:
            rows.append((case, m, projected, measured))
    print(f"\n{len(rows)} cases timed in {time.perf_counter() - start:.0f} s")
    if args.save:
        args.save.write_text(json.dumps(saved, indent=1))
    _report_fit(rows)


def _report_fit(all_rows: list[tuple[Case, Measurement, float, float]]) -> None:
    rows = [r for r in all_rows if not r[0].holdout]
    held = [r for r in all_rows if r[0].holdout]
    if held:
        held_p, held_m = np.array([r[2] for r in held]), np.array([r[3] for r in held])
        errors = "{:.2f} / {:.2f} / {:.2f}".format(*_errors(held_p, held_m))
        print(f"held-out published models ({len(held)}, stored coefficients): median/p90/max factor off = {errors}")
    if len(rows) < 10:
        print("too few cases to refit")
        return
    x = np.array([_features(m, c.batch) for c, m, _, _ in rows])
    y = np.array([meas for *_, meas in rows])
    stored = np.array([p for _, _, p, _ in rows])
    print("stored coefficients: median/p90/max factor off = {:.2f} / {:.2f} / {:.2f}".format(*_errors(stored, y)))
    coef = _fit(x, y)
    print("refit in-sample:     median/p90/max factor off = {:.2f} / {:.2f} / {:.2f}".format(*_errors(x @ coef, y)))
    loo = np.array([x[i] @ _fit(np.delete(x, i, 0), np.delete(y, i)) for i in range(len(y))])
    print("refit leave-one-out: median/p90/max factor off = {:.2f} / {:.2f} / {:.2f}".format(*_errors(loo, y)))
    worst = np.argsort(-np.maximum(loo / y, y / loo))[:5]
    for i in worst:
        print(f"  worst (leave-one-out): {rows[i][0].name}: projected {loo[i]:.2e}, measured {y[i]:.2e}")
    names = [f.name for f in dataclasses.fields(CostModel)]
    print("\nREFERENCE_CPU = CostModel(")
    for name, value in zip(names, coef, strict=True):
        print(f"    {name}={value:.3e},")
    print(")")
    geo = math.exp(statistics.mean(math.log(p / m) for p, m in zip(x @ coef, y, strict=True)))
    print(f"(geometric mean of projected/measured after the refit: {geo:.2f})")


if __name__ == "__main__":
    main()
