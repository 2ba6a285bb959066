"""The canonical mixer study (every token mixer on one macro-architecture at matched MACs) on each built-in
benchmark, trained outside the web stack — e.g. on a GPU box — and judged with the studies' verdict code.

Three steps, so that only the middle one needs the training machine (it imports torch, pydantic and the
engine, nothing of the web stack):

    .venv/bin/python bench/study_offline.py plan --out plan.json              # the variants, MACs-matched
    python bench/study_offline.py train plan.json --seeds 10 --out runs.json  # on the GPU box
    .venv/bin/python bench/study_offline.py report plan.json runs.json [--seeds 3]

``report`` prints, per benchmark, each variant's test accuracy (mean ± 95 % t interval), second-test accuracy
and training img/s, and the pairwise verdict grid (``app.stats.pairs.grid_verdicts`` with the studies' rule for
δ = max(1 point, 2 × the seed noise) — here the median per-variant seed std of the study, since there is no
leaderboard around it). ``--seeds 3`` judges on the first three seeds only (what the demo's study has).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

BASES = {"digits": "tiny_vit_digits", "pathfinder": "tiny_vit_synth", "shapes": "tiny_vit_synth"}


def plan(out: str) -> None:
    import copy

    from app.studies.schemas import StudyIn
    from app.studies.service import DEMO_MIXERS, plan_study
    from app.zoo.presets import PRESETS

    studies = []
    for slug, base in BASES.items():
        body = StudyIn(
            benchmark=slug,
            name="Which token mixer?",
            base_spec=copy.deepcopy(PRESETS[base]),
            axis="mixer",
            values=copy.deepcopy(DEMO_MIXERS),  # type: ignore[arg-type]
            match="macs",
        )
        _, _, plans = plan_study(body)
        variants = [{**p.to_json(), "spec": p.spec} for p in plans]
        studies.append({"benchmark": slug, "base": base, "variants": variants})
        for v in variants:
            how = v.get("adjustment") or v.get("reason")
            print(f"{slug:<11} {v['label']:<18} MACs {v['macs']:>10,} params {v['params']:>8,} {how}")
    with open(out, "w") as f:
        json.dump(studies, f, indent=1)


def _train_one(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from app.benchmarks.registry import get_benchmark
    from app.zoo.build import build_model
    from app.zoo.spec import parse_spec
    from workers.training.engine import train_model
    from workers.training.results import TrainingFailed

    torch.set_num_threads(1)
    bench = get_benchmark(job["benchmark"])
    spec = parse_spec(job["spec"])
    try:
        r = train_model(
            lambda: build_model(spec, bench.input_shape, bench.num_classes),
            bench.load(), bench.recipe, job["seed"], device=job["device"],
        )  # fmt: skip
    except TrainingFailed as exc:
        return {**job, "spec": None, "failed": exc.kind, "message": exc.message}
    return {
        **job, "spec": None, "test_acc": r.test_acc, "test2_acc": r.test2_acc, "train_acc": r.train_acc,
        "img_s": r.images_per_second, "wall_s": r.wall_seconds, "device": r.device,
        "val_curve": [m.val_acc for m in r.epochs],
    }  # fmt: skip


def train(plan_file: str, seeds: int, device: str, procs: int, out: str) -> None:
    with open(plan_file) as f:
        studies = json.load(f)
    jobs = [
        {"benchmark": s["benchmark"], "variant": v["label"], "spec": v["spec"], "seed": seed, "device": device}
        for s in studies
        for v in s["variants"]
        if v.get("spec")
        for seed in range(seeds)
    ]
    print(f"{len(jobs)} runs on {device} in {procs} processes", flush=True)
    results = []
    with ProcessPoolExecutor(procs, mp_context=get_context("spawn")) as pool:
        for r in pool.map(_train_one, jobs):
            results.append(r)
            acc = f"{r['test_acc']:.4f}" if "test_acc" in r else r["failed"]
            print(f"{r['benchmark']:<11} {r['variant']:<18} seed {r['seed']}: {acc}", flush=True)
            with open(out, "w") as f:  # rewritten as results come, so a cut-off run keeps what finished
                json.dump(results, f)


def report(plan_file: str, runs_file: str, seeds: int | None) -> None:
    import numpy as np

    from tests.stats.legacy_equivalence import verdict
    from tests.stats.legacy_summary import t_ci

    with open(plan_file) as f:
        studies = json.load(f)
    with open(runs_file) as f:
        runs = json.load(f)
    for s in studies:
        slug = s["benchmark"]
        labels = [v["label"] for v in s["variants"] if v.get("spec")]
        acc: dict[str, list[float]] = {}
        for label in labels:
            rows = sorted(
                (r for r in runs if r["benchmark"] == slug and r["variant"] == label and "test_acc" in r),
                key=lambda r: r["seed"],
            )[:seeds]
            acc[label] = [r["test_acc"] for r in rows]
            lo, hi = t_ci(acc[label]) if len(rows) > 1 else (float("nan"), float("nan"))
            t2 = [r["test2_acc"] for r in rows if r["test2_acc"] is not None]
            v = next(v for v in s["variants"] if v["label"] == label)
            print(
                f"{slug:<11} {label:<18} n={len(rows)} test {100 * statistics.mean(acc[label]):5.1f} "
                f"[{100 * lo:5.1f}, {100 * hi:5.1f}]  test2 {100 * statistics.mean(t2) if t2 else float('nan'):5.1f}  "
                f"img/s {statistics.median(r['img_s'] for r in rows):8.0f}  MACs {v['macs']:,}  ({v['adjustment']})"
            )
        # The page takes the leaderboard's pooled seed noise; alone, the study's median per-variant std stands in
        # for it (a mean would let one unstable variant widen δ for every pair).
        noise = float(np.median([np.std(a, ddof=1) for a in acc.values() if len(a) > 1]))
        delta = max(0.01, 2 * noise)
        print(f"{slug}: median seed std {100 * noise:.2f} points → δ = ±{100 * delta:.2f} points")
        short = {"equivalent": "≡", "a_better": "row", "b_better": "col", "inconclusive": "?"}
        print("| | " + " | ".join(labels) + " |")
        print("|---" * (len(labels) + 1) + "|")
        for a in labels:
            cells = []
            for b in labels:
                if a == b:
                    cells.append("—")
                    continue
                v = verdict(acc[a], acc[b], delta)
                cells.append(f"{short[v['kind']]} {100 * v['diff']:+.1f}")
            print(f"| {a} | " + " | ".join(cells) + " |")
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("plan")
    t.add_argument("--seeds", type=int, default=10)
    t.add_argument("--device", default="cuda")
    t.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    t.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("plan")
    r.add_argument("runs")
    r.add_argument("--seeds", type=int)
    args = parser.parse_args()
    if args.cmd == "plan":
        plan(args.out)
    elif args.cmd == "train":
        train(args.plan, args.seeds, args.device, args.procs, args.out)
    else:
        report(args.plan, args.runs, args.seeds)


if __name__ == "__main__":
    main()
