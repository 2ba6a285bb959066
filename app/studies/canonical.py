"""The canonical studies the platform seeds on its benchmarks (the demo creates them): five token mixers at matched
MACs on each built-in benchmark, mixers against the share of training data on digits, and two depth studies on
digits: plain against residual CNNs at the same depths (He et al. 2016's comparison), and an MLP-only network
(Mixer blocks) shallow against deep.

The depth studies on this 2-core CPU (one-thread workers, digits-v2's 15 epochs, process CPU time measured by
bench/depth_study.py on a shared machine): per seed the plain net takes 4.6 s at 8 layers to 30 s at 62, the
ResNet 4.5 s to 31 s, the Mixer 3.3 s at 2 blocks to 39 s at 32. The CNN study (8 variants × 5 seeds) is 11.4
CPU-minutes and the MLP study (3 × 3) 2.6, so about 7 minutes on the demo's two workers after the baselines.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from app.core.db.tables import Study
from app.specs.validation import platform_specs, resolve_benchmark
from app.studies import repository as repo
from app.studies.schemas import BaseIn, StudyIn
from app.studies.service import create_study
from app.users.service import get_or_create_user
from app.zoo.presets import PRESETS

STUDY_USER = "archarena"
DEMO_MIXERS: list[dict[str, Any]] = [
    {"kind": "attention", "heads": 4},
    {"kind": "spatial_mlp", "hidden_ratio": 0.5},
    {"kind": "dwconv", "kernel": 3},
    {"kind": "pooling", "pool_size": 3},
    {"kind": "identity"},
]
FRACTION_SERIES: list[dict[str, Any]] = [DEMO_MIXERS[0], DEMO_MIXERS[2], DEMO_MIXERS[1]]
DEMO_FRACTIONS: list[int | float | str | dict[str, Any]] = [0.1, 0.3, 1.0]
DEMO_BASES = {
    "digits": "tiny_vit_digits",
    "fashion_mnist": "tiny_vit_fmnist",
    "pathfinder": "tiny_vit_synth",
    "shapes": "tiny_vit_synth",
}


def canonical_mixer_study(benchmark: str = "digits") -> StudyIn:
    base = DEMO_BASES[benchmark]
    return StudyIn(
        benchmark=benchmark,
        name=f"Which token mixer? ({benchmark})",
        description=f"Does the token mixer matter at equal MACs? The {base} preset on {benchmark} with its "
        "attention swapped for a spatial MLP, a depth-wise conv, pooling and nothing at all.",
        base_spec=copy.deepcopy(PRESETS[base]),
        axis="mixer",
        values=copy.deepcopy(DEMO_MIXERS),  # type: ignore[arg-type]
        match="macs",
    )


def canonical_fraction_study(benchmark: str = "digits") -> StudyIn:
    return StudyIn(
        benchmark=benchmark,
        name=f"Inductive bias vs data ({benchmark})",
        description="Do convolutions win when data is scarce? Attention, a depth-wise conv and a spatial MLP at "
        f"equal MACs, each trained on 10%, 30% and 100% of the {benchmark} train split with the same recipe.",
        base_spec=copy.deepcopy(PRESETS[DEMO_BASES[benchmark]]),
        axis="train_fraction",
        values=list(DEMO_FRACTIONS),
        series=copy.deepcopy(FRACTION_SERIES),  # type: ignore[arg-type]
        match="macs",
    )


CNN_DEPTH_LAYERS: list[int] = [8, 20, 44, 62]
"""He et al.'s CIFAR depths are 6n + 2 (20, 32, 44, 56, 110). On digits the plain net can go up to 62 layers:
the benchmark's depth limit is 64 conv layers and it has 6n (ResNet-110 would fit, plain-110 would not)."""
CNN_DEPTH_SEEDS = 5
"""Deep plain nets are erratic across seeds on digits (plain-56: 20 %, 36 % and 70 % in one measurement): with
their own variance kept (far above the board's), 3 seeds cannot separate even a 60-point drop once Holm spreads
α over the series' pairs; 5 can."""
MLP_DEPTH_BLOCKS: list[int] = [2, 8, 32]
"""Mixer blocks; each has two 2-layer MLPs (token and channel), so 8 to 128 linear layers: a 10-layer MLP
against a 100-layer one."""


def _cifar_like(family: str, n: int) -> dict[str, Any]:
    """He et al. §4.2 on an 8×8 input: three stages of widths 16/32/64, the image halved between them; the ResNet
    has n basic blocks per stage and zero-padding shortcuts (their option A), the plain net 2n convs per stage
    (the same convs without the shortcuts; max-pool instead of strided convs, and no separate first conv)."""
    if family == "plain":
        return {"family": "plain", "stages": [{"depth": 2 * n, "width": w} for w in (16, 32, 64)]}
    return {**copy.deepcopy(PRESETS["resnet20_cifar"]), "layers": [n, n, n]}


def canonical_cnn_depth_study() -> StudyIn:
    blocks = [(layers - 2) // 6 for layers in CNN_DEPTH_LAYERS]
    return StudyIn(
        benchmark="digits",
        name="Does depth help? Plain vs residual CNNs (digits)",
        description="The same CNN with and without shortcuts at 8 to 62 layers (6n + 2, as in He et al. 2016): "
        "does a deeper plain net get worse while a deeper ResNet does not? Compute grows with depth and is "
        "stated per variant; the two series cost the same at each depth.",
        bases=[
            BaseIn(name="plain", spec=_cifar_like("plain", 1), values=[2 * n for n in blocks]),
            BaseIn(name="resnet", spec=_cifar_like("resnet", 1), values=list(blocks)),
        ],
        axis="depth",
        axis_label="layers",
        values=list(CNN_DEPTH_LAYERS),
        seeds=CNN_DEPTH_SEEDS,
    )


def canonical_mlp_depth_study() -> StudyIn:
    return StudyIn(
        benchmark="digits",
        name="Does depth help an MLP? Mixer blocks, shallow vs deep (digits)",
        description="An MLP-only network (tiny_mixer_digits: token-mixing and channel MLPs, residual) with 2, 8 "
        "and 32 blocks: is a ~100-layer MLP better than a ~10-layer one?",
        base_spec=copy.deepcopy(PRESETS["tiny_mixer_digits"]),
        axis="depth",
        axis_label="blocks",
        values=list(MLP_DEPTH_BLOCKS),
    )


def demo_studies() -> list[StudyIn]:
    """In queue order: the quick digits studies first, then Fashion-MNIST's, then the 32×32 benchmarks."""
    return [
        canonical_mixer_study("digits"),
        canonical_fraction_study("digits"),
        canonical_cnn_depth_study(),
        canonical_mlp_depth_study(),
        canonical_mixer_study("fashion_mnist"),
        canonical_fraction_study("fashion_mnist"),
        canonical_mixer_study("pathfinder"),
        canonical_mixer_study("shapes"),
    ]


def seed_studies(session: Session, max_epochs: int | None, benchmark: str | None = None) -> list[Study]:
    """Create the demo's canonical studies (on ``benchmark``, or all) that do not exist yet (by name). They are
    exempt from quotas. Returns the new studies; the caller commits and queues ``study_run_ids`` of each (after
    the benchmark's baselines, which were created first and so are queued first)."""
    user = get_or_create_user(session, STUDY_USER, is_admin=True)
    created = []
    for body in demo_studies():
        if benchmark is not None and body.benchmark != benchmark:
            continue
        if repo.study_by_name(session, user.id, body.name) is not None:
            continue
        resolve_benchmark(body.benchmark)
        with platform_specs():
            created.append(create_study(session, user, body, max_epochs=max_epochs, charge_quota=False))
    return created
