"""The canonical studies the platform seeds on its benchmarks (the demo creates them): five token mixers at matched
MACs on each built-in benchmark, and mixers against the share of training data on digits."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from app.core.db.tables import Study
from app.specs.validation import resolve_benchmark
from app.studies import repository as repo
from app.studies.schemas import StudyIn
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


def demo_studies() -> list[StudyIn]:
    """In queue order: the quick digits studies first, then Fashion-MNIST's, then the 32×32 benchmarks."""
    return [
        canonical_mixer_study("digits"),
        canonical_fraction_study("digits"),
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
        created.append(create_study(session, user, body, max_epochs=max_epochs, charge_quota=False))
    return created
